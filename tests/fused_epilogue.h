/* For the panel GEMM tests: a GEMM whose tiles apply the epilogue in
 * registers (gemm_panel.h, fuses_epilogue) must give the same bits as the
 * product followed by the separate pass, gemm_panel_epilogue. Included by
 * test_gemm_f32.c and test_gemm_bf16.c. */
#ifndef UNPROMPT_TESTS_FUSED_EPILOGUE_H
#define UNPROMPT_TESTS_FUSED_EPILOGUE_H

#include "kernels/kernels.h"
#include "tests/test.h"

typedef void (*panel_gemm_fn)(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep);

static void fused_relu_ref(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

/* Epilogues that fuse (none or ReLU as the activation) over C = A·Wᵀ with
 * bias [N] and residual [M][ldr]: returns how many differ in any bit. */
static size_t fused_epilogue_mismatches(panel_gemm_fn gemm, const float *A, const weight_panel *W, size_t M,
                                        const float *bias, const float *res, size_t ldr)
{
    /* bias, residual, ReLU */
    static const int parts[][3] = {{1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {1, 1, 1}, {0, 0, 1}, {1, 0, 1}};
    size_t n = M * W->N, bad = 0;
    float *fused = malloc(n * sizeof *fused), *split = malloc(n * sizeof *split);
    for (size_t v = 0; v < sizeof parts / sizeof parts[0]; v++) {
        gemm_epilogue ep = {parts[v][0] ? bias : NULL, parts[v][1] ? res : NULL, ldr,
                            parts[v][2] ? fused_relu_ref : NULL, parts[v][2]};
        gemm(fused, A, W, M, &ep);
        gemm(split, A, W, M, NULL);
        gemm_panel_epilogue(split, W->N, 0, M, 0, W->N, &ep);
        bad += memcmp(fused, split, n * sizeof *fused) != 0;
    }
    free(fused), free(split);
    return bad;
}

#endif
