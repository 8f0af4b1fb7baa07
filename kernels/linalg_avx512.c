/* AVX-512 dtype conversions (F16C for f16, 16-lane widening for bf16). */
#include <immintrin.h>

#include "kernels/kernels.h"

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

/* y = W·x four rows at a time: four independent 16-lane accumulators share
 * each load of x, the K tail under a mask. */
static void gemv(float *y, const float *W, const float *x, size_t n, size_t K)
{
    size_t kv = K / 16 * 16;
    __mmask16 tail = (__mmask16)((1u << (K - kv)) - 1u);
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const float *w0 = W + r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t k = 0; k < kv; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + k), xv, a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + k), xv, a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + k), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + k), xv, a3);
        }
        if (tail) {
            __m512 xv = _mm512_maskz_loadu_ps(tail, x + kv);
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w0 + kv), xv, a0);
            a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w1 + kv), xv, a1);
            a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w2 + kv), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w3 + kv), xv, a3);
        }
        y[r] = _mm512_reduce_add_ps(a0), y[r + 1] = _mm512_reduce_add_ps(a1);
        y[r + 2] = _mm512_reduce_add_ps(a2), y[r + 3] = _mm512_reduce_add_ps(a3);
    }
    for (; r < n; r++) {
        const float *w = W + r * K;
        __m512 a = _mm512_setzero_ps();
        for (size_t k = 0; k < kv; k += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a);
        if (tail) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w + kv), _mm512_maskz_loadu_ps(tail, x + kv), a);
        y[r] = _mm512_reduce_add_ps(a);
    }
}

static void linear(float *C, const float *A, const float *W, size_t M, size_t N, size_t K, const gemm_epilogue *ep)
{
    linear_with_gemv(C, A, W, M, N, K, ep, gemv);
}

void linalg_kernels_avx512(linalg_kernels *k)
{
    linalg_kernels_avx2(k);
    k->bf16_to_f32 = bf16_to_f32;
    k->f16_to_f32 = f16_to_f32;
    k->gemv = gemv;
    k->linear = linear;
}
