/* f32 GEMM micro-kernel for AVX-512 on packed panels (gemm_f32.h): a tile is
 * MR rows × 32 columns, 2·MR zmm accumulators; per k, two panel vectors and
 * one broadcast of A per row (folded into the FMA as a memory operand). */
#include <immintrin.h>

#include "kernels/gemm_tile_avx512.h"
#include "kernels/kernels.h"


#define MR 12

static inline __attribute__((always_inline)) void tile_rows(const int rows, const int stream, float *C, size_t ldc,
                                                            const float *a, size_t lda, const float *w, size_t kpairs,
                                                            size_t cols, int accumulate, const gemm_tile_epilogue *te)
{
    __m512 c0[MR], c1[MR];
    tile_prefetch_residual(rows, te);
    UNROLL
    for (int r = 0; r < rows; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (size_t k = 0; k < 2 * kpairs; k++, w += GEMM_PANEL_NR, a++) {
        tile_prefetch_stream(stream, w);
        __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
        UNROLL
        for (int r = 0; r < rows; r++) {
            __m512 ar = _mm512_set1_ps(a[(size_t)r * lda]);
            c0[r] = _mm512_fmadd_ps(ar, w0, c0[r]);
            c1[r] = _mm512_fmadd_ps(ar, w1, c1[r]);
        }
    }
    tile_store_avx512(rows, C, ldc, c0, c1, cols, accumulate, te);
}

static inline __attribute__((always_inline)) void tile_any(const int stream, float *C, size_t ldc, const void *a,
                                                           size_t lda, const void *panel, size_t kpairs, size_t rows,
                                                           size_t cols, int accumulate, const gemm_tile_epilogue *te)
{
    const float *w = panel;
    switch (rows) {
#define ROWS(n) \
    case n: tile_rows(n, stream, C, ldc, a, lda, w, kpairs, cols, accumulate, te); break;
        ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6)
        ROWS(7) ROWS(8) ROWS(9) ROWS(10) ROWS(11) ROWS(12)
#undef ROWS
    default: break;
    }
}

GEMM_TILE_ENTRY_POINTS(tile_any)

static void gemm(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep)
{
    /* K blocks of 256: a 12-row block of A is 12 KiB (L1); one panel's
     * slice 32 KiB, a chunk of 16 panels 512 KiB, half the L2 of every
     * AVX-512 server core (1–2 MiB). Each chunk copies all of A once, so
     * wider chunks copy it less: with 16 instead of 8, a batch of 4
     * images (A from L3) takes 2 % less CPU time. */
    static const gemm_panel_micro mk = {"avx512", MR, 256, 16, 4, 4, gemm_panel_prep_f32, tile,
                                        gemm_panel_epilogue_avx512, 1, tile_stream};
    gemm_panel_drive(&mk, C, A, W, M, ep);
}

void f32_panel_kernels_avx512(f32_panel_kernels *k)
{
    k->gemm_f32 = gemm;
    k->name = "avx512";
    k->preferred = 1;
}
