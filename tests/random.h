/* Deterministic random test data for the kernel tests: xorshift64, floats
 * uniform in [-1, 1). A test that wants its own sequence defines
 * TEST_RANDOM_SEED before including this. */
#ifndef UNPROMPT_TESTS_RANDOM_H
#define UNPROMPT_TESTS_RANDOM_H

#include <stdint.h>
#include <stdlib.h>

#ifndef TEST_RANDOM_SEED
#define TEST_RANDOM_SEED 0x2545F4914F6CDD1Dull
#endif

static uint64_t test_random_state = TEST_RANDOM_SEED;

static float frand(void)
{
    uint64_t s = test_random_state;
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    test_random_state = s;
    return (float)((s >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* n random floats (malloc'd, at least one element). */
static float *rvec(size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++) v[i] = frand();
    return v;
}

#endif
