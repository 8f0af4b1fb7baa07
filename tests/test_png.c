/* The PNG chunk reader: PngSuite, fixtures written here, hostile inputs. */
#include "tests/test.h"

#include <dirent.h>
#include <zlib.h>

#include "format/image.h"
#include "format/png.h"
#include "format/png_write.h"

static int read_meta(const uint8_t *d, size_t n, meta_list *m, fmt_error *e)
{
    meta_list_init(m);
    return png_read_meta(d, n, NULL, m, NULL, e);
}

static const char *entry(const meta_list *m, const char *kw)
{
    const meta_entry *e = meta_list_find(m, kw);
    return e ? e->text : NULL;
}

/* A small valid PNG with the given extra chunk writer applied before IDAT. */
typedef int (*chunk_fn)(buf *b, fmt_error *e);

static void make_png(buf *b, chunk_fn extra)
{
    fmt_error e;
    uint8_t px[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    buf_init(b, 0);
    CHECK(png_write_begin(b, 2, 2, 2, &e) == 0);
    if (extra) CHECK(extra(b, &e) == 0);
    CHECK(png_write_pixels(b, px, 2, 2, 3, &e) == 0);
    CHECK(png_write_end(b, &e) == 0);
}

static int add_params(buf *b, fmt_error *e)
{
    const char *t = "a cat\r\nNegative prompt: dog\r\nSteps: 20, Sampler: Euler a, Seed: 5";
    return png_write_text(b, "parameters", t, strlen(t), e);
}

static void test_text_ztxt_itxt(void)
{
    buf b;
    fmt_error e;
    buf_init(&b, 0);
    uint8_t px[3] = {0, 0, 0};
    CHECK(png_write_begin(&b, 1, 1, 2, &e) == 0);
    CHECK(png_write_text(&b, "Title", "caf\xe9", 4, &e) == 0);           /* Latin-1 */
    CHECK(png_write_ztxt(&b, "Comment", "zipped text", 11, &e) == 0);
    CHECK(png_write_itxt(&b, "Author", "\xe6\x97\xa5\xe6\x9c\xac", 6, 0, &e) == 0);
    CHECK(png_write_itxt(&b, "Desc", "compressed \xc3\xa9", 13, 1, &e) == 0);
    CHECK(png_write_text(&b, "Empty", "", 0, &e) == 0);
    CHECK(png_write_pixels(&b, px, 1, 1, 3, &e) == 0);
    CHECK(png_write_text(&b, "After", "after IDAT", 10, &e) == 0);
    CHECK(png_write_end(&b, &e) == 0);
    meta_list m;
    png_header h;
    meta_list_init(&m);
    CHECK(png_read_meta((uint8_t *)b.data, b.len, NULL, &m, &h, &e) == 0);
    CHECK(h.width == 1 && h.height == 1 && h.color_type == 2 && h.bit_depth == 8);
    CHECK_STR(entry(&m, "Title"), "caf\xc3\xa9");
    CHECK_STR(entry(&m, "Comment"), "zipped text");
    CHECK_STR(entry(&m, "Author"), "\xe6\x97\xa5\xe6\x9c\xac");
    CHECK_STR(entry(&m, "Desc"), "compressed \xc3\xa9");
    CHECK_STR(entry(&m, "Empty"), "");
    CHECK_STR(entry(&m, "After"), "after IDAT");
    CHECK(m.count == 6);
    CHECK(m.n_warnings == 0);
    CHECK(meta_list_find(&m, "Comment")->source == META_PNG_ZTXT);
    meta_list_free(&m);
    buf_free(&b);
}

static void test_crlf_kept_verbatim(void)
{
    buf b;
    make_png(&b, add_params);
    meta_list m;
    fmt_error e;
    CHECK(read_meta((uint8_t *)b.data, b.len, &m, &e) == 0);
    CHECK_STR(entry(&m, "parameters"), "a cat\r\nNegative prompt: dog\r\nSteps: 20, Sampler: Euler a, Seed: 5");
    meta_list_free(&m);
    buf_free(&b);
}

static void test_bad_crc_is_a_warning(void)
{
    buf b;
    make_png(&b, add_params);
    /* The tEXt chunk follows the 8-byte signature and the 25-byte IHDR. */
    size_t text_len = load_be32((uint8_t *)b.data + 33);
    b.data[33 + 8 + text_len] ^= 0x55;
    meta_list m;
    fmt_error e;
    CHECK(read_meta((uint8_t *)b.data, b.len, &m, &e) == 0);
    CHECK(entry(&m, "parameters") != NULL);
    CHECK(m.n_warnings == 1 && strstr(m.warnings[0], "CRC mismatch"));
    meta_list_free(&m);
    buf_free(&b);
}

static void test_truncation_everywhere(void)
{
    buf b;
    make_png(&b, add_params);
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan catches any overread */
        memcpy(copy, b.data, n);
        meta_list m;
        fmt_error e;
        int rc = read_meta(copy, n, &m, &e);
        /* Until IEND is complete, either an error or a warning says so. */
        CHECK(rc == -1 || m.n_warnings > 0);
        meta_list_free(&m);
        free(copy);
    }
    buf_free(&b);
}

static void test_length_past_eof_and_huge(void)
{
    buf b;
    make_png(&b, add_params);
    meta_list m;
    fmt_error e;
    uint8_t *d = (uint8_t *)b.data;
    d[33] = 0x00, d[34] = 0x10, d[35] = 0x00, d[36] = 0x00; /* tEXt claims 1 MiB */
    CHECK(read_meta(d, b.len, &m, &e) == -1);
    CHECK(strstr(e.msg, "past the end of the file") != NULL);
    meta_list_free(&m);
    d[33] = 0xFF; /* > 2^31 - 1 */
    CHECK(read_meta(d, b.len, &m, &e) == -1);
    CHECK(strstr(e.msg, "exceeds 2^31-1") != NULL);
    meta_list_free(&m);
    buf_free(&b);
}

static void test_not_png_and_bad_ihdr(void)
{
    meta_list m;
    fmt_error e;
    CHECK(read_meta((const uint8_t *)"GIF89a", 6, &m, &e) == -1);
    CHECK(strstr(e.msg, "signature") != NULL);
    meta_list_free(&m);
    CHECK(read_meta((const uint8_t *)"", 0, &m, &e) == -1);
    meta_list_free(&m);
    buf b;
    buf_init(&b, 0);
    CHECK(png_write_begin(&b, 4, 4, 2, &e) == 0);
    b.data[8 + 8 + 9] = 7; /* colour type 7 does not exist */
    uint32_t crc = png_crc((uint8_t *)b.data + 12, 17);
    uint8_t *c = (uint8_t *)b.data + 29;
    c[0] = (uint8_t)(crc >> 24), c[1] = (uint8_t)(crc >> 16), c[2] = (uint8_t)(crc >> 8), c[3] = (uint8_t)crc;
    CHECK(read_meta((uint8_t *)b.data, b.len, &m, &e) == -1);
    CHECK(strstr(e.msg, "colour type") != NULL);
    meta_list_free(&m);
    buf_free(&b);
}

static void test_after_iend_ignored(void)
{
    buf b;
    fmt_error e;
    make_png(&b, NULL);
    CHECK(png_write_text(&b, "parameters", "hidden", 6, &e) == 0);
    meta_list m;
    CHECK(read_meta((uint8_t *)b.data, b.len, &m, &e) == 0);
    CHECK(m.count == 0);
    CHECK(m.n_warnings == 1 && strstr(m.warnings[0], "after IEND"));
    meta_list_free(&m);
    buf_free(&b);
}

static char *big_text;
static size_t big_len;
static int add_big_itxt(buf *b, fmt_error *e)
{
    return png_write_itxt(b, "parameters", big_text, big_len, 0, e);
}

/* 20 MB of text: beyond the default 16 MiB per-file budget it is skipped
 * with a warning; under a larger budget it is kept whole. */
static void test_20mb_itxt_and_the_budget(void)
{
    big_len = (size_t)20 << 20;
    big_text = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) big_text[i] = (char)('a' + i % 26);
    buf b;
    make_png(&b, add_big_itxt);
    meta_list m;
    fmt_error e;
    CHECK(read_meta((uint8_t *)b.data, b.len, &m, &e) == 0);
    CHECK(meta_list_find(&m, "parameters") == NULL);
    CHECK(m.n_warnings == 1 && strstr(m.warnings[0], "per-file budget of 16 MiB"));
    meta_list_free(&m);

    meta_list_init(&m);
    m.budget = (size_t)32 << 20;
    CHECK(png_read_meta((uint8_t *)b.data, b.len, NULL, &m, NULL, &e) == 0);
    const meta_entry *me = meta_list_find(&m, "parameters");
    CHECK(me && me->text_len == big_len && memcmp(me->text, big_text, big_len) == 0);
    meta_list_free(&m);
    buf_free(&b);
    free(big_text);
}

/* zTXt holding 256 MiB of zeros deflated (~256 KB): a decompression bomb. */
static int add_bomb(buf *b, fmt_error *e)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit(&zs, 9);
    buf body;
    buf_init(&body, 0);
    buf_append(&body, "parameters\0\0", 12, e);
    static uint8_t zeros[1 << 20];
    uint8_t out[1 << 16];
    for (int i = 0; i < 256; i++) {
        zs.next_in = zeros;
        zs.avail_in = sizeof zeros;
        do {
            zs.next_out = out;
            zs.avail_out = sizeof out;
            deflate(&zs, i == 255 ? Z_FINISH : Z_NO_FLUSH);
            buf_append(&body, out, sizeof out - zs.avail_out, e);
        } while (zs.avail_out == 0);
    }
    deflateEnd(&zs);
    int rc = png_write_chunk(b, "zTXt", body.data, body.len, e);
    buf_free(&body);
    return rc;
}

static void test_ztxt_bomb_is_bounded(void)
{
    buf b;
    make_png(&b, add_bomb);
    CHECK(b.len < (1 << 20));
    meta_list m;
    fmt_error e;
    CHECK(read_meta((uint8_t *)b.data, b.len, &m, &e) == 0);
    CHECK(m.count == 0);
    CHECK(m.n_warnings == 1 && strstr(m.warnings[0], "exceeds 16777216 bytes"));
    meta_list_free(&m);
    buf_free(&b);
}

static void test_inflate_bounded_directly(void)
{
    uint8_t src[256], z[512];
    memset(src, 'x', sizeof src);
    uLongf zn = sizeof z;
    CHECK(compress(z, &zn, src, sizeof src) == Z_OK);
    char *out;
    size_t n;
    fmt_error e;
    CHECK(inflate_bounded(z, zn, 256, 0, &out, &n, &e) == 0 && n == 256);
    free(out);
    CHECK(inflate_bounded(z, zn, 255, 0, &out, &n, &e) == -1);
    CHECK(inflate_bounded(z, zn - 3, 1000, 0, &out, &n, &e) == -1);
    CHECK(strstr(e.msg, "truncated") != NULL);
    z[2] ^= 0xFF;
    CHECK(inflate_bounded(z, zn, 1000, 0, &out, &n, &e) == -1);
}

/* Expected texts read with Pillow 9.4 (Image.open(f).info). */
static void test_pngsuite_text_chunks(void)
{
    const char *shared = test_shared_dir();
    if (!shared) SKIP("../shared test data absent");
    static const struct { const char *file, *key, *text; } want[] = {
        {"ctzn0g04.png", "Copyright", "Copyright Willem van Schaik, Singapore 1995-96"},
        {"ct1n0g04.png", "Disclaimer", "Freeware."},
        {"ctfn0g04.png", "Copyright", "Copyright Willem van Schaik, Kanada 2011"},
        {"ctgn0g04.png", "Disclaimer", "\xce\x94\xcf\x89\xcf\x81\xce\xb5\xce\xac\xce\xbd \xce\xbb\xce\xbf\xce\xb3\xce\xb9\xcf\x83\xce\xbc\xce\xb9\xce\xba\xcf\x8c."},
        {"ctjn0g04.png", "Disclaimer", "\xe3\x83\x95\xe3\x83\xaa\xe3\x83\xbc\xe3\x82\xa6\xe3\x82\xa7\xe3\x82\xa2\xe3\x80\x82"},
        {"ctzn0g04.png", "Author", "Willem A.J. van Schaik\n(willem@schaik.com)"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/testdata/pngsuite/%s", shared, want[i].file);
        size_t n;
        uint8_t *d = test_read_file(path, &n);
        CHECK(d != NULL);
        if (!d) continue;
        meta_list m;
        fmt_error e;
        CHECK(read_meta(d, n, &m, &e) == 0);
        CHECK_STR(entry(&m, want[i].key), want[i].text);
        meta_list_free(&m);
        free(d);
    }
}

/* Every file is walked; every x*.png is rejected by the chunk walk or by
 * the pixel decoder, never crashing. */
static void test_pngsuite_all(void)
{
    const char *shared = test_shared_dir();
    if (!shared) SKIP("../shared test data absent");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/testdata/pngsuite", shared);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) return;
    struct dirent *ent;
    int files = 0, corrupt = 0;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len < 4 || strcmp(ent->d_name + len - 4, ".png")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        size_t n = 0;
        uint8_t *data = test_read_file(path, &n);
        CHECK(data != NULL);
        if (!data) continue;
        meta_list m;
        fmt_error e;
        int walk = read_meta(data, n, &m, &e);
        image_u8 img;
        int decode = walk == 0 ? image_decode(data, n, NULL, &img, &e) : -1;
        if (decode == 0) image_free(&img);
        if (ent->d_name[0] == 'x') {
            corrupt++;
            if (walk == 0 && decode == 0) fprintf(stderr, "    %s was accepted\n", ent->d_name);
            CHECK(walk != 0 || decode != 0);
        } else {
            if (walk != 0 || decode != 0) fprintf(stderr, "    %s: %s\n", ent->d_name, e.msg);
            CHECK(walk == 0);
            CHECK(decode == 0);
        }
        meta_list_free(&m);
        free(data);
        files++;
    }
    closedir(d);
    CHECK(files > 150);
    CHECK(corrupt == 14);
}

static void test_image_limits(void)
{
    /* 20000x20000 grey passes stb_image's own checks; our 16384 limit stops
     * it before any pixel memory; 100000x100000 RGBA stb refuses itself. */
    static const struct { uint32_t side; int type; const char *why; } cases[] = {
        {20000, 0, "exceeds the limit"}, {100000, 6, "cannot decode"}};
    for (int i = 0; i < 2; i++) {
        buf b;
        fmt_error e;
        buf_init(&b, 0);
        CHECK(png_write_begin(&b, cases[i].side, cases[i].side, cases[i].type, &e) == 0);
        CHECK(png_write_chunk(&b, "IDAT", "\x78\x9c\x03\x00\x00\x00\x00\x01", 8, &e) == 0);
        CHECK(png_write_end(&b, &e) == 0);
        image_u8 img;
        CHECK(image_decode((uint8_t *)b.data, b.len, NULL, &img, &e) == -1);
        CHECK(strstr(e.msg, cases[i].why) != NULL);
        buf_free(&b);
    }
    image_u8 img;
    fmt_error e;
    CHECK(image_decode((const uint8_t *)"", 0, NULL, &img, &e) == -1);
}

/* Channels as stored (palette expanded to RGB), 16-bit reduced to 8. */
static void test_pngsuite_decode_channels(void)
{
    const char *shared = test_shared_dir();
    if (!shared) SKIP("../shared test data absent");
    static const struct { const char *file; int channels; } want[] = {
        {"basn0g01.png", 1}, {"basn0g16.png", 1}, {"basn2c16.png", 3}, {"basn3p08.png", 3},
        {"basn4a08.png", 2}, {"basn6a16.png", 4}, {"basi3p02.png", 3}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/testdata/pngsuite/%s", shared, want[i].file);
        size_t n = 0;
        uint8_t *d = test_read_file(path, &n);
        image_u8 img;
        fmt_error e;
        CHECK(d && image_decode(d, n, NULL, &img, &e) == 0);
        if (d && img.pixels) {
            CHECK(img.width == 32 && img.height == 32);
            CHECK(img.channels == want[i].channels);
            image_free(&img);
        }
        free(d);
    }
}

int main(void)
{
    RUN(test_text_ztxt_itxt);
    RUN(test_crlf_kept_verbatim);
    RUN(test_bad_crc_is_a_warning);
    RUN(test_truncation_everywhere);
    RUN(test_length_past_eof_and_huge);
    RUN(test_not_png_and_bad_ihdr);
    RUN(test_after_iend_ignored);
    RUN(test_20mb_itxt_and_the_budget);
    RUN(test_ztxt_bomb_is_bounded);
    RUN(test_inflate_bounded_directly);
    RUN(test_pngsuite_text_chunks);
    RUN(test_pngsuite_all);
    RUN(test_image_limits);
    RUN(test_pngsuite_decode_channels);
    return test_summary("png");
}
