/* Machine baselines: OpenBLAS sgemm peak and memory read bandwidth. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "kernels/kernels.h"

typedef struct {
    float *a, *b, *c;
    int n;
} gemm_arg;

static void run_gemm(void *p)
{
    gemm_arg *g = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f, g->a, g->n, g->b, g->n,
                0.0f, g->c, g->n);
}

int stage_sgemm_peak(bench_ctx *ctx, bench_result *r)
{
    gemm_arg g = {.a = NULL, .b = NULL, .c = NULL, .n = 2048};
    size_t n = (size_t)g.n * g.n;
    g.a = malloc(n * sizeof(float));
    g.b = malloc(n * sizeof(float));
    g.c = malloc(n * sizeof(float));
    if (!g.a || !g.b || !g.c) return -1;
    for (size_t i = 0; i < n; i++) g.a[i] = (float)(i % 7) * 0.1f, g.b[i] = (float)(i % 5) * 0.2f;
    /* The machine's peak: OpenBLAS with its own pool on every thread (the
     * engine itself keeps OpenBLAS single-threaded inside OpenMP). */
    openblas_set_num_threads(ctx->threads > 0 ? ctx->threads : 1);
    r->ms_median = bench_median_ms(ctx->iters, run_gemm, &g);
    blas_single_thread(); /* and its pool stopped, not spinning into the next stage */
    r->gflops = 2.0 * g.n * g.n * (double)g.n / (r->ms_median * 1e6);
    ctx->peak_gflops = r->gflops;
    r->note = openblas_get_corename(); /* which OpenBLAS kernels: see unprompt_blas_reexec */
    free(g.a), free(g.b), free(g.c);
    return 0;
}

typedef struct {
    const float *p;
    size_t n;
    volatile float sink;
} read_arg;

static void run_read(void *p)
{
    read_arg *a = p;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp parallel for reduction(+ : s0, s1, s2, s3)
    for (size_t i = 0; i < a->n; i += 4) {
        s0 += a->p[i];
        s1 += a->p[i + 1];
        s2 += a->p[i + 2];
        s3 += a->p[i + 3];
    }
    a->sink = s0 + s1 + s2 + s3;
}

int stage_membw(bench_ctx *ctx, bench_result *r)
{
    size_t n = (size_t)128 << 20; /* floats: 512 MiB */
    float *p = malloc(n * sizeof(float));
    if (!p) return -1;
    memset(p, 1, n * sizeof(float));
    read_arg a = {p, n, 0};
    r->ms_median = bench_median_ms(ctx->iters, run_read, &a);
    r->gb_per_s = (double)n * sizeof(float) / (r->ms_median * 1e6);
    free(p);
    return 0;
}
