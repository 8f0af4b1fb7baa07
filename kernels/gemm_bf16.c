/* bf16-weight GEMM: weight packing, the scalar reference (the
 * specification) and the dispatch; the SIMD micro-kernels plug into
 * gemm_panel_drive. */
#include <string.h>

#include "kernels/kernels.h"

/* ---- packing ---------------------------------------------------------------- */

size_t gemm_bf16_packed_size(size_t N, size_t K)
{
    size_t kpairs, panels = gemm_panel_count(N, K, &kpairs);
    return panels * kpairs * 2 * GEMM_PANEL_NR;
}

/* Column n, k-pair q, element e of panel-major storage (see gemm_bf16.h). */
static inline size_t packed_index(size_t n, size_t q, size_t e, size_t kpairs)
{
    return ((n / GEMM_PANEL_NR * kpairs + q) * GEMM_PANEL_NR + n % GEMM_PANEL_NR) * 2 + e;
}

void gemm_bf16_pack(uint16_t *dst, const uint16_t *w_bf16, size_t N, size_t K)
{
    size_t kpairs = K / 2 + (K & 1);
    for (size_t n0 = 0; n0 < N; n0 += GEMM_PANEL_NR) /* writes dst in order */
        for (size_t q = 0; q < kpairs; q++)
            for (size_t n = n0; n < n0 + GEMM_PANEL_NR; n++)
                for (size_t k = 2 * q; k < 2 * q + 2; k++) *dst++ = n < N && k < K ? w_bf16[n * K + k] : 0;
}

void gemm_bf16_pack_f32(uint16_t *dst, const float *w, size_t N, size_t K)
{
    linalg_kernels s;
    linalg_kernels_scalar(&s);
    size_t kpairs = K / 2 + (K & 1);
    memset(dst, 0, gemm_bf16_packed_size(N, K) * sizeof *dst);
    uint16_t chunk[256];
    for (size_t n = 0; n < N; n++)
        for (size_t k0 = 0; k0 < K; k0 += 256) {
            size_t len = K - k0 < 256 ? K - k0 : 256;
            s.f32_to_bf16(chunk, w + n * K + k0, len);
            for (size_t k = k0; k < k0 + len; k++) dst[packed_index(n, k / 2, k & 1, kpairs)] = chunk[k - k0];
        }
}

/* ---- scalar reference --------------------------------------------------------- */

static float widen(uint16_t h)
{
    uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* Widen each weight to f32 and accumulate in f32, k in order. */
static void gemm_bf16_scalar(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep)
{
    size_t N = W->N, K = W->K, kpairs = K / 2 + (K & 1);
    const uint16_t *P = W->data;
    for (size_t i = 0; i < M; i++)
        for (size_t n = 0; n < N; n++) {
            float acc = 0;
            for (size_t k = 0; k < K; k++) acc += A[i * K + k] * widen(P[packed_index(n, k / 2, k & 1, kpairs)]);
            C[i * N + n] = acc;
        }
    gemm_panel_epilogue(C, N, 0, M, 0, N, ep);
}

/* ---- dispatch ------------------------------------------------------------------ */

void bf16_kernels_scalar(bf16_kernels *k)
{
    k->gemm_bf16 = gemm_bf16_scalar;
    k->name = "scalar";
}

void bf16_install(bf16_kernels *k, const cpu_features *f)
{
    bf16_kernels_scalar(k);
#if defined(__x86_64__)
    int avx512 = cpu_has_avx512(f);
    if (avx512 && f->amx_bf16) bf16_kernels_amx(k);
    else if (avx512 && f->bf16_dot_fast) bf16_kernels_avx512bf16(k);
    else if (avx512) bf16_kernels_avx512(k);
    else if (f->avx2 && f->fma) bf16_kernels_avx2(k);
#else
    (void)f;
#endif
}
