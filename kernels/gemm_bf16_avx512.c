/* bf16 GEMM micro-kernel for AVX-512 without BF16: each 32-bit lane of a
 * panel vector holds (W[n][2q], W[n][2q+1]); shifting left by 16 gives the
 * even k as f32, masking the low half gives the odd k, both exact. A stays
 * f32, so the products are bf16 weights × f32 activations with f32 FMAs.
 * A tile is MR rows × 32 columns: 2·MR zmm accumulators. */
#include <immintrin.h>

#include "kernels/gemm_tile_avx512.h"
#include "kernels/kernels.h"


#define MR 12

static inline __attribute__((always_inline)) void tile_rows(const int rows, const int stream, float *C, size_t ldc,
                                                            const float *a, size_t lda, const uint16_t *w, size_t kpairs,
                                                            size_t cols, int accumulate, const gemm_tile_epilogue *te)
{
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512 c0[MR], c1[MR];
    tile_prefetch_residual(rows, te);
    UNROLL
    for (int r = 0; r < rows; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (size_t q = 0; q < kpairs; q++, w += 2 * GEMM_PANEL_NR, a += 2) {
        tile_prefetch_stream(stream, w);
        __m512i v0 = _mm512_loadu_si512(w), v1 = _mm512_loadu_si512(w + GEMM_PANEL_NR);
        __m512 w0e = _mm512_castsi512_ps(_mm512_slli_epi32(v0, 16));
        __m512 w0o = _mm512_castsi512_ps(_mm512_and_si512(v0, hi));
        __m512 w1e = _mm512_castsi512_ps(_mm512_slli_epi32(v1, 16));
        __m512 w1o = _mm512_castsi512_ps(_mm512_and_si512(v1, hi));
        UNROLL
        for (int r = 0; r < rows; r++) {
            __m512 ae = _mm512_set1_ps(a[(size_t)r * lda]), ao = _mm512_set1_ps(a[(size_t)r * lda + 1]);
            c0[r] = _mm512_fmadd_ps(ae, w0e, c0[r]);
            c1[r] = _mm512_fmadd_ps(ae, w1e, c1[r]);
            c0[r] = _mm512_fmadd_ps(ao, w0o, c0[r]);
            c1[r] = _mm512_fmadd_ps(ao, w1o, c1[r]);
        }
    }
    tile_store_avx512(rows, C, ldc, c0, c1, cols, accumulate, te);
}

static inline __attribute__((always_inline)) void tile_any(const int stream, float *C, size_t ldc, const void *a,
                                                           size_t lda, const void *panel, size_t kpairs, size_t rows,
                                                           size_t cols, int accumulate, const gemm_tile_epilogue *te)
{
    const uint16_t *w = panel;
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
    static const gemm_panel_micro mk = {"avx512", MR, 256, 8, 4, 2, gemm_panel_prep_f32, tile,
                                        gemm_panel_epilogue_avx512, 1, tile_stream};
    gemm_panel_drive(&mk, C, A, W, M, ep);
}

void bf16_kernels_avx512(bf16_kernels *k)
{
    k->gemm_bf16 = gemm;
    k->name = "avx512";
}
