/* Every image format and variant the WebUI's Pillow opens, decoded and
 * converted to RGB as Image.open(f).convert("RGB") does, byte for byte:
 * files and Pillow's bytes from tests/fixtures/make_decode_fixtures.py.
 * Then the one table of formats, and hostile inputs: oversized, truncated
 * and corrupt files of each format give a clear error, never a crash. */
#include "engine/preprocess/pixels.h"
#include "format/image.h"
#include "format/image_format.h"
#include "tests/test.h"

#define DIR "tests/fixtures/decode"

static int cases_run, formats_seen[IMAGE_FORMAT_COUNT];

/* One manifest line: "file width height pillow_mode". */
static void check_case(const char *line)
{
    char file[96], mode[16];
    int w, h;
    if (sscanf(line, "%95s %d %d %15s", file, &w, &h, mode) != 4) return;
    char path[192], want_path[192];
    snprintf(path, sizeof path, DIR "/%s", file);
    snprintf(want_path, sizeof want_path, DIR "/%.*s.rgb", (int)(strrchr(file, '.') - file), file);
    size_t n = 0, want_n = 0;
    uint8_t *data = test_read_file(path, &n), *want = test_read_file(want_path, &want_n), *rgb = NULL;
    CHECK(data && want);
    const image_format *f = data ? image_format_sniff(data, n) : NULL;
    CHECK(f != NULL && f == image_format_by_name(file));
    if (f) formats_seen[f->id]++;
    int gw = 0, gh = 0;
    fmt_error e = {{0}};
    int rc = data ? pixels_decode_rgb(data, n, &rgb, &gw, &gh, &e) : -1;
    if (rc) fprintf(stderr, "  %s: %s\n", file, e.msg);
    CHECK(rc == 0);
    CHECK(gw == w && gh == h && want_n == (size_t)w * (size_t)h * 3);
    if (rgb && want && want_n == (size_t)gw * (size_t)gh * 3) {
        size_t diff = 0, maxd = 0;
        for (size_t i = 0; i < want_n; i++) {
            size_t d = rgb[i] > want[i] ? (size_t)(rgb[i] - want[i]) : (size_t)(want[i] - rgb[i]);
            diff += d != 0;
            if (d > maxd) maxd = d;
        }
        if (diff) fprintf(stderr, "  %s (%s): %zu of %zu bytes differ from Pillow's, by up to %zu\n", file, mode, diff,
                          want_n, maxd);
        CHECK(diff == 0);
    }
    cases_run++;
    free(rgb);
    free(data);
    free(want);
}

static void test_every_fixture_equals_pillow(void)
{
    size_t n;
    char *m = (char *)test_read_file(DIR "/manifest.txt", &n);
    CHECK(m != NULL);
    if (!m) return;
    for (char *line = strtok(m, "\n"); line; line = strtok(NULL, "\n")) check_case(line);
    free(m);
    CHECK(cases_run >= 50);
    for (int i = 0; i < IMAGE_FORMAT_COUNT; i++) CHECK(formats_seen[i] >= 4);
    printf("  %d files, every format, equal to Pillow's convert(\"RGB\")\n", cases_run);
}

static void test_format_table(void)
{
    CHECK(image_format_by_name("a/b.JPG")->id == IMAGE_FORMAT_JPEG);
    CHECK(image_format_by_name("x.jpeg")->id == IMAGE_FORMAT_JPEG);
    CHECK(image_format_by_name("x.Tiff")->id == IMAGE_FORMAT_TIFF);
    CHECK(image_format_by_name("x.tif")->id == IMAGE_FORMAT_TIFF);
    CHECK(image_format_by_name("x.webp")->id == IMAGE_FORMAT_WEBP);
    CHECK(image_format_by_name("x.gif")->id == IMAGE_FORMAT_GIF);
    CHECK(image_format_by_name("x.bmp")->id == IMAGE_FORMAT_BMP);
    CHECK(image_format_by_name("x.png")->id == IMAGE_FORMAT_PNG);
    CHECK(image_format_by_name("x.txt") == NULL && image_format_by_name("png") == NULL);
    CHECK(image_format_by_name("x.png.txt") == NULL);
    for (size_t i = 0; i < IMAGE_FORMAT_COUNT; i++) {
        const image_format *f = image_format_at(i);
        CHECK(f && f->id == (image_format_id)i && strstr(image_format_labels(), f->label));
    }
    CHECK(image_format_at(IMAGE_FORMAT_COUNT) == NULL);
    CHECK(image_format_sniff((const uint8_t *)"GIF89a", 6)->id == IMAGE_FORMAT_GIF);
    CHECK(image_format_sniff((const uint8_t *)"MM\0*\0\0\0\x08", 8)->id == IMAGE_FORMAT_TIFF);
    CHECK(image_format_sniff((const uint8_t *)"II*", 3) == NULL);
    CHECK(image_format_sniff((const uint8_t *)"hello world", 11) == NULL);
    image_u8 img;
    fmt_error e;
    CHECK(image_decode((const uint8_t *)"hello world", 11, NULL, &img, &e) == -1);
    CHECK(strstr(e.msg, "not a PNG, JPEG, WebP, GIF, BMP or TIFF file") != NULL);
}

/* Each format's fixture with a limit one pixel too small: refused before
 * decoding, the size in the message. */
/* A fixture's bytes (a failed check when missing). */
static uint8_t *read_fixture(const char *name, size_t *n)
{
    char path[128];
    snprintf(path, sizeof path, DIR "/%s", name);
    uint8_t *d = test_read_file(path, n);
    CHECK(d != NULL);
    return d;
}

static void test_oversized_refused_with_size(void)
{
    static const char *const files[] = {"png_rgb8.png", "jpeg_420.jpg", "webp_lossy.webp", "gif_p8.gif",
                                        "bmp_rgb24.bmp", "tiff_rgb_lzw.tif", "webp_anim_lossless.webp"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t n;
        uint8_t *d = read_fixture(files[i], &n);
        if (!d) continue;
        image_limits lim = image_default_limits();
        lim.max_pixels = 33 * 17 - 1;
        image_u8 img;
        fmt_error e = {{0}};
        CHECK(image_decode(d, n, &lim, &img, &e) == -1 && img.pixels == NULL);
        if (!strstr(e.msg, "image of 33x17 exceeds the limit")) fprintf(stderr, "  %s: %s\n", files[i], e.msg);
        CHECK(strstr(e.msg, "image of 33x17 exceeds the limit") != NULL);
        lim.max_pixels = 33 * 17;
        lim.max_width = 32;
        CHECK(image_decode(d, n, &lim, &img, &e) == -1 && strstr(e.msg, "33x17"));
        lim.max_width = 33;
        int rc = image_decode(d, n, &lim, &img, &e);
        if (rc) fprintf(stderr, "  %s at its own size: %s\n", files[i], e.msg);
        CHECK(rc == 0);
        image_free(&img);
        free(d);
    }
}

/* Truncations at many points and single-byte corruptions of each format's
 * files: every one decodes or fails with a message; none crashes, prints
 * or exits (libjpeg's default handler would call exit()). */
static void test_truncated_and_corrupt(void)
{
    static const char *const files[] = {"jpeg_420.jpg", "jpeg_progressive_420.jpg", "jpeg_cmyk_adobe.jpg",
                                        "webp_lossy.webp", "webp_lossless_alpha.webp", "webp_anim_lossy.webp",
                                        "tiff_rgb_lzw.tif", "tiff_rgb_jpeg.tif", "tiff_1bit_g4.tif",
                                        "tiff_p8.tif", "gif_anim.gif", "bmp_p8.bmp", "png_p8_trns.png"};
    int failed = 0, decoded = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t n;
        uint8_t *d = read_fixture(files[i], &n);
        if (!d) continue;
        uint8_t *copy = malloc(n);
        for (size_t cut = 1; cut < n; cut += 1 + n / 41) {
            image_u8 img;
            fmt_error e = {{0}};
            int rc = image_decode(d, cut, NULL, &img, &e);
            CHECK(rc == 0 || (rc == -1 && e.msg[0] && img.pixels == NULL));
            rc ? failed++ : decoded++;
            image_free(&img);
        }
        uint32_t seed = 12345u + (uint32_t)i;
        for (int k = 0; k < 60; k++) {
            memcpy(copy, d, n);
            seed = seed * 1103515245u + 12345u;
            size_t at = 8 + (seed >> 8) % (n - 8);
            copy[at] ^= (uint8_t)(1u << (seed % 8)) | 0x10;
            image_u8 img;
            fmt_error e = {{0}};
            int rc = image_decode(copy, n, NULL, &img, &e);
            CHECK(rc == 0 || (rc == -1 && e.msg[0] && img.pixels == NULL));
            rc ? failed++ : decoded++;
            image_free(&img);
        }
        free(copy);
        free(d);
    }
    printf("  truncated or corrupted: %d refused with a reason, %d still decoded\n", failed, decoded);
    CHECK(failed > 100);
}

/* A cut JPEG is refused as truncated (Pillow: "image file is truncated"),
 * not filled with grey. */
static void test_truncated_jpeg_is_an_error(void)
{
    size_t n;
    uint8_t *d = test_read_file(DIR "/jpeg_420_67x45.jpg", &n);
    CHECK(d != NULL);
    if (!d) return;
    image_u8 img;
    fmt_error e = {{0}};
    CHECK(image_decode(d, n - 40, NULL, &img, &e) == -1);
    CHECK(strstr(e.msg, "truncated") != NULL);
    free(d);
}

int main(void)
{
    RUN(test_every_fixture_equals_pillow);
    RUN(test_format_table);
    RUN(test_oversized_refused_with_size);
    RUN(test_truncated_and_corrupt);
    RUN(test_truncated_jpeg_is_an_error);
    return test_summary("decode");
}
