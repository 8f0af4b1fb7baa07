/* f32-weight GEMM on packed panels: packing, the scalar reference (the
 * specification) and the dispatch; the SIMD micro-kernels plug into
 * gemm_panel_drive. */
#include <string.h>

#include "kernels/kernels.h"

size_t gemm_f32_packed_size(size_t N, size_t K)
{
    size_t kpairs, panels = gemm_panel_count(N, K, &kpairs);
    return panels * kpairs * 2 * GEMM_PANEL_NR;
}

/* One panel: 32 weight rows read side by side, written as rows of 32 k. */
static void pack_panel(float *dst, const float *w, size_t N, size_t K, size_t p)
{
    size_t kp = K + (K & 1), n0 = p * GEMM_PANEL_NR, cols = N - n0 < GEMM_PANEL_NR ? N - n0 : GEMM_PANEL_NR;
    float *d = dst + p * kp * GEMM_PANEL_NR;
    memset(d, 0, kp * GEMM_PANEL_NR * sizeof *d);
    for (size_t k0 = 0; k0 < K; k0 += 64) { /* 64 k at a time: 32 × 256 bytes of source in L1 */
        size_t k1 = k0 + 64 < K ? k0 + 64 : K;
        for (size_t j = 0; j < cols; j++) {
            const float *src = w + (n0 + j) * K;
            for (size_t k = k0; k < k1; k++) d[k * GEMM_PANEL_NR + j] = src[k];
        }
    }
}

void gemm_f32_pack(float *dst, const float *w, size_t N, size_t K)
{
    size_t kpairs, panels = gemm_panel_count(N, K, &kpairs);
    if (!panels || !kpairs) return;
#pragma omp parallel for schedule(static) if (N * K >= (1u << 18))
    for (size_t p = 0; p < panels; p++) pack_panel(dst, w, N, K, p);
}

/* k in order, f32 accumulation. */
static void gemm_f32_scalar(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep)
{
    size_t N = W->N, K = W->K, kp = K + (K & 1);
    const float *P = W->data;
    for (size_t i = 0; i < M; i++)
        for (size_t n = 0; n < N; n++) {
            const float *col = P + (n / GEMM_PANEL_NR) * kp * GEMM_PANEL_NR + n % GEMM_PANEL_NR;
            float acc = 0;
            for (size_t k = 0; k < K; k++) acc += A[i * K + k] * col[k * GEMM_PANEL_NR];
            C[i * N + n] = acc;
        }
    gemm_panel_epilogue(C, N, 0, M, 0, N, ep);
}

void f32_panel_kernels_scalar(f32_panel_kernels *k)
{
    k->gemm_f32 = gemm_f32_scalar;
    k->name = "scalar";
    k->preferred = 0;
}

void f32_panel_install(f32_panel_kernels *k, const cpu_features *f)
{
    f32_panel_kernels_scalar(k);
#if defined(__x86_64__)
    if (cpu_has_avx512(f)) f32_panel_kernels_avx512(k);
#else
    (void)f;
#endif
}

void gemm_f32_use_panels(const f32_panel_kernels *k, const float *panels, size_t N, size_t K, weight_panel *panel,
                         linear_weights *lw)
{
    *panel = (weight_panel){.data = panels, .N = N, .K = K, .elem_bytes = sizeof *panels};
    *lw = (linear_weights){.panel = panel, .panel_gemm = k->gemm_f32};
}

void gemm_f32_use_packed(const f32_panel_kernels *k, float *dst, const float *w, size_t N, size_t K,
                         weight_panel *panel, linear_weights *lw)
{
    gemm_f32_pack(dst, w, N, K);
    gemm_f32_use_panels(k, dst, N, K, panel, lw);
}
