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
 * GEMM_BF16_NR = 32; K is padded to an even Kp = K + (K & 1). Panel p holds,
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
 * Precision. The avx512bf16 variant (vdpbf16ps) rounds A to bf16 as well
 * (round to nearest even, per row block, on the fly): each product is then
 * bf16 × bf16, exact in f32, accumulated in f32 (the instruction flushes
 * denormals). Relative to the exact product of the bf16 weights with f32 A,
 * each term carries a relative error ≤ 2⁻⁸ (bf16 has 8 significant bits), so
 * |ΔC[i][j]| ≤ 2⁻⁸·Σ_k |A[i][k]·W[j][k]| plus f32 summation error; on random
 * data the errors cancel and the RMS error is ≈ 1e-3 of the RMS of C (about
 * √2 times what rounding the weights alone costs). The scalar, avx2 and avx512 variants widen the weights to f32
 * (exact) and compute bf16 weights × f32 activations with f32 FMAs, which
 * matches the scalar reference to f32 summation-order rounding.
 *
 * Threads: OpenMP over column panels (and row blocks when there are fewer
 * panels than threads). The epilogue runs on each block of rows right after
 * its last K block, while it is in cache; `act` must be element-wise (it is
 * called on row segments). C must not alias A or the residual. */
#ifndef UNPROMPT_KERNELS_GEMM_BF16_H
#define UNPROMPT_KERNELS_GEMM_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/cpu.h"
#include "kernels/linalg.h"

#define GEMM_BF16_NR 32

/* A packed weight matrix: `data` from gemm_bf16_pack* (64-byte aligned is
 * best), N output features, K input features. */
typedef struct bf16_panel {
    const uint16_t *data;
    size_t N, K;
} bf16_panel;

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
    void (*gemm_bf16)(float *C, const float *A, const bf16_panel *W, size_t M, const gemm_epilogue *ep);
    const char *name; /* "scalar", "avx2", "avx512" or "avx512bf16" */
} bf16_kernels;

void bf16_install(bf16_kernels *k, const cpu_features *f);

/* ---- for the ISA files ------------------------------------------------------
 * The blocking, threading and epilogue are shared (gemm_bf16_drive); an ISA
 * provides a micro-kernel: `prep_a` converts a block of A (rows ≤ mr, kc
 * values from k0 even) into the form `tile` reads, rows of lda_dst elements
 * of a_bytes each, the odd tail padded with zero; `tile` computes a rows ×
 * cols (≤ 32) block of C from that and kpairs k-pairs of one panel, storing
 * it (accumulate = 0) or adding to C (accumulate = 1). */
typedef struct {
    const char *name;
    int mr;      /* most rows per tile, ≤ GEMM_BF16_MAX_MR */
    int kc;      /* k per cache block (even, ≤ GEMM_BF16_MAX_KC) */
    int ncp;     /* panels per column chunk (the chunk's KC slice stays in L2) */
    int a_bytes; /* 2 (A as bf16) or 4 (A as f32) */
    void (*prep_a)(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc);
    void (*tile)(float *C, size_t ldc, const void *a, size_t lda, const uint16_t *w, size_t kpairs, size_t rows,
                 size_t cols, int accumulate);
} gemm_bf16_micro;

#define GEMM_BF16_MAX_MR 16
#define GEMM_BF16_MAX_KC 512

void gemm_bf16_drive(const gemm_bf16_micro *mk, float *C, const float *A, const bf16_panel *W, size_t M,
                     const gemm_epilogue *ep);
/* prep_a for micro-kernels that read A as f32: copy, zero the odd tail. */
void gemm_bf16_prep_f32(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc);

void bf16_kernels_scalar(bf16_kernels *k);
void bf16_kernels_avx2(bf16_kernels *k);
void bf16_kernels_avx512(bf16_kernels *k);
void bf16_kernels_avx512bf16(bf16_kernels *k);

#endif
