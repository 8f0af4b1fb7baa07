/* The reference activation / normalisation kernels: plain C and libm. */
#include <math.h>

#include "kernels/kernels.h"

static void layernorm(float *y, const float *x, const float *gamma, const float *beta, size_t rows, size_t n,
                      float eps)
{
    for (size_t r = 0; r < rows; r++, x += n, y += n) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < n; i++) sum += x[i];
        double mean = sum / (double)n;
        for (size_t i = 0; i < n; i++) sq += (x[i] - mean) * (x[i] - mean);
        float rstd = (float)(1.0 / sqrt(sq / (double)n + eps));
        float m = (float)mean;
        for (size_t i = 0; i < n; i++) y[i] = (x[i] - m) * rstd * gamma[i] + beta[i];
    }
}

static void softmax_row(float *x, size_t n, float scale)
{
    if (n == 0) return;
    float mx = x[0];
    for (size_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(scale * (x[i] - mx));
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++) x[i] *= inv;
}

static void softmax(float *x, size_t rows, size_t n, float scale)
{
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

static void gelu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static void quick_gelu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
}

static void relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

static void sigmoid(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void add(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

static float dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return (float)s;
}

void nn_kernels_scalar(nn_kernels *k)
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
