/* AVX-512 dtype conversions (F16C for f16, 16-lane widening for bf16), and the AVX-512 gemv. */
#include <immintrin.h>

#include "kernels/kernels.h"
#include "kernels/simd_avx512.h"
#include "kernels/gemv_simd_body.h"
#include "kernels/winograd_simd_body.h"

static void bf16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(src + i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
    linalg_kernels s;
    linalg_kernels_scalar(&s);
    s.bf16_to_f32(dst + i, src + i, n - i);
}

static void f16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    linalg_kernels s;
    linalg_kernels_scalar(&s);
    s.f16_to_f32(dst + i, src + i, n - i);
}

void linalg_kernels_avx512(linalg_kernels *k)
{
    linalg_kernels_avx2(k);
    k->bf16_to_f32 = bf16_to_f32;
    k->f16_to_f32 = f16_to_f32;
    k->gemv = gemv_avx512;
    k->linear = linear_avx512;
    k->winograd_input = winograd_input_avx512;
    k->winograd_output = winograd_output_avx512;
}
