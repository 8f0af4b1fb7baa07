/* The gemv of the SIMD levels, written once over the vector vocabulary of
 * simd_<level>.h (included first): y = W·x four rows at a time, four
 * accumulators sharing each load of x, the K tail in scalar; then the
 * level's `linear` with this gemv for its 1-8 row products. */
#include "kernels/linalg.h"

/* W is read once, from memory: ask for it GEMV_AHEAD floats (4 KiB)
 * ahead of each row's loads, which for short rows (64: BLIP's
 * cross-attention heads) is 16 rows on. */
#define GEMV_AHEAD 1024
#define GEMV_PREFETCH(p) __builtin_prefetch((p) + GEMV_AHEAD, 0, 3)

static void SIMD_NAME(gemv)(float *y, const float *W, const float *x, size_t n, size_t K)
{
    size_t kv = K / VL * VL, r = 0;
    for (; r + 4 <= n; r += 4) {
        const float *w0 = W + r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        vf a0 = vset1(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (size_t k = 0; k < kv; k += VL) {
            vf xv = vload(x + k);
            GEMV_PREFETCH(w0 + k), GEMV_PREFETCH(w1 + k), GEMV_PREFETCH(w2 + k), GEMV_PREFETCH(w3 + k);
            a0 = vfma(vload(w0 + k), xv, a0);
            a1 = vfma(vload(w1 + k), xv, a1);
            a2 = vfma(vload(w2 + k), xv, a2);
            a3 = vfma(vload(w3 + k), xv, a3);
        }
        float s0 = vhsum(a0), s1 = vhsum(a1), s2 = vhsum(a2), s3 = vhsum(a3);
        for (size_t k = kv; k < K; k++) s0 += w0[k] * x[k], s1 += w1[k] * x[k], s2 += w2[k] * x[k], s3 += w3[k] * x[k];
        y[r] = s0, y[r + 1] = s1, y[r + 2] = s2, y[r + 3] = s3;
    }
    for (; r < n; r++) {
        const float *w = W + r * K;
        vf a = vset1(0.0f);
        for (size_t k = 0; k < kv; k += VL) {
            GEMV_PREFETCH(w + k);
            a = vfma(vload(w + k), vload(x + k), a);
        }
        float s = vhsum(a);
        for (size_t k = kv; k < K; k++) s += w[k] * x[k];
        y[r] = s;
    }
}

static void SIMD_NAME(linear)(float *C, const float *A, const float *W, size_t M, size_t N, size_t K,
                              const gemm_epilogue *ep)
{
    linear_with_gemv(C, A, W, M, N, K, ep, SIMD_NAME(gemv));
}
