/* Softmax ranking; see clip_rank.h. */
#include <math.h>

#include "engine/models/clip/clip_rank.h"

void clip_l2_normalize(float *x, size_t dim)
{
    double s = 0;
    for (size_t i = 0; i < dim; i++) s += (double)x[i] * x[i];
    if (s <= 0) return;
    float inv = (float)(1.0 / sqrt(s));
    for (size_t i = 0; i < dim; i++) x[i] *= inv;
}

size_t clip_rank(const float *image, const float *text, size_t n, size_t dim, size_t top, size_t *index,
                 float *prob, float *p)
{
    if (n == 0 || top == 0) return 0;
    float mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float d = 0;
        for (size_t j = 0; j < dim; j++) d += image[j] * text[i * dim + j];
        p[i] = 100.0f * d;
        mx = p[i] > mx ? p[i] : mx;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += p[i] = expf(p[i] - mx);
    for (size_t i = 0; i < n; i++) p[i] = (float)(p[i] / sum);
    size_t k = top < n ? top : n;
    for (size_t r = 0; r < k; r++) { /* k is small (the list's top N) */
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (size_t q = 0; q < r && !taken; q++) taken = index[q] == i;
            if (!taken && (best == n || p[i] > p[best])) best = i;
        }
        index[r] = best, prob[r] = p[best];
    }
    return k;
}
