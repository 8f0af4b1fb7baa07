/* bf16 GEMM micro-kernel for AVX2 + FMA: as the AVX-512 one (widen the
 * panel's bf16 pairs with a shift and a mask, f32 FMAs), with 16 ymm
 * registers: a tile is MR = 4 rows × 16 columns, the panel's two halves one
 * after the other. Partial tiles go through a small buffer. */
#include <immintrin.h>

#include "kernels/kernels.h"

/* Full unrolling of the row loops (trip counts are constants once inlined),
 * so the accumulators live in registers. */
#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL _Pragma("GCC unroll 16")
#endif

#define MR 4

static inline __attribute__((always_inline)) void half_rows(const int rows, float *C, size_t ldc, const float *a,
                                                            size_t lda, const uint16_t *w, size_t kpairs,
                                                            int accumulate)
{
    const __m256i hi = _mm256_set1_epi32((int)0xFFFF0000u);
    __m256 c0[MR], c1[MR];
    UNROLL
    for (int r = 0; r < rows; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    for (size_t q = 0; q < kpairs; q++, w += 2 * GEMM_PANEL_NR, a += 2) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)w), v1 = _mm256_loadu_si256((const __m256i *)(w + 16));
        __m256 w0e = _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16));
        __m256 w0o = _mm256_castsi256_ps(_mm256_and_si256(v0, hi));
        __m256 w1e = _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16));
        __m256 w1o = _mm256_castsi256_ps(_mm256_and_si256(v1, hi));
        UNROLL
        for (int r = 0; r < rows; r++) {
            __m256 ae = _mm256_broadcast_ss(a + (size_t)r * lda), ao = _mm256_broadcast_ss(a + (size_t)r * lda + 1);
            c0[r] = _mm256_fmadd_ps(ae, w0e, c0[r]);
            c1[r] = _mm256_fmadd_ps(ae, w1e, c1[r]);
            c0[r] = _mm256_fmadd_ps(ao, w0o, c0[r]);
            c1[r] = _mm256_fmadd_ps(ao, w1o, c1[r]);
        }
    }
    UNROLL
    for (int r = 0; r < rows; r++) {
        float *cr = C + (size_t)r * ldc;
        if (accumulate) {
            c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(cr));
            c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(cr + 8));
        }
        _mm256_storeu_ps(cr, c0[r]);
        _mm256_storeu_ps(cr + 8, c1[r]);
    }
}

static void half(float *C, size_t ldc, const float *a, size_t lda, const uint16_t *w, size_t kpairs, size_t rows,
                 int accumulate)
{
    switch (rows) {
    case 1: half_rows(1, C, ldc, a, lda, w, kpairs, accumulate); break;
    case 2: half_rows(2, C, ldc, a, lda, w, kpairs, accumulate); break;
    case 3: half_rows(3, C, ldc, a, lda, w, kpairs, accumulate); break;
    case 4: half_rows(4, C, ldc, a, lda, w, kpairs, accumulate); break;
    default: break;
    }
}

static void tile(float *C, size_t ldc, const void *a, size_t lda, const void *panel, size_t kpairs, size_t rows,
                 size_t cols, int accumulate, const gemm_tile_epilogue *te)
{
    (void)te; /* does not fuse: the driver's epilogue pass runs instead */
    const uint16_t *w = panel;
    if (cols == GEMM_PANEL_NR) {
        half(C, ldc, a, lda, w, kpairs, rows, accumulate);
        half(C + 16, ldc, a, lda, w + 32, kpairs, rows, accumulate);
        return;
    }
    float buf[MR * GEMM_PANEL_NR];
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) buf[r * GEMM_PANEL_NR + j] = accumulate ? C[r * ldc + j] : 0;
    half(buf, GEMM_PANEL_NR, a, lda, w, kpairs, rows, 1);
    if (cols > 16) half(buf + 16, GEMM_PANEL_NR, a, lda, w + 32, kpairs, rows, 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++) C[r * ldc + j] = buf[r * GEMM_PANEL_NR + j];
}

static void gemm(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep)
{
    static const gemm_panel_micro mk = {"avx2", MR, 256, 8, 4, 2, gemm_panel_prep_f32, tile, gemm_panel_epilogue_avx2,
                                        0, NULL};
    gemm_panel_drive(&mk, C, A, W, M, ep);
}

void bf16_kernels_avx2(bf16_kernels *k)
{
    k->gemm_bf16 = gemm;
    k->name = "avx2";
}
