/* GEMM, convolution, pooling and dtype conversion.
 *
 * Layouts: matrices row-major; images NHWC without the N (rows of pixels,
 * channels innermost); convolution weights [Cout][kh][kw][Cin] (the loader
 * re-lays PyTorch's [Cout][Cin][kh][kw] once). */
#ifndef UNPROMPT_KERNELS_LINALG_H
#define UNPROMPT_KERNELS_LINALG_H

#include <stddef.h>
#include <stdint.h>

/* What happens to each output row after the product, while it is in cache:
 * y = act(A·B + bias + residual). Any part may be absent (NULL). When act
 * is a ReLU (x > 0 ? x : 0) and act_is_relu says so, the panel GEMMs that
 * can apply the whole epilogue in registers before the store do
 * (gemm_panel.h), with identical results. */
typedef struct {
    const float *bias;     /* [N] */
    const float *residual; /* [M][ldr] */
    size_t ldr;
    void (*act)(float *x, size_t n); /* e.g. nn_kernels.gelu */
    int act_is_relu;
} gemm_epilogue;

/* The weights of a product: f32 [N][K] (the nn.Linear layout, multiplied by
 * `linear`), or weights packed into panels at load time (kernels/gemm_panel.h:
 * bf16 or f32) with the kernel that multiplies them. */
struct weight_panel;
typedef void (*gemm_panel_fn)(float *C, const float *A, const struct weight_panel *W, size_t M,
                              const gemm_epilogue *ep);
typedef struct {
    const float *f32;
    const struct weight_panel *panel; /* used when f32 is NULL */
    gemm_panel_fn panel_gemm;
} linear_weights;

typedef struct {
    int pad_top, pad_bottom, pad_left, pad_right;
    int stride;
} conv_geometry;

typedef struct {
    /* C[M][N] = A[M][K] · W[N][K]ᵀ, then the epilogue (ldc = N). The layout
     * of nn.Linear: weights [out][in]. */
    void (*linear)(float *C, const float *A, const float *W, size_t M, size_t N, size_t K,
                   const gemm_epilogue *ep);
    /* f16 / bf16 (as uint16_t bits) ↔ f32; bf16 rounds to nearest even. */
    void (*f16_to_f32)(float *dst, const uint16_t *src, size_t n);
    void (*f32_to_f16)(uint16_t *dst, const float *src, size_t n);
    void (*bf16_to_f32)(float *dst, const uint16_t *src, size_t n);
    void (*f32_to_bf16)(uint16_t *dst, const float *src, size_t n);
    /* y[n] = W[n][K] · x[K], single-threaded: the products of decoding (one
     * to a few rows), bound by reading W once. */
    void (*gemv)(float *y, const float *W, const float *x, size_t n, size_t K);
    /* The tile transforms of Winograd's F(2×2, 3×3) (kernels/winograd.h),
     * over c channels. input: v[ξ·ldv + ch] = (Bᵀ d B)_ξ, d[4i + j] being
     * the c floats of the tile's input pixel (i, j) (zeros outside the
     * image). output: the 2×2 pixels y[2i + j][ch] = (Aᵀ m A)_ij from
     * m[ξ·ldm + ch], + bias[ch] + res[2i + j][ch], then ReLU when relu;
     * a NULL y[·] is not written (outside the image), a NULL bias or
     * res[·] adds nothing. */
    void (*winograd_input)(float *v, size_t ldv, const float *const d[16], size_t c);
    void (*winograd_output)(float *const y[4], const float *m, size_t ldm, size_t c, const float *bias,
                            const float *const res[4], int relu);
} linalg_kernels;

/* `linear` with a given gemv for its products of 1 to 8 rows (each level
 * installs it with its own gemv). */
void linear_with_gemv(float *C, const float *A, const float *W, size_t M, size_t N, size_t K, const gemm_epilogue *ep,
                      void (*gemv)(float *y, const float *W, const float *x, size_t n, size_t K));

/* Output size of a convolution / pooling along one axis. */
int conv_out_size(int in, int k, int pad_lo, int pad_hi, int stride);

/* NHWC convolution, y[oh][ow][Cout] = act(conv(x) + bias + residual).
 * 1×1 stride-1 is one `linear`; otherwise the output pixels go in blocks of
 * im2col_block_rows(k·k·Cin), shared among up to `threads` OpenMP threads,
 * each gathering its block's receptive fields (im2col) into its own part of
 * `scratch` and multiplying single-threaded. scratch holds
 * conv2d_scratch(...) floats. */
size_t im2col_block_rows(size_t row_len);
size_t conv2d_scratch(int cin, int k, int threads);
void conv2d(const linalg_kernels *lk, float *y, const float *x, int h, int w, int cin, const linear_weights *weight,
            int cout, int k, const conv_geometry *g, const gemm_epilogue *ep, float *scratch, int threads);
/* C[M][N] = A · Wᵀ + epilogue with either kind of weights. */
void linear_run(const linalg_kernels *lk, float *C, const float *A, const linear_weights *w, size_t M, size_t N,
                size_t K, const gemm_epilogue *ep);

/* Max-pool k×k with the given padding, padded cells being −inf. */
void maxpool2d(float *y, const float *x, int h, int w, int c, int k, const conv_geometry *g);
/* Mean over all pixels: y[c] = mean(x[:, :, c]). */
void global_avgpool(float *y, const float *x, int h, int w, int c);

void linalg_kernels_scalar(linalg_kernels *k);
void linalg_kernels_avx2(linalg_kernels *k);
void linalg_kernels_avx512(linalg_kernels *k);
void linalg_kernels_neon(linalg_kernels *k);

#endif
