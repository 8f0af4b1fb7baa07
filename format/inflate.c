/* Bounded zlib/gzip inflate: stops at a hard output limit, so a small
 * compressed chunk can never expand into gigabytes (decompression bombs). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "format/png.h"

#define INFLATE_STEP (64 * 1024)

static int grow(char **out, size_t *cap, size_t limit, fmt_error *err)
{
    size_t want = *cap ? *cap * 2 : INFLATE_STEP;
    if (want > limit + 1) want = limit + 1;
    char *p = realloc(*out, want + 1);
    if (!p) return fmt_fail(err, "out of memory inflating (%zu bytes)", want);
    *out = p;
    *cap = want;
    return 0;
}

int inflate_bounded(const uint8_t *src, size_t src_len, size_t limit, int gzip, char **out,
                    size_t *out_len, fmt_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    *out = NULL;
    *out_len = 0;
    if (inflateInit2(&zs, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK)
        return fmt_fail(err, "inflate: cannot initialise zlib");
    char *buf = NULL;
    size_t cap = 0, have = 0;
    int rc = Z_OK;
    const uint8_t *p = src;
    size_t left = src_len;
    while (rc != Z_STREAM_END) {
        if (have == cap) {
            if (cap > limit) {
                rc = Z_MEM_ERROR;
                fmt_fail(err, "inflated size exceeds %zu bytes", limit);
                break;
            }
            if (grow(&buf, &cap, limit, err)) {
                rc = Z_MEM_ERROR;
                break;
            }
        }
        uInt in_now = left > 1u << 30 ? 1u << 30 : (uInt)left;
        zs.next_in = (Bytef *)p;
        zs.avail_in = in_now;
        zs.next_out = (Bytef *)buf + have;
        zs.avail_out = (uInt)(cap - have);
        rc = inflate(&zs, Z_NO_FLUSH);
        size_t used = in_now - zs.avail_in;
        p += used;
        left -= used;
        have = cap - zs.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && left == 0 && zs.avail_out != 0) {
            fmt_fail(err, "compressed data is truncated");
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            fmt_fail(err, "corrupt compressed data (%s)", zs.msg ? zs.msg : "zlib error");
            break;
        }
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    if (have > limit) {
        free(buf);
        return fmt_fail(err, "inflated size exceeds %zu bytes", limit);
    }
    if (!buf) {
        buf = malloc(1);
        if (!buf) return fmt_fail(err, "out of memory");
    }
    buf[have] = '\0';
    *out = buf;
    *out_len = have;
    return 0;
}
