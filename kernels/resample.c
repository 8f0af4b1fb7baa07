/* Pillow-exact resampling: see resample.h. Names follow Resample.c so the
 * two can be read side by side. */
#include "kernels/resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

typedef struct {
    double (*fn)(double x);
    double support;
} filter_def;

static double bicubic_filter(double x)
{
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc_filter(double x)
{
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double lanczos_filter(double x)
{
    if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
    return 0.0;
}

static const filter_def filters[] = {{bicubic_filter, 2.0}, {lanczos_filter, 3.0}};

typedef struct {
    int ksize;
    int *bounds;   /* per output: first input index, count */
    int32_t *kk;   /* per output: ksize fixed-point weights */
} coeffs;

static void coeffs_free(coeffs *c)
{
    free(c->bounds);
    free(c->kk);
}

/* precompute_coeffs + normalize_coeffs_8bpc of Resample.c. */
static int precompute(int in_size, float in0, float in1, int out_size, const filter_def *f, coeffs *c)
{
    double scale = (double)(in1 - in0) / out_size, filterscale = scale;
    if (filterscale < 1.0) filterscale = 1.0;
    double support = f->support * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    if (ksize > RESAMPLE_MAX_SIDE * 8) return -1;
    double *pre = malloc((size_t)out_size * (size_t)ksize * sizeof *pre);
    c->bounds = malloc((size_t)out_size * 2 * sizeof *c->bounds);
    c->kk = malloc((size_t)out_size * (size_t)ksize * sizeof *c->kk);
    c->ksize = ksize;
    if (!pre || !c->bounds || !c->kk) {
        free(pre);
        coeffs_free(c);
        return -1;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double *k = &pre[(size_t)xx * (size_t)ksize];
        int x;
        for (x = 0; x < xmax; x++) {
            double w = f->fn((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0;
        c->bounds[xx * 2] = xmin;
        c->bounds[xx * 2 + 1] = xmax;
    }
    for (size_t i = 0; i < (size_t)out_size * (size_t)ksize; i++)
        c->kk[i] = pre[i] < 0 ? (int32_t)(-0.5 + pre[i] * (1 << PRECISION_BITS))
                              : (int32_t)(0.5 + pre[i] * (1 << PRECISION_BITS));
    free(pre);
    return 0;
}

static uint8_t clip8(int32_t in)
{
    if (in >= (1 << PRECISION_BITS << 8)) return 255;
    if (in <= 0) return 0;
    return (uint8_t)(in >> PRECISION_BITS);
}

/* Rows [offset, offset + out_h) of src, resampled along x into dst. */
static void pass_horizontal(const uint8_t *src, int sw, int ch, int offset, uint8_t *dst, int dw, int out_h,
                            const coeffs *c)
{
    for (int yy = 0; yy < out_h; yy++) {
        const uint8_t *row = src + (size_t)(yy + offset) * (size_t)sw * (size_t)ch;
        uint8_t *out = dst + (size_t)yy * (size_t)dw * (size_t)ch;
        for (int xx = 0; xx < dw; xx++) {
            int xmin = c->bounds[xx * 2], xmax = c->bounds[xx * 2 + 1];
            const int32_t *k = &c->kk[(size_t)xx * (size_t)c->ksize];
            for (int b = 0; b < ch; b++) {
                int32_t ss = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < xmax; x++) ss += row[(size_t)(x + xmin) * (size_t)ch + (size_t)b] * k[x];
                out[(size_t)xx * (size_t)ch + (size_t)b] = clip8(ss);
            }
        }
    }
}

static void pass_vertical(const uint8_t *src, int w, int ch, uint8_t *dst, int dh, const coeffs *c)
{
    size_t stride = (size_t)w * (size_t)ch;
    for (int yy = 0; yy < dh; yy++) {
        int ymin = c->bounds[yy * 2], ymax = c->bounds[yy * 2 + 1];
        const int32_t *k = &c->kk[(size_t)yy * (size_t)c->ksize];
        uint8_t *out = dst + (size_t)yy * stride;
        for (size_t i = 0; i < stride; i++) {
            int32_t ss = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < ymax; y++) ss += src[(size_t)(y + ymin) * stride + i] * k[y];
            out[i] = clip8(ss);
        }
    }
}

int resample_sizes_ok(int w, int h, int ch)
{
    return w > 0 && h > 0 && w <= RESAMPLE_MAX_SIDE && h <= RESAMPLE_MAX_SIDE && ch >= 1 && ch <= 4;
}

int resample_u8(const image_view *src, uint8_t *dst, int dw, int dh, resample_filter filter, const float box_in[4])
{
    int sw = src->width, sh = src->height, ch = src->channels;
    if (!resample_sizes_ok(sw, sh, ch) || !resample_sizes_ok(dw, dh, ch) || (int)filter < 0 || filter > RESAMPLE_LANCZOS) return -1;
    float box[4] = {0, 0, (float)sw, (float)sh};
    if (box_in) memcpy(box, box_in, sizeof box);
    if (box[0] < 0 || box[1] < 0 || box[2] > sw || box[3] > sh || box[2] < box[0] || box[3] < box[1]) return -1;
    const filter_def *f = &filters[filter];
    int need_h = dw != sw || box[0] != 0 || box[2] != dw;
    int need_v = dh != sh || box[1] != 0 || box[3] != dh;
    coeffs ch_h = {0, NULL, NULL}, ch_v = {0, NULL, NULL};
    if (precompute(sw, box[0], box[2], dw, f, &ch_h) || precompute(sh, box[1], box[3], dh, f, &ch_v)) {
        coeffs_free(&ch_h);
        coeffs_free(&ch_v);
        return -1;
    }
    int ybox_first = ch_v.bounds[0];
    int ybox_last = ch_v.bounds[dh * 2 - 2] + ch_v.bounds[dh * 2 - 1];
    const uint8_t *cur = src->pixels;
    int cur_w = sw;
    uint8_t *tmp = NULL;
    int rc = 0;
    if (need_h) {
        for (int i = 0; i < dh; i++) ch_v.bounds[i * 2] -= ybox_first;
        int th = ybox_last - ybox_first;
        tmp = malloc((size_t)dw * (size_t)(th > 0 ? th : 1) * (size_t)ch);
        if (!tmp) rc = -1;
        else {
            pass_horizontal(src->pixels, sw, ch, ybox_first, tmp, dw, th, &ch_h);
            cur = tmp;
            cur_w = dw;
        }
    }
    if (!rc && need_v) pass_vertical(cur, cur_w, ch, dst, dh, &ch_v);
    else if (!rc) memcpy(dst, cur, (size_t)dw * (size_t)dh * (size_t)ch);
    free(tmp);
    coeffs_free(&ch_h);
    coeffs_free(&ch_v);
    return rc;
}
