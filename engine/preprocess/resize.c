/* The models' resize policies over Pillow-exact resampling; see resize.h. */
#include "engine/preprocess/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int resize_center_crop(const image_view *src, uint8_t *dst, int size)
{
    int w = src->width, h = src->height;
    if (!resample_sizes_ok(w, h, 3) || src->channels != 3 || size <= 0) return -1;
    int short_side = w < h ? w : h, long_side = w < h ? h : w;
    int new_long = (int)((double)size * long_side / short_side);
    int nw = w <= h ? size : new_long, nh = w <= h ? new_long : size;
    if (!resample_sizes_ok(nw, nh, 3)) return -1;
    uint8_t *mid = malloc((size_t)nw * (size_t)nh * 3);
    if (!mid) return -1;
    int rc = 0;
    if (nw == w && nh == h) memcpy(mid, src->pixels, (size_t)w * (size_t)h * 3);
    else rc = resample_u8(src, mid, nw, nh, RESAMPLE_BICUBIC, NULL);
    if (!rc) {
        /* torchvision CenterCrop: int(round((h - size) / 2.0)), round half to even. */
        int top = (int)nearbyint((nh - size) / 2.0), left = (int)nearbyint((nw - size) / 2.0);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int sy = y + top, sx = x + left;
                uint8_t *o = dst + ((size_t)y * (size_t)size + (size_t)x) * 3;
                if (sy < 0 || sx < 0 || sy >= nh || sx >= nw) o[0] = o[1] = o[2] = 0;
                else memcpy(o, mid + ((size_t)sy * (size_t)nw + (size_t)sx) * 3, 3);
            }
        }
    }
    free(mid);
    return rc;
}

/* Paste an rw×rh RGB image into dst (w×h) at (x0, y0), clipped. */
static void paste(uint8_t *dst, int w, int h, const uint8_t *img, int rw, int rh, int x0, int y0)
{
    for (int y = 0; y < rh; y++) {
        int dy = y + y0;
        if (dy < 0 || dy >= h) continue;
        for (int x = 0; x < rw; x++) {
            int dx = x + x0;
            if (dx < 0 || dx >= w) continue;
            memcpy(dst + ((size_t)dy * (size_t)w + (size_t)dx) * 3, img + ((size_t)y * (size_t)rw + (size_t)x) * 3, 3);
        }
    }
}

/* resized.resize((bw, bh), box=...) pasted at (px, py): one fill bar. */
static int fill_bar(uint8_t *dst, int w, int h, const image_view *resized, int bw, int bh, const float box[4], int px,
                    int py)
{
    uint8_t *bar = malloc((size_t)bw * (size_t)bh * 3);
    if (!bar) return -1;
    int rc = resample_u8(resized, bar, bw, bh, RESAMPLE_BICUBIC, box);
    if (!rc) paste(dst, w, h, bar, bw, bh, px, py);
    free(bar);
    return rc;
}

int resize_and_fill(const image_view *src, uint8_t *dst, int w, int h)
{
    int iw = src->width, ih = src->height;
    if (!resample_sizes_ok(iw, ih, 3) || src->channels != 3 || !resample_sizes_ok(w, h, 3)) return -1;
    double ratio = (double)w / h, src_ratio = (double)iw / ih;
    int src_w = ratio < src_ratio ? w : (int)((long long)iw * h / ih);
    int src_h = ratio >= src_ratio ? h : (int)((long long)ih * w / iw);
    if (src_w < 1 || src_h < 1) return -1;
    uint8_t *rs = malloc((size_t)src_w * (size_t)src_h * 3);
    if (!rs) return -1;
    int rc = 0;
    if (src_w == iw && src_h == ih) memcpy(rs, src->pixels, (size_t)iw * (size_t)ih * 3);
    else rc = resample_u8(src, rs, src_w, src_h, RESAMPLE_LANCZOS, NULL);
    memset(dst, 0, (size_t)w * (size_t)h * 3);
    if (!rc) paste(dst, w, h, rs, src_w, src_h, w / 2 - src_w / 2, h / 2 - src_h / 2);
    image_view r = {.pixels = rs, .width = src_w, .height = src_h, .channels = 3};
    if (!rc && ratio < src_ratio) {
        int fill_h = h / 2 - src_h / 2;
        if (fill_h > 0) {
            float top[4] = {0, 0, (float)w, 0}, bottom[4] = {0, (float)src_h, (float)w, (float)src_h};
            rc = fill_bar(dst, w, h, &r, w, fill_h, top, 0, 0);
            if (!rc) rc = fill_bar(dst, w, h, &r, w, fill_h, bottom, 0, fill_h + src_h);
        }
    } else if (!rc && ratio > src_ratio) {
        int fill_w = w / 2 - src_w / 2;
        if (fill_w > 0) {
            float left[4] = {0, 0, 0, (float)h}, right[4] = {(float)src_w, 0, (float)src_w, (float)h};
            rc = fill_bar(dst, w, h, &r, fill_w, h, left, 0, 0);
            if (!rc) rc = fill_bar(dst, w, h, &r, fill_w, h, right, fill_w + src_w, 0);
        }
    }
    free(rs);
    return rc;
}
