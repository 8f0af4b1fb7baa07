/* The nn kernels: every SIMD variant the CPU has against the scalar
 * reference, and the scalar reference against double-precision math. */
#include "kernels/kernels.h"
#include "tests/test.h"

static const size_t sizes[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 1023};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static uint64_t rng_state = 88172645463325252ull;
static float frand(float lo, float hi)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (float)((rng_state >> 11) * (1.0 / 9007199254740992.0));
}

static float *rand_vec(size_t n, float lo, float hi)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = frand(lo, hi);
    return v;
}

static double max_err(const float *a, const float *b, size_t n, double rel)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + rel * fabs((double)b[i]));
        if (d > m || d != d) m = d != d ? 1e30 : d;
    }
    return m;
}

typedef void (*map_fn)(float *, size_t);

static void compare_map(const char *level, const char *name, map_fn simd, map_fn ref, float lo, float hi, double tol)
{
    double worst = 0;
    for (size_t s = 0; s < N_SIZES; s++) {
        size_t n = sizes[s];
        float *a = rand_vec(n, lo, hi), *b = malloc(n * sizeof *b);
        memcpy(b, a, n * sizeof *b);
        simd(a, n);
        ref(b, n);
        double e = max_err(a, b, n, 1.0);
        worst = test_worse(worst, e);
        free(a);
        free(b);
    }
    if (worst > tol) fprintf(stderr, "    %s %s: error %.3g > %.3g\n", level, name, worst, tol);
    CHECK(worst <= tol);
}

static const char *const levels[] = {"avx2", "avx512", "neon"};

static void test_variants_match_scalar(void)
{
    kernel_table ref, t;
    CHECK(kernels_init_level(&ref, "scalar") == 0);
    int tried = 0;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        if (kernels_init_level(&t, levels[l]) != 0) {
            TEST_SKIP_LEVEL(levels[l]);
            continue;
        }
        tried++;
        const char *lv = levels[l];
        compare_map(lv, "gelu", t.nn.gelu, ref.nn.gelu, -10, 10, 1e-6);
        compare_map(lv, "quick_gelu", t.nn.quick_gelu, ref.nn.quick_gelu, -20, 20, 1e-6);
        compare_map(lv, "sigmoid", t.nn.sigmoid, ref.nn.sigmoid, -30, 30, 1e-6);
        compare_map(lv, "relu", t.nn.relu, ref.nn.relu, -5, 5, 0);
        for (size_t s = 0; s < N_SIZES; s++) {
            size_t n = sizes[s], rows = 3;
            float *x = rand_vec(rows * n, -4, 4), *g = rand_vec(n, 0.5f, 1.5f), *bta = rand_vec(n, -1, 1);
            float *y1 = malloc(rows * n * sizeof *y1), *y2 = malloc(rows * n * sizeof *y2);
            t.nn.layernorm(y1, x, g, bta, rows, n, 1e-5f);
            ref.nn.layernorm(y2, x, g, bta, rows, n, 1e-5f);
            if (n > 1) CHECK(max_err(y1, y2, rows * n, 1.0) <= 1e-5);
            memcpy(y1, x, rows * n * sizeof *y1);
            memcpy(y2, x, rows * n * sizeof *y2);
            t.nn.softmax(y1, rows, n, 0.125f);
            ref.nn.softmax(y2, rows, n, 0.125f);
            CHECK(max_err(y1, y2, rows * n, 0) <= 1e-6);
            memcpy(y1, x, rows * n * sizeof *y1);
            memcpy(y2, x, rows * n * sizeof *y2);
            t.nn.softmax_causal(y1, rows, n, 1.0f, 2);
            ref.nn.softmax_causal(y2, rows, n, 1.0f, 2);
            CHECK(max_err(y1, y2, rows * n, 0) <= 1e-6);
            double d1 = t.nn.dot(x, g, n), d2 = ref.nn.dot(x, g, n);
            CHECK(fabs(d1 - d2) <= 1e-5 * (1 + n));
            memcpy(y1, x, n * sizeof *y1);
            memcpy(y2, x, n * sizeof *y2);
            t.nn.add(y1, g, n);
            ref.nn.add(y2, g, n);
            CHECK(max_err(y1, y2, n, 0) == 0);
            free(x), free(g), free(bta), free(y1), free(y2);
        }
    }
#if defined(__x86_64__)
    CHECK(tried >= 1);
#endif
}

/* The scalar kernels against double-precision formulas. */
static void test_scalar_against_double(void)
{
    kernel_table ref;
    kernels_init_level(&ref, "scalar");
    size_t n = 2001;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = -10.0f + 20.0f * (float)i / (float)(n - 1);
    float *g = malloc(n * sizeof *g);
    memcpy(g, x, n * sizeof *g);
    ref.nn.gelu(g, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double want = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
        double e = fabs(g[i] - want);
        worst = test_worse(worst, e);
    }
    CHECK(worst <= 1e-6);
    /* softmax and causal masking */
    float row[5] = {1, 2, 3, 4, 5};
    ref.nn.softmax_causal(row, 1, 5, 1.0f, 1);
    double z = exp(1.0) + exp(2.0);
    CHECK_NEAR(row[0], exp(1.0) / z, 1e-7);
    CHECK_NEAR(row[1], exp(2.0) / z, 1e-7);
    CHECK(row[2] == 0 && row[3] == 0 && row[4] == 0);
    float ln[4] = {1, 2, 3, 4}, gm[4] = {1, 1, 1, 1}, bt[4] = {0, 0, 0, 0}, out[4];
    ref.nn.layernorm(out, ln, gm, bt, 1, 4, 0);
    CHECK_NEAR(out[0], -1.5 / sqrt(1.25), 1e-6);
    CHECK_NEAR(out[3], 1.5 / sqrt(1.25), 1e-6);
    free(x);
    free(g);
}

/* The GELU of every variant stays within 1e-6 of the exact-erf formula. */
static void test_gelu_accuracy_all_levels(void)
{
    kernel_table t;
    size_t n = 4001;
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        if (kernels_init_level(&t, levels[l]) != 0) {
            TEST_SKIP_LEVEL(levels[l]);
            continue;
        }
        float *x = malloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++) x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
        float *g = malloc(n * sizeof *g);
        memcpy(g, x, n * sizeof *g);
        t.nn.gelu(g, n);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double e = fabs(g[i] - 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0))));
            worst = test_worse(worst, e);
        }
        if (worst > 1e-6) fprintf(stderr, "    %s gelu error %.3g\n", levels[l], worst);
        CHECK(worst <= 1e-6);
        free(x);
        free(g);
    }
}

int main(void)
{
    RUN(test_variants_match_scalar);
    RUN(test_scalar_against_double);
    RUN(test_gelu_accuracy_all_levels);
    return test_summary("nn");
}
