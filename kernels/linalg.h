/* GEMM, convolution, pooling and dtype-conversion kernels (placeholder:
 * the entries arrive with the kernels work). */
#ifndef UNPROMPT_KERNELS_LINALG_H
#define UNPROMPT_KERNELS_LINALG_H
typedef struct {
    int reserved_;
} linalg_kernels;
#endif
