/* Comparing a model's output with a reference (tests of the models against
 * the PyTorch goldens of tests/fixtures/make_*_fixtures.py).
 *
 * The measure is max |got − want| / max |want| over the compared values:
 * the largest error relative to the reference's scale. A NaN anywhere in
 * got makes it NaN (test_worse), and a NaN fails every bound. With
 * TEST_VERBOSE set, or when the bound is exceeded, the error is printed
 * next to its bound. */
#ifndef UNPROMPT_TESTS_GOLDEN_CHECK_H
#define UNPROMPT_TESTS_GOLDEN_CHECK_H

#include "tests/test.h"

/* max |got[i] − want[i]| / max |want[i]|, i < n. */
static inline double golden_scaled_error(const float *got, const double *want, size_t n)
{
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = test_worse(worst, fabs((double)got[i] - want[i]));
        scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
    }
    return scale > 0 ? worst / scale : NAN;
}

/* max |got[i] − want[i]| / |want[i]| (want has no zeros where this is used). */
static inline double golden_relative_error(const float *got, const double *want, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = test_worse(worst, fabs((double)got[i] - want[i]) / fabs(want[i]));
    return worst;
}

/* Passes when error ≤ bound; `what` names the output, reference and level. */
#define GOLDEN_CHECK(what, error, bound)                                                            \
    do {                                                                                            \
        double e_ = (error), b_ = (bound);                                                          \
        if (getenv("TEST_VERBOSE") || !(e_ <= b_))                                                  \
            fprintf(stderr, "    %-44s %.3g (bound %.3g)%s\n", (what), e_, b_, e_ <= b_ ? "" : " FAIL"); \
        CHECK(e_ <= b_);                                                                            \
    } while (0)

/* A little-endian double file of exactly n values (NULL otherwise). */
static inline double *golden_read_f64(const char *path, size_t n)
{
    size_t len = 0;
    unsigned char *bytes = test_read_file(path, &len);
    if (!bytes || len != n * sizeof(double)) {
        fprintf(stderr, "    %s: %s\n", path, bytes ? "wrong size" : "missing");
        free(bytes);
        return NULL;
    }
    double *d = malloc(n * sizeof *d);
    if (d) memcpy(d, bytes, len);
    free(bytes);
    return d;
}

#endif
