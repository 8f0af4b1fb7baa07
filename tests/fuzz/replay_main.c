/* Replays a fuzz target's committed corpus (every file in tests/fuzz/corpus/NAME) plus
 * deterministic mutations of each file, as part of `make test`. The real
 * fuzzing is `make fuzz-run` (libFuzzer); this keeps the corpus honest.
 * Besides crashes (and sanitizer reports under `make asan`), each input's
 * cost is checked: no input may take more than INPUT_CPU_LIMIT seconds of
 * CPU (the readers are linear; their largest seeds take milliseconds), and
 * the alarm ends a hang. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUTATIONS 200
#define INPUT_CPU_LIMIT 2.0

static double slowest;
static char slowest_name[300];

/* One input, timed. */
static void run_input(const uint8_t *data, size_t size, const char *name)
{
    clock_t t0 = clock();
    LLVMFuzzerTestOneInput(data, size);
    double dt = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (dt > slowest) {
        slowest = dt;
        snprintf(slowest_name, sizeof slowest_name, "%s", name);
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void mutate(uint8_t *p, size_t *n, size_t cap)
{
    int kind = (int)(rng() % 4);
    if (*n == 0) kind = 3;
    if (kind == 0) { /* flip bytes */
        for (int i = 0; i < 4; i++) p[rng() % *n] ^= (uint8_t)(1u << (rng() % 8));
    } else if (kind == 1) { /* truncate */
        *n = (size_t)(rng() % (*n + 1));
    } else if (kind == 2) { /* overwrite with a large value */
        size_t at = rng() % *n;
        for (size_t i = at; i < at + 4 && i < *n; i++) p[i] = 0xFF;
    } else if (*n < cap) { /* append */
        p[(*n)++] = (uint8_t)rng();
    }
}

static int replayed;

static void replay_file(const char *path)
{
    size_t n;
    unsigned char *data = test_read_file(path, &n);
    CHECK(data != NULL);
    if (!data) return;
    run_input(data, n, path);
    size_t cap = n + 64;
    uint8_t *m = malloc(cap);
    for (int i = 0; i < MUTATIONS && m; i++) {
        memcpy(m, data, n);
        size_t len = n;
        for (int k = 0; k < 1 + i % 3; k++) mutate(m, &len, cap);
        run_input(m, len, path);
    }
    free(m);
    free(data);
    replayed++;
}

static void test_corpus_replay(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", FUZZ_NAME);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) return;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        replay_file(path);
    }
    closedir(d);
    CHECK(replayed > 0);
    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    if (slowest > INPUT_CPU_LIMIT || getenv("TEST_VERBOSE"))
        fprintf(stderr, "    %d files: slowest input %.3f s CPU (%s or a mutant of it)\n", replayed, slowest,
                slowest_name);
    CHECK(slowest <= INPUT_CPU_LIMIT);
}

int main(void)
{
    alarm(600); /* a hang kills the program: counted as a failure */
    RUN(test_corpus_replay);
    return test_summary("fuzzreplay_" FUZZ_NAME);
}
