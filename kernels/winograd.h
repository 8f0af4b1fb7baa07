/* 3×3 stride-1 convolution by Winograd's minimal filtering, F(2×2, 3×3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015).
 *
 * Each 2×2 block of output pixels (a tile) is computed from the 4×4 input
 * pixels around it. With
 *
 *     Bᵀ = | 1  0 -1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
 *          | 0  1  1  0 |        | 1/2  1/2  1/2|         | 0  1 -1 -1 |
 *          | 0 -1  1  0 |        | 1/2 -1/2  1/2|
 *          | 0  1  0 -1 |        | 0    0    1  |
 *
 * the input tile d becomes V = Bᵀ d B and each 3×3 filter g becomes
 * U = G g Gᵀ (once, at load time), both 4×4; then for each of the 16
 * positions ξ of the 4×4, over all tiles at once,
 *
 *     M_ξ[tile][cout] = Σ_cin V_ξ[tile][cin] · U_ξ[cout][cin]
 *
 * is a GEMM of the nn.Linear layout, and the output tile is Y = Aᵀ M A.
 * That is 16 products of (pixels / 4) rows instead of one of pixels rows
 * and 9·Cin columns: 4/9 of the multiply-adds. The transforms are only
 * additions (and halvings in G, exact in binary), so the results differ
 * from the direct convolution by rounding of the same order.
 *
 * Layouts: x and y NHWC without the N; V_ξ and M_ξ row-major per tile; the
 * 16 U_ξ [Cout][Cin] stored one after the other (winograd_weights). */
#ifndef UNPROMPT_KERNELS_WINOGRAD_H
#define UNPROMPT_KERNELS_WINOGRAD_H

#include <stddef.h>

#include "kernels/linalg.h"

#define WINOGRAD_POSITIONS 16 /* the 4×4 of a transformed tile */

/* U_ξ[cout][cin] for ξ = 0..15 into u (16 · cout · cin floats), from the
 * 3×3 weights w [cout][3][3][cin] (the conv2d layout). */
void winograd_weights(float *u, const float *w, size_t cout, size_t cin);

/* Floats of scratch conv2d_winograd needs for cin → cout on `threads`. */
size_t winograd_scratch(int cin, int cout, int threads);

/* y[oh][ow][cout] = act(conv3×3(x) + bias + residual), stride g->stride = 1,
 * any padding, as conv2d would compute it, with u[ξ] the weights of
 * position ξ (f32 [cout][cin] or packed panels). The tiles are shared
 * among up to `threads` OpenMP threads in order, each transforming,
 * multiplying and writing back its own blocks of tiles. */
void conv2d_winograd(const linalg_kernels *lk, float *y, const float *x, int h, int w, int cin,
                     const linear_weights u[WINOGRAD_POSITIONS], int cout, const conv_geometry *g,
                     const gemm_epilogue *ep, float *scratch, int threads);

/* The per-tile transforms (linalg_kernels.winograd_input / _output), the
 * scalar reference for the SIMD twins (winograd_simd_body.h). */
void winograd_input_scalar(float *v, size_t ldv, const float *const d[16], size_t c);
void winograd_output_scalar(float *const y[4], const float *m, size_t ldm, size_t c, const float *bias,
                            const float *const res[4], int relu);

#endif
