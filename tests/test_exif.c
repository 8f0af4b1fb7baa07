/* Exif, JPEG and WebP metadata readers on byte-built fixtures, the PIL-made
 * fixtures in tests/fixtures, and ../shared's real A1111 JPEG. */
#include "format/exif.h"
#include "format/jpeg.h"
#include "format/webp.h"
#include "tests/test.h"

/* ---- byte builders ------------------------------------------------------- */

typedef struct {
    uint8_t d[4096];
    size_t n;
    int le;
} bytes;

static void put8(bytes *b, unsigned v) { b->d[b->n++] = (uint8_t)v; }
static void put16(bytes *b, unsigned v)
{
    if (b->le) put8(b, v & 0xFF), put8(b, v >> 8);
    else put8(b, v >> 8), put8(b, v & 0xFF);
}
static void put32(bytes *b, uint32_t v)
{
    if (b->le) put16(b, v & 0xFFFF), put16(b, v >> 16);
    else put16(b, v >> 16), put16(b, v & 0xFFFF);
}
static void put(bytes *b, const void *p, size_t n)
{
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

/* TIFF: IFD0 with Software + Exif pointer; Exif IFD with UserComment. */
static bytes tiff_with_comment(int le, const uint8_t *comment, size_t clen)
{
    bytes b = {{0}, 0, le};
    put(&b, le ? "II*\0" : "MM\0*", 4);
    put32(&b, 8);
    /* IFD0 at 8: 2 entries */
    put16(&b, 2);
    put16(&b, 0x0131), put16(&b, 2), put32(&b, 4), put(&b, "abc\0", 4); /* Software, inline */
    put16(&b, 0x8769), put16(&b, 4), put32(&b, 1), put32(&b, 8 + 2 + 24 + 4);
    put32(&b, 0);
    /* Exif IFD at 38: 1 entry, data after it */
    put16(&b, 1);
    put16(&b, 0x9286), put16(&b, 7), put32(&b, (uint32_t)clen), put32(&b, 38 + 2 + 12 + 4);
    put32(&b, 0);
    put(&b, comment, clen);
    return b;
}

static const char *read_comment(const bytes *t, meta_list *m, fmt_error *e)
{
    meta_list_init(m);
    if (exif_read(t->d, t->n, m, e)) return NULL;
    const meta_entry *x = meta_list_find(m, "UserComment");
    return x ? x->text : NULL;
}

static size_t utf16(uint8_t *out, const char *ascii_then, int le, const uint16_t *extra, size_t n_extra)
{
    size_t k = 0;
    for (const char *c = ascii_then; *c; c++) {
        out[k++] = le ? (uint8_t)*c : 0;
        out[k++] = le ? 0 : (uint8_t)*c;
    }
    for (size_t i = 0; i < n_extra; i++) {
        out[k++] = le ? (uint8_t)(extra[i] & 0xFF) : (uint8_t)(extra[i] >> 8);
        out[k++] = le ? (uint8_t)(extra[i] >> 8) : (uint8_t)(extra[i] & 0xFF);
    }
    return k;
}

static void test_user_comment_encodings(void)
{
    /* "cat é 日 😀": é U+00E9, 日 U+65E5, 😀 U+1F600 = D83D DE00 */
    static const uint16_t extra[] = {0x00E9, 0x0020, 0x65E5, 0x0020, 0xD83D, 0xDE00};
    const char *want = "cat \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80";
    for (int tiff_le = 0; tiff_le < 2; tiff_le++) {
        for (int text_le = 0; text_le < 2; text_le++) {
            uint8_t c[128];
            memcpy(c, "UNICODE\0", 8);
            size_t n = 8 + utf16(c + 8, "cat ", text_le, extra, 6);
            bytes t = tiff_with_comment(tiff_le, c, n);
            meta_list m;
            fmt_error e;
            CHECK_STR(read_comment(&t, &m, &e), want);
            CHECK_STR(meta_list_find(&m, "Software")->text, "abc");
            meta_list_free(&m);
        }
    }
    uint8_t a[32];
    memcpy(a, "ASCII\0\0\0Steps: 20", 18);
    bytes t = tiff_with_comment(1, a, 18);
    meta_list m;
    fmt_error e;
    CHECK_STR(read_comment(&t, &m, &e), "Steps: 20");
    meta_list_free(&m);
    memcpy(a, "\0\0\0\0\0\0\0\0caf\xc3\xa9\0\0", 15);
    t = tiff_with_comment(0, a, 15);
    CHECK_STR(read_comment(&t, &m, &e), "caf\xc3\xa9");
    meta_list_free(&m);
    memcpy(a, "\0\0\0\0\0\0\0\0caf\xe9", 12); /* not UTF-8: Latin-1 */
    t = tiff_with_comment(0, a, 12);
    CHECK_STR(read_comment(&t, &m, &e), "caf\xc3\xa9");
    meta_list_free(&m);
}

static void test_lying_tiff(void)
{
    uint8_t c[16] = "ASCII\0\0\0hello";
    bytes good = tiff_with_comment(1, c, 13);
    meta_list m;
    fmt_error e;
    /* Exif pointer back to IFD0: a loop. */
    bytes loop = good;
    loop.d[8 + 2 + 12 + 8] = 8, loop.d[8 + 2 + 12 + 9] = 0;
    meta_list_init(&m);
    CHECK(exif_read(loop.d, loop.n, &m, &e) == -1);
    CHECK(strstr(e.msg, "loop") != NULL);
    meta_list_free(&m);
    /* UserComment count 0xFFFFFFFF: entry skipped, no crash. */
    bytes big = good;
    memset(big.d + 38 + 2 + 4, 0xFF, 4);
    meta_list_init(&m);
    CHECK(exif_read(big.d, big.n, &m, &e) == 0);
    CHECK(meta_list_find(&m, "UserComment") == NULL);
    meta_list_free(&m);
    /* IFD offset past the end. */
    bytes far = good;
    far.d[4] = 0xF0;
    meta_list_init(&m);
    CHECK(exif_read(far.d, far.n, &m, &e) == -1);
    meta_list_free(&m);
    CHECK(exif_read((const uint8_t *)"XX*\0\0\0\0\0", 8, &m, &e) == -1);
    for (size_t n = 0; n <= good.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, good.d, n);
        meta_list_init(&m);
        exif_read(copy, n, &m, &e);
        meta_list_free(&m);
        free(copy);
    }
}

static bytes jpeg_with(const bytes *tiff, const char *com)
{
    bytes j = {{0}, 0, 0};
    put8(&j, 0xFF), put8(&j, 0xD8);
    if (tiff) {
        put8(&j, 0xFF), put8(&j, 0xE1), put16(&j, (unsigned)(tiff->n + 8));
        put(&j, "Exif\0\0", 6);
        put(&j, tiff->d, tiff->n);
    }
    if (com) {
        put8(&j, 0xFF), put8(&j, 0xFE), put16(&j, (unsigned)(strlen(com) + 2));
        put(&j, com, strlen(com));
    }
    put8(&j, 0xFF), put8(&j, 0xC0), put16(&j, 11), put8(&j, 8), put16(&j, 40), put16(&j, 64), put8(&j, 1),
        put(&j, "\1\x11\0", 3);
    put8(&j, 0xFF), put8(&j, 0xDA), put16(&j, 2), put(&j, "\x12\x34", 2);
    put8(&j, 0xFF), put8(&j, 0xD9);
    return j;
}

static void test_jpeg_segments(void)
{
    uint8_t c[32] = "ASCII\0\0\0a prompt";
    bytes t = tiff_with_comment(0, c, 16);
    bytes j = jpeg_with(&t, "made by hand");
    meta_list m;
    fmt_error e;
    meta_list_init(&m);
    CHECK(jpeg_read_meta(j.d, j.n, &m, &e) == 0);
    CHECK_STR(meta_list_find(&m, "UserComment")->text, "a prompt");
    CHECK_STR(meta_list_find(&m, "comment")->text, "made by hand");
    CHECK(m.width == 64 && m.height == 40);
    meta_list_free(&m);
    for (size_t n = 0; n < j.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, j.d, n);
        meta_list_init(&m);
        int rc = jpeg_read_meta(copy, n, &m, &e);
        CHECK(n < 3 ? rc == -1 : 1);
        meta_list_free(&m);
        free(copy);
    }
    /* A segment length running past the end. */
    j.d[4] = 0x7F;
    meta_list_init(&m);
    CHECK(jpeg_read_meta(j.d, j.n, &m, &e) == -1);
    CHECK(strstr(e.msg, "past the end") != NULL);
    meta_list_free(&m);
}

static void test_webp_chunks(void)
{
    uint8_t c[32] = "ASCII\0\0\0webp prompt";
    for (int prefix = 0; prefix < 2; prefix++) {
        bytes t = tiff_with_comment(1, c, 19);
        bytes w = {{0}, 0, 1};
        put(&w, "RIFF", 4);
        put32(&w, 0); /* patched below */
        put(&w, "WEBPVP8X", 8);
        put32(&w, 10);
        put(&w, "\x08\0\0\0\x3F\0\0\x1F\0\0", 10); /* 64 x 32 */
        put(&w, "ODD ", 4), put32(&w, 3), put(&w, "xyz\0", 4); /* odd size: padded */
        put(&w, "EXIF", 4);
        put32(&w, (uint32_t)(t.n + (prefix ? 6 : 0)));
        if (prefix) put(&w, "Exif\0\0", 6);
        put(&w, t.d, t.n);
        if (w.n & 1) put8(&w, 0);
        uint32_t riff = (uint32_t)(w.n - 8);
        memcpy(w.d + 4, &riff, 4);
        meta_list m;
        fmt_error e;
        meta_list_init(&m);
        CHECK(webp_read_meta(w.d, w.n, &m, &e) == 0);
        CHECK(meta_list_find(&m, "UserComment") && !strcmp(meta_list_find(&m, "UserComment")->text, "webp prompt"));
        CHECK(m.width == 64 && m.height == 32);
        meta_list_free(&m);
        for (size_t n = 0; n < w.n; n++) {
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, w.d, n);
            meta_list_init(&m);
            webp_read_meta(copy, n, &m, &e);
            meta_list_free(&m);
            free(copy);
        }
    }
}

/* Files written by Pillow (tests/fixtures/make_exif_fixtures.py). */
static void test_pillow_fixtures(void)
{
    static const char *files[] = {"tests/fixtures/exif_a1111.jpg", "tests/fixtures/exif_a1111.webp"};
    for (int i = 0; i < 2; i++) {
        size_t n;
        uint8_t *d = test_read_file(files[i], &n);
        CHECK(d != NULL);
        if (!d) continue;
        meta_list m;
        fmt_error e;
        meta_list_init(&m);
        int rc = i == 0 ? jpeg_read_meta(d, n, &m, &e) : webp_read_meta(d, n, &m, &e);
        CHECK(rc == 0);
        const meta_entry *x = meta_list_find(&m, "UserComment");
        CHECK(x != NULL);
        if (x) CHECK_STR(x->text, "a red fox, \xe9\x9b\xaa\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 8x8");
        meta_list_free(&m);
        free(d);
    }
}

int main(void)
{
    RUN(test_user_comment_encodings);
    RUN(test_lying_tiff);
    RUN(test_jpeg_segments);
    RUN(test_webp_chunks);
    RUN(test_pillow_fixtures);
    return test_summary("exif");
}
