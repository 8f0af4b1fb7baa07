/* The Winograd F(2×2, 3×3) tile transforms of the SIMD levels, written once
 * over the vector vocabulary of simd_<level>.h (included first): the same
 * additions as winograd_input_scalar / winograd_output_scalar, in the same
 * order, VL channels at a time, so the results are identical; the channel
 * tail goes through the scalar ones. */
#include "kernels/winograd.h"

static void SIMD_NAME(winograd_input)(float *v, size_t ldv, const float *const d[16], size_t c)
{
    size_t cv = c / VL * VL;
    for (size_t ch = 0; ch < cv; ch += VL) {
        vf t[16];
        for (int j = 0; j < 4; j++) {
            vf d0 = vload(d[j] + ch), d1 = vload(d[4 + j] + ch), d2 = vload(d[8 + j] + ch),
               d3 = vload(d[12 + j] + ch);
            t[j] = vsub(d0, d2), t[4 + j] = vadd(d1, d2), t[8 + j] = vsub(d2, d1), t[12 + j] = vsub(d1, d3);
        }
        for (int i = 0; i < 4; i++) {
            const vf *r = t + 4 * i;
            vstore(v + (size_t)(4 * i) * ldv + ch, vsub(r[0], r[2]));
            vstore(v + (size_t)(4 * i + 1) * ldv + ch, vadd(r[1], r[2]));
            vstore(v + (size_t)(4 * i + 2) * ldv + ch, vsub(r[2], r[1]));
            vstore(v + (size_t)(4 * i + 3) * ldv + ch, vsub(r[1], r[3]));
        }
    }
    if (cv == c) return;
    const float *dt[16];
    for (int p = 0; p < 16; p++) dt[p] = d[p] + cv;
    winograd_input_scalar(v + cv, ldv, dt, c - cv);
}

static void SIMD_NAME(winograd_output)(float *const y[4], const float *m, size_t ldm, size_t c, const float *bias,
                                       const float *const res[4], int relu)
{
    size_t cv = c / VL * VL;
    vf zero = vset1(0.0f);
    for (size_t ch = 0; ch < cv; ch += VL) {
        vf s[8];
        for (int j = 0; j < 4; j++) {
            vf m0 = vload(m + (size_t)j * ldm + ch), m1 = vload(m + (size_t)(4 + j) * ldm + ch);
            vf m2 = vload(m + (size_t)(8 + j) * ldm + ch), m3 = vload(m + (size_t)(12 + j) * ldm + ch);
            s[j] = vadd(vadd(m0, m1), m2), s[4 + j] = vsub(vsub(m1, m2), m3);
        }
        for (int i = 0; i < 2; i++) {
            const vf *r = s + 4 * i;
            vf o[2] = {vadd(vadd(r[0], r[1]), r[2]), vsub(vsub(r[1], r[2]), r[3])};
            for (int j = 0; j < 2; j++) {
                int p = 2 * i + j;
                if (!y[p]) continue;
                vf z = o[j];
                if (bias) z = vadd(z, vload(bias + ch));
                if (res[p]) z = vadd(z, vload(res[p] + ch));
                if (relu) z = vmax(z, zero);
                vstore(y[p] + ch, z);
            }
        }
    }
    if (cv == c) return;
    float *yt[4];
    const float *rt[4];
    for (int p = 0; p < 4; p++) yt[p] = y[p] ? y[p] + cv : NULL, rt[p] = res[p] ? res[p] + cv : NULL;
    winograd_output_scalar(yt, m + cv, ldm, c - cv, bias ? bias + cv : NULL, rt, relu);
}
