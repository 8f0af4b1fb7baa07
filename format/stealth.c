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

#include "base/buf.h"
#include "format/png.h"
#include "format/png_rows.h"

#define SIG_BITS (15 * 8)
#define STEALTH_PIXEL_CAP_MIN ((size_t)64 << 20)
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

/* The signature of a mode (rgb 0/1) and kind (1 plain, 2 compressed). */
static const char *sig_name(int rgb, int kind)
{
    if (rgb) return kind == 1 ? "stealth_rgbinfo" : "stealth_rgbcomp";
    return kind == 1 ? "stealth_pnginfo" : "stealth_pngcomp";
}

/* Returns 1 plain, 2 compressed, 0 no signature. */
static int signature(const bit_stream *s)
{
    char sig[16];
    if (s->total < SIG_BITS + LEN_BITS) return 0;
    for (int i = 0; i < 15; i++) sig[i] = (char)byte_at(s, (uint64_t)i * 8, 8);
    sig[15] = '\0';
    if (!strcmp(sig, sig_name(s->rgb, 1))) return 1;
    if (!strcmp(sig, sig_name(s->rgb, 2))) return 2;
    return 0;
}

/* The declared length must fit in the image and, as bytes, in the budget for
 * decoded text (max_inflate): the payload is never held larger than that. */
static int check_length(uint32_t nbits, uint64_t total, size_t max_inflate, fmt_error *err)
{
    if (nbits == 0 || (uint64_t)nbits > total - SIG_BITS - LEN_BITS)
        return fmt_fail(err, "payload of %u bits does not fit in the image", nbits);
    if (((uint64_t)nbits + 7) / 8 > (uint64_t)max_inflate)
        return fmt_fail(err, "payload of %u bits exceeds the limit of %zu bytes", nbits, max_inflate);
    return 0;
}

/* Payload bytes (plain, or gzip for kind 2) to a "parameters" entry. */
static int finish_payload(const uint8_t *bytes, size_t nbytes, int kind, size_t max_inflate,
                          meta_list *out, fmt_error *err)
{
    char *text = NULL;
    size_t text_len = 0;
    if (kind == 2) {
        char *raw;
        size_t raw_len;
        if (inflate_bounded(bytes, nbytes, max_inflate, 1, &raw, &raw_len, err)) return -1;
        text = bytes_to_utf8((const unsigned char *)raw, raw_len, &text_len);
        free(raw);
    } else {
        text = bytes_to_utf8(bytes, nbytes, &text_len);
    }
    if (!text) return fmt_fail(err, "out of memory");
    int rc = meta_list_add(out, "parameters", 10, text, text_len, META_STEALTH, err);
    free(text);
    return rc ? -1 : 1;
}

static int decode_payload(const bit_stream *s, int kind, size_t max_inflate, meta_list *out,
                          fmt_error *err)
{
    uint32_t nbits = 0;
    for (int i = 0; i < LEN_BITS; i++) nbits = (nbits << 1) | (uint32_t)bit_at(s, SIG_BITS + (uint64_t)i);
    if (check_length(nbits, s->total, max_inflate, err)) return -1;
    size_t nbytes = (nbits + 7) / 8;
    uint8_t *bytes = malloc(nbytes);
    if (!bytes) return fmt_fail(err, "out of memory");
    uint64_t base = SIG_BITS + LEN_BITS;
    for (size_t i = 0; i < nbytes; i++) {
        uint64_t first = base + (uint64_t)i * 8;
        int n = (uint64_t)nbits - (first - base) >= 8 ? 8 : (int)((uint64_t)nbits - (first - base));
        bytes[i] = byte_at(s, first, n);
    }
    int rc = finish_payload(bytes, nbytes, kind, max_inflate, out, err);
    free(bytes);
    return rc;
}

int stealth_read(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                 size_t max_inflate, meta_list *out, fmt_error *err)
{
    if ((channels != 3 && channels != 4) || !width || !height) return 0;
    uint64_t npx = (uint64_t)width * height;
    /* The extension checks RGB first when both could match (its RGB
     * signature completes after 40 pixels, the alpha one after 120). */
    bit_stream rgb = {.px = pixels, .w = width, .h = height, .channels = channels, .rgb = 1, .total = npx * 3};
    int kind = signature(&rgb);
    if (kind) return decode_payload(&rgb, kind, max_inflate, out, err);
    if (channels == 4) {
        bit_stream a = {.px = pixels, .w = width, .h = height, .channels = channels, .rgb = 0, .total = npx};
        kind = signature(&a);
        if (kind) return decode_payload(&a, kind, max_inflate, out, err);
    }
    return 0;
}

/* ---- Streamed: the bits gathered from the rows png_rows hands over ---- */

#define HEAD_BITS (SIG_BITS + LEN_BITS)

/* The bits [first, end) of one mode's stream, packed as decode_payload packs
 * them: MSB first, a last partial byte holding its bits at the low end. */
typedef struct {
    int rgb;
    uint64_t first, end, known;
    uint8_t *bytes;
    int alive; /* kinds still possible: 1 plain, 2 compressed (in the payload: 1) */
} bit_window;

typedef struct {
    uint32_t height;
    int channels;
    bit_window win[2]; /* win[0] wins when both match: RGB before alpha */
} collector;

static int complete(const bit_window *w) { return w->known == w->end - w->first; }
static int finished(const bit_window *w) { return !w->alive || complete(w); }

static void put_bit(bit_window *w, uint64_t i, int bit)
{
    uint64_t k = i - w->first, left = w->end - w->first - (k & ~(uint64_t)7);
    unsigned width = left < 8 ? (unsigned)left : 8;
    w->bytes[k / 8] |= (uint8_t)(bit << (width - 1 - k % 8));
    w->known++;
    for (int kind = 1; kind <= 2 && i < SIG_BITS; kind++)
        if (bit != ((sig_name(w->rgb, kind)[i / 8] >> (7 - i % 8)) & 1)) w->alive &= ~kind;
}

/* The window's pixels in this row: p = x * height + y for the x the row
 * holds (x0, x0 + dx, ...), p in [p0, p1). Work: the pixels found plus one. */
static void window_row(bit_window *w, const collector *c, const png_row *row)
{
    uint64_t bpp = w->rgb ? 3 : 1, h = c->height, y = row->y;
    uint64_t p0 = w->first / bpp, p1 = (w->end - 1) / bpp + 1;
    if (finished(w) || y >= p1 || row->n == 0) return;
    uint64_t xa = p0 > y ? (p0 - y + h - 1) / h : 0, xb = (p1 - 1 - y) / h;
    uint64_t last = row->x0 + (uint64_t)(row->n - 1) * row->dx;
    if (xb > last) xb = last;
    if (xa < row->x0) xa = row->x0;
    xa = row->x0 + (xa - row->x0 + row->dx - 1) / row->dx * row->dx;
    for (uint64_t x = xa; x <= xb && !finished(w); x += row->dx) {
        const uint8_t *px = row->px + (x - row->x0) / row->dx * (uint64_t)c->channels;
        for (uint64_t k = 0; k < bpp; k++) {
            uint64_t i = (x * h + y) * bpp + k;
            if (i >= w->first && i < w->end) put_bit(w, i, px[w->rgb ? k : 3] & 1);
        }
    }
}

/* The columns left of which every wanted bit lies. */
static uint32_t columns_needed(const collector *c)
{
    uint64_t end = 0;
    for (int m = 0; m < 2; m++) {
        const bit_window *w = &c->win[m];
        uint64_t bpp = w->rgb ? 3 : 1;
        if (w->alive && w->end > w->first) {
            uint64_t x = ((w->end - 1) / bpp) / c->height + 1;
            if (x > end) end = x;
        }
    }
    return end > UINT32_MAX ? UINT32_MAX : (uint32_t)end;
}

/* Done when RGB has matched, or when neither mode can change any more. */
static int collector_done(const collector *c)
{
    const bit_window *a = &c->win[0];
    return finished(a) && ((a->alive && complete(a)) || finished(&c->win[1]));
}

static int collect_row(void *ctx, const png_row *row, fmt_error *err)
{
    collector *c = ctx;
    (void)err;
    window_row(&c->win[0], c, row);
    window_row(&c->win[1], c, row);
    return collector_done(c);
}

/* Pass 2: exactly the payload's bits, into a buffer of the payload's size. */
static int read_payload(const png_rows *r, const bit_window *head, int kind, size_t max_inflate,
                        meta_list *out, fmt_error *err)
{
    uint64_t total = (uint64_t)r->width * r->height * (head->rgb ? 3 : 1);
    uint32_t nbits = load_be32(head->bytes + SIG_BITS / 8);
    if (check_length(nbits, total, max_inflate, err)) return -1;
    size_t nbytes = (nbits + 7) / 8;
    uint8_t *bytes = calloc(nbytes, 1);
    if (!bytes) return fmt_fail(err, "out of memory");
    collector c = {r->height, r->channels, {{head->rgb, HEAD_BITS, HEAD_BITS + nbits, 0, bytes, 1}, {0}}};
    int rc = png_rows_each(r, columns_needed(&c), collect_row, &c, err) ? -2 : 0;
    if (!rc && !complete(&c.win[0])) {
        fmt_fail(err, "image data ends before the payload");
        rc = -2;
    }
    if (!rc) rc = finish_payload(bytes, nbytes, kind, max_inflate, out, err);
    free(bytes);
    return rc;
}

/* Pixel data a stealth scan may inflate: 32 times the file, at least
 * 64 MiB. Real pictures stay far below (a 2048x2048 RGBA image is 16 MiB
 * inflated, its file a few MB); a file of compressed zeros claiming 8192x8192
 * 16-bit pixels (512 MiB from 5 MB) is refused instead of costing seconds. */
static size_t stealth_pixel_cap(size_t file_len)
{
    size_t cap;
    if (size_mul(file_len, 32, &cap)) return SIZE_MAX;
    return cap > STEALTH_PIXEL_CAP_MIN ? cap : STEALTH_PIXEL_CAP_MIN;
}

int stealth_read_png(const uint8_t *data, size_t len, const image_limits *lim, size_t max_inflate,
                     meta_list *out, fmt_error *err)
{
    png_rows r;
    if (png_rows_open(&r, data, len, lim, err)) return -2;
    if (r.channels != 3 && r.channels != 4) return 0;
    r.max_inflated = stealth_pixel_cap(len);
    size_t room = meta_list_room(out);
    if (room < max_inflate) max_inflate = room; /* the payload is text of the file's budget */
    uint64_t npx = (uint64_t)r.width * r.height;
    uint8_t head[2][HEAD_BITS / 8] = {{0}};
    collector c = {r.height, r.channels,
                   {{1, 0, HEAD_BITS, 0, head[0], npx * 3 >= HEAD_BITS ? 3 : 0},
                    {0, 0, HEAD_BITS, 0, head[1], r.channels == 4 && npx >= HEAD_BITS ? 3 : 0}}};
    if (png_rows_each(&r, columns_needed(&c), collect_row, &c, err)) return -2;
    for (int m = 0; m < 2; m++) {
        const bit_window *w = &c.win[m];
        if (w->alive && complete(w)) return read_payload(&r, w, w->alive, max_inflate, out, err);
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
