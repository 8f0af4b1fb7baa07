/* Every format through the CLI, as a user meets it: info says the same
 * words for a readable image without metadata whatever its format, a
 * directory scan takes exactly the files of the one table of formats, and
 * a model command reads each format's pixels as Pillow gives them (the tags
 * of a JPEG, WebP, TIFF... equal those of a PNG of Pillow's RGB bytes). */
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "base/buf.h"
#include "format/png_write.h"
#include "tests/test.h"
#include "tests/cli.h"

#define DEC "tests/fixtures/decode/"
#define DD "tests/fixtures/deepdanbooru/"

static const char *const one_per_format[] = {"png_rgb8.png", "jpeg_420.jpg", "webp_lossy.webp",
                                             "gif_p8.gif",   "bmp_rgb24.bmp", "tiff_rgb_lzw.tif"};
#define N_FORMATS (sizeof one_per_format / sizeof *one_per_format)

static void test_info_same_words_for_every_format(void)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        char args[256], want[256];
        snprintf(args, sizeof args, "info " DEC "%s", one_per_format[i]);
        cli_result r = cli_run(args);
        snprintf(want, sizeof want, "engine-run info: " DEC "%s: no generation parameters found\n", one_per_format[i]);
        CHECK(r.status == 1);
        if (strcmp(r.err, want)) fprintf(stderr, "  %s: %s", one_per_format[i], r.err);
        CHECK(!strcmp(r.err, want));
        cli_free(&r);
    }
    cli_result r = cli_run("info " DEC "manifest.txt");
    CHECK(r.status == 1);
    CHECK(strstr(r.err, "manifest.txt: not a PNG, JPEG, WebP, GIF, BMP or TIFF file") != NULL);
    cli_free(&r);
}

/* info over the fixture directory names every image of the manifest (each
 * has a line, on stdout or stderr) and none of the .rgb or .txt files. */
static void test_directory_scan_takes_the_table(void)
{
    cli_result r = cli_run("info --json " DEC);
    size_t n;
    char *m = (char *)test_read_file(DEC "manifest.txt", &n);
    CHECK(m != NULL);
    int files = 0;
    for (char *line = m ? strtok(m, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char name[128], path[192];
        if (sscanf(line, "%127s", name) != 1) continue;
        snprintf(path, sizeof path, DEC "%s", name);
        if (!strstr(r.out, path) && !strstr(r.err, path)) fprintf(stderr, "  %s not scanned\n", name);
        CHECK(strstr(r.out, path) || strstr(r.err, path));
        files++;
    }
    free(m);
    CHECK(files >= 50);
    CHECK(!strstr(r.out, ".rgb") && !strstr(r.err, ".rgb") && !strstr(r.err, "manifest"));
    cli_free(&r);
}

/* A PNG of the fixture's Pillow RGB bytes, in dir. */
static int write_reference_png(const char *dir, const char *file, char *out, size_t out_size)
{
    char line[256], path[192];
    size_t n;
    char *m = (char *)test_read_file(DEC "manifest.txt", &n);
    int w = 0, h = 0, found = 0;
    for (char *s = m ? strtok(m, "\n") : NULL; s && !found; s = strtok(NULL, "\n"))
        found = sscanf(s, "%255s %d %d", line, &w, &h) == 3 && !strcmp(line, file);
    free(m);
    snprintf(path, sizeof path, DEC "%.*s.rgb", (int)(strrchr(file, '.') - file), file);
    uint8_t *rgb = test_read_file(path, &n);
    if (!found || !rgb || n != (size_t)w * (size_t)h * 3) {
        free(rgb);
        return -1;
    }
    buf b;
    fmt_error e;
    buf_init(&b, 0);
    int rc = png_write_begin(&b, (uint32_t)w, (uint32_t)h, 2, &e) ||
             png_write_pixels(&b, rgb, (uint32_t)w, (uint32_t)h, 3, &e) || png_write_end(&b, &e);
    snprintf(out, out_size, "%s/%s.png", dir, file);
    FILE *f = rc ? NULL : fopen(out, "wb");
    if (f) rc = fwrite(b.data, 1, b.len, f) != b.len, fclose(f);
    buf_free(&b);
    free(rgb);
    return f && !rc ? 0 : -1;
}

/* booru --json's line from its "prompt" on: the WebUI's line and every
 * tag's score to 6 digits (enough to tell stb_image's JPEG pixels from
 * Pillow's even on the tiny model: all three JPEGs tried differed). */
static char *prompt_of(const char *json)
{
    const char *p = strstr(json, "\"prompt\": ");
    const char *q = p ? strchr(p, '\n') : NULL;
    return p && q ? strndup(p, (size_t)(q - p)) : NULL;
}

static void test_booru_reads_every_format_as_pillow(void)
{
    char model[128], err[256];
    snprintf(model, sizeof model, "/tmp/unprompt-decode-dd-%ld.safetensors", (long)getpid());
    unprompt_convert_params p = unprompt_convert_default_params();
    CHECK(unprompt_convert(DD "tiny.pt", model, &p, err, sizeof err) == UNPROMPT_OK);
    char *dir = cli_tmpdir();
    static const char *const files[] = {"jpeg_420.jpg",         "jpeg_ycck_adobe.jpg", "jpeg_progressive_444.jpg",
                                        "webp_lossy_alpha.webp", "webp_anim_lossy.webp", "tiff_ycbcr_jpeg.tif",
                                        "tiff_cmyk.tif",         "gif_transparent.gif",  "png_l16.png", "bmp_p8.bmp"};
    for (size_t i = 0; dir && i < sizeof files / sizeof *files; i++) {
        char ref[256], args[768];
        CHECK(write_reference_png(dir, files[i], ref, sizeof ref) == 0);
        snprintf(args, sizeof args, "booru --json --threshold 0.2 --booru-model %s " DEC "%s %s", model, files[i], ref);
        cli_result r = cli_run(args);
        CHECK(r.status == 0);
        char *nl = strchr(r.out, '\n');
        char *a = prompt_of(r.out), *b = nl ? prompt_of(nl + 1) : NULL;
        CHECK(a && b && strlen(a) > 20);
        if (a && b && strcmp(a, b)) fprintf(stderr, "  %s: %s\n  vs Pillow's pixels: %s\n", files[i], a, b);
        CHECK(a && b && !strcmp(a, b));
        free(a);
        free(b);
        cli_free(&r);
    }
    cli_rmrf(dir);
    unlink(model);
}

int main(void)
{
    RUN(test_info_same_words_for_every_format);
    RUN(test_directory_scan_takes_the_table);
    RUN(test_booru_reads_every_format_as_pillow);
    return test_summary("cli_decode");
}
