/* What the panel GEMM tests (test_gemm_f32.c, test_gemm_bf16.c) share:
 * the check that a GEMM whose
 * tiles apply the epilogue in registers (gemm_panel.h, fuses_epilogue)
 * gives the same bits as the product followed by the separate pass,
 * gemm_panel_epilogue. */
#ifndef UNPROMPT_TESTS_GEMM_CHECK_H
#define UNPROMPT_TESTS_GEMM_CHECK_H

#include "kernels/kernels.h"
#include "tests/test.h"

typedef void (*panel_gemm_fn)(float *C, const float *A, const weight_panel *W, size_t M, const gemm_epilogue *ep);

static void fused_relu_ref(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

/* Shapes (M, N, K) for the check: ragged rows and columns, several K
 * blocks (accumulating into C first), the few-rows paths, the thread split.
 * The caller makes each problem and calls fused_epilogue_mismatches. */
static const size_t fused_shapes[][3] = {{13, 70, 900}, {1, 300, 1030}, {40, 33, 2}, {300, 100, 64}, {5, 1, 7}};
#define N_FUSED_SHAPES (sizeof fused_shapes / sizeof fused_shapes[0])

/* Epilogues that fuse (none or ReLU as the activation) over C = A·Wᵀ with
 * bias [N] and residual [M][ldr], row 2 of A (when there is one) made NaN,
 * which ReLU must map to 0 both ways: returns how many differ in any bit. */
static size_t fused_epilogue_mismatches(panel_gemm_fn gemm, float *A, const weight_panel *W, size_t M,
                                        const float *bias, const float *res, size_t ldr)
{
    if (M > 2) A[2 * W->K] = NAN;
    /* bias, residual, ReLU */
    static const int parts[][3] = {{1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {1, 1, 1}, {0, 0, 1}, {1, 0, 1}};
    size_t n = M * W->N, bad = 0;
    float *fused = malloc(n * sizeof *fused), *split = malloc(n * sizeof *split);
    for (size_t v = 0; v < sizeof parts / sizeof parts[0]; v++) {
        gemm_epilogue ep = {.bias = parts[v][0] ? bias : NULL,
                            .residual = parts[v][1] ? res : NULL,
                            .ldr = ldr,
                            .act = parts[v][2] ? fused_relu_ref : NULL,
                            .act_is_relu = parts[v][2]};
        gemm(fused, A, W, M, &ep);
        gemm(split, A, W, M, NULL);
        gemm_panel_epilogue(split, W->N, 0, M, 0, W->N, &ep);
        bad += memcmp(fused, split, n * sizeof *fused) != 0;
    }
    free(fused), free(split);
    return bad;
}

#endif
