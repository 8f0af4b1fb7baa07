/* Stealth PNG info (the WebUI's stealth-pnginfo extension): a bit stream in
 * the least-significant bits of the pixels, read column by column (x outer,
 * y inner). In alpha mode one bit per pixel (alpha LSB); in RGB mode three
 * (R, G, B LSBs). The stream is: a 15-byte signature ("stealth_pnginfo" /
 * "stealth_pngcomp" in alpha, "stealth_rgbinfo" / "stealth_rgbcomp" in RGB),
 * a 32-bit big-endian payload length in bits, then the payload — UTF-8 text,
 * or gzip of it for the "comp" variants. */
#include "format/stealth.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "format/buf.h"
#include "format/png.h"

#define SIG_BITS (15 * 8)
#define LEN_BITS 32

typedef struct {
    const uint8_t *px;
    uint32_t w, h;
    int channels;
    int rgb;        /* 0: alpha bits, 1: RGB bits */
    uint64_t total; /* bits available */
} bit_stream;

static int bit_at(const bit_stream *s, uint64_t i)
{
    uint64_t pixel = s->rgb ? i / 3 : i;
    int comp = s->rgb ? (int)(i % 3) : 3;
    uint64_t x = pixel / s->h, y = pixel % s->h;
    return s->px[((size_t)y * s->w + (size_t)x) * (size_t)s->channels + (size_t)comp] & 1;
}

static uint8_t byte_at(const bit_stream *s, uint64_t first_bit, int nbits)
{
    uint8_t v = 0;
    for (int b = 0; b < nbits; b++) v = (uint8_t)((v << 1) | bit_at(s, first_bit + (uint64_t)b));
    return v;
}

/* Returns 1 plain, 2 compressed, 0 no signature. */
static int signature(const bit_stream *s)
{
    char sig[16];
    if (s->total < SIG_BITS + LEN_BITS) return 0;
    for (int i = 0; i < 15; i++) sig[i] = (char)byte_at(s, (uint64_t)i * 8, 8);
    sig[15] = '\0';
    const char *plain = s->rgb ? "stealth_rgbinfo" : "stealth_pnginfo";
    const char *comp = s->rgb ? "stealth_rgbcomp" : "stealth_pngcomp";
    if (!strcmp(sig, plain)) return 1;
    if (!strcmp(sig, comp)) return 2;
    return 0;
}

static int decode_payload(const bit_stream *s, int kind, size_t max_inflate, meta_list *out,
                          fmt_error *err)
{
    uint32_t nbits = 0;
    for (int i = 0; i < LEN_BITS; i++) nbits = (nbits << 1) | (uint32_t)bit_at(s, SIG_BITS + (uint64_t)i);
    if (nbits == 0 || (uint64_t)nbits > s->total - SIG_BITS - LEN_BITS)
        return fmt_fail(err, "payload of %u bits does not fit in the image", nbits);
    size_t nbytes = (nbits + 7) / 8;
    uint8_t *bytes = malloc(nbytes);
    if (!bytes) return fmt_fail(err, "out of memory");
    uint64_t base = SIG_BITS + LEN_BITS;
    for (size_t i = 0; i < nbytes; i++) {
        uint64_t first = base + (uint64_t)i * 8;
        int n = (uint64_t)nbits - (first - base) >= 8 ? 8 : (int)((uint64_t)nbits - (first - base));
        bytes[i] = byte_at(s, first, n);
    }
    char *text = NULL;
    size_t text_len = 0;
    int rc = 0;
    if (kind == 2) {
        char *raw;
        size_t raw_len;
        rc = inflate_bounded(bytes, nbytes, max_inflate, 1, &raw, &raw_len, err);
        if (!rc) {
            text = bytes_to_utf8((const unsigned char *)raw, raw_len, &text_len);
            free(raw);
        }
    } else {
        text = bytes_to_utf8(bytes, nbytes, &text_len);
    }
    free(bytes);
    if (rc) return -1;
    if (!text) return fmt_fail(err, "out of memory");
    rc = meta_list_add(out, "parameters", 10, text, text_len, META_STEALTH, err);
    free(text);
    return rc ? -1 : 1;
}

int stealth_read(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                 size_t max_inflate, meta_list *out, fmt_error *err)
{
    if ((channels != 3 && channels != 4) || !width || !height) return 0;
    uint64_t npx = (uint64_t)width * height;
    /* The extension checks RGB first when both could match (its RGB
     * signature completes after 40 pixels, the alpha one after 120). */
    bit_stream rgb = {pixels, width, height, channels, 1, npx * 3};
    int kind = signature(&rgb);
    if (kind) return decode_payload(&rgb, kind, max_inflate, out, err);
    if (channels == 4) {
        bit_stream a = {pixels, width, height, channels, 0, npx};
        kind = signature(&a);
        if (kind) return decode_payload(&a, kind, max_inflate, out, err);
    }
    return 0;
}

static int gzip_bytes(const char *text, size_t len, buf *out, fmt_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return fmt_fail(err, "deflate init failed");
    uLong bound = deflateBound(&zs, (uLong)len);
    if (buf_reserve(out, bound, err)) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)text;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    out->len = bound - zs.avail_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : fmt_fail(err, "deflate failed");
}

int stealth_write_alpha(uint8_t *rgba, uint32_t width, uint32_t height, const char *text,
                        size_t len, int compressed, fmt_error *err)
{
    buf payload;
    buf_init(&payload, 0);
    int rc = compressed ? gzip_bytes(text, len, &payload, err) : buf_append(&payload, text, len, err);
    if (rc) {
        buf_free(&payload);
        return -1;
    }
    uint64_t nbits = (uint64_t)payload.len * 8;
    uint64_t need = SIG_BITS + LEN_BITS + nbits;
    if (nbits > 0xFFFFFFFFu || need > (uint64_t)width * height) {
        buf_free(&payload);
        return fmt_fail(err, "image of %ux%u too small for %llu bits", width, height, (unsigned long long)need);
    }
    const char *sig = compressed ? "stealth_pngcomp" : "stealth_pnginfo";
    for (uint64_t i = 0; i < need; i++) {
        int bit;
        if (i < SIG_BITS) bit = (sig[i / 8] >> (7 - i % 8)) & 1;
        else if (i < SIG_BITS + LEN_BITS) bit = (int)((nbits >> (LEN_BITS - 1 - (i - SIG_BITS))) & 1);
        else {
            uint64_t k = i - SIG_BITS - LEN_BITS;
            bit = ((uint8_t)payload.data[k / 8] >> (7 - k % 8)) & 1;
        }
        uint64_t x = i / height, y = i % height;
        uint8_t *a = &rgba[((size_t)y * width + (size_t)x) * 4 + 3];
        *a = (uint8_t)((*a & 0xFE) | bit);
    }
    buf_free(&payload);
    return 0;
}
