/* gemm_bf16: the packed-bf16-weight GEMM against OpenBLAS sgemm (f32
 * weights) on the ViT-L/14 linear layers at 224 px: M = 257 tokens, K = 1024
 * into N = 1024 (attention out), 3072 (packed qkv), 4096 (MLP up), and
 * K = 4096 into N = 1024 (MLP down). Medians of iters calls per shape. The stage's
 * GFLOP/s and time are the bf16 totals over the four shapes; `speedup` is
 * fp32 time ÷ bf16 time over the four; the note has each shape. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "kernels/kernels.h"

static const int shapes[][3] = {{257, 1024, 1024}, {257, 3072, 1024}, {257, 4096, 1024}, {257, 1024, 4096}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

int stage_gemm_bf16(bench_ctx *ctx, bench_result *r)
{
    static char note[512];
    kernel_table kt;
    kernels_init(&kt);
    int blas_threads = ctx->threads > 0 ? ctx->threads : 1;
    if (ctx->threads > 0) omp_set_num_threads(ctx->threads);
    int iters = ctx->iters < 1 ? 1 : ctx->iters, len = 0;
    double *t32 = malloc((size_t)iters * sizeof *t32), *t16 = malloc((size_t)iters * sizeof *t16);
    double total32 = 0, total16 = 0, flops = 0;
    len += snprintf(note, sizeof note, "%s, GFLOP/s fp32 -> bf16:", kt.bf16.name);
    for (size_t s = 0; s < N_SHAPES; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc((size_t)M * K * sizeof *A), *W = malloc((size_t)N * K * sizeof *W);
        float *C = malloc((size_t)M * N * sizeof *C);
        uint16_t *P = aligned_alloc(64, (gemm_bf16_packed_size((size_t)N, (size_t)K) * 2 + 63) / 64 * 64);
        if (!A || !W || !C || !P || !t32 || !t16) return -1;
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
        for (size_t i = 0; i < (size_t)N * K; i++) W[i] = (float)((i * 104729) % 1000) * 1e-4f - 0.05f;
        gemm_bf16_pack_f32(P, W, (size_t)N, (size_t)K);
        weight_panel Wp = {.data = P, .N = (size_t)N, .K = (size_t)K, .elem_bytes = 2};
        /* One block of calls each, sgemm first on OpenBLAS's own threads,
         * which are stopped before the bf16 block: idle, they would spin
         * and take a core from the OpenMP team (blas_single_thread). One
         * untimed call warms each block up. */
        openblas_set_num_threads(blas_threads);
        for (int it = -1; it < iters; it++) {
            double t0 = bench_now_ms();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, W, K, 0.0f, C, N);
            if (it >= 0) t32[it] = bench_now_ms() - t0;
        }
        blas_single_thread();
        for (int it = -1; it < iters; it++) {
            double t0 = bench_now_ms();
            kt.bf16.gemm_bf16(C, A, &Wp, (size_t)M, NULL);
            if (it >= 0) t16[it] = bench_now_ms() - t0;
        }
        double m32 = median(t32, iters), m16 = median(t16, iters), f = 2.0 * M * N * K;
        total32 += m32, total16 += m16, flops += f;
        if (len < (int)sizeof note)
            len += snprintf(note + len, sizeof note - (size_t)len, " %dx%dx%d %.0f->%.0f (%.2fx)", M, N, K,
                            f / (m32 * 1e6), f / (m16 * 1e6), m32 / m16);
        free(A), free(W), free(C), free(P);
    }
    free(t32), free(t16);
    r->ms_median = total16;
    r->gflops = flops / (total16 * 1e6);
    r->extra = total32 / total16;
    r->extra_name = "speedup";
    r->note = note;
    return 0;
}
