/* f32 GEMM on packed panels: the layout as documented, the scalar reference
 * against a double-precision loop, every SIMD variant against the scalar
 * reference and against OpenBLAS on ragged shapes with epilogues (crossing
 * the K block, the column chunk, the thread split and the few-rows path),
 * the vector epilogues bit-identical to the scalar one, the epilogue fused
 * into the tiles bit-identical to the separate pass, and which levels the
 * loaders pack for. */
#include "kernels/kernels.h"
#include "tests/gemm_check.h"
#include "tests/test.h"
#include "tests/random.h"


static void relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

static float *packed(const float *w, size_t N, size_t K)
{
    size_t n = gemm_f32_packed_size(N, K);
    float *p = aligned_alloc(64, (n * sizeof *p / 64 + 1) * 64);
    gemm_f32_pack(p, w, N, K);
    return p;
}

static void test_layout(void)
{
    CHECK(gemm_f32_packed_size(1, 1) == 64);
    CHECK(gemm_f32_packed_size(32, 4) == 128);
    CHECK(gemm_f32_packed_size(33, 5) == 2 * 6 * 32);
    CHECK(gemm_f32_packed_size(0, 7) == 0 && gemm_f32_packed_size(7, 0) == 0);
    CHECK(gemm_f32_packed_size(SIZE_MAX / 8, 3) == 0);
    CHECK(gemm_f32_packed_size(SIZE_MAX / 2, SIZE_MAX / 2) == 0);
    /* big enough for the threaded packing path: 2^18 weights and more */
    static const size_t shapes[][2] = {{37, 7}, {70, 4000}};
    for (size_t c = 0; c < 2; c++) {
        size_t N = shapes[c][0], K = shapes[c][1], kp = K + (K & 1);
        float *w = malloc(N * K * sizeof *w);
        for (size_t i = 0; i < N * K; i++) w[i] = (float)(i + 1);
        float *p = packed(w, N, K);
        size_t bad = 0, total = gemm_f32_packed_size(N, K);
        for (size_t i = 0; i < total; i++) {
            size_t j = i % 32, k = i / 32 % kp, panel = i / 32 / kp, n = panel * 32 + j;
            float want = n < N && k < K ? w[n * K + k] : 0;
            bad += p[i] != want;
        }
        CHECK(total == (N + 31) / 32 * kp * 32 && bad == 0);
        free(w), free(p);
    }
}

/* One problem: random A, W, bias, residual (row stride N + 3). */
typedef struct {
    size_t M, N, K;
    float *A, *w, *bias, *res, *C, *ref, *pk;
    weight_panel W;
} problem;

static problem make(size_t M, size_t N, size_t K)
{
    problem p = {.M = M,
                 .N = N,
                 .K = K,
                 .A = rvec(M * K),
                 .w = rvec(N * K),
                 .bias = rvec(N),
                 .res = rvec(M * (N + 3)),
                 .C = rvec(M * N),
                 .ref = rvec(M * N),
                 .pk = NULL,
                 .W = {0}};
    p.pk = packed(p.w, N, K);
    p.W = (weight_panel){.data = p.pk, .N = N, .K = K, .elem_bytes = sizeof(float)};
    return p;
}

static void drop(problem *p)
{
    free(p->A), free(p->w), free(p->bias), free(p->res), free(p->C), free(p->ref), free(p->pk);
}

/* Epilogue variant e: 0 none, 1 bias, 2 bias + residual + ReLU (one the
 * AVX-512 tiles fuse), 3 residual. */
static gemm_epilogue epi(const problem *p, int e)
{
    gemm_epilogue ep = {.bias = e == 1 || e == 2 ? p->bias : NULL,
                        .residual = e >= 2 ? p->res : NULL,
                        .ldr = p->N + 3,
                        .act = e == 2 ? relu : NULL,
                        .act_is_relu = e == 2};
    return ep;
}

/* Worst |got − want| / (rel · (Σ_k |A·W| + |bias| + |res|)) over C. */
static double worst_ratio(const problem *p, const float *got, const double *want, int e, double rel)
{
    double worst = 0;
    for (size_t i = 0; i < p->M; i++)
        for (size_t j = 0; j < p->N; j++) {
            double m = 1e-30;
            for (size_t k = 0; k < p->K; k++) m += fabs((double)p->A[i * p->K + k] * p->w[j * p->K + k]);
            if (e == 1 || e == 2) m += fabs(p->bias[j]);
            if (e >= 2) m += fabs(p->res[i * (p->N + 3) + j]);
            double r = fabs(got[i * p->N + j] - want[i * p->N + j]) / (rel * m);
            worst = test_worse(worst, r);
        }
    return worst;
}

static double *exact(const problem *p, int e)
{
    double *y = malloc((p->M * p->N + 1) * sizeof *y);
    for (size_t i = 0; i < p->M; i++)
        for (size_t j = 0; j < p->N; j++) {
            double acc = 0;
            for (size_t k = 0; k < p->K; k++) acc += (double)p->A[i * p->K + k] * p->w[j * p->K + k];
            if (e == 1 || e == 2) acc += p->bias[j];
            if (e >= 2) acc += p->res[i * (p->N + 3) + j];
            if (e == 2 && acc < 0) acc = 0;
            y[i * p->N + j] = acc;
        }
    return y;
}

/* f32 summation error allowance: (2K + 8) units of 2⁻²⁴ of the magnitude. */
static double sum_rel(size_t K)
{
    return (2.0 * (double)K + 8) * ldexp(1, -24);
}

static const size_t sizes[] = {1, 3, 17, 31, 33, 64, 257};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static void test_scalar_reference(void)
{
    kernel_table t;
    kernels_init_level(&t, "scalar");
    CHECK_STR(t.f32p.name, "scalar");
    int e = 0;
    for (size_t a = 0; a < N_SIZES; a += 2)
        for (size_t b = 0; b < N_SIZES; b++)
            for (size_t c = 0; c < N_SIZES; c += 3, e = (e + 1) % 4) {
                problem p = make(sizes[a], sizes[b], sizes[c]);
                gemm_epilogue ep = epi(&p, e);
                t.f32p.gemm_f32(p.C, p.A, &p.W, p.M, &ep);
                double *y = exact(&p, e);
                CHECK(worst_ratio(&p, p.C, y, e, sum_rel(p.K)) <= 1);
                free(y);
                drop(&p);
            }
}

/* Every (M, N, K) from `sizes`, plus shapes that cross the K block (256),
 * the 8-panel column chunk and the thread split, and few-row products read
 * as GEMVs (all of K in one block), each with one of the epilogues; against
 * the scalar reference and against OpenBLAS on the unpacked weights. */
static void check_level(const char *level)
{
    kernel_table t, ref;
    INIT_LEVEL_OR_SKIP(t, level);
    CHECK_STR(t.f32p.name, level);
    kernels_init_level(&ref, "scalar");
    static const size_t extra[][3] = {{40, 300, 1030}, {30, 300, 513}, {2, 4096, 64}, {300, 33, 2},
                                      {1, 300, 1030}, {3, 700, 777}, {14, 200, 1500}, {600, 64, 147},
                                      {70, 130, 600}, {73, 100, 300},
                                      /* rows 4 KiB apart: in place up to 8 rows, all of K at once */
                                      {8, 160, 1024}, {5, 70, 2048}, {1, 64, 3072}, {12, 40, 1024}};
    size_t cases = N_SIZES * N_SIZES * N_SIZES + sizeof extra / sizeof extra[0], failures = 0;
    for (size_t c = 0; c < cases; c++) {
        size_t M, N, K;
        if (c < N_SIZES * N_SIZES * N_SIZES) {
            M = sizes[c / (N_SIZES * N_SIZES)], N = sizes[c / N_SIZES % N_SIZES], K = sizes[c % N_SIZES];
        } else {
            const size_t *x = extra[c - N_SIZES * N_SIZES * N_SIZES];
            M = x[0], N = x[1], K = x[2];
        }
        int e = (int)(c % 4);
        problem p = make(M, N, K);
        gemm_epilogue ep = epi(&p, e);
        t.f32p.gemm_f32(p.C, p.A, &p.W, M, &ep);
        ref.f32p.gemm_f32(p.ref, p.A, &p.W, M, &ep);
        double *want = malloc((M * N + 1) * sizeof *want);
        for (size_t i = 0; i < M * N; i++) want[i] = p.ref[i];
        int ok = worst_ratio(&p, p.C, want, e, 2 * sum_rel(K)) <= 1;
        /* OpenBLAS on the row-major weights: the product the loaders
         * replace with this one */
        ref.linalg.linear(p.ref, p.A, p.w, M, N, K, &ep);
        for (size_t i = 0; i < M * N; i++) want[i] = p.ref[i];
        ok &= worst_ratio(&p, p.C, want, e, 2 * sum_rel(K)) <= 1;
        if (!ok && failures++ < 5)
            fprintf(stderr, "  %s: M=%zu N=%zu K=%zu epilogue %d out of bounds\n", level, M, N, K, e);
        free(want);
        drop(&p);
    }
    CHECK(failures == 0);
}

static void test_avx512_vs_scalar_and_openblas(void) { check_level("avx512"); }

/* Fused into the tiles, the epilogue gives the bits of the separate pass
 * (gemm_check.h). */
static void test_avx512_fused_epilogue(void)
{
    kernel_table t;
    INIT_LEVEL_OR_SKIP(t, "avx512");
    size_t bad = 0;
    for (size_t c = 0; c < N_FUSED_SHAPES; c++) {
        problem p = make(fused_shapes[c][0], fused_shapes[c][1], fused_shapes[c][2]);
        bad += fused_epilogue_mismatches(t.f32p.gemm_f32, p.A, &p.W, p.M, p.bias, p.res, p.N + 3);
        drop(&p);
    }
    CHECK(bad == 0);
}

#if defined(__x86_64__)
/* The vector epilogues give bit-identical results to the scalar one on
 * ragged blocks (tails shorter than a vector, offset columns). */
static void check_epilogue(const char *level,
                           void (*fn)(float *, size_t, size_t, size_t, size_t, size_t, const gemm_epilogue *))
{
    kernel_table t;
    INIT_LEVEL_OR_SKIP(t, level);
    size_t rows = 5, ldc = 75, bad = 0;
    float *bias = rvec(ldc), *res = rvec(rows * 80), *c0 = rvec(rows * ldc), *a = malloc(rows * ldc * sizeof *a),
          *b = malloc(rows * ldc * sizeof *b);
    static const size_t cols[][2] = {{0, 75}, {3, 20}, {16, 17}, {5, 5}, {40, 72}};
    for (int e = 0; e < 4; e++)
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            gemm_epilogue ep = {.bias = e == 1 || e == 2 ? bias : NULL,
                                .residual = e >= 2 ? res : NULL,
                                .ldr = 80,
                                .act = e == 2 ? t.nn.relu : NULL};
            memcpy(a, c0, rows * ldc * sizeof *a);
            memcpy(b, c0, rows * ldc * sizeof *b);
            gemm_panel_epilogue(a, ldc, 1, rows, cols[c][0], cols[c][1], &ep);
            fn(b, ldc, 1, rows, cols[c][0], cols[c][1], &ep);
            bad += memcmp(a, b, rows * ldc * sizeof *a) != 0;
        }
    CHECK(bad == 0);
    free(bias), free(res), free(c0), free(a), free(b);
}

static void test_epilogue_avx2(void) { check_epilogue("avx2", gemm_panel_epilogue_avx2); }
static void test_epilogue_avx512(void) { check_epilogue("avx512", gemm_panel_epilogue_avx512); }
#else
static void test_epilogue_avx2(void) { SKIP("this CPU lacks avx2 (not x86-64)"); }
static void test_epilogue_avx512(void) { SKIP("this CPU lacks avx512 (not x86-64)"); }
#endif

/* Loaders pack f32 weights exactly where the level's packed GEMM is the
 * faster one: AVX-512. */
static void test_dispatch(void)
{
    static const char *levels[] = {"scalar", "avx2", "avx512", "avx512bf16", "neon"};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        kernel_table t;
        if (kernels_init_level(&t, levels[i]) != 0) {
            TEST_SKIP_LEVEL(levels[i]);
            continue;
        }
        int avx512 = !strncmp(levels[i], "avx512", 6);
        CHECK_STR(t.f32p.name, avx512 ? "avx512" : "scalar");
        CHECK(t.f32p.preferred == avx512);
    }
}

int main(void)
{
    RUN(test_layout);
    RUN(test_scalar_reference);
    RUN(test_avx512_vs_scalar_and_openblas);
    RUN(test_avx512_fused_epilogue);
    RUN(test_epilogue_avx2);
    RUN(test_epilogue_avx512);
    RUN(test_dispatch);
    return test_summary("gemm_f32");
}
