/* AVX2 + F16C dtype conversions. */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

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

/* Sum of the 8 lanes. */
static float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* y = W·x four rows at a time (8 lanes), the K tail in scalar. */
static void gemv(float *y, const float *W, const float *x, size_t n, size_t K)
{
    size_t kv = K / 8 * 8, r = 0;
    for (; r + 4 <= n; r += 4) {
        const float *w0 = W + r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t k = 0; k < kv; k += 8) {
            __m256 xv = _mm256_loadu_ps(x + k);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k), xv, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k), xv, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k), xv, a3);
        }
        float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
        for (size_t k = kv; k < K; k++) s0 += w0[k] * x[k], s1 += w1[k] * x[k], s2 += w2[k] * x[k], s3 += w3[k] * x[k];
        y[r] = s0, y[r + 1] = s1, y[r + 2] = s2, y[r + 3] = s3;
    }
    for (; r < n; r++) {
        const float *w = W + r * K;
        __m256 a = _mm256_setzero_ps();
        for (size_t k = 0; k < kv; k += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a);
        float s = hsum(a);
        for (size_t k = kv; k < K; k++) s += w[k] * x[k];
        y[r] = s;
    }
}

static void linear(float *C, const float *A, const float *W, size_t M, size_t N, size_t K, const gemm_epilogue *ep)
{
    linear_with_gemv(C, A, W, M, N, K, ep, gemv);
}

void linalg_kernels_avx2(linalg_kernels *k)
{
    linalg_kernels_scalar(k);
    k->f16_to_f32 = f16_to_f32;
    k->f32_to_f16 = f32_to_f16;
    k->bf16_to_f32 = bf16_to_f32;
    k->gemv = gemv;
    k->linear = linear;
}
