/* 600 random mutants of real files through the whole PNG Info path (read,
 * detect, stealth, every formatter): none may crash, hang, or cost more than
 * a second of CPU. The files are the project's own examples and fixtures
 * (always present) and, when ../shared is there, its generator outputs.
 * Deterministic: the same mutants every run. A hang trips the alarm, which
 * kills the program, and tests/run.sh counts that as a failure. */
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "tests/test.h"

#define MUTANTS 600
#define MAX_FILES 16

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

typedef struct {
    uint8_t *data;
    size_t len;
} blob;

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* One edit of the kinds that break containers: bit flips, huge lengths,
 * truncation, a duplicated or foreign slice spliced in, a zeroed run. */
static void mutate(blob *m, size_t cap, const blob *other)
{
    size_t n = m->len;
    if (n == 0) return;
    size_t at = (size_t)(rng() % n);
    switch (rng() % 7) {
    case 0:
        for (int i = 0; i < 8; i++) m->data[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
        break;
    case 1:
        if (at + 4 <= n) put_be32(m->data + at, (uint32_t[]){0xFFFFFFFFu, 0x7FFFFFFFu, 0x10000u, 0}[rng() % 4]);
        break;
    case 2:
        m->len = at;
        break;
    case 3: { /* duplicate a slice in place (repeats chunks and segments) */
        size_t span = 1 + (size_t)(rng() % (n - at < 4096 ? n - at : 4096));
        if (n + span > cap) break;
        memmove(m->data + at + span, m->data + at, n - at);
        m->len = n + span;
        break;
    }
    case 4: { /* splice from another file */
        size_t from = (size_t)(rng() % other->len);
        size_t span = 1 + (size_t)(rng() % (other->len - from < 2048 ? other->len - from : 2048));
        if (at + span > cap) break;
        memcpy(m->data + at, other->data + from, span);
        if (at + span > n) m->len = at + span;
        break;
    }
    case 5:
        memset(m->data + at, 0, n - at < 64 ? n - at : 64);
        break;
    default:
        m->data[at] = (uint8_t)rng();
        break;
    }
}

static int load(blob *files, int n, const char *path)
{
    if (n >= MAX_FILES) return n;
    size_t len;
    uint8_t *d = test_read_file(path, &len);
    if (!d || len == 0) {
        free(d);
        return n;
    }
    files[n].data = d;
    files[n].len = len;
    return n + 1;
}

static double cpu_seconds(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

/* 0 refused, 1 read, 2 read with generation parameters. */
static int run_one(const uint8_t *d, size_t n)
{
    unprompt_info info;
    char err[256];
    if (unprompt_info_read(d, n, NULL, &info, err, sizeof err) != UNPROMPT_OK) return 0;
    int found = info.generator && strcmp(info.generator, "unknown") != 0;
    unprompt_string_free(unprompt_info_to_text(&info));
    unprompt_string_free(unprompt_info_to_json(&info, "m.png"));
    unprompt_string_free(unprompt_info_to_txt2img(&info));
    unprompt_info_free(&info);
    return 1 + found;
}

static void test_mutants_of_real_files(void)
{
    static const char *own[] = {"examples/sample.png", "examples/comfyui.png", "tests/fixtures/exif_a1111.jpg",
                                "tests/fixtures/exif_a1111.webp", "tests/fixtures/stealth_alpha.png",
                                "tests/fixtures/stealth_alpha_gzip.png", "tests/fixtures/stealth_rgb.png"};
    static const char *shared_files[] = {"automatic1111_cropped.jpg", "automatic1111_cropped.png",
                                         "text_after_idat.png", "empty_image.png", "empty_image.jpg"};
    blob files[MAX_FILES];
    int n = 0;
    for (size_t i = 0; i < sizeof own / sizeof *own; i++) n = load(files, n, own[i]);
    CHECK(n == (int)(sizeof own / sizeof *own)); /* the repository's own files are always there */
    const char *shared = test_shared_dir();
    for (size_t i = 0; shared && i < sizeof shared_files / sizeof *shared_files; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/testdata/metadata/%s", shared, shared_files[i]);
        n = load(files, n, path);
    }
    if (n == 0) return;
    double worst = 0;
    int worst_at = -1, outcome[3] = {0, 0, 0};
    for (int k = 0; k < MUTANTS; k++) {
        const blob *src = &files[k % n];
        size_t cap = src->len + 64 * 1024;
        blob m = {malloc(cap), src->len};
        memcpy(m.data, src->data, src->len);
        int edits = 1 + (int)(rng() % 8);
        for (int e = 0; e < edits; e++) mutate(&m, cap, &files[rng() % (uint64_t)n]);
        double t0 = cpu_seconds();
        outcome[run_one(m.data, m.len)]++;
        double dt = cpu_seconds() - t0;
        if (dt > worst) worst = dt, worst_at = k;
        free(m.data);
    }
    fprintf(stderr, "  %d mutants of %d files: %d refused, %d read, %d with parameters; slowest %.4f s CPU (#%d)\n",
            MUTANTS, n, outcome[0], outcome[1], outcome[2], worst, worst_at);
    CHECK(worst < 1.0);
    /* Not a vacuous run: many mutants still get through the readers. */
    CHECK(outcome[2] >= MUTANTS / 10);
    for (int i = 0; i < n; i++) free(files[i].data);
}

int main(void)
{
    alarm(600); /* a hang fails the program instead of stalling the suite */
    RUN(test_mutants_of_real_files);
    return test_summary("mutants_info");
}
