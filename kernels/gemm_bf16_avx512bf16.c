/* bf16 GEMM micro-kernel on vdpbf16ps (AVX512_BF16).
 *
 * A row block is converted to bf16 (round to nearest even, vcvtne2ps2bf16),
 * k-pairs adjacent, so one 32-bit broadcast of A[r][2q..2q+1] meets one
 * 512-bit vector of a panel's k-pair q (16 columns × 2 k): vdpbf16ps adds both
 * products into 16 f32 lanes. A tile is MR rows × 32 columns: 2·MR zmm
 * accumulators, two panel vectors per k-pair, A broadcast from memory. */
#include <immintrin.h>
#include <string.h>

#include "kernels/gemm_tile_avx512.h"
#include "kernels/kernels.h"


#define MR 14

void gemm_bf16_prep_a_avx512bf16(void *dst, size_t lda_dst, const float *A, size_t lda, size_t rows, size_t kc)
{
    uint16_t *d = dst;
    for (size_t r = 0; r < rows; r++) {
        const float *a = A + r * lda;
        uint16_t *o = d + r * lda_dst;
        size_t k = 0;
        for (; k + 32 <= kc; k += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(a + k + 16), _mm512_loadu_ps(a + k));
            _mm512_storeu_si512(o + k, (__m512i)v);
        }
        if (k < kc) { /* masked tail: zeros beyond kc, which also pads the odd element */
            size_t n = kc - k;
            __mmask16 lo = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
            __mmask16 hi = n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, a + k + 16), _mm512_maskz_loadu_ps(lo, a + k));
            size_t even = (n + 1) & ~(size_t)1;
            _mm512_mask_storeu_epi16(o + k, (__mmask32)(even >= 32 ? 0xFFFFFFFFu : (1u << even) - 1), (__m512i)v);
        }
    }
}

static inline __m512bh bcast_pair(const uint16_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return (__m512bh)_mm512_set1_epi32((int)v);
}

static inline __attribute__((always_inline)) void tile_rows(const int rows, const int stream, float *C, size_t ldc,
                                                            const uint16_t *a, size_t lda, const uint16_t *w,
                                                            size_t kpairs, size_t cols, int accumulate,
                                                            const gemm_tile_epilogue *te)
{
    __m512 c0[MR], c1[MR];
    tile_prefetch_residual(rows, te);
    UNROLL
    for (int r = 0; r < rows; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (size_t q = 0; q < kpairs; q++, w += 2 * GEMM_PANEL_NR, a += 2) {
        tile_prefetch_stream(stream, w);
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(w), w1 = (__m512bh)_mm512_loadu_si512(w + GEMM_PANEL_NR);
        UNROLL
        for (int r = 0; r < rows; r++) {
            __m512bh ar = bcast_pair(a + (size_t)r * lda);
            c0[r] = _mm512_dpbf16_ps(c0[r], ar, w0);
            c1[r] = _mm512_dpbf16_ps(c1[r], ar, w1);
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
        ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7)
        ROWS(8) ROWS(9) ROWS(10) ROWS(11) ROWS(12) ROWS(13) ROWS(14)
#undef ROWS
    default: break;
    }
}

GEMM_TILE_ENTRY_POINTS(tile_any)

static void gemm(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep)
{
    /* K blocks of 384: a 14-row block of A is 10.5 KiB (L1), a chunk of 16
     * panels 384 KiB (L2). */
    static const gemm_panel_micro mk = {"avx512bf16", MR, 384, 16, 2, 2, gemm_bf16_prep_a_avx512bf16, tile,
                                        gemm_panel_epilogue_avx512, 1, tile_stream};
    gemm_panel_drive(&mk, C, A, W, M, ep);
}

void bf16_kernels_avx512bf16(bf16_kernels *k)
{
    k->gemm_bf16 = gemm;
    k->name = "avx512bf16";
}
