/* bf16-weight GEMM: the packed layout as documented, the scalar reference
 * against a double-precision loop, every SIMD variant against the scalar
 * reference on ragged shapes with epilogues, the epilogue fused into the
 * AVX-512 tiles bit-identical to the separate pass, and every variant
 * against the f32 GEMM (OpenBLAS) within the error bf16 rounding allows. */
#include "kernels/kernels.h"
#include "tests/gemm_check.h"
#include "tests/test.h"
#define TEST_RANDOM_SEED 0x9E3779B97F4A7C15ull
#include "tests/random.h"

static void *alloc(size_t bytes)
{
    return malloc(bytes ? bytes : 1);
}

static float widen(uint16_t h)
{
    uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static void relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

/* Random bf16 weights [N][K] (f32 rounded, so typical magnitudes). */
static uint16_t *rweights(size_t N, size_t K)
{
    kernel_table t;
    kernels_init_level(&t, "scalar");
    float *f = rvec(N * K);
    uint16_t *w = alloc(N * K * sizeof *w);
    t.linalg.f32_to_bf16(w, f, N * K);
    free(f);
    return w;
}

static uint16_t *packed(const uint16_t *w, size_t N, size_t K)
{
    size_t n = gemm_bf16_packed_size(N, K);
    uint16_t *p = aligned_alloc(64, (n * 2 / 64 + 1) * 64);
    gemm_bf16_pack(p, w, N, K);
    return p;
}

static void test_layout(void)
{
    CHECK(gemm_bf16_packed_size(1, 1) == 64);
    CHECK(gemm_bf16_packed_size(32, 4) == 128);
    CHECK(gemm_bf16_packed_size(33, 5) == 2 * 3 * 64);
    CHECK(gemm_bf16_packed_size(0, 7) == 0 && gemm_bf16_packed_size(7, 0) == 0);
    CHECK(gemm_bf16_packed_size(SIZE_MAX / 2, SIZE_MAX / 2) == 0);
    size_t N = 37, K = 7, kp = 4;
    uint16_t *w = malloc(N * K * sizeof *w);
    for (size_t i = 0; i < N * K; i++) w[i] = (uint16_t)(i + 1);
    uint16_t *p = packed(w, N, K);
    size_t bad = 0, total = gemm_bf16_packed_size(N, K);
    for (size_t i = 0; i < total; i++) {
        size_t e = i % 2, j = i / 2 % 32, q = i / 64 % kp, panel = i / 64 / kp, n = panel * 32 + j, k = 2 * q + e;
        uint16_t want = n < N && k < K ? w[n * K + k] : 0;
        bad += p[i] != want;
    }
    CHECK(bad == 0);
    /* From f32: the same as rounding first. */
    float *f = rvec(N * K);
    kernel_table t;
    kernels_init_level(&t, "scalar");
    t.linalg.f32_to_bf16(w, f, N * K);
    uint16_t *p2 = malloc(total * sizeof *p2);
    gemm_bf16_pack_f32(p2, f, N, K);
    free(p);
    p = packed(w, N, K);
    CHECK(memcmp(p, p2, total * sizeof *p) == 0);
    free(w), free(p), free(p2), free(f);
}

/* One problem: random A, bias, residual (row stride N + 3), bf16 weights. */
typedef struct {
    size_t M, N, K;
    float *A, *Ar, *bias, *res, *C, *ref; /* Ar: A rounded to bf16 */
    uint16_t *w, *pk;
    weight_panel W;
} problem;

static problem make(size_t M, size_t N, size_t K)
{
    problem p = {.M = M,
                 .N = N,
                 .K = K,
                 .A = rvec(M * K),
                 .Ar = alloc(M * K * sizeof(float)),
                 .bias = rvec(N),
                 .res = rvec(M * (N + 3)),
                 .C = rvec(M * N),
                 .ref = rvec(M * N),
                 .w = NULL,
                 .pk = NULL,
                 .W = {0}};
    kernel_table t;
    kernels_init_level(&t, "scalar");
    uint16_t *h = alloc(M * K * sizeof *h);
    t.linalg.f32_to_bf16(h, p.A, M * K);
    t.linalg.bf16_to_f32(p.Ar, h, M * K);
    free(h);
    p.w = rweights(N, K);
    p.pk = packed(p.w, N, K);
    p.W = (weight_panel){.data = p.pk, .N = N, .K = K, .elem_bytes = 2};
    return p;
}

static void drop(problem *p)
{
    free(p->A), free(p->Ar), free(p->bias), free(p->res), free(p->C), free(p->ref), free(p->w), free(p->pk);
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

/* Σ_k |A[i][k]·W[j][k]| + |bias| + |res|: what rounding errors scale with. */
static double magnitude(const problem *p, size_t i, size_t j, int e, int round_a)
{
    const float *A = round_a ? p->Ar : p->A;
    double m = 0;
    for (size_t k = 0; k < p->K; k++) m += fabs((double)A[i * p->K + k] * widen(p->w[j * p->K + k]));
    if (e == 1 || e == 2) m += fabs(p->bias[j]);
    if (e >= 2) m += fabs(p->res[i * (p->N + 3) + j]);
    return m;
}

/* Worst |got − want| / bound over C. */
static double worst_ratio(const problem *p, const float *got, const double *want, int e, int round_a, double rel)
{
    double worst = 0;
    for (size_t i = 0; i < p->M; i++)
        for (size_t j = 0; j < p->N; j++) {
            double bound = rel * magnitude(p, i, j, e, round_a) + 1e-30;
            double r = fabs(got[i * p->N + j] - want[i * p->N + j]) / bound;
            worst = test_worse(worst, r);
        }
    return worst;
}

/* The exact result (double) of act(A'·Wᵀ + bias + res), A' = A rounded to
 * bf16 when round_a. */
static double *exact(const problem *p, int e, int round_a)
{
    const float *A = round_a ? p->Ar : p->A;
    double *y = alloc(p->M * p->N * sizeof *y);
    for (size_t i = 0; i < p->M; i++)
        for (size_t j = 0; j < p->N; j++) {
            double acc = 0;
            for (size_t k = 0; k < p->K; k++) acc += (double)A[i * p->K + k] * widen(p->w[j * p->K + k]);
            if (e == 1 || e == 2) acc += p->bias[j];
            if (e >= 2) acc += p->res[i * (p->N + 3) + j];
            if (e == 2 && acc < 0) acc = 0;
            y[i * p->N + j] = acc;
        }
    return y;
}

static const size_t sizes[] = {1, 3, 17, 31, 33, 64, 257};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* f32 summation error allowance: (2K + 8) units of 2⁻²⁴ of the magnitude. */
static double sum_rel(size_t K)
{
    return (2.0 * (double)K + 8) * ldexp(1, -24);
}

static void test_scalar_reference(void)
{
    kernel_table t;
    kernels_init_level(&t, "scalar");
    CHECK_STR(t.bf16.name, "scalar");
    int e = 0;
    for (size_t a = 0; a < N_SIZES; a += 2)
        for (size_t b = 0; b < N_SIZES; b++)
            for (size_t c = 0; c < N_SIZES; c += 3, e = (e + 1) % 4) {
                problem p = make(sizes[a], sizes[b], sizes[c]);
                gemm_epilogue ep = epi(&p, e);
                t.bf16.gemm_bf16(p.C, p.A, &p.W, p.M, &ep);
                double *y = exact(&p, e, 0);
                CHECK(worst_ratio(&p, p.C, y, e, 0, sum_rel(p.K)) <= 1);
                free(y);
                drop(&p);
            }
}

/* Whether a level's bf16 GEMM rounds A to bf16 too (vdpbf16ps, TDPBF16PS)
 * instead of widening the weights. */
static int rounds_a(const char *level)
{
    return !strcmp(level, "avx512bf16") || !strcmp(level, "amx");
}

/* Every (M, N, K) from `sizes`, plus blocks that cross the K block, the
 * column chunk and the thread split, each with one of the epilogues. */
static void check_against_scalar(const char *level)
{
    kernel_table t, ref;
    INIT_LEVEL_OR_SKIP(t, level);
    CHECK_STR(t.bf16.name, level);
    kernels_init_level(&ref, "scalar");
    int bf16 = rounds_a(level);
    /* the last three: few rows, read as GEMVs (all of K in one block when A fits) */
    static const size_t extra[][3] = {{40, 300, 1030}, {30, 300, 513}, {2, 4096, 64}, {300, 33, 2},
                                      {1, 300, 1030}, {3, 700, 777}, {14, 200, 1500}};
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
        t.bf16.gemm_bf16(p.C, p.A, &p.W, M, &ep);
        ref.bf16.gemm_bf16(p.ref, p.A, &p.W, M, &ep);
        double *want = alloc(M * N * sizeof *want);
        for (size_t i = 0; i < M * N; i++) want[i] = p.ref[i];
        /* Widening variants differ from the reference only in summation
         * order; the bf16 one also rounds A (≤ 2⁻⁸ relative per term). */
        double rel = 2 * sum_rel(K) + (bf16 ? ldexp(1, -8) : 0);
        int ok = worst_ratio(&p, p.C, want, e, 0, rel) <= 1;
        if (bf16) { /* tighter: against the exact product of the rounded A */
            double *y = exact(&p, e, 1);
            ok &= worst_ratio(&p, p.C, y, e, 1, sum_rel(K)) <= 1;
            free(y);
        }
        if (!ok && failures++ < 5)
            fprintf(stderr, "  %s: M=%zu N=%zu K=%zu epilogue %d out of bounds\n", level, M, N, K, e);
        free(want);
        drop(&p);
    }
    CHECK(failures == 0);
}

static void test_avx2_vs_scalar(void) { check_against_scalar("avx2"); }
static void test_avx512_vs_scalar(void) { check_against_scalar("avx512"); }
static void test_avx512bf16_vs_scalar(void) { check_against_scalar("avx512bf16"); }
static void test_amx_vs_scalar(void) { check_against_scalar("amx"); }

/* Fused into the tiles, the epilogue gives the bits of the separate pass
 * (gemm_check.h); the AVX2 tiles do not fuse and take the separate pass. */
static void check_fused(const char *level)
{
    kernel_table t;
    INIT_LEVEL_OR_SKIP(t, level);
    size_t bad = 0;
    for (size_t c = 0; c < N_FUSED_SHAPES; c++) {
        problem p = make(fused_shapes[c][0], fused_shapes[c][1], fused_shapes[c][2]);
        bad += fused_epilogue_mismatches(t.bf16.gemm_bf16, p.A, &p.W, p.M, p.bias, p.res, p.N + 3);
        drop(&p);
    }
    CHECK(bad == 0);
}

static void test_avx2_fused_epilogue(void) { check_fused("avx2"); }
static void test_avx512_fused_epilogue(void) { check_fused("avx512"); }
static void test_avx512bf16_fused_epilogue(void) { check_fused("avx512bf16"); }
static void test_amx_epilogue(void) { check_fused("amx"); } /* the separate pass */

/* From f32 weights: each variant against OpenBLAS sgemm with the unrounded
 * weights. Rounding to bf16 (8 significant bits) is ≤ 2⁻⁸ relative per
 * term for the weights, and as much again for A in the bf16 variant; on
 * random data the RMS error is well under 2⁻⁸ of the RMS of C per rounded
 * operand. */
static void check_against_f32(const char *level)
{
    kernel_table t;
    INIT_LEVEL_OR_SKIP(t, level);
    int bf16 = rounds_a(level);
    static const size_t shapes[][3] = {{257, 96, 1024}, {17, 33, 257}, {1, 64, 31}, {64, 257, 64}};
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        size_t M = shapes[c][0], N = shapes[c][1], K = shapes[c][2];
        float *A = rvec(M * K), *Wf = rvec(N * K), *bias = rvec(N), *C = rvec(M * N), *R = rvec(M * N);
        uint16_t *pk = malloc(gemm_bf16_packed_size(N, K) * sizeof *pk);
        gemm_bf16_pack_f32(pk, Wf, N, K);
        weight_panel W = {.data = pk, .N = N, .K = K, .elem_bytes = 2};
        gemm_epilogue ep = {.bias = bias};
        t.bf16.gemm_bf16(C, A, &W, M, &ep);
        t.linalg.linear(R, A, Wf, M, N, K, &ep);
        double worst = 0, err2 = 0, ref2 = 0, rel = (bf16 ? ldexp(1, -7) : ldexp(1, -8)) + 2 * sum_rel(K);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                double m = fabs(bias[j]);
                for (size_t k = 0; k < K; k++) m += fabs((double)A[i * K + k] * Wf[j * K + k]);
                double d = fabs((double)C[i * N + j] - R[i * N + j]);
                worst = test_worse(worst, d / (rel * m));
                err2 += d * d, ref2 += (double)R[i * N + j] * R[i * N + j];
            }
        CHECK(worst <= 1);
        CHECK(sqrt(err2 / ref2) < (bf16 ? ldexp(1, -7) : ldexp(1, -8)));
        free(A), free(Wf), free(bias), free(C), free(R), free(pk);
    }
}

static void test_scalar_vs_f32(void) { check_against_f32("scalar"); }
static void test_avx2_vs_f32(void) { check_against_f32("avx2"); }
static void test_avx512_vs_f32(void) { check_against_f32("avx512"); }
static void test_avx512bf16_vs_f32(void) { check_against_f32("avx512bf16"); }
static void test_amx_vs_f32(void) { check_against_f32("amx"); }

/* The table picks the best variant for the CPU. */
static void test_dispatch(void)
{
    kernel_table t;
    kernels_init(&t);
    const char *want = !strcmp(t.level, "neon") ? "scalar" : t.level;
    CHECK_STR(t.bf16.name, want);
}

int main(void)
{
    RUN(test_layout);
    RUN(test_scalar_reference);
    RUN(test_avx2_vs_scalar);
    RUN(test_avx512_vs_scalar);
    RUN(test_avx512bf16_vs_scalar);
    RUN(test_amx_vs_scalar);
    RUN(test_avx2_fused_epilogue);
    RUN(test_avx512_fused_epilogue);
    RUN(test_avx512bf16_fused_epilogue);
    RUN(test_amx_epilogue);
    RUN(test_scalar_vs_f32);
    RUN(test_avx2_vs_f32);
    RUN(test_avx512_vs_f32);
    RUN(test_avx512bf16_vs_f32);
    RUN(test_amx_vs_f32);
    RUN(test_dispatch);
    return test_summary("gemm_bf16");
}
