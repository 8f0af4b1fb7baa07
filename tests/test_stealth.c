/* Stealth info: the Python-written fixtures (an independent implementation
 * of the extension's bit layout), round trips through the C writer, corrupt
 * payloads; the streamed PNG reader (png_rows + stealth_read_png) against
 * stb_image's whole-image decode on images of every colour type, bit depth,
 * filter and interlacing; and the cost at the largest image the limits allow
 * (8192x8192 16-bit RGBA, built here as a small zlib stream). */
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include "engine/api/unprompt.h"
#include "base/buf.h"
#include "format/image.h"
#include "format/png.h"
#include "format/png_rows.h"
#include "format/png_write.h"
#include "format/stealth.h"
#include "tests/test.h"

static const char *fixture_text =
    "stealthy cat, \xc3\xa9t\xc3\xa9\nNegative prompt: visible\nSteps: 12, Sampler: DDIM, CFG scale: 4, Seed: 99, Size: 40x30";

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Peak RSS in KB: Linux's VmHWM, which start_peak() resets so a test sees
 * its own peak; elsewhere (or if the reset is refused) ru_maxrss, the
 * process's, so a growth measured from it can only be smaller. */
static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    if (kb >= 0) return kb;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static long start_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
    return peak_rss_kb();
}

static double cpu_seconds(clock_t since) { return (double)(clock() - since) / CLOCKS_PER_SEC; }

/* ---- Both readers on one file: same return, same message, same text ---- */

typedef struct {
    int rc;
    char msg[FMT_ERROR_MAX];
    char *text;
} stealth_result;

static void result_free(stealth_result *r) { free(r->text); }

static void keep(stealth_result *r, int rc, const meta_list *m, const fmt_error *e)
{
    r->rc = rc;
    snprintf(r->msg, sizeof r->msg, "%s", rc < 0 ? e->msg : "");
    r->text = rc == 1 && m->count ? str_ndup(m->items[m->count - 1].text, m->items[m->count - 1].text_len) : NULL;
}

/* The whole-image path as it was: stb_image, then stealth_read. -2 when stb
 * cannot decode the file. */
static void read_whole(const uint8_t *d, size_t n, size_t max_inflate, stealth_result *r)
{
    image_u8 img;
    fmt_error e;
    meta_list m;
    meta_list_init(&m);
    int rc = image_decode(d, n, NULL, &img, &e) ? -2 : 0;
    if (!rc && (img.channels == 3 || img.channels == 4))
        rc = stealth_read(img.pixels, img.width, img.height, img.channels, max_inflate, &m, &e);
    if (rc != -2) image_free(&img);
    keep(r, rc, &m, &e);
    meta_list_free(&m);
}

static void read_streamed(const uint8_t *d, size_t n, size_t max_inflate, stealth_result *r)
{
    fmt_error e;
    meta_list m;
    meta_list_init(&m);
    int rc = stealth_read_png(d, n, NULL, max_inflate, &m, &e);
    CHECK(rc != 1 || (m.count == 1 && m.items[0].source == META_STEALTH));
    keep(r, rc, &m, &e);
    meta_list_free(&m);
}

/* Both paths agree; returns the streamed result's code. */
static int check_same(const uint8_t *d, size_t n, size_t max_inflate, const char *want_text)
{
    stealth_result a, b;
    read_whole(d, n, max_inflate, &a);
    read_streamed(d, n, max_inflate, &b);
    CHECK(a.rc == b.rc);
    if (a.rc == b.rc && a.rc == -1) CHECK_STR(b.msg, a.msg);
    if (a.rc == 1 && b.rc == 1) CHECK_STR(b.text, a.text);
    if (want_text) CHECK_STR(b.text, want_text);
    if (a.rc != b.rc) fprintf(stderr, "    whole %d (%s), streamed %d (%s)\n", a.rc, a.msg, b.rc, b.msg);
    int rc = b.rc;
    result_free(&a);
    result_free(&b);
    return rc;
}

static void check_fixture(const char *path)
{
    size_t n;
    uint8_t *d = test_read_file(path, &n);
    CHECK(d != NULL);
    if (!d) return;
    image_u8 img;
    fmt_error e;
    CHECK(image_decode(d, n, NULL, &img, &e) == 0);
    meta_list m;
    meta_list_init(&m);
    CHECK(stealth_read(img.pixels, img.width, img.height, img.channels, 1 << 20, &m, &e) == 1);
    CHECK(m.count == 1);
    if (m.count) CHECK_STR(m.items[0].text, fixture_text);
    meta_list_free(&m);
    image_free(&img);
    CHECK(check_same(d, n, 1 << 20, fixture_text) == 1);
    /* And through the library: no text chunk, so the pixels are searched. */
    unprompt_info info;
    char err[256];
    CHECK(unprompt_info_read(d, n, NULL, &info, err, sizeof err) == UNPROMPT_OK);
    CHECK_STR(info.generator, "automatic1111");
    CHECK_STR(info.prompt, "stealthy cat, \xc3\xa9t\xc3\xa9");
    CHECK_STR(unprompt_info_setting(&info, "Sampler"), "DDIM");
    CHECK(info.n_warnings == 0);
    unprompt_info_free(&info);
    free(d);
}

static void test_python_fixtures(void)
{
    check_fixture("tests/fixtures/stealth_alpha.png");
    check_fixture("tests/fixtures/stealth_alpha_gzip.png");
    check_fixture("tests/fixtures/stealth_rgb.png");
}

static void test_roundtrip_and_corruption(void)
{
    const uint32_t w = 64, h = 48;
    uint8_t *px = malloc(w * h * 4);
    for (uint32_t i = 0; i < w * h * 4; i++) px[i] = (uint8_t)(i * 37 + 11);
    fmt_error e;
    meta_list m;
    meta_list_init(&m);
    CHECK(stealth_read(px, w, h, 4, 1 << 20, &m, &e) == 0); /* noise: no signature */
    for (int comp = 0; comp < 2; comp++) {
        CHECK(stealth_write_alpha(px, w, h, "hello, world", 12, comp, &e) == 0);
        CHECK(stealth_read(px, w, h, 4, 1 << 20, &m, &e) == 1);
        CHECK_STR(m.items[m.count - 1].text, "hello, world");
    }
    meta_list_free(&m);
    /* Length field claims more bits than the image holds (bit 120 = MSB). */
    for (int bit = 0; bit < 4; bit++) {
        uint32_t i = 120 + (uint32_t)bit, x = i / h, y = i % h;
        px[(y * w + x) * 4 + 3] |= 1;
    }
    meta_list_init(&m);
    CHECK(stealth_read(px, w, h, 4, 1 << 20, &m, &e) == -1);
    CHECK(strstr(e.msg, "does not fit") != NULL);
    meta_list_free(&m);
    /* Too small an image for the payload. */
    CHECK(stealth_write_alpha(px, 4, 4, "x", 1, 0, &e) == -1);
    free(px);
}

/* ---- A PNG encoder for every colour type, depth, filter and Adam7 ---- */

typedef struct {
    uint32_t w, h;
    int color, depth, interlace;
    int trns;       /* write tRNS: the palette's alpha, or a colour key */
    int filter;     /* 0-4 for every row, 5: each row its own */
    int split;      /* IDAT in pieces (the first of one byte), a tEXt among them */
} png_spec;

static int stored_comps(int color) { return color == 2 ? 3 : color == 4 ? 2 : color == 6 ? 4 : 1; }

/* Palette entry j: the low bits of R, G, B and alpha are bits 0-3 of j, so
 * an index can carry any stealth bits (the stealth tests use >= 16 entries). */
static void palette_entry(int j, uint8_t rgba[4])
{
    rgba[0] = (uint8_t)(((j * 41 + 3) & 0xFE) | (j & 1));
    rgba[1] = (uint8_t)(((j * 73 + 5) & 0xFE) | ((j >> 1) & 1));
    rgba[2] = (uint8_t)(((j * 29 + 7) & 0xFE) | ((j >> 2) & 1));
    rgba[3] = (uint8_t)(((j * 53 + 11) & 0xFE) | ((j >> 3) & 1));
}

static void pack_row(const png_spec *s, const uint16_t *samples, uint32_t y, uint32_t x0,
                     uint32_t dx, uint32_t n, uint8_t *out, size_t nb)
{
    int comps = stored_comps(s->color);
    memset(out, 0, nb);
    for (uint32_t i = 0; i < n; i++)
        for (int k = 0; k < comps; k++) {
            uint16_t v = samples[((size_t)y * s->w + x0 + (size_t)i * dx) * (size_t)comps + (size_t)k];
            size_t at = (size_t)i * (size_t)comps + (size_t)k;
            if (s->depth == 16) {
                out[2 * at] = (uint8_t)(v >> 8);
                out[2 * at + 1] = (uint8_t)v;
            } else if (s->depth == 8) {
                out[at] = (uint8_t)v;
            } else {
                size_t bit = at * (size_t)s->depth;
                out[bit / 8] |= (uint8_t)(v << (8 - s->depth - (int)(bit % 8)));
            }
        }
}

static uint8_t paeth_pred(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

static void filter_row(int type, const uint8_t *raw, const uint8_t *prev, size_t nb, size_t bpp, uint8_t *out)
{
    for (size_t i = 0; i < nb; i++) {
        int a = i >= bpp ? raw[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
        int pred = type == 1 ? a : type == 2 ? b : type == 3 ? (a + b) / 2 : type == 4 ? paeth_pred(a, b, c) : 0;
        out[i] = (uint8_t)(raw[i] - pred);
    }
}

static const uint32_t a7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                  {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

/* The filtered scanlines of every pass, as one buffer. */
static void raw_stream(const png_spec *s, const uint16_t *samples, buf *out)
{
    int comps = stored_comps(s->color);
    size_t bpp = (size_t)(comps * s->depth) < 8 ? 1 : (size_t)(comps * s->depth) / 8;
    size_t maxnb = ((size_t)s->w * (size_t)comps * (size_t)s->depth + 7) / 8;
    uint8_t *raw = malloc(maxnb + 1), *prev = malloc(maxnb + 1), *filt = malloc(maxnb + 1);
    int rows = 0;
    for (int p = 0; p < (s->interlace ? 7 : 1); p++) {
        uint32_t x0 = s->interlace ? a7[p][0] : 0, y0 = s->interlace ? a7[p][1] : 0;
        uint32_t dx = s->interlace ? a7[p][2] : 1, dy = s->interlace ? a7[p][3] : 1;
        if (s->w <= x0 || s->h <= y0) continue;
        uint32_t pw = (s->w - x0 + dx - 1) / dx, ph = (s->h - y0 + dy - 1) / dy;
        size_t nb = ((size_t)pw * (size_t)comps * (size_t)s->depth + 7) / 8;
        memset(prev, 0, nb + 1);
        for (uint32_t j = 0; j < ph; j++, rows++) {
            pack_row(s, samples, y0 + j * dy, x0, dx, pw, raw, nb);
            uint8_t type = (uint8_t)(s->filter == 5 ? rows % 5 : s->filter);
            filter_row(type, raw, prev, nb, bpp, filt);
            buf_append_char(out, (char)type, NULL);
            buf_append(out, filt, nb, NULL);
            memcpy(prev, raw, nb);
        }
    }
    free(raw);
    free(prev);
    free(filt);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void png_head(buf *out, uint32_t w, uint32_t h, int depth, int color, int interlace)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t ihdr[13] = {0};
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = (uint8_t)depth;
    ihdr[9] = (uint8_t)color;
    ihdr[12] = (uint8_t)interlace;
    buf_append(out, sig, 8, NULL);
    png_write_chunk(out, "IHDR", ihdr, 13, NULL);
}

/* PLTE and tRNS as the spec asks; sample values stay below 2^depth. */
static void png_ancillary(buf *out, const png_spec *s, const uint16_t *samples)
{
    if (s->color == 3) {
        uint8_t pal[256 * 3], alpha[256];
        int n = 1 << s->depth;
        for (int j = 0; j < n; j++) {
            uint8_t e[4];
            palette_entry(j, e);
            memcpy(pal + 3 * j, e, 3);
            alpha[j] = e[3];
        }
        png_write_chunk(out, "PLTE", pal, (size_t)n * 3, NULL);
        if (s->trns) png_write_chunk(out, "tRNS", alpha, (size_t)n, NULL);
    } else if (s->trns && (s->color == 0 || s->color == 2)) {
        uint8_t key[6]; /* the first pixel's colour: some pixels match it */
        int comps = stored_comps(s->color);
        for (int k = 0; k < comps; k++) {
            key[2 * k] = (uint8_t)(samples[k] >> 8);
            key[2 * k + 1] = (uint8_t)samples[k];
        }
        png_write_chunk(out, "tRNS", key, (size_t)comps * 2, NULL);
    }
}

static void encode_png(const png_spec *s, const uint16_t *samples, buf *out)
{
    buf raw;
    buf_init(&raw, 0);
    raw_stream(s, samples, &raw);
    uLongf zn = compressBound((uLong)raw.len);
    uint8_t *z = malloc(zn);
    CHECK(compress2(z, &zn, (const Bytef *)raw.data, (uLong)raw.len, 6) == Z_OK);
    buf_free(&raw);
    png_head(out, s->w, s->h, s->depth, s->color, s->interlace);
    png_ancillary(out, s, samples);
    size_t at = 0;
    if (s->split) { /* a one-byte IDAT, a tEXt between IDATs, then pieces of 7 */
        png_write_chunk(out, "IDAT", z, 1, NULL);
        png_write_text(out, "Comment", "between", 7, NULL);
        png_write_chunk(out, "IDAT", z + 1, 0, NULL);
        for (at = 1; at + 7 < zn; at += 7) png_write_chunk(out, "IDAT", z + at, 7, NULL);
    }
    png_write_chunk(out, "IDAT", z + at, zn - at, NULL);
    png_write_end(out, NULL);
    free(z);
}

/* Random samples, every third pixel repeating the first (the colour key). */
static uint16_t *random_samples(const png_spec *s)
{
    int comps = stored_comps(s->color);
    size_t n = (size_t)s->w * s->h * (size_t)comps;
    uint16_t *v = malloc(n * sizeof *v);
    uint32_t mask = s->depth == 16 ? 0xFFFF : (1u << s->depth) - 1;
    for (size_t i = 0; i < n; i++) {
        size_t px = i / (size_t)comps;
        v[i] = (uint16_t)(px % 3 == 2 ? v[i % (size_t)comps] : rnd() & mask);
    }
    return v;
}

/* ---- png_rows against stb_image, pixel by pixel ---- */

typedef struct {
    const png_rows *r;
    uint8_t *img;  /* width * height * channels */
    uint8_t *seen; /* each pixel delivered once */
    int bad;
} assemble_ctx;

static int assemble_row(void *ctx, const png_row *row, fmt_error *err)
{
    assemble_ctx *a = ctx;
    (void)err;
    size_t ch = (size_t)a->r->channels;
    for (uint32_t i = 0; i < row->n; i++) {
        uint64_t x = row->x0 + (uint64_t)i * row->dx;
        if (x >= a->r->width || row->y >= a->r->height) {
            a->bad = 1;
            continue;
        }
        size_t at = (size_t)row->y * a->r->width + (size_t)x;
        a->seen[at]++;
        memcpy(a->img + at * ch, row->px + i * ch, ch);
    }
    return 0;
}

static void check_pixels_match(const uint8_t *d, size_t n, const char *what)
{
    image_u8 img;
    png_rows r;
    fmt_error e;
    CHECK(image_decode(d, n, NULL, &img, &e) == 0);
    CHECK(png_rows_open(&r, d, n, NULL, &e) == 0);
    CHECK(r.channels == img.channels);
    size_t npx = (size_t)r.width * r.height;
    assemble_ctx a = {.r = &r, .img = calloc(npx, (size_t)r.channels), .seen = calloc(npx, 1), .bad = 0};
    CHECK(png_rows_each(&r, UINT32_MAX, assemble_row, &a, &e) == 0);
    CHECK(!a.bad);
    int once = 1;
    for (size_t i = 0; i < npx; i++) once &= a.seen[i] == 1;
    CHECK(once);
    int same = r.channels == img.channels && memcmp(a.img, img.pixels, npx * (size_t)r.channels) == 0;
    CHECK(same);
    if (!same || !once) fprintf(stderr, "    %s\n", what);
    free(a.img);
    free(a.seen);
    image_free(&img);
}

static void test_rows_match_stb_every_format(void)
{
    static const int formats[][2] = {{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1},
                                     {3, 2}, {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16}};
    static const uint32_t sizes[][2] = {{1, 1}, {13, 11}, {3, 17}, {33, 5}, {9, 9}};
    int cases = 0;
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++)
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
            for (int variant = 0; variant < 8; variant++) {
                png_spec s = {.w = sizes[z][0],
                              .h = sizes[z][1],
                              .color = formats[f][0],
                              .depth = formats[f][1],
                              .interlace = variant & 1,
                              .trns = (variant >> 1) & 1,
                              .filter = variant < 4 ? 5 : (int)(z % 5),
                              .split = variant == 5};
                if (s.trns && (s.color == 4 || s.color == 6)) continue;
                uint16_t *v = random_samples(&s);
                buf png;
                buf_init(&png, 0);
                encode_png(&s, v, &png);
                char what[96];
                snprintf(what, sizeof what, "colour %d depth %d %ux%u interlace %d tRNS %d filter %d", s.color,
                         s.depth, s.w, s.h, s.interlace, s.trns, s.filter);
                check_pixels_match((const uint8_t *)png.data, png.len, what);
                /* Random pixels carry no signature: both paths say so. */
                CHECK(check_same((const uint8_t *)png.data, png.len, 1 << 20, NULL) == 0);
                buf_free(&png);
                free(v);
                cases++;
            }
    CHECK(cases > 400);
}

/* ---- Stealth bits written into stored samples of any format ---- */

/* Set the stealth-visible low bit of component `comp` (0-2 RGB, 3 alpha) of
 * pixel (x, y), as stb_image presents the sample. */
static void set_bit(const png_spec *s, uint16_t *v, uint32_t x, uint32_t y, int comp, int bit)
{
    int comps = stored_comps(s->color);
    size_t px = ((size_t)y * s->w + x) * (size_t)comps;
    if (s->color == 3) {
        v[px] = (uint16_t)((v[px] & ~(1u << comp)) | ((unsigned)bit << comp));
        return;
    }
    uint16_t lsb = s->depth == 16 ? 0x100 : 1;
    v[px + (size_t)comp] = (uint16_t)((v[px + (size_t)comp] & ~lsb) | (bit ? lsb : 0));
}

static void gzip_text(const char *text, buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    uLong bound = deflateBound(&zs, (uLong)strlen(text));
    buf_reserve(out, bound, NULL);
    zs.next_in = (Bytef *)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = (Bytef *)out->data;
    zs.avail_out = (uInt)bound;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out->len = bound - zs.avail_out;
    deflateEnd(&zs);
}

/* signature + 32-bit length in bits + payload, placed column by column. */
static void embed(const png_spec *s, uint16_t *v, int rgb, int comp, const char *text, uint32_t claim_bits)
{
    buf stream;
    buf_init(&stream, 0);
    const char *sig = rgb ? (comp ? "stealth_rgbcomp" : "stealth_rgbinfo") : (comp ? "stealth_pngcomp" : "stealth_pnginfo");
    buf payload;
    buf_init(&payload, 0);
    if (comp) gzip_text(text, &payload);
    else buf_append_str(&payload, text, NULL);
    uint8_t len[4];
    put_be32(len, claim_bits ? claim_bits : (uint32_t)payload.len * 8);
    buf_append_str(&stream, sig, NULL);
    buf_append(&stream, len, 4, NULL);
    buf_append(&stream, payload.data, payload.len, NULL);
    uint64_t nbits = (uint64_t)stream.len * 8, per = rgb ? 3 : 1;
    CHECK(nbits <= (uint64_t)s->w * s->h * per);
    for (uint64_t i = 0; i < nbits; i++) {
        uint64_t p = i / per;
        int bit = ((uint8_t)stream.data[i / 8] >> (7 - i % 8)) & 1;
        set_bit(s, v, (uint32_t)(p / s->h), (uint32_t)(p % s->h), rgb ? (int)(i % 3) : 3, bit);
    }
    buf_free(&payload);
    buf_free(&stream);
}

static int stealth_case(const png_spec *s, int mode, int comp, size_t max_inflate, uint32_t claim,
                        const char *want)
{
    uint16_t *v = random_samples(s);
    const char *text = "hello, stealthy world\nSteps: 3, Sampler: Euler";
    if (mode & 1) embed(s, v, 1, comp, text, claim);
    if (mode & 2) embed(s, v, 0, !comp, "the alpha text", 0);
    buf png;
    buf_init(&png, 0);
    encode_png(s, v, &png);
    int rc = check_same((const uint8_t *)png.data, png.len, max_inflate, want);
    buf_free(&png);
    free(v);
    return rc;
}

static void test_stealth_every_format(void)
{
    static const int formats[][3] = {/* colour, depth, tRNS */
                                     {2, 8, 0}, {2, 16, 0}, {6, 8, 0}, {6, 16, 0}, {3, 4, 1}, {3, 8, 1}, {3, 8, 0}};
    static const uint32_t sizes[][2] = {{24, 20}, {97, 5}, {3, 200}, {500, 1}};
    const char *rgb_text = "hello, stealthy world\nSteps: 3, Sampler: Euler";
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++)
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
            for (int variant = 0; variant < 4; variant++) {
                png_spec s = {.w = sizes[z][0],
                              .h = sizes[z][1],
                              .color = formats[f][0],
                              .depth = formats[f][1],
                              .interlace = variant & 1,
                              .trns = formats[f][2],
                              .filter = 5,
                              .split = variant == 3};
                int alpha = s.color == 6 || s.trns;
                int comp = variant >> 1;
                /* RGB only, then (with alpha) both: RGB still wins; alpha only. */
                CHECK(stealth_case(&s, 1, comp, 1 << 20, 0, rgb_text) == 1);
                if (!alpha) continue;
                CHECK(stealth_case(&s, 3, comp, 1 << 20, 0, rgb_text) == 1);
                CHECK(stealth_case(&s, 2, comp, 1 << 20, 0, "the alpha text") == 1);
            }
}

static void test_stealth_payload_errors(void)
{
    png_spec s = {.w = 24, .h = 20, .color = 6, .depth = 8, .interlace = 0, .trns = 0, .filter = 5, .split = 0};
    /* Longer than the image, as both paths word it. */
    CHECK(stealth_case(&s, 1, 0, 1 << 20, 2000, NULL) == -1);
    /* Longer than the text budget: refused before anything is collected. */
    CHECK(stealth_case(&s, 1, 0, 16, 0, NULL) == -1);
    /* gzip that inflates past the budget, or is cut short. */
    CHECK(stealth_case(&s, 1, 1, 20, 0, NULL) == -1);
    CHECK(stealth_case(&s, 1, 1, 1 << 20, 8 * 20, NULL) == -1);
    s.interlace = 1;
    CHECK(stealth_case(&s, 1, 0, 1 << 20, 2000, NULL) == -1);
    /* Too few pixels for a signature in either mode: nothing to find. */
    png_spec tiny = {.w = 7, .h = 7, .color = 6, .depth = 8, .interlace = 0, .trns = 0, .filter = 5, .split = 0};
    uint16_t *v = random_samples(&tiny);
    buf png;
    buf_init(&png, 0);
    encode_png(&tiny, v, &png);
    CHECK(check_same((const uint8_t *)png.data, png.len, 1 << 20, NULL) == 0);
    buf_free(&png);
    free(v);
}

/* ---- Damaged files: a warning (-2), never a crash ---- */

static void rewrite_crc(uint8_t *chunk_start, uint32_t len)
{
    put_be32(chunk_start + 8 + len, png_crc(chunk_start + 4, (size_t)len + 4));
}

static size_t find_chunk(const uint8_t *d, size_t n, const char *type)
{
    for (size_t pos = 8; pos + 12 <= n; pos += (size_t)load_be32(d + pos) + 12)
        if (!memcmp(d + pos + 4, type, 4)) return pos;
    return 0;
}

static void test_damaged_files(void)
{
    png_spec s = {.w = 40, .h = 30, .color = 6, .depth = 8, .interlace = 0, .trns = 0, .filter = 5, .split = 0};
    uint16_t *v = random_samples(&s);
    embed(&s, v, 0, 0, "damaged?", 0);
    buf png;
    buf_init(&png, 0);
    encode_png(&s, v, &png);
    uint8_t *d = (uint8_t *)png.data;
    size_t n = png.len, idat = find_chunk(d, n, "IDAT");
    uint32_t idat_len = load_be32(d + idat);
    CHECK(idat && check_same(d, n, 1 << 20, "damaged?") == 1);
    uint8_t *m = malloc(n);
    /* Truncated anywhere: no IEND, or a chunk past the end. */
    for (size_t cut = 0; cut < n; cut += 1 + cut / 3) CHECK(check_same(d, cut, 1 << 20, NULL) < 0);
    /* IDAT's CRC wrong. */
    memcpy(m, d, n);
    m[idat + 8 + idat_len] ^= 1;
    CHECK(check_same(m, n, 1 << 20, NULL) == -2);
    /* A bad zlib header, a reserved deflate block type, an unknown filter
     * (CRCs fixed). */
    for (int k = 0; k < 3; k++) {
        memcpy(m, d, n);
        if (k == 2) { /* first row's filter byte: inflate, edit, deflate again */
            uLongf rn = (uLongf)(s.w * 4 + 1) * s.h;
            uint8_t *raw = malloc(rn), *z = malloc(compressBound(rn));
            CHECK(uncompress(raw, &rn, d + idat + 8, idat_len) == Z_OK);
            raw[0] = 7;
            uLongf zn = compressBound(rn);
            compress2(z, &zn, raw, rn, 6);
            buf fix;
            buf_init(&fix, 0);
            buf_append(&fix, d, idat, NULL);
            png_write_chunk(&fix, "IDAT", z, zn, NULL);
            png_write_end(&fix, NULL);
            stealth_result r;
            read_streamed((const uint8_t *)fix.data, fix.len, 1 << 20, &r);
            CHECK(r.rc == -2 && strstr(r.msg, "filter") != NULL);
            result_free(&r);
            CHECK(check_same((const uint8_t *)fix.data, fix.len, 1 << 20, NULL) == -2);
            buf_free(&fix);
            free(raw);
            free(z);
            continue;
        }
        if (k == 0) m[idat + 8] ^= 0x01;
        else m[idat + 10] |= 0x06;
        rewrite_crc(m + idat, idat_len);
        CHECK(check_same(m, n, 1 << 20, NULL) == -2);
    }
    /* IDAT data cut short, chunks intact: the zlib stream ends in the first row. */
    buf cut;
    buf_init(&cut, 0);
    buf_append(&cut, d, idat, NULL);
    png_write_chunk(&cut, "IDAT", d + idat + 8, 40, NULL);
    png_write_end(&cut, NULL);
    CHECK(check_same((const uint8_t *)cut.data, cut.len, 1 << 20, NULL) == -2);
    buf_free(&cut);
    free(m);
    buf_free(&png);
    free(v);
}

static void test_structure_refused(void)
{
    png_spec s = {.w = 16, .h = 16, .color = 3, .depth = 4, .interlace = 0, .trns = 0, .filter = 5, .split = 0};
    uint16_t *v = random_samples(&s);
    buf good;
    buf_init(&good, 0);
    encode_png(&s, v, &good);
    size_t idat = find_chunk((const uint8_t *)good.data, good.len, "IDAT");
    /* The good file with one chunk before IDAT (or, last, a tRNS after it):
     * tRNS of 3 entries and an empty one are read by both; a tRNS longer
     * than the 16-entry palette, an unknown critical chunk and a late tRNS
     * by neither. */
    static const struct {
        const char *type;
        size_t len;
        int rc;
    } extra[] = {{"tRNS", 3, 0}, {"tRNS", 0, 0}, {"tRNS", 17, -2}, {"ABCD", 1, -2}, {"tRNS", 1, -2}};
    static const uint8_t bytes[17] = {1, 2, 3};
    for (int k = 0; k < 5; k++) {
        buf b;
        buf_init(&b, 0);
        size_t at = k == 4 ? good.len - 12 : idat;
        buf_append(&b, good.data, at, NULL);
        png_write_chunk(&b, extra[k].type, bytes, extra[k].len, NULL);
        buf_append(&b, good.data + at, good.len - at, NULL);
        CHECK(check_same((const uint8_t *)b.data, b.len, 1 << 20, NULL) == extra[k].rc);
        buf_free(&b);
    }
    /* Past the limits: refused before a row is read. */
    png_rows r;
    fmt_error e;
    image_limits lim = image_default_limits();
    lim.max_width = 15;
    CHECK(png_rows_open(&r, (const uint8_t *)good.data, good.len, &lim, &e) == -1);
    CHECK(strstr(e.msg, "exceeds the limit") != NULL);
    CHECK(stealth_read_png((const uint8_t *)good.data, good.len, &lim, 1 << 20, NULL, &e) == -2);
    buf_free(&good);
    free(v);
}

/* ---- The largest image the limits allow, as a small file ---- */

/* A zlib stream of scanlines that are zeros after a short head: each row's
 * head is a stored block, each zero tail a block deflated once per length
 * and repeated (blocks after a full flush stand alone). */
typedef struct {
    buf z;
    uint32_t adler;
    struct {
        size_t len;
        buf block;
        uint32_t adler;
    } tails[8];
    int n_tails;
} zero_stream;

static const buf *zero_block(zero_stream *zs, size_t len, uint32_t *adler)
{
    for (int i = 0; i < zs->n_tails; i++)
        if (zs->tails[i].len == len) {
            *adler = zs->tails[i].adler;
            return &zs->tails[i].block;
        }
    CHECK(zs->n_tails < 8);
    int i = zs->n_tails++;
    uint8_t *zeros = calloc(len, 1);
    z_stream d;
    memset(&d, 0, sizeof d);
    deflateInit2(&d, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
    uLong bound = deflateBound(&d, (uLong)len) + 64;
    buf_init(&zs->tails[i].block, 0);
    buf_reserve(&zs->tails[i].block, bound, NULL);
    d.next_in = zeros;
    d.avail_in = (uInt)len;
    d.next_out = (Bytef *)zs->tails[i].block.data;
    d.avail_out = (uInt)bound;
    CHECK(deflate(&d, Z_FULL_FLUSH) == Z_OK && d.avail_in == 0);
    zs->tails[i].block.len = bound - d.avail_out;
    deflateEnd(&d);
    zs->tails[i].len = len;
    zs->tails[i].adler = (uint32_t)adler32(adler32(0, NULL, 0), zeros, (uInt)len);
    free(zeros);
    *adler = zs->tails[i].adler;
    return &zs->tails[i].block;
}

/* One scanline: filter byte 0 and `head` bytes stored, `zeros` zero bytes. */
static void zero_stream_row(zero_stream *zs, const uint8_t *head, size_t head_len, size_t zeros)
{
    uint8_t hdr[5] = {0, (uint8_t)((head_len + 1) & 0xFF), (uint8_t)((head_len + 1) >> 8)};
    hdr[3] = (uint8_t)~hdr[1];
    hdr[4] = (uint8_t)~hdr[2];
    uint8_t filter = 0;
    buf_append(&zs->z, hdr, 5, NULL);
    buf_append(&zs->z, &filter, 1, NULL);
    buf_append(&zs->z, head, head_len, NULL);
    zs->adler = (uint32_t)adler32(zs->adler, &filter, 1);
    zs->adler = (uint32_t)adler32(zs->adler, head, (uInt)head_len);
    if (!zeros) return;
    uint32_t tail_adler;
    const buf *b = zero_block(zs, zeros, &tail_adler);
    buf_append(&zs->z, b->data, b->len, NULL);
    zs->adler = (uint32_t)adler32_combine(zs->adler, tail_adler, (z_off_t)zeros);
}

/* Stealth bits for the big images: alpha LSBs of 16-bit RGBA (the low bit
 * of the alpha sample's high byte), plain "stealth_pnginfo". */
typedef struct {
    uint32_t height;
    const uint8_t *bits; /* the bit stream, MSB first */
    uint64_t nbits;
} big_payload;

static int big_bit(const big_payload *p, uint64_t x, uint64_t y)
{
    uint64_t i = x * p->height + y;
    return p->bits && i < p->nbits ? (p->bits[i / 8] >> (7 - i % 8)) & 1 : 0;
}

/* A 16-bit RGBA PNG of w x h zeros, but for the payload's alpha bits. */
static void big_png(uint32_t w, uint32_t h, int interlace, const big_payload *p, buf *out)
{
    zero_stream zs;
    memset(&zs, 0, sizeof zs);
    buf_init(&zs.z, 0);
    zs.adler = (uint32_t)adler32(0, NULL, 0);
    static const uint8_t zhdr[2] = {0x78, 0x01};
    buf_append(&zs.z, zhdr, 2, NULL);
    uint64_t cols = p->bits ? (p->nbits + p->height - 1) / p->height : 0; /* columns with bits */
    uint8_t *head = calloc(cols * 8 + 8, 1);
    for (int pass = 0; pass < (interlace ? 7 : 1); pass++) {
        uint32_t x0 = interlace ? a7[pass][0] : 0, y0 = interlace ? a7[pass][1] : 0;
        uint32_t dx = interlace ? a7[pass][2] : 1, dy = interlace ? a7[pass][3] : 1;
        if (w <= x0 || h <= y0) continue;
        uint32_t pw = (w - x0 + dx - 1) / dx;
        for (uint32_t y = y0; y < h; y += dy) {
            size_t n = 0; /* pixels of this row in the head */
            while (n < pw && x0 + n * dx < cols) n++;
            memset(head, 0, n * 8);
            for (size_t i = 0; i < n; i++) head[i * 8 + 6] = (uint8_t)big_bit(p, x0 + i * dx, y);
            zero_stream_row(&zs, head, n * 8, ((size_t)pw - n) * 8);
        }
    }
    static const uint8_t last[5] = {1, 0, 0, 0xFF, 0xFF};
    uint8_t adler[4];
    put_be32(adler, zs.adler);
    buf_append(&zs.z, last, 5, NULL);
    buf_append(&zs.z, adler, 4, NULL);
    png_head(out, w, h, 16, 6, interlace);
    png_write_chunk(out, "IDAT", zs.z.data, zs.z.len, NULL);
    png_write_end(out, NULL);
    buf_free(&zs.z);
    for (int i = 0; i < zs.n_tails; i++) buf_free(&zs.tails[i].block);
    free(head);
}

/* An A1111 infotext of about `len` bytes. */
static char *big_infotext(size_t len)
{
    buf b;
    buf_init(&b, 0);
    while (b.len < len) buf_append_str(&b, "masterpiece, best quality, a cat in a hat, ", NULL);
    buf_append_str(&b, "\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 8192x8192", NULL);
    return buf_take(&b);
}

static void big_stream_bits(const char *text, buf *bits)
{
    uint8_t len[4];
    put_be32(len, (uint32_t)strlen(text) * 8);
    buf_append_str(bits, "stealth_pnginfo", NULL);
    buf_append(bits, len, 4, NULL);
    buf_append_str(bits, text, NULL);
}

/* One big file through unprompt_info_read: CPU seconds and peak-RSS growth. */
static void measure_info(const buf *png, const char *want_prompt_start, double *secs, long *grew_kb)
{
    long rss0 = start_peak();
    clock_t t0 = clock();
    unprompt_info info;
    char err[256];
    int rc = unprompt_info_read((const uint8_t *)png->data, png->len, NULL, &info, err, sizeof err);
    *secs = cpu_seconds(t0);
    *grew_kb = peak_rss_kb() - rss0;
    if (want_prompt_start) {
        CHECK(rc == UNPROMPT_OK);
        if (rc == UNPROMPT_OK) {
            CHECK(info.prompt && !strncmp(info.prompt, want_prompt_start, strlen(want_prompt_start)));
            CHECK_STR(unprompt_info_setting(&info, "Sampler"), "Euler a");
            CHECK(info.n_warnings == 0);
            unprompt_info_free(&info);
        }
    } else {
        /* Nothing found, and no warning: the pixels were read, not refused. */
        CHECK(rc == UNPROMPT_OK);
        if (rc == UNPROMPT_OK) {
            CHECK(info.generator == NULL || !strcmp(info.generator, "unknown"));
            CHECK(info.n_warnings == 0);
            unprompt_info_free(&info);
        }
    }
}

/* The file: 16-bit RGBA zeros, no text chunk. Decoding it whole
 * took 1 GB and ~3 s of CPU at 8192x8192; streamed, the scan stops within
 * the first rows (the first wrong signature bit). Here ~1 ms and no growth. */
static void test_largest_image_of_zeros(void)
{
    static const uint32_t dims[][3] = {{8192, 8192, 0}, {8192, 8192, 1}, {16384, 4096, 0}, {4096, 16384, 1}};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        buf png;
        buf_init(&png, 0);
        big_payload none = {dims[k][1], NULL, 0};
        big_png(dims[k][0], dims[k][1], (int)dims[k][2], &none, &png);
        CHECK(png.len < (4u << 20));
        double secs;
        long grew;
        measure_info(&png, NULL, &secs, &grew);
        if (getenv("TEST_VERBOSE"))
            fprintf(stderr, "    %ux%u interlace %u zeros: file %zu bytes, %.3f s CPU, peak RSS +%ld KB\n",
                    dims[k][0], dims[k][1], dims[k][2], png.len, secs, grew);
        CHECK(secs < 1.0); /* ~0.04 s here, under ASan too; 4.3-7.3 s whole */
        CHECK(grew < 16 * 1024); /* the decoded image: 512 MiB */
        buf_free(&png);
    }
}

/* A payload that reaches the last row: the second pass reads every row, in
 * O(width + payload) memory. At 2048x2048 16-bit RGBA (32 MiB of pixel data,
 * under the 64 MiB a scan may always inflate) it is found, plain and
 * interlaced. At 8192x8192 the file of mostly zeros is ~5 MB but its pixels
 * inflate to 512 MiB (~1.2 s): past 32 times the file, the scan stops with
 * a warning after 152 MiB (32 x 4.99 MB), so no file costs more than about a second of
 * CPU per 16 MiB it holds. */
static void test_largest_image_with_payload(void)
{
    char *text = big_infotext(64 << 10);
    buf bits;
    buf_init(&bits, 0);
    big_stream_bits(text, &bits);
    static const uint32_t cases[][3] = {{2048, 0, 1}, {2048, 1, 1}, {8192, 0, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint32_t side = cases[k][0];
        int interlace = (int)cases[k][1], found = (int)cases[k][2];
        big_payload p = {side, (const uint8_t *)bits.data, (uint64_t)bits.len * 8};
        buf png;
        buf_init(&png, 0);
        big_png(side, side, interlace, &p, &png);
        CHECK(png.len < (8u << 20));
        double secs;
        long grew;
        if (found) {
            measure_info(&png, "masterpiece, best quality, a cat in a hat", &secs, &grew);
        } else {
            long rss0 = start_peak();
            clock_t t0 = clock();
            unprompt_info info;
            char err[256];
            CHECK(unprompt_info_read((const uint8_t *)png.data, png.len, NULL, &info, err, sizeof err) ==
                  UNPROMPT_OK);
            secs = cpu_seconds(t0);
            grew = peak_rss_kb() - rss0;
            CHECK(info.generator == NULL);
            CHECK(info.n_warnings == 1 && strstr(info.warnings[0], "pixel data inflates to more than 152 MiB"));
            unprompt_info_free(&info);
        }
        if (getenv("TEST_VERBOSE"))
            fprintf(stderr, "    %ux%u interlace %d, %zu-byte payload: file %zu bytes, %.3f s CPU, peak RSS +%ld KB\n",
                    side, side, interlace, strlen(text), png.len, secs, grew);
        CHECK(secs < 10.0); /* ~0.1-0.3 s here */
        CHECK(grew < 32 * 1024);
        buf_free(&png);
    }
    buf_free(&bits);
    free(text);
}

int main(void)
{
    /* The cost tests first: the peak RSS they check is the process's. */
    RUN(test_largest_image_of_zeros);
    RUN(test_largest_image_with_payload);
    RUN(test_python_fixtures);
    RUN(test_roundtrip_and_corruption);
    RUN(test_rows_match_stb_every_format);
    RUN(test_stealth_every_format);
    RUN(test_stealth_payload_errors);
    RUN(test_damaged_files);
    RUN(test_structure_refused);
    return test_summary("stealth");
}
