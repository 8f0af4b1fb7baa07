/* GEMM through OpenBLAS with the epilogue, convolution as GEMM, pooling, and
 * the scalar dtype conversions. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/winograd.h"

#include <omp.h>

/* Below this many multiply-adds a product runs on one thread. */
#define LINEAR_PARALLEL_MIN (1u << 18)

/* Up to this many rows, products run as blocked GEMVs (see linear_slice). */
#define LINEAR_FEW_ROWS 8
#define LINEAR_FEW_ROWS_BLOCK (256u << 10) /* bytes of weights per block */

typedef void (*gemv_fn)(float *y, const float *W, const float *x, size_t n, size_t K);

/* One thread's share: C[r0:r1][c0:c1] by single-threaded OpenBLAS, or for
 * one to a few rows by the level's gemv. */
static void linear_slice(float *C, const float *A, const float *W, size_t N, size_t K, size_t r0, size_t r1,
                         size_t c0, size_t c1, const gemm_epilogue *ep, gemv_fn gemv)
{
    size_t m = r1 - r0, n = c1 - c0;
    if (m == 0 || n == 0) return;
    float *c = C + r0 * N + c0;
    if (K == 0) {
        for (size_t r = 0; r < m; r++) memset(c + r * N, 0, n * sizeof *c);
    } else if (m == 1) {
        gemv(c, W + c0 * K, A + r0 * K, n, K);
    } else if (m <= LINEAR_FEW_ROWS) {
        /* A few rows (decoding with beams): GEMVs over blocks of weight rows
         * small enough to stay in L2 while every row of A passes, so the
         * weights come from memory once; sgemm would re-pack all of them. */
        size_t nb = LINEAR_FEW_ROWS_BLOCK / (K * sizeof *W);
        nb = nb < 16 ? 16 : nb / 16 * 16;
        for (size_t j = 0; j < n; j += nb) {
            size_t cols = n - j < nb ? n - j : nb;
            for (size_t r = 0; r < m; r++) gemv(c + r * N + j, W + (c0 + j) * K, A + (r0 + r) * K, cols, K);
        }
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)n, (blasint)K, 1.0f, A + r0 * K,
                    (blasint)K, W + c0 * K, (blasint)K, 0.0f, c, (blasint)N);
    }
    gemm_panel_epilogue(C, N, r0, r1, c0, c1, ep); /* right after the slice, in cache */
}

/* Tall products (convolutions over many pixels) go in blocks of
 * LINEAR_ROW_BLOCK rows handed out to the threads, so each block's output is
 * still in cache when its epilogue runs; short ones (transformer layers) split
 * the output columns (weight rows) among the threads, in multiples of 16, or
 * the rows when there are too few columns. Every thread calls OpenBLAS
 * single-threaded on its part. One thread pool (OpenMP) for the whole engine:
 * OpenBLAS's own pool fighting OpenMP's spinning workers cost up to 3x. */
#define LINEAR_ROW_BLOCK 256

void linear_with_gemv(float *C, const float *A, const float *W, size_t M, size_t N, size_t K, const gemm_epilogue *ep,
                      gemv_fn gemv)
{
    if (M == 0 || N == 0) return;
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt <= 1 || (double)M * N * K < LINEAR_PARALLEL_MIN) {
        linear_slice(C, A, W, N, K, 0, M, 0, N, ep, gemv);
        return;
    }
    if (M >= 2 * LINEAR_ROW_BLOCK * (size_t)nt) {
        size_t blocks = (M + LINEAR_ROW_BLOCK - 1) / LINEAR_ROW_BLOCK;
#pragma omp parallel for schedule(dynamic) num_threads(nt)
        for (size_t b = 0; b < blocks; b++) {
            size_t r0 = b * LINEAR_ROW_BLOCK, r1 = r0 + LINEAR_ROW_BLOCK < M ? r0 + LINEAR_ROW_BLOCK : M;
            linear_slice(C, A, W, N, K, r0, r1, 0, N, ep, gemv);
        }
        return;
    }
    int split_cols = N >= (size_t)nt * 64 || M < (size_t)nt * 16;
#pragma omp parallel num_threads(nt)
    {
        size_t id = (size_t)omp_get_thread_num(), t = (size_t)omp_get_num_threads();
        size_t total = split_cols ? N : M, step = (total + t - 1) / t;
        if (split_cols) step = (step + 15) / 16 * 16;
        size_t lo = id * step < total ? id * step : total, hi = lo + step < total ? lo + step : total;
        if (split_cols)
            linear_slice(C, A, W, N, K, 0, M, lo, hi, ep, gemv);
        else
            linear_slice(C, A, W, N, K, lo, hi, 0, N, ep, gemv);
    }
}

/* ---- dtype conversion (scalar reference) ---------------------------------- */

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xFF, man = x & 0x7FFFFF;
    if (exp == 0xFF) return (uint16_t)(sign | 0x7C00 | (man ? 0x200 | (man >> 13) : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00);
    if (e <= 0) { /* subnormal or zero, round to nearest even */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into the exponent: correct */
    return (uint16_t)half;
}

static void f16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = half_to_float(src[i]);
}

static void f32_to_f16(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = float_to_half(src[i]);
}

static void bf16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t b = (uint32_t)src[i] << 16;
        memcpy(&dst[i], &b, 4);
    }
}

static void f32_to_bf16(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t x;
        memcpy(&x, &src[i], 4);
        if ((x & 0x7FFFFFFF) > 0x7F800000) dst[i] = (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
        else dst[i] = (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
    }
}

/* The reference gemv: OpenBLAS's (what the scalar level and NEON use). */
static void gemv_blas(float *y, const float *W, const float *x, size_t n, size_t K)
{
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)n, (blasint)K, 1.0f, W, (blasint)K, x, 1, 0.0f, y, 1);
}

static void linear_blas(float *C, const float *A, const float *W, size_t M, size_t N, size_t K,
                        const gemm_epilogue *ep)
{
    linear_with_gemv(C, A, W, M, N, K, ep, gemv_blas);
}

void linalg_kernels_scalar(linalg_kernels *k)
{
    k->linear = linear_blas;
    k->gemv = gemv_blas;
    k->f16_to_f32 = f16_to_f32;
    k->f32_to_f16 = f32_to_f16;
    k->bf16_to_f32 = bf16_to_f32;
    k->f32_to_bf16 = f32_to_bf16;
    k->winograd_input = winograd_input_scalar;
    k->winograd_output = winograd_output_scalar;
}

/* OpenBLAS's own stopper for its worker threads: exported by its pthreads
 * builds, absent from cblas.h and from other builds (weak: NULL there). */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void blas_single_thread(void)
{
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}

void linalg_install(linalg_kernels *k, const cpu_features *f)
{
    /* Parallelism comes from OpenMP around single-threaded BLAS calls. */
    blas_single_thread();
    linalg_kernels_scalar(k);
#if defined(__x86_64__)
    if (cpu_has_avx512(f)) linalg_kernels_avx512(k);
    else if (f->avx2 && f->f16c) linalg_kernels_avx2(k);
#elif defined(__aarch64__)
    if (f->neon) linalg_kernels_neon(k);
#else
    (void)f;
#endif
}

/* ---- convolution and pooling ---------------------------------------------- */

int conv_out_size(int in, int k, int pad_lo, int pad_hi, int stride)
{
    int span = in + pad_lo + pad_hi - k;
    return span < 0 || stride < 1 ? 0 : span / stride + 1;
}


/* Output pixels per im2col block: 256, or 128 when 256 receptive fields
 * would pass 1 MiB (the L2 of the cores tuned for), so that the block the
 * GEMM reads right after gathering it is still in L2, and a 32×32 map makes
 * 8 blocks for the threads to share instead of 4. DeepDanbooru's 3×3
 * convolutions of 128 channels and more (row_len 1152 to 9216), on 2 threads:
 * 312 → 299 ms for the network, median of 8 alternated runs. */
#define IM2COL_BLOCK_BYTES ((size_t)1 << 20)

size_t im2col_block_rows(size_t row_len)
{
    return row_len * sizeof(float) * 256 <= IM2COL_BLOCK_BYTES ? 256 : 128;
}

size_t conv2d_scratch(int cin, int k, int threads)
{
    size_t row_len = (size_t)k * (size_t)k * (size_t)cin;
    return im2col_block_rows(row_len) * row_len * (size_t)(threads > 1 ? threads : 1);
}

/* Rows [p0, p1) of the im2col matrix: each row is one output pixel's
 * k×k×Cin receptive field (zero outside the image). */
static void im2col_rows(float *col, const float *x, int h, int w, int cin, int k, const conv_geometry *g, int ow,
                        size_t p0, size_t p1)
{
    size_t row_len = (size_t)k * (size_t)k * (size_t)cin, c = (size_t)cin;
    for (size_t p = p0; p < p1; p++) {
        int oy = (int)(p / (size_t)ow), ox = (int)(p % (size_t)ow);
        float *dst = col + (p - p0) * row_len;
        int x0 = ox * g->stride - g->pad_left;
        /* the kx inside the image: one contiguous run of (kx1-kx0)·cin floats */
        int kx0 = x0 < 0 ? -x0 : 0, kx1 = w - x0 < k ? w - x0 : k;
        if (kx1 < kx0) kx1 = kx0;
        for (int ky = 0; ky < k; ky++, dst += (size_t)k * c) {
            int iy = oy * g->stride - g->pad_top + ky;
            if (iy < 0 || iy >= h || kx1 == kx0) {
                memset(dst, 0, (size_t)k * c * sizeof *dst);
                continue;
            }
            if (kx0 > 0) memset(dst, 0, (size_t)kx0 * c * sizeof *dst);
            memcpy(dst + (size_t)kx0 * c, x + ((size_t)iy * (size_t)w + (size_t)(x0 + kx0)) * c,
                   (size_t)(kx1 - kx0) * c * sizeof *dst);
            if (kx1 < k) memset(dst + (size_t)kx1 * c, 0, (size_t)(k - kx1) * c * sizeof *dst);
        }
    }
}

void linear_run(const linalg_kernels *lk, float *C, const float *A, const linear_weights *w, size_t M, size_t N,
                size_t K, const gemm_epilogue *ep)
{
    if (w->f32) lk->linear(C, A, w->f32, M, N, K, ep);
    else w->panel_gemm(C, A, w->panel, M, ep);
}

void conv2d(const linalg_kernels *lk, float *y, const float *x, int h, int w, int cin, const linear_weights *weight,
            int cout, int k, const conv_geometry *g, const gemm_epilogue *ep, float *scratch, int threads)
{
    int oh = conv_out_size(h, k, g->pad_top, g->pad_bottom, g->stride);
    int ow = conv_out_size(w, k, g->pad_left, g->pad_right, g->stride);
    size_t pixels = (size_t)oh * (size_t)ow;
    if (k == 1 && g->stride == 1 && !g->pad_top && !g->pad_bottom && !g->pad_left && !g->pad_right) {
        linear_run(lk, y, x, weight, pixels, (size_t)cout, (size_t)cin, ep);
        return;
    }
    size_t row_len = (size_t)k * (size_t)k * (size_t)cin, block_rows = im2col_block_rows(row_len);
    size_t blocks = (pixels + block_rows - 1) / block_rows;
    int nt = threads > 1 ? threads : 1;
    if (blocks < (size_t)nt) {
        /* Few pixels (the late stages): gather them all (they fit in the
         * scratch of nt blocks), every thread a share of the rows, and let
         * `linear` split the channels. */
#pragma omp parallel num_threads(nt)
        {
            size_t t = (size_t)omp_get_thread_num(), n = (size_t)omp_get_num_threads();
            size_t p0 = pixels * t / n, p1 = pixels * (t + 1) / n;
            im2col_rows(scratch + p0 * row_len, x, h, w, cin, k, g, ow, p0, p1);
        }
        linear_run(lk, y, scratch, weight, pixels, (size_t)cout, row_len, ep);
        return;
    }
    /* static: thread t gathers and multiplies the same pixels as in the
     * layers before and after (gemm_panel.c), so its rows stay in its L2 */
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t b = 0; b < blocks; b++) {
        size_t p0 = b * block_rows, p1 = p0 + block_rows < pixels ? p0 + block_rows : pixels;
        float *col = scratch + (size_t)omp_get_thread_num() * block_rows * row_len;
        im2col_rows(col, x, h, w, cin, k, g, ow, p0, p1);
        gemm_epilogue block;
        const gemm_epilogue *bp = NULL;
        if (ep) {
            block = *ep;
            if (block.residual) block.residual += p0 * block.ldr;
            bp = &block;
        }
        linear_run(lk, y + p0 * (size_t)cout, col, weight, p1 - p0, (size_t)cout, row_len, bp);
    }
}

void maxpool2d(float *y, const float *x, int h, int w, int c, int k, const conv_geometry *g)
{
    int oh = conv_out_size(h, k, g->pad_top, g->pad_bottom, g->stride);
    int ow = conv_out_size(w, k, g->pad_left, g->pad_right, g->stride);
#pragma omp parallel for schedule(static) if ((size_t)oh * (size_t)ow * (size_t)c > 65536)
    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            float *out = y + ((size_t)oy * (size_t)ow + (size_t)ox) * (size_t)c;
            for (int ch = 0; ch < c; ch++) out[ch] = -INFINITY;
            for (int ky = 0; ky < k; ky++) {
                int iy = oy * g->stride - g->pad_top + ky;
                if (iy < 0 || iy >= h) continue;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox * g->stride - g->pad_left + kx;
                    if (ix < 0 || ix >= w) continue;
                    const float *in = x + ((size_t)iy * (size_t)w + (size_t)ix) * (size_t)c;
                    for (int ch = 0; ch < c; ch++) out[ch] = in[ch] > out[ch] ? in[ch] : out[ch];
                }
            }
        }
    }
}

void global_avgpool(float *y, const float *x, int h, int w, int c)
{
    size_t n = (size_t)h * (size_t)w;
    for (int ch = 0; ch < c; ch++) {
        double s = 0;
        for (size_t p = 0; p < n; p++) s += x[p * (size_t)c + (size_t)ch];
        y[ch] = (float)(s / (double)n);
    }
}
