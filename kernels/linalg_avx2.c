/* AVX2 + F16C dtype conversions, and the AVX2 gemv (gemv_simd_body.h). */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/simd_avx2.h"
#include "kernels/gemv_simd_body.h"
#include "kernels/winograd_simd_body.h"

static void f16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    linalg_kernels s;
    linalg_kernels_scalar(&s);
    s.f16_to_f32(dst + i, src + i, n - i);
}

static void f32_to_f16(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    linalg_kernels s;
    linalg_kernels_scalar(&s);
    s.f32_to_f16(dst + i, src + i, n - i);
}

static void bf16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    linalg_kernels s;
    linalg_kernels_scalar(&s);
    s.bf16_to_f32(dst + i, src + i, n - i);
}

void linalg_kernels_avx2(linalg_kernels *k)
{
    linalg_kernels_scalar(k);
    k->f16_to_f32 = f16_to_f32;
    k->f32_to_f16 = f32_to_f16;
    k->bf16_to_f32 = bf16_to_f32;
    k->gemv = gemv_avx2;
    k->linear = linear_avx2;
    k->winograd_input = winograd_input_avx2;
    k->winograd_output = winograd_output_avx2;
}
