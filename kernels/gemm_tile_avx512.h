/* What the AVX-512 panel micro-kernels (gemm_f32_avx512.c,
 * gemm_bf16_avx512.c, gemm_bf16_avx512bf16.c) share: full unrolling of the
 * row loops (their trip counts are constants once inlined, so the
 * accumulators live in registers), and the end of a tile: `rows` rows of
 * accumulators, c0 for columns 0–15 and c1 for 16–31, stored into C (only
 * the first `cols` columns) or added to what C holds. Include after
 * <immintrin.h> in a file compiled for AVX-512. */
#ifndef UNPROMPT_KERNELS_GEMM_TILE_AVX512_H
#define UNPROMPT_KERNELS_GEMM_TILE_AVX512_H

#include <stddef.h>

#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL _Pragma("GCC unroll 16")
#endif

static inline __attribute__((always_inline)) void tile_store_avx512(const int rows, float *C, size_t ldc, __m512 *c0,
                                                                    __m512 *c1, size_t cols, int accumulate)
{
    __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    UNROLL
    for (int r = 0; r < rows; r++) {
        float *cr = C + (size_t)r * ldc;
        if (accumulate) {
            c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
            c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
        }
        _mm512_mask_storeu_ps(cr, m0, c0[r]);
        _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
    }
}

#endif
