/* The SIMD activation / normalisation kernels, written once over the small
 * vector vocabulary of simd_<isa>.h (vf, VL, vload, vfma, ...). Included by
 * nn_avx2.c, nn_avx512.c and nn_neon.c, each compiled with its own target
 * flags. Tails shorter than a vector go through the same math in scalar. */
#include <math.h>
#include <omp.h>

#include "kernels/kernels.h"

/* exp(x): Cephes-style range reduction x = n ln2 + r, a degree-6 polynomial
 * for e^r, scaled by 2^n. Relative error ~1e-7 over the clamped range. */
static inline vf vexp(vf x)
{
    x = vmin(vmax(x, vset1(-87.3f)), vset1(88.0f));
    vf n = vround(vmul(x, vset1(1.44269504088896341f)));
    vf r = vfma(n, vset1(-0.693359375f), x);
    r = vfma(n, vset1(2.12194440e-4f), r);
    vf p = vset1(1.9875691500e-4f);
    p = vfma(p, r, vset1(1.3981999507e-3f));
    p = vfma(p, r, vset1(8.3334519073e-3f));
    p = vfma(p, r, vset1(4.1665795894e-2f));
    p = vfma(p, r, vset1(1.6666665459e-1f));
    p = vfma(p, r, vset1(5.0000001201e-1f));
    p = vfma(p, vmul(r, r), vadd(r, vset1(1.0f)));
    return vmul(p, vpow2i(n));
}

/* erf(x): Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7. */
static inline vf verf(vf x)
{
    vf a = vabs(x);
    vf t = vdiv(vset1(1.0f), vfma(a, vset1(0.3275911f), vset1(1.0f)));
    vf p = vset1(1.061405429f);
    p = vfma(p, t, vset1(-1.453152027f));
    p = vfma(p, t, vset1(1.421413741f));
    p = vfma(p, t, vset1(-0.284496736f));
    p = vfma(p, t, vset1(0.254829592f));
    p = vmul(p, t);
    vf e = vexp(vsub(vset1(0.0f), vmul(a, a)));
    vf y = vsub(vset1(1.0f), vmul(p, e));
    return vcopysign(y, x);
}

/* Scalar versions of the same approximations, for tails: one lane. */
static inline float sexp(float x)
{
    float v[VL] = {x};
    vstore(v, vexp(vload(v)));
    return v[0];
}

#define MAP_TAIL(x, n, expr)                         \
    do {                                             \
        size_t rem = (n) % VL;                       \
        if (rem) {                                   \
            float buf_[VL] = {0};                    \
            float *base_ = (x) + (n) - rem;          \
            for (size_t j = 0; j < rem; j++) buf_[j] = base_[j]; \
            vf v = vload(buf_);                      \
            vstore(buf_, expr);                      \
            for (size_t j = 0; j < rem; j++) base_[j] = buf_[j]; \
        }                                            \
    } while (0)

static vf gelu_v(vf v)
{
    vf e = verf(vmul(v, vset1(0.70710678118654752f)));
    return vmul(vmul(vset1(0.5f), v), vadd(vset1(1.0f), e));
}

static vf sigmoid_v(vf v)
{
    return vdiv(vset1(1.0f), vadd(vset1(1.0f), vexp(vsub(vset1(0.0f), v))));
}

static vf quick_gelu_v(vf v)
{
    return vmul(v, sigmoid_v(vmul(v, vset1(1.702f))));
}

static vf relu_v(vf v)
{
    return vmax(v, vset1(0.0f));
}

/* Large inputs are shared among the OpenMP threads in chunks of NN_CHUNK
 * elements (rows for the row kernels); small ones, and calls made from inside
 * a parallel region (the GEMM epilogue, attention), stay on one thread. */
#define NN_CHUNK 16384
#define NN_PARALLEL(work) ((work) >= 4 * NN_CHUNK && !omp_in_parallel())

#define MAP_FN(name, fn)                                                          \
    static void name##_serial(float *x, size_t n)                                 \
    {                                                                             \
        size_t i = 0;                                                             \
        for (; i + VL <= n; i += VL) vstore(x + i, fn(vload(x + i)));             \
        MAP_TAIL(x, n, fn(v));                                                    \
    }                                                                             \
    static void name(float *x, size_t n)                                          \
    {                                                                             \
        if (!NN_PARALLEL(n)) {                                                    \
            name##_serial(x, n);                                                  \
            return;                                                               \
        }                                                                         \
        _Pragma("omp parallel for schedule(static)")                              \
        for (size_t c = 0; c < n; c += NN_CHUNK)                                  \
            name##_serial(x + c, n - c < NN_CHUNK ? n - c : NN_CHUNK);            \
    }

MAP_FN(gelu, gelu_v)
MAP_FN(sigmoid, sigmoid_v)
MAP_FN(quick_gelu, quick_gelu_v)
MAP_FN(relu, relu_v)

static float sum_of(const float *x, size_t n)
{
    vf acc = vset1(0.0f);
    size_t i = 0;
    for (; i + VL <= n; i += VL) acc = vadd(acc, vload(x + i));
    float s = vhsum(acc);
    for (; i < n; i++) s += x[i];
    return s;
}

static float dot(const float *a, const float *b, size_t n)
{
    vf acc0 = vset1(0.0f), acc1 = vset1(0.0f);
    size_t i = 0;
    for (; i + 2 * VL <= n; i += 2 * VL) {
        acc0 = vfma(vload(a + i), vload(b + i), acc0);
        acc1 = vfma(vload(a + i + VL), vload(b + i + VL), acc1);
    }
    for (; i + VL <= n; i += VL) acc0 = vfma(vload(a + i), vload(b + i), acc0);
    float s = vhsum(vadd(acc0, acc1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static void add(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL) vstore(y + i, vadd(vload(y + i), vload(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

static void layernorm_rows(float *y, const float *x, const float *gamma, const float *beta, size_t rows,
                           size_t n, float eps)
{
    for (size_t r = 0; r < rows; r++, x += n, y += n) {
        float mean = sum_of(x, n) / (float)n;
        vf vm = vset1(mean), acc = vset1(0.0f);
        size_t i = 0;
        for (; i + VL <= n; i += VL) {
            vf d = vsub(vload(x + i), vm);
            acc = vfma(d, d, acc);
        }
        float sq = vhsum(acc);
        for (; i < n; i++) sq += (x[i] - mean) * (x[i] - mean);
        float rstd = 1.0f / sqrtf(sq / (float)n + eps);
        vf vr = vset1(rstd);
        for (i = 0; i + VL <= n; i += VL) {
            vf d = vmul(vsub(vload(x + i), vm), vr);
            vstore(y + i, vfma(d, vload(gamma + i), vload(beta + i)));
        }
        for (; i < n; i++) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
    }
}

static void layernorm(float *y, const float *x, const float *gamma, const float *beta, size_t rows, size_t n,
                      float eps)
{
    if (!NN_PARALLEL(rows * n) || rows < 2) {
        layernorm_rows(y, x, gamma, beta, rows, n, eps);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) layernorm_rows(y + r * n, x + r * n, gamma, beta, 1, n, eps);
}

static void softmax_row(float *x, size_t n, float scale)
{
    if (n == 0) return;
    vf vmx = vset1(-INFINITY);
    size_t i = 0;
    for (; i + VL <= n; i += VL) vmx = vmax(vmx, vload(x + i));
    float mx = vhmax(vmx);
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    vf vs = vset1(scale), vm = vset1(mx), acc = vset1(0.0f);
    for (i = 0; i + VL <= n; i += VL) {
        vf e = vexp(vmul(vs, vsub(vload(x + i), vm)));
        vstore(x + i, e);
        acc = vadd(acc, e);
    }
    float sum = vhsum(acc);
    for (; i < n; i++) {
        x[i] = sexp(scale * (x[i] - mx));
        sum += x[i];
    }
    vf inv = vset1(1.0f / sum);
    for (i = 0; i + VL <= n; i += VL) vstore(x + i, vmul(vload(x + i), inv));
    for (; i < n; i++) x[i] *= 1.0f / sum;
}

static void softmax(float *x, size_t rows, size_t n, float scale)
{
    if (!NN_PARALLEL(rows * n)) {
        for (size_t r = 0; r < rows; r++) softmax_row(x + r * n, n, scale);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) softmax_row(x + r * n, n, scale);
}

static void softmax_causal(float *x, size_t rows, size_t n, float scale, size_t offset)
{
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        size_t keep = r + offset + 1 < n ? r + offset + 1 : n;
        softmax_row(row, keep, scale);
        for (size_t i = keep; i < n; i++) row[i] = 0;
    }
}

void SIMD_NAME(nn_kernels)(nn_kernels *k)
{
    k->layernorm = layernorm;
    k->softmax = softmax;
    k->softmax_causal = softmax_causal;
    k->gelu = gelu;
    k->quick_gelu = quick_gelu;
    k->relu = relu;
    k->sigmoid = sigmoid;
    k->add = add;
    k->dot = dot;
}
