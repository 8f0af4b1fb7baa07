/* The direct convolution the convolution tests (test_linalg.c,
 * test_winograd.c) compare against: NHWC, weights [Cout][k][k][Cin], sums in
 * double. */
#ifndef UNPROMPT_TESTS_CONV_REF_H
#define UNPROMPT_TESTS_CONV_REF_H

#include "kernels/linalg.h"

static void conv_ref(double *y, const float *x, int h, int w, int cin, const float *wt, int cout, int k,
                     const conv_geometry *g, const float *bias)
{
    int oh = conv_out_size(h, k, g->pad_top, g->pad_bottom, g->stride);
    int ow = conv_out_size(w, k, g->pad_left, g->pad_right, g->stride);
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            for (int co = 0; co < cout; co++) {
                double acc = bias ? bias[co] : 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * g->stride - g->pad_top + ky, ix = ox * g->stride - g->pad_left + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        for (int ci = 0; ci < cin; ci++)
                            acc += (double)x[((size_t)iy * w + ix) * cin + ci] * wt[(((size_t)co * k + ky) * k + kx) * cin + ci];
                    }
                y[((size_t)oy * ow + ox) * cout + co] = acc;
            }
}

#endif
