/* Activation, normalisation and softmax kernels. Every entry has a scalar
 * reference (nn_scalar.c, written with libm) and SIMD twins generated from
 * one body (nn_simd_body.h) for AVX2, AVX-512 and NEON. All lengths are
 * element counts; rows are contiguous; in-place use (y == x) is allowed. */
#ifndef UNPROMPT_KERNELS_NN_H
#define UNPROMPT_KERNELS_NN_H

#include <stddef.h>

typedef struct {
    /* y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * gamma + beta, per row. */
    void (*layernorm)(float *y, const float *x, const float *gamma, const float *beta, size_t rows,
                      size_t n, float eps);
    /* Per row: x = softmax(scale * x). */
    void (*softmax)(float *x, size_t rows, size_t n, float scale);
    /* As softmax, but row r sees only columns c <= r + offset; the others
     * are set to 0 (a causal mask with `offset` earlier positions). */
    void (*softmax_causal)(float *x, size_t rows, size_t n, float scale, size_t offset);
    void (*gelu)(float *x, size_t n);       /* 0.5 x (1 + erf(x / sqrt 2)), exact erf */
    void (*quick_gelu)(float *x, size_t n); /* x * sigmoid(1.702 x) (CLIP) */
    void (*relu)(float *x, size_t n);
    void (*sigmoid)(float *x, size_t n);
    void (*add)(float *y, const float *x, size_t n); /* y += x */
    float (*dot)(const float *a, const float *b, size_t n);
} nn_kernels;

/* The variants, for tests and for nn_install. */
void nn_kernels_scalar(nn_kernels *k);
void nn_kernels_avx2(nn_kernels *k);
void nn_kernels_avx512(nn_kernels *k);
void nn_kernels_neon(nn_kernels *k);

#endif
