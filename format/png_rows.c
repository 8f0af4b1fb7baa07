/* Streaming PNG rows. png_rows_open walks the chunks once (headers, PLTE,
 * tRNS: what stb_image checks before it inflates anything); png_rows_each
 * inflates the IDAT data straight from the file into one scanline at a time
 * and unfilters it against the previous one. Samples are presented the way
 * stb_image (format/image.c) presents the whole image, so a reader that
 * streams sees the same pixels as one that decodes. */
#include "format/png_rows.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "format/png.h"

typedef struct {
    uint32_t len;
    const uint8_t *type;
    const uint8_t *data;
} chunk;

/* The chunk at `pos`, or -1 if it does not fit (png_verify_crcs has already
 * checked every chunk up to IEND; this only keeps the walk honest). */
static int chunk_at(const uint8_t *data, size_t len, size_t pos, chunk *c)
{
    if (pos > len || len - pos < 12) return -1;
    c->len = load_be32(data + pos);
    if ((size_t)c->len > len - pos - 12) return -1;
    c->type = data + pos + 4;
    c->data = data + pos + 8;
    return 0;
}

static int is_type(const chunk *c, const char *t) { return memcmp(c->type, t, 4) == 0; }

/* Components stored per pixel: grey 1, RGB 3, palette 1, grey+alpha 2, RGBA 4. */
static int stored_components(uint8_t color_type)
{
    static const int n[7] = {1, 0, 3, 1, 2, 0, 4};
    return color_type < 7 ? n[color_type] : 0;
}

static int read_ihdr(png_rows *r, const chunk *c, fmt_error *err)
{
    if (c->len != 13) return fmt_fail(err, "IHDR has %u bytes, not 13", c->len);
    r->width = load_be32(c->data);
    r->height = load_be32(c->data + 4);
    r->bit_depth = c->data[8];
    r->color_type = c->data[9];
    r->interlace = c->data[12];
    if (!r->width || !r->height || r->width > 0x7FFFFFFFu || r->height > 0x7FFFFFFFu)
        return fmt_fail(err, "IHDR: invalid size %ux%u", r->width, r->height);
    uint8_t d = r->bit_depth, t = r->color_type;
    int depth_ok = d == 1 || d == 2 || d == 4 || d == 8 || d == 16;
    int combo_ok = t == 0 || (t == 3 && d <= 8) || ((t == 2 || t == 4 || t == 6) && d >= 8);
    if (!depth_ok || !stored_components(t) || !combo_ok)
        return fmt_fail(err, "IHDR: invalid colour type %u with bit depth %u", t, d);
    if (c->data[10] != 0 || c->data[11] != 0 || r->interlace > 1)
        return fmt_fail(err, "IHDR: unknown compression, filter or interlace method");
    return 0;
}

/* stb_image keeps one palette for the whole file: a later PLTE overwrites
 * the entries it defines and leaves the rest. */
static int read_plte(png_rows *r, const chunk *c, uint32_t *pal_len, fmt_error *err)
{
    if (c->len > 256 * 3 || c->len % 3) return fmt_fail(err, "PLTE of %u bytes", c->len);
    *pal_len = c->len / 3;
    for (uint32_t i = 0; i < *pal_len; i++) {
        memcpy(r->palette + 4 * i, c->data + 3 * i, 3);
        r->palette[4 * i + 3] = 255;
    }
    return 0;
}

/* The colour key as stb_image compares it: 16-bit samples against the
 * stored value, 8-bit and scaled grey ones against its low byte scaled
 * like the samples (and wrapped to a byte). */
static void set_key(png_rows *r, const chunk *c, int n)
{
    static const uint8_t scale[17] = {0, 0xFF, 0x55, 0, 0x11, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    for (int k = 0; k < n; k++) {
        r->key16[k] = load_be16(c->data + 2 * k);
        r->key8[k] = (uint8_t)((r->key16[k] & 0xFF) * scale[r->bit_depth]);
    }
    r->has_key = 1;
}

static int read_trns(png_rows *r, const chunk *c, uint32_t pal_len, int *pal_alpha, fmt_error *err)
{
    if (r->first_idat) return fmt_fail(err, "tRNS after IDAT");
    if (r->color_type == 3) {
        if (pal_len == 0) return fmt_fail(err, "tRNS before PLTE");
        if (c->len > pal_len) return fmt_fail(err, "tRNS has %u entries for a palette of %u", c->len, pal_len);
        for (uint32_t i = 0; i < c->len; i++) r->palette[4 * i + 3] = c->data[i];
        *pal_alpha = 1;
        return 0;
    }
    int n = stored_components(r->color_type);
    if (!(n & 1)) return fmt_fail(err, "tRNS in an image with an alpha channel");
    if (c->len != (uint32_t)n * 2) return fmt_fail(err, "tRNS of %u bytes, not %d", c->len, n * 2);
    set_key(r, c, n);
    return 0;
}

typedef struct {
    uint32_t pal_len;
    int pal_alpha;
    size_t idat_bytes;
} walk_state;

static int read_chunk(png_rows *r, const chunk *c, size_t pos, walk_state *w, fmt_error *err)
{
    if (is_type(c, "CgBI")) {
        r->raw_deflate = 1;
        return 0;
    }
    if (pos == 8 && !is_type(c, "IHDR")) return fmt_fail(err, "first chunk is %.4s, not IHDR", c->type);
    if (is_type(c, "IHDR")) {
        if (r->width) return fmt_fail(err, "second IHDR chunk at byte %zu", pos);
        return read_ihdr(r, c, err);
    }
    if (!r->width) return fmt_fail(err, "%.4s chunk before IHDR", c->type);
    if (is_type(c, "PLTE")) return read_plte(r, c, &w->pal_len, err);
    if (is_type(c, "tRNS")) return read_trns(r, c, w->pal_len, &w->pal_alpha, err);
    if (is_type(c, "IDAT")) {
        if (r->color_type == 3 && w->pal_len == 0) return fmt_fail(err, "palette image without PLTE before IDAT");
        if (!r->first_idat) r->first_idat = pos;
        w->idat_bytes += c->len;
        return 0;
    }
    /* Bit 5 of the first letter clear (upper case): critical, and unknown. */
    if (!(c->type[0] & 0x20)) return fmt_fail(err, "unknown critical chunk %.4s", c->type);
    return 0;
}

static int check_limits(const png_rows *r, const image_limits *lim, fmt_error *err)
{
    size_t px, row;
    /* At most 8 bytes a pixel (16-bit RGBA): the row sizes below cannot overflow. */
    if (r->width > lim->max_width || r->height > lim->max_height ||
        size_mul(r->width, r->height, &px) || px > lim->max_pixels || size_mul(r->width, 8, &row))
        return fmt_fail(err, "image of %ux%u exceeds the limit of %ux%u", r->width, r->height,
                        lim->max_width, lim->max_height);
    return 0;
}

/* 16-bit grey: image_decode reads it as Pillow's "I" mode, one sample
 * clipped to 255 (no key alpha), not by its high byte. */
static int grey16(const png_rows *r)
{
    return r->color_type == 0 && r->bit_depth == 16;
}

static int output_channels(const png_rows *r, const walk_state *w)
{
    if (r->color_type == 3) return w->pal_alpha ? 4 : 3;
    if (grey16(r)) return 1;
    return stored_components(r->color_type) + r->has_key;
}

int png_rows_open(png_rows *r, const uint8_t *data, size_t len, const image_limits *lim,
                  fmt_error *err)
{
    image_limits defaults = image_default_limits();
    if (!lim) lim = &defaults;
    memset(r, 0, sizeof *r);
    for (int i = 0; i < 256; i++) r->palette[4 * i + 3] = 255;
    if (len == 0) return fmt_fail(err, "empty file");
    if (len > 0x7FFFFFFF) return fmt_fail(err, "image file larger than 2 GiB");
    if (png_verify_crcs(data, len, err)) return -1;
    r->data = data;
    r->len = len;
    walk_state w = {0};
    chunk c;
    size_t pos = 8;
    for (;; pos += (size_t)c.len + 12) {
        if (chunk_at(data, len, pos, &c)) return fmt_fail(err, "no IEND chunk: file truncated");
        if (is_type(&c, "IEND")) break;
        if (read_chunk(r, &c, pos, &w, err)) return -1;
    }
    if (!r->width) return fmt_fail(err, "no IHDR chunk");
    if (!w.idat_bytes) return fmt_fail(err, "no image data (IDAT)");
    r->channels = output_channels(r, &w);
    return check_limits(r, lim, err);
}

/* ---- Inflating: the file's IDAT chunks in, one scanline out ---- */

typedef struct {
    const png_rows *r;
    z_stream zs;
    size_t next;    /* offset of the next chunk to look at for IDAT */
    int no_more;    /* IEND reached: no further input */
    int ended;      /* the deflate stream ended */
} idat_stream;

/* Point zlib at the next non-empty IDAT chunk; sets no_more at IEND. */
static void feed(idat_stream *s)
{
    chunk c;
    while (!s->no_more) {
        if (chunk_at(s->r->data, s->r->len, s->next, &c) || is_type(&c, "IEND")) {
            s->no_more = 1;
            return;
        }
        s->next += (size_t)c.len + 12;
        if (is_type(&c, "IDAT") && c.len) {
            s->zs.next_in = (Bytef *)c.data;
            s->zs.avail_in = c.len;
            return;
        }
    }
}

static int take_byte(idat_stream *s, uint8_t *b)
{
    if (!s->zs.avail_in) feed(s);
    if (!s->zs.avail_in) return -1;
    *b = *s->zs.next_in++;
    s->zs.avail_in--;
    return 0;
}

/* The two-byte zlib header, checked as stb_image checks it (the Adler-32
 * at the end is not checked, by stb_image either). */
static int zlib_header(idat_stream *s, fmt_error *err)
{
    uint8_t cmf, flg;
    if (take_byte(s, &cmf) || take_byte(s, &flg)) return fmt_fail(err, "image data truncated");
    if ((cmf * 256 + flg) % 31) return fmt_fail(err, "bad zlib header in the image data");
    if (flg & 32) return fmt_fail(err, "image data needs a preset zlib dictionary");
    if ((cmf & 15) != 8) return fmt_fail(err, "image data: unknown compression method %u", cmf & 15);
    return 0;
}

static int stream_open(idat_stream *s, const png_rows *r, fmt_error *err)
{
    memset(s, 0, sizeof *s);
    s->r = r;
    s->next = r->first_idat;
    if (!r->raw_deflate && zlib_header(s, err)) return -1;
    const Bytef *in = s->zs.next_in;
    uInt avail = s->zs.avail_in;
    if (inflateInit2(&s->zs, -15) != Z_OK) return fmt_fail(err, "cannot initialise zlib");
    s->zs.next_in = (Bytef *)in;
    s->zs.avail_in = avail;
    return 0;
}

/* Inflate exactly n bytes into dst. */
static int inflate_exact(idat_stream *s, uint8_t *dst, size_t n, fmt_error *err)
{
    size_t cap = s->r->max_inflated;
    if (cap && (s->zs.total_out > cap || n > cap - s->zs.total_out))
        return fmt_fail(err, "the pixel data inflates to more than %zu MiB, the cap for a file of this size",
                        cap >> 20);
    s->zs.next_out = dst;
    s->zs.avail_out = (uInt)n;
    while (s->zs.avail_out) {
        if (s->ended) return fmt_fail(err, "not enough pixels: the image data ends early");
        if (!s->zs.avail_in) feed(s);
        int rc = inflate(&s->zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) s->ended = 1;
        else if (rc == Z_BUF_ERROR) return fmt_fail(err, "image data truncated");
        else if (rc != Z_OK)
            return fmt_fail(err, "corrupt image data (%s)", s->zs.msg ? s->zs.msg : "zlib error");
    }
    return 0;
}

/* ---- Rows: unfilter, then samples as stb_image presents them ---- */

static uint8_t paeth(uint8_t a, uint8_t b, uint8_t c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
}

/* cur: n bytes as filtered; prev: the row above, unfiltered (zeros for the
 * first row of an image or pass); bpp: bytes per complete pixel, >= 1. */
static void unfilter(uint8_t *cur, const uint8_t *prev, size_t n, size_t bpp, int type)
{
    size_t i;
    switch (type) {
    case 1:
        for (i = bpp; i < n; i++) cur[i] = (uint8_t)(cur[i] + cur[i - bpp]);
        break;
    case 2:
        for (i = 0; i < n; i++) cur[i] = (uint8_t)(cur[i] + prev[i]);
        break;
    case 3:
        for (i = 0; i < bpp && i < n; i++) cur[i] = (uint8_t)(cur[i] + (prev[i] >> 1));
        for (; i < n; i++) cur[i] = (uint8_t)(cur[i] + ((cur[i - bpp] + prev[i]) >> 1));
        break;
    case 4:
        for (i = 0; i < bpp && i < n; i++) cur[i] = (uint8_t)(cur[i] + prev[i]);
        for (; i < n; i++) cur[i] = (uint8_t)(cur[i] + paeth(cur[i - bpp], prev[i], prev[i - bpp]));
        break;
    default:
        break;
    }
}

/* 8- and 16-bit grey, RGB, grey+alpha, RGBA; the colour key's alpha. */
static void samples_wide(const png_rows *r, const uint8_t *raw, uint32_t n, uint8_t *out)
{
    int comps = stored_components(r->color_type), ch = r->channels;
    size_t step = r->bit_depth == 16 ? 2 : 1;
    if (grey16(r)) {
        for (uint32_t i = 0; i < n; i++) {
            unsigned v = load_be16(raw + 2 * (size_t)i);
            out[i] = (uint8_t)(v > 255 ? 255 : v);
        }
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = raw + (size_t)i * (size_t)comps * step;
        uint8_t *o = out + (size_t)i * (size_t)ch;
        int match = 1;
        for (int k = 0; k < comps; k++) {
            o[k] = p[(size_t)k * step];
            if (r->has_key)
                match &= step == 2 ? load_be16(p + 2 * k) == r->key16[k] : o[k] == r->key8[k];
        }
        if (r->has_key) o[comps] = match ? 0 : 255;
    }
}

/* 1/2/4/8-bit palette indices and 1/2/4-bit grey. */
static void samples_packed(const png_rows *r, const uint8_t *raw, uint32_t n, uint8_t *out)
{
    static const uint8_t scale[9] = {0, 0xFF, 0x55, 0, 0x11, 0, 0, 0, 1};
    unsigned depth = r->bit_depth, mask = (1u << depth) - 1;
    int ch = r->channels;
    for (uint32_t i = 0; i < n; i++) {
        size_t bit = (size_t)i * depth;
        unsigned v = (raw[bit / 8] >> (8 - depth - bit % 8)) & mask;
        uint8_t *o = out + (size_t)i * (size_t)ch;
        if (r->color_type == 3) {
            memcpy(o, r->palette + 4 * v, (size_t)ch);
        } else {
            o[0] = (uint8_t)(v * scale[depth]);
            if (r->has_key) o[1] = o[0] == r->key8[0] ? 0 : 255;
        }
    }
}

typedef struct {
    uint32_t x0, y0, dx, dy;
} pass_grid;

static const pass_grid adam7[7] = {
    {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
static const pass_grid whole = {0, 0, 1, 1};

typedef struct {
    const png_rows *r;
    idat_stream in;
    uint8_t *line[2];  /* filter byte + scanline: this row and the one above, by turns */
    uint8_t *out;      /* samples */
    size_t bpp;        /* bytes per pixel for the filters, at least 1 */
    uint32_t x_end;
    png_row_fn fn;
    void *ctx;
} row_reader;

static size_t scanline_bytes(const png_rows *r, uint32_t n)
{
    /* n <= width, checked against the limits: no overflow below. */
    return ((size_t)n * (size_t)stored_components(r->color_type) * r->bit_depth + 7) / 8;
}

/* Pixels of a pass row (x0, x0 + dx, ... : pw of them) left of x_end. */
static uint32_t pixels_before(uint32_t x_end, const pass_grid *g, uint32_t pw)
{
    if (x_end <= g->x0) return 0;
    uint32_t n = (x_end - g->x0 - 1) / g->dx + 1;
    return n < pw ? n : pw;
}

/* One pass (the whole image when not interlaced). Returns 0, 1 when the
 * callback stopped, -1 on error. */
static int read_pass(row_reader *rr, const pass_grid *g, fmt_error *err)
{
    const png_rows *r = rr->r;
    if (r->width <= g->x0 || r->height <= g->y0) return 0;
    uint32_t pw = (r->width - g->x0 + g->dx - 1) / g->dx, ph = (r->height - g->y0 + g->dy - 1) / g->dy;
    uint32_t n = pixels_before(rr->x_end, g, pw);
    size_t nb = scanline_bytes(r, pw);
    memset(rr->line[1], 0, nb + 1);
    for (uint32_t j = 0; j < ph; j++) {
        uint8_t *line = rr->line[j & 1], *prev = rr->line[!(j & 1)] + 1;
        if (inflate_exact(&rr->in, line, nb + 1, err)) return -1;
        if (line[0] > 4) return fmt_fail(err, "invalid filter type %u in row %u", line[0], g->y0 + j * g->dy);
        unfilter(line + 1, prev, nb, rr->bpp, line[0]);
        if (r->bit_depth < 8 || r->color_type == 3) samples_packed(r, line + 1, n, rr->out);
        else samples_wide(r, line + 1, n, rr->out);
        png_row row = {.y = g->y0 + j * g->dy, .x0 = g->x0, .dx = g->dx, .n = n, .px = rr->out};
        int rc = rr->fn(rr->ctx, &row, err);
        if (rc) return rc < 0 ? -1 : 1;
    }
    return 0;
}

static int alloc_rows(row_reader *rr, fmt_error *err)
{
    const png_rows *r = rr->r;
    size_t nb = scanline_bytes(r, r->width), out_bytes;
    if (size_mul(r->width, (size_t)r->channels, &out_bytes)) return fmt_fail(err, "image too wide");
    rr->line[0] = malloc(nb + 1);
    rr->line[1] = malloc(nb + 1);
    rr->out = malloc(out_bytes ? out_bytes : 1);
    if (!rr->line[0] || !rr->line[1] || !rr->out) return fmt_fail(err, "out of memory");
    size_t bits = (size_t)stored_components(r->color_type) * r->bit_depth;
    rr->bpp = bits < 8 ? 1 : bits / 8;
    return 0;
}

int png_rows_each(const png_rows *r, uint32_t x_end, png_row_fn fn, void *ctx, fmt_error *err)
{
    row_reader rr;
    memset(&rr, 0, sizeof rr);
    rr.r = r;
    rr.x_end = x_end < r->width ? x_end : r->width;
    rr.fn = fn;
    rr.ctx = ctx;
    int rc = alloc_rows(&rr, err);
    int zlib_open = 0;
    if (!rc) {
        rc = stream_open(&rr.in, r, err);
        zlib_open = !rc;
    }
    for (int p = 0; !rc && p < (r->interlace ? 7 : 1); p++)
        rc = read_pass(&rr, r->interlace ? &adam7[p] : &whole, err);
    if (zlib_open) inflateEnd(&rr.in.zs);
    free(rr.line[0]);
    free(rr.line[1]);
    free(rr.out);
    return rc < 0 ? -1 : 0;
}
