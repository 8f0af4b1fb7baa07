/* Minimal PNG writer for the shipped samples and the test fixtures. */
#include "format/png_write.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "format/png.h"

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int png_write_chunk(buf *out, const char type[4], const void *data, size_t len, fmt_error *err)
{
    if (len > 0x7FFFFFFFu) return fmt_fail(err, "chunk too large");
    uint8_t head[8];
    store_be32(head, (uint32_t)len);
    memcpy(head + 4, type, 4);
    size_t start = out->len + 4;
    if (buf_append(out, head, 8, err) || buf_append(out, data, len, err)) return -1;
    uint8_t crc[4];
    store_be32(crc, png_crc((const uint8_t *)out->data + start, len + 4));
    return buf_append(out, crc, 4, err);
}

int png_write_begin(buf *out, uint32_t width, uint32_t height, int color_type, fmt_error *err)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (color_type != 0 && color_type != 2 && color_type != 4 && color_type != 6)
        return fmt_fail(err, "unsupported colour type %d", color_type);
    uint8_t ihdr[13] = {0};
    store_be32(ihdr, width);
    store_be32(ihdr + 4, height);
    ihdr[8] = 8;
    ihdr[9] = (uint8_t)color_type;
    if (buf_append(out, sig, 8, err)) return -1;
    return png_write_chunk(out, "IHDR", ihdr, 13, err);
}

static int deflate_all(const void *src, size_t len, buf *dst, fmt_error *err)
{
    uLong bound = compressBound((uLong)len);
    if (buf_reserve(dst, bound, err)) return -1;
    uLongf n = bound;
    if (compress2((Bytef *)dst->data + dst->len, &n, src, (uLong)len, 9) != Z_OK)
        return fmt_fail(err, "deflate failed");
    dst->len += n;
    return 0;
}

static int keyword_ok(const char *kw, fmt_error *err)
{
    size_t n = strlen(kw);
    if (n == 0 || n > 79) return fmt_fail(err, "PNG keyword must have 1-79 bytes");
    return 0;
}

int png_write_text(buf *out, const char *keyword, const char *text, size_t len, fmt_error *err)
{
    buf body;
    buf_init(&body, 0);
    int rc = keyword_ok(keyword, err);
    if (!rc) rc = buf_append(&body, keyword, strlen(keyword) + 1, err);
    if (!rc) rc = buf_append(&body, text, len, err);
    if (!rc) rc = png_write_chunk(out, "tEXt", body.data, body.len, err);
    buf_free(&body);
    return rc;
}

int png_write_ztxt(buf *out, const char *keyword, const char *text, size_t len, fmt_error *err)
{
    buf body;
    buf_init(&body, 0);
    int rc = keyword_ok(keyword, err);
    if (!rc) rc = buf_append(&body, keyword, strlen(keyword) + 1, err);
    if (!rc) rc = buf_append_char(&body, 0, err);
    if (!rc) rc = deflate_all(text, len, &body, err);
    if (!rc) rc = png_write_chunk(out, "zTXt", body.data, body.len, err);
    buf_free(&body);
    return rc;
}

int png_write_itxt(buf *out, const char *keyword, const char *text, size_t len, int compressed,
                   fmt_error *err)
{
    buf body;
    buf_init(&body, 0);
    uint8_t flags[4] = {(uint8_t)(compressed ? 1 : 0), 0, 0, 0}; /* flag, method, "" lang, "" tkw */
    int rc = keyword_ok(keyword, err);
    if (!rc) rc = buf_append(&body, keyword, strlen(keyword) + 1, err);
    if (!rc) rc = buf_append(&body, flags, 4, err);
    if (!rc) rc = compressed ? deflate_all(text, len, &body, err) : buf_append(&body, text, len, err);
    if (!rc) rc = png_write_chunk(out, "iTXt", body.data, body.len, err);
    buf_free(&body);
    return rc;
}

int png_write_pixels(buf *out, const uint8_t *pixels, uint32_t width, uint32_t height,
                     int channels, fmt_error *err)
{
    size_t row, raw_len;
    if (channels < 1 || channels > 4 || size_mul(width, (size_t)channels, &row) ||
        size_add(row, 1, &row) || size_mul(row, height, &raw_len))
        return fmt_fail(err, "image too large");
    uint8_t *raw = malloc(raw_len ? raw_len : 1);
    if (!raw) return fmt_fail(err, "out of memory");
    for (uint32_t y = 0; y < height; y++) {
        raw[y * row] = 0; /* filter: none */
        memcpy(raw + y * row + 1, pixels + (size_t)y * (row - 1), row - 1);
    }
    buf z;
    buf_init(&z, 0);
    int rc = deflate_all(raw, raw_len, &z, err);
    free(raw);
    if (!rc) rc = png_write_chunk(out, "IDAT", z.data, z.len, err);
    buf_free(&z);
    return rc;
}

int png_write_end(buf *out, fmt_error *err)
{
    return png_write_chunk(out, "IEND", "", 0, err);
}
