/* GEMM with f32 weights packed once, at load time, into panels:
 *
 *     C[M][N] = act(A[M][K] · W[N][K]ᵀ + bias + residual)
 *
 * The same product as linalg's `linear` (OpenBLAS on the nn.Linear layout),
 * without what OpenBLAS does on every call: re-pack the weights and zero C.
 * On the ViT shapes that is the difference between ≈ 80 % and ≈ 95 % of the
 * machine's sgemm peak.
 *
 * Packed layout. Columns (output features) are cut into panels of
 * GEMM_PANEL_NR = 32; K is padded to an even Kp = K + (K & 1). Panel p holds
 * one row of 32 floats per k:
 *
 *     dst[(p·Kp + k)·32 + j] = W[32·p + j][k]        (j < 32, k < Kp)
 *
 * and 0 where 32·p + j ≥ N or k ≥ K. A k-pair is two such rows (256 bytes):
 * four 512-bit vectors. Every variant reads the same layout.
 *
 * Which levels pack. Only where a variant beats OpenBLAS on the unpacked
 * weights (`preferred`: AVX-512); elsewhere the loaders keep f32 weights in
 * place in the mapping and `linear` multiplies them. The scalar variant is
 * the specification the SIMD ones are tested against.
 *
 * Precision: f32 products and sums; the variants differ from the scalar
 * reference (k in order) only in summation order.
 *
 * Blocking, threads and the epilogue: gemm_panel.h. */
#ifndef UNPROMPT_KERNELS_GEMM_F32_H
#define UNPROMPT_KERNELS_GEMM_F32_H

#include <stddef.h>

#include "kernels/cpu.h"
#include "kernels/gemm_panel.h"

/* Number of floats gemm_f32_pack writes for W[N][K]; 0 if the bytes would
 * overflow size_t. */
size_t gemm_f32_packed_size(size_t N, size_t K);
/* Pack W[N][K] into dst (gemm_f32_packed_size floats), OpenMP over panels. */
void gemm_f32_pack(float *dst, const float *w, size_t N, size_t K);

typedef struct {
    /* C[M][N] = A[M][K] · Wᵀ, then the epilogue (ldc = N, lda = K). */
    void (*gemm_f32)(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep);
    const char *name; /* "scalar" or "avx512" */
    int preferred;    /* 1: loaders should pack f32 weights for this variant */
} f32_panel_kernels;

/* Point lw, through `panel`, at W[N][K] already packed (mapped from a file,
 * say), with k's kernel. */
void gemm_f32_use_panels(const f32_panel_kernels *k, const float *panels, size_t N, size_t K, weight_panel *panel,
                         linear_weights *lw);
/* Pack W[N][K] into dst (gemm_f32_packed_size(N, K) floats), then as
 * gemm_f32_use_panels. */
void gemm_f32_use_packed(const f32_panel_kernels *k, float *dst, const float *w, size_t N, size_t K,
                         weight_panel *panel, linear_weights *lw);

void f32_panel_install(f32_panel_kernels *k, const cpu_features *f);

void f32_panel_kernels_scalar(f32_panel_kernels *k);
void f32_panel_kernels_avx512(f32_panel_kernels *k);

#endif
