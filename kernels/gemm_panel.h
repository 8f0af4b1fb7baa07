/* GEMM against weights packed once, at load time, into column panels:
 *
 *     C[M][N] = act(A[M][K] · W[N][K]ᵀ + bias + residual)
 *
 * A is f32 (activations), W the nn.Linear layout [out][in] re-laid into
 * panels of GEMM_PANEL_NR = 32 output columns, K padded to an even Kp. Two
 * families store their weights this way: bf16 (kernels/gemm_bf16.h, k-pairs
 * interleaved for vdpbf16ps) and f32 (kernels/gemm_f32.h, one row of 32
 * floats per k). In both, a K block [k0, k0 + kc) with k0 even is the
 * contiguous slice of each panel starting k0 · 32 elements in, and a panel
 * is Kp · 32 elements long.
 *
 * The blocking, threading and epilogue are shared (gemm_panel_drive); each
 * ISA variant provides a micro-kernel:
 *   prep_a  converts a block of A (rows ≤ mr, kc values from k0 even) into
 *           the form `tile` reads: rows of lda_dst elements of a_bytes each,
 *           the odd tail padded with zero;
 *   tile    computes a rows × cols (≤ 32) block of C from that and kpairs
 *           k-pairs of one panel, storing it (accumulate = 0) or adding to C
 *           (accumulate = 1). When prep_a is gemm_panel_prep_f32, K is even
 *           and K floats are not a multiple of 4 KiB, the driver skips the
 *           copy and hands tile A itself (lda = K, any alignment). A tile
 *           that fuses_epilogue is handed, on the last K block, the
 *           epilogue of its own block (te, else NULL) whenever it has no
 *           activation or a ReLU: it adds bias and residual and takes the
 *           ReLU in registers, in the order gemm_panel_epilogue does, and
 *           the separate pass over C is skipped.
 *
 * Threads: OpenMP over column chunks (and row blocks when there are fewer
 * chunks than threads), handed out statically (gemm_panel.c says why);
 * called from inside a parallel region, all tasks run on the calling thread.
 * The epilogue runs on each block of rows right after its last K block,
 * while it is in cache; `act` must be element-wise (it is called on row
 * segments). C must not alias A or the residual. */
#ifndef UNPROMPT_KERNELS_GEMM_PANEL_H
#define UNPROMPT_KERNELS_GEMM_PANEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/linalg.h"

#define GEMM_PANEL_NR 32

/* The epilogue of one tile: bias from the tile's first column, residual
 * from its first row and column (row stride ldr), either NULL; then, when
 * relu is set, x > 0 ? x : 0. */
typedef struct {
    const float *bias;
    const float *residual;
    size_t ldr;
    int relu;
} gemm_tile_epilogue;

/* A packed weight matrix: `data` as a family's pack function wrote it
 * (64-byte aligned is best), N output features, K input features, and the
 * bytes of one stored weight (2: bf16, 4: f32). */
typedef struct weight_panel {
    const void *data;
    size_t N, K;
    size_t elem_bytes;
} weight_panel;

/* A tile: rows × cols of C (+)= rows of A (lda apart) × one panel of
 * kpairs k-pairs, then the epilogue te when given. */
typedef void gemm_panel_tile_fn(float *C, size_t ldc, const void *a, size_t lda, const void *w, size_t kpairs,
                                size_t rows, size_t cols, int accumulate, const gemm_tile_epilogue *te);

typedef struct {
    const char *name;
    int mr;      /* most rows per tile, ≤ GEMM_PANEL_MAX_MR (and see GEMM_PANEL_ABUF) */
    int kc;      /* k per cache block (even, ≤ GEMM_PANEL_MAX_KC) */
    int ncp;     /* panels per column chunk (the chunk's KC slice stays in L2) */
    int a_bytes; /* 2 (A as bf16) or 4 (A as f32) */
    int w_bytes; /* 2 (bf16 panels) or 4 (f32 panels) */
    void (*prep_a)(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc);
    gemm_panel_tile_fn *tile;
    /* the epilogue over a finished block (gemm_panel_epilogue or a level's) */
    void (*epilogue)(float *C, size_t ldc, size_t m0, size_t m1, size_t n0, size_t n1, const gemm_epilogue *ep);
    int fuses_epilogue; /* tile applies te (else te is always NULL) */
    /* The same tile, also prefetching the panel ahead of its loads (or
     * NULL: tile). Used when one block of rows meets every panel once
     * (decoding): the weights then come from memory once each, and the few
     * rows leave the loads too far apart for the hardware prefetcher. */
    gemm_panel_tile_fn *tile_stream;
} gemm_panel_micro;

#define GEMM_PANEL_MAX_MR 32
#define GEMM_PANEL_MAX_KC 512
/* The driver's buffer for a converted block of A, on each thread's stack:
 * mr · (kc + 32) · a_bytes must fit (16 f32 rows or 32 bf16 rows of the
 * largest K block). */
#define GEMM_PANEL_ABUF (16 * (GEMM_PANEL_MAX_KC + 32) * 4)

void gemm_panel_drive(const gemm_panel_micro *mk, float *C, const float *A, const weight_panel *W, size_t M,
                      const gemm_epilogue *ep);
/* prep_a for micro-kernels that read A as f32: copy, zero the odd tail. */
void gemm_panel_prep_f32(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc);
/* The epilogue over C[m0:m1][n0:n1]: bias, then residual, then act; the
 * vector versions give identical results. */
void gemm_panel_epilogue(float *C, size_t ldc, size_t m0, size_t m1, size_t n0, size_t n1, const gemm_epilogue *ep);
void gemm_panel_epilogue_avx2(float *C, size_t ldc, size_t m0, size_t m1, size_t n0, size_t n1,
                              const gemm_epilogue *ep);
void gemm_panel_epilogue_avx512(float *C, size_t ldc, size_t m0, size_t m1, size_t n0, size_t n1,
                                const gemm_epilogue *ep);
/* Number of panels and k-pairs of an N × K matrix; 0 panels when the packed
 * size (panels · kpairs · 2 · 32 elements) would overflow size_t. */
size_t gemm_panel_count(size_t N, size_t K, size_t *kpairs);

#endif
