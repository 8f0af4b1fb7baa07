/* GEMM with bf16 weights, for inference:
 *
 *     C[M][N] = act(A[M][K] · W[N][K]ᵀ + bias + residual)
 *
 * A is f32 (activations), W is bf16 in the nn.Linear layout [out][in], the
 * epilogue is linalg.h's gemm_epilogue. W is re-laid once, at load time, into
 * panels for the micro-kernels (gemm_bf16_pack); every variant reads the same
 * packed layout, so a packed file does not depend on the CPU.
 *
 * Packed layout. Columns (output features) are cut into panels of
 * GEMM_PANEL_NR = 32; K is padded to an even Kp = K + (K & 1). Panel p holds,
 * for each k-pair q in [0, Kp/2), 32 columns of two consecutive k:
 *
 *     dst[(p·Kp/2 + q)·64 + 2·j + e] = W[32·p + j][2·q + e]   (j < 32, e ∈ {0, 1})
 *
 * and 0 where 32·p + j ≥ N or 2·q + e ≥ K. One k-pair of a panel is 128 bytes:
 * two 512-bit vectors whose 32-bit lanes are (W[n][2q], W[n][2q+1]) for 16
 * columns n each, which is the operand vdpbf16ps wants; the f32 variants get
 * the two k as floats with a shift and a mask. A K block [k0, k0 + kc) with k0
 * even is one contiguous slice of each panel.
 *
 * Precision. The avx512bf16 (vdpbf16ps) and amx (TDPBF16PS) variants round A
 * to bf16 as well
 * (round to nearest even, per row block, on the fly): each product is then
 * bf16 × bf16, exact in f32, accumulated in f32 (the instruction flushes
 * denormals). Relative to the exact product of the bf16 weights with f32 A,
 * each term carries a relative error ≤ 2⁻⁸ (bf16 has 8 significant bits), so
 * |ΔC[i][j]| ≤ 2⁻⁸·Σ_k |A[i][k]·W[j][k]| plus f32 summation error; on random
 * data the errors cancel and the RMS error is ≈ 1e-3 of the RMS of C (about
 * √2 times what rounding the weights alone costs). The scalar, avx2 and
 * avx512 variants widen the weights to f32 (exact) and compute bf16 weights ×
 * f32 activations with f32 FMAs, which matches the scalar reference to f32
 * summation-order rounding.
 *
 * Blocking, threads and the epilogue: gemm_panel.h. */
#ifndef UNPROMPT_KERNELS_GEMM_BF16_H
#define UNPROMPT_KERNELS_GEMM_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/cpu.h"
#include "kernels/gemm_panel.h"

/* Number of uint16_t elements gemm_bf16_pack writes for W[N][K]; 0 if that
 * overflows size_t. */
size_t gemm_bf16_packed_size(size_t N, size_t K);
/* Pack bf16 weights [N][K] (as uint16_t bits) into dst. */
void gemm_bf16_pack(uint16_t *dst, const uint16_t *w_bf16, size_t N, size_t K);
/* Pack f32 weights [N][K], rounding each to bf16 (nearest even). */
void gemm_bf16_pack_f32(uint16_t *dst, const float *w, size_t N, size_t K);

typedef struct {
    /* C[M][N] = A[M][K] · Wᵀ, then the epilogue (ldc = N, lda = K, with N and
     * K from the panel). */
    void (*gemm_bf16)(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep);
    const char *name; /* "scalar", "avx2", "avx512", "avx512bf16" or "amx" */
} bf16_kernels;

void bf16_install(bf16_kernels *k, const cpu_features *f);

void bf16_kernels_scalar(bf16_kernels *k);
void bf16_kernels_avx2(bf16_kernels *k);
void bf16_kernels_avx512(bf16_kernels *k);
void bf16_kernels_avx512bf16(bf16_kernels *k);
void bf16_kernels_amx(bf16_kernels *k);
/* prep_a of the avx512bf16 and amx tiles: rows × kc floats of A (lda
 * apart) → bf16 rows of lda_dst elements (round to nearest even), the odd
 * tail zero. Needs AVX512_BF16. */
void gemm_bf16_prep_a_avx512bf16(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc);

#endif
