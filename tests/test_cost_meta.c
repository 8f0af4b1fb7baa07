/* Bounded cost of the metadata readers and parsers (issue 21): each case
 * builds the worst input at the reader's limit in memory, then checks the
 * answer is right and the work stayed linear. The CPU bounds are ~20x what
 * the linear code takes under ASan on the 2-core test machine; the code
 * they guard against took minutes (the A1111 scan) or 10 s (Exif). */
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "engine/api/unprompt.h"
#include "base/buf.h"
#include "format/exif.h"
#include "format/gen_params.h"
#include "format/meta.h"
#include "format/png.h"
#include "format/png_write.h"
#include "tests/test.h"

#define MIB ((size_t)1 << 20)
/* The largest text one file may carry: the default per-file budget, less
 * room for the keyword. */
#define MAX_TEXT (META_DEFAULT_BUDGET - 64)

static double cpu_seconds(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

static long peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* A PNG of 1x1 pixels whose only text is `keyword` = text, as tEXt. */
static void png_with_text(buf *b, const char *keyword, const char *text, size_t len)
{
    fmt_error e;
    uint8_t px[3] = {0, 0, 0};
    buf_init(b, 0);
    CHECK(png_write_begin(b, 1, 1, 2, &e) == 0);
    CHECK(png_write_text(b, keyword, text, len, &e) == 0);
    CHECK(png_write_pixels(b, px, 1, 1, 3, &e) == 0);
    CHECK(png_write_end(b, &e) == 0);
}

static char *repeat_text(const char *unit, size_t len)
{
    size_t u = strlen(unit);
    char *s = malloc(len + 1);
    for (size_t i = 0; i < len; i++) s[i] = unit[i % u];
    s[len] = '\0';
    return s;
}

/* The A1111 settings scan on the worst lines at the budget's size: letters
 * without ':' (each start used to scan to the end), spaces, key runs that
 * end in ',' — none is a settings line, so it all stays the prompt. */
static void test_a1111_scan_linear_at_budget(void)
{
    static const char *units[] = {"abcdefghij", " ", "ab cd-ef/gh ", "a,", "k: \"\\\"", "\t \n"};
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        char *text = repeat_text(units[u], MAX_TEXT);
        gen_params p;
        gen_params_init(&p);
        fmt_error e;
        double t0 = cpu_seconds();
        CHECK(params_parse_a1111(text, MAX_TEXT, &p, &e) == 0);
        double dt = cpu_seconds() - t0;
        if (dt > 4.0) fprintf(stderr, "  unit %zu: %.2f s\n", u, dt);
        CHECK(dt < 4.0);
        CHECK(p.prompt != NULL);
        gen_params_free(&p);
        free(text);
    }
}

/* The scan's answer is unchanged: findall's matches on lines a stepping bug
 * would get wrong (a key shortened from the left, a one-letter key before
 * ':', spaces before keys, a quoted value that is not closed). */
static void test_a1111_scan_same_matches(void)
{
    static const struct {
        const char *line;
        const char *key, *value;
    } cases[] = {
        {"p\nxyz abc: 1, Steps: 20, Seed: 3", "xyz abc", "1"},
        {"p\nq a: 1, Steps: 20, Seed: 3, CFG scale: 7", "CFG scale", "7"},
        {"p\n-x-y: 5, Steps: 20, Seed: 3, Size: 5x5", "x-y", "5"},
        {"p\n  Sampler:   Euler a, Steps: 20, Seed: 3", "Sampler", "Euler a"},
        {"p\nHashes: \"{\\\"a\\\": 1}\", Steps: 20, Seed: 3", "Hashes", "{\"a\": 1}"},
        {"p\nNote: \"open, Steps: 20, Seed: 3", "Note", "\"open"},
        {"p\nz: 1, Steps: 20, Seed: 3, Size: 5x5", "Steps", "20"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gen_params p;
        gen_params_init(&p);
        fmt_error e;
        CHECK(params_parse_a1111(cases[i].line, strlen(cases[i].line), &p, &e) == 0);
        CHECK_STR(gen_params_get(&p, cases[i].key), cases[i].value);
        gen_params_free(&p);
    }
    /* The key is the whole run before ':' ("q a"), as re.findall takes it,
     * not its tail; and a one-letter key is no key. */
    gen_params p;
    gen_params_init(&p);
    fmt_error e;
    const char *line = "p\nq a: 1, Steps: 20, Seed: 3";
    CHECK(params_parse_a1111(line, strlen(line), &p, &e) == 0);
    CHECK_STR(gen_params_get(&p, "q a"), "1");
    CHECK(gen_params_get(&p, "a") == NULL);
    gen_params_free(&p);
    line = "p\nz: 1, Steps: 20, Seed: 3, Size: 5x5";
    gen_params_init(&p);
    CHECK(params_parse_a1111(line, strlen(line), &p, &e) == 0);
    CHECK(gen_params_get(&p, "z") == NULL && p.n_settings == 3);
    gen_params_free(&p);
}

/* A settings line at the budget's size: 1023 distinct keys, then the same
 * key over and over (each set used to scan every key: 1024 x millions). */
static void test_a1111_settings_merge_linear(void)
{
    buf b;
    fmt_error e;
    buf_init(&b, 0);
    CHECK(buf_append_str(&b, "a prompt\n", &e) == 0);
    for (int i = 0; i < 1023; i++) CHECK(buf_printf(&b, &e, "Key %d: %d, ", i, i) == 0);
    while (b.len < MAX_TEXT - 32) CHECK(buf_append_str(&b, "Key 7: v, ", &e) == 0);
    CHECK(buf_append_str(&b, "Key 7: last", &e) == 0);
    gen_params p;
    gen_params_init(&p);
    double t0 = cpu_seconds();
    CHECK(params_parse_a1111(b.data, b.len, &p, &e) == 0);
    double dt = cpu_seconds() - t0;
    CHECK(dt < 4.0);
    CHECK(p.n_settings == 1023);
    CHECK_STR(gen_params_get(&p, "Key 7"), "last");
    CHECK_STR(gen_params_get(&p, "Key 1022"), "1022");
    CHECK_STR(p.prompt, "a prompt");
    gen_params_free(&p);
    /* One key more than the 1024 allowed: refused, not slow. */
    buf_free(&b);
    buf_init(&b, 0);
    CHECK(buf_append_str(&b, "a prompt\n", &e) == 0);
    for (int i = 0; i < 1025; i++) CHECK(buf_printf(&b, &e, "Key %d: %d, ", i, i) == 0);
    gen_params_init(&p);
    CHECK(params_parse_a1111(b.data, b.len, &p, &e) == -1);
    CHECK(strstr(e.msg, "more than 1024 settings") != NULL);
    gen_params_free(&p);
    buf_free(&b);
}

/* The whole path through the public API: a PNG whose parameters are 16 MiB
 * of letters; the result is the text itself, within the budget. */
static void test_info_on_budget_sized_parameters(void)
{
    char *text = repeat_text("abcdefghij", MAX_TEXT);
    buf png;
    png_with_text(&png, "parameters", text, MAX_TEXT);
    unprompt_info info;
    char err[256];
    double t0 = cpu_seconds();
    CHECK(unprompt_info_read((uint8_t *)png.data, png.len, NULL, &info, err, sizeof err) == UNPROMPT_OK);
    CHECK(cpu_seconds() - t0 < 4.0);
    CHECK(info.prompt && strlen(info.prompt) == MAX_TEXT);
    char *out = unprompt_info_to_text(&info);
    CHECK(out && strlen(out) == MAX_TEXT);
    unprompt_string_free(out);
    /* JSON holds the text twice (prompt and raw): over the budget, refused. */
    CHECK(unprompt_info_to_json(&info, "x.png") == NULL);
    unprompt_info_free(&info);
    /* With a larger budget it is written. */
    unprompt_info_params params = unprompt_info_default_params();
    params.max_text = 64 * MIB;
    CHECK(unprompt_info_read((uint8_t *)png.data, png.len, &params, &info, err, sizeof err) == UNPROMPT_OK);
    out = unprompt_info_to_json(&info, "x.png");
    CHECK(out && strlen(out) > 2 * MAX_TEXT);
    unprompt_string_free(out);
    unprompt_info_free(&info);
    buf_free(&png);
    free(text);
}

/* ---- Exif ----------------------------------------------------------------- */

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A little-endian TIFF block: `ifds` IFDs chained through the Exif
 * sub-IFD pointer, each with `per_ifd` ImageDescription entries pointing
 * into one run of `run` bytes (at the same offset, or, when `shift`, each
 * one byte further: distinct, overlapping strings). */
static uint8_t *exif_block(int ifds, int per_ifd, size_t run, int shift, int fill, size_t *len)
{
    size_t ifd_size = 2 + (size_t)(per_ifd + 1) * 12 + 4;
    size_t data_off = 8 + (size_t)ifds * ifd_size;
    size_t extra = shift ? (size_t)ifds * (size_t)per_ifd : 0;
    *len = data_off + run + extra;
    uint8_t *d = calloc(1, *len);
    memcpy(d, "II*\0", 4);
    put32(d + 4, 8);
    for (int k = 0; k < ifds; k++) {
        uint8_t *ifd = d + 8 + (size_t)k * ifd_size;
        int last = k == ifds - 1;
        put16(ifd, (unsigned)(per_ifd + !last));
        for (int i = 0; i < per_ifd; i++) {
            uint8_t *e = ifd + 2 + (size_t)i * 12;
            size_t at = data_off + (shift ? (size_t)k * (size_t)per_ifd + (size_t)i : 0);
            put16(e, 0x010E);
            put16(e + 2, 2);
            put32(e + 4, (uint32_t)run);
            put32(e + 8, (uint32_t)at);
        }
        if (!last) {
            uint8_t *e = ifd + 2 + (size_t)per_ifd * 12;
            put16(e, 0x8769);
            put16(e + 2, 4);
            put32(e + 4, 1);
            put32(e + 8, (uint32_t)(8 + (size_t)(k + 1) * ifd_size));
        }
    }
    memset(d + data_off, fill, run + extra);
    return d;
}

/* The file: 5 IFDs x 1000 entries on one 64 KiB run (9.7 s, 530 MB
 * and 268 MB printed before). Now the string is decoded once and given
 * once; bytes >= 0x80 (Latin-1, two UTF-8 bytes each) included. */
static void test_exif_shared_string_once(void)
{
    for (int fill = 'A'; fill <= 0xE9; fill += 0xE9 - 'A') {
        size_t len;
        uint8_t *d = exif_block(5, 999, 64 * 1024, 0, fill, &len);
        meta_list m;
        meta_list_init(&m);
        fmt_error e;
        double t0 = cpu_seconds();
        CHECK(exif_read(d, len, &m, &e) == 0);
        CHECK(cpu_seconds() - t0 < 1.0);
        CHECK(m.count == 1);
        CHECK(m.count == 1 && m.items[0].text_len == (fill < 0x80 ? 1 : 2) * (size_t)64 * 1024);
        meta_list_free(&m);
        free(d);
    }
}

/* Distinct strings that overlap (each entry one byte further into a run):
 * decoding stops at the per-file budget, and nothing after it is decoded. */
static void test_exif_overlapping_strings_stop_at_budget(void)
{
    size_t len;
    uint8_t *d = exif_block(5, 999, 512 * 1024, 1, 0xE9, &len);
    meta_list m;
    meta_list_init(&m);
    fmt_error e;
    long rss0 = peak_rss_mb();
    double t0 = cpu_seconds();
    CHECK(exif_read(d, len, &m, &e) == 0);
    double dt = cpu_seconds() - t0;
    CHECK(dt < 2.0);
    CHECK(m.text_total <= META_DEFAULT_BUDGET);
    CHECK(m.exhausted);
    CHECK(m.count >= 15 && m.count <= 16); /* 16 MiB in 1 MiB strings */
    CHECK(m.n_warnings == 1 && strstr(m.warnings[0], "per-file budget of 16 MiB"));
    CHECK(peak_rss_mb() - rss0 < 200);
    meta_list_free(&m);
    free(d);
}

/* The same through PNG eXIf and the public API's JSON output: the output
 * too stays within the budget (it is refused past it, never printed). */
static void test_exif_in_png_output_bounded(void)
{
    size_t len;
    uint8_t *d = exif_block(5, 999, 512 * 1024, 1, 0x01, &len);
    buf png;
    fmt_error e;
    uint8_t px[3] = {0};
    buf_init(&png, 0);
    CHECK(png_write_begin(&png, 1, 1, 2, &e) == 0);
    CHECK(png_write_chunk(&png, "eXIf", d, len, &e) == 0);
    CHECK(png_write_pixels(&png, px, 1, 1, 3, &e) == 0);
    CHECK(png_write_end(&png, &e) == 0);
    unprompt_info info;
    char err[256];
    double t0 = cpu_seconds();
    CHECK(unprompt_info_read((uint8_t *)png.data, png.len, NULL, &info, err, sizeof err) == UNPROMPT_OK);
    char *json = unprompt_info_to_json(&info, "x.png"); /* control bytes: 6 bytes each in JSON */
    CHECK(json == NULL);
    char *text = unprompt_info_to_text(&info);
    CHECK(text != NULL && strlen(text) <= META_DEFAULT_BUDGET);
    CHECK(cpu_seconds() - t0 < 3.0);
    unprompt_string_free(text);
    unprompt_info_free(&info);
    buf_free(&png);
    free(d);
}

/* Many compressed chunks, each a bomb that fills what is left of the
 * budget: once the budget is spent nothing more is inflated (all 2000
 * would be 8 GB of output), and the file's later text is skipped too. */
static void test_ztxt_bombs_stop_at_budget(void)
{
    enum { CHUNKS = 2000 };
    size_t raw = 4 * MIB;
    char *ones = malloc(raw);
    memset(ones, 'x', raw);
    buf chunk, png;
    fmt_error e;
    uint8_t px[3] = {0};
    buf_init(&chunk, 0);
    CHECK(png_write_ztxt(&chunk, "junk", ones, raw, &e) == 0);
    buf_init(&png, 0);
    CHECK(png_write_begin(&png, 1, 1, 2, &e) == 0);
    for (int i = 0; i < CHUNKS; i++) CHECK(buf_append(&png, chunk.data, chunk.len, &e) == 0);
    CHECK(png_write_text(&png, "parameters", "late", 4, &e) == 0);
    CHECK(png_write_pixels(&png, px, 1, 1, 3, &e) == 0);
    CHECK(png_write_end(&png, &e) == 0);
    meta_list m;
    meta_list_init(&m);
    double t0 = cpu_seconds();
    CHECK(png_read_meta((uint8_t *)png.data, png.len, NULL, &m, NULL, &e) == 0);
    CHECK(cpu_seconds() - t0 < 3.0);
    CHECK(m.text_total <= META_DEFAULT_BUDGET);
    CHECK(m.count == 3); /* 3 x (4 MiB + "junk"); the 4th outgrows the budget */
    CHECK(m.exhausted && m.n_warnings == 1);
    CHECK(meta_list_find(&m, "parameters") == NULL);
    meta_list_free(&m);
    buf_free(&chunk);
    buf_free(&png);
    free(ones);
}

int main(void)
{
    RUN(test_a1111_scan_linear_at_budget);
    RUN(test_a1111_scan_same_matches);
    RUN(test_a1111_settings_merge_linear);
    RUN(test_info_on_budget_sized_parameters);
    RUN(test_exif_shared_string_once);
    RUN(test_exif_overlapping_strings_stop_at_budget);
    RUN(test_exif_in_png_output_bounded);
    RUN(test_ztxt_bombs_stop_at_budget);
    return test_summary("cost_meta");
}
