/* Pillow-exact resampling of interleaved 8-bit images.
 *
 * The reference pipelines resize with PIL, and a different resize changes
 * captions and tags, so this follows Pillow's libImaging/Resample.c to the
 * bit: filter weights computed in double, normalised, converted to 22-bit
 * fixed point; a horizontal pass then a vertical pass with 8-bit rounding
 * between them; a pass is skipped when its dimension is unchanged; the
 * support widens when shrinking (antialiasing). */
#ifndef UNPROMPT_KERNELS_RESAMPLE_H
#define UNPROMPT_KERNELS_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { RESAMPLE_BICUBIC, RESAMPLE_LANCZOS } resample_filter;

typedef struct {
    const uint8_t *pixels; /* rows of width*channels bytes, tightly packed */
    int width, height, channels;
} image_view;

/* Resize src (or the region box = {x0, y0, x1, y1} of it, in source pixel
 * coordinates, as PIL's Image.resize(size, resample, box)) to dw×dh.
 * dst holds dw*dh*channels bytes. Returns 0, or -1 for bad sizes or when
 * out of memory (scratch is allocated internally and freed). */
int resample_u8(const image_view *src, uint8_t *dst, int dw, int dh, resample_filter filter,
                const float box[4]);

/* CLIP's pre-processing: bicubic resize of the short side to `size` (the
 * long side to int(size * long / short), as torchvision computes it), then a
 * centre crop of size×size. dst holds size*size*3 bytes (RGB input). */
int resample_clip(const image_view *src, uint8_t *dst, int size);

/* The WebUI's "resize and fill" (modules/images.py resize_image, mode 2):
 * Lanczos to fit inside w×h keeping the aspect ratio, centred, and the bars
 * filled by bicubic-stretching the first/last row (or column). RGB. */
int resample_fill(const image_view *src, uint8_t *dst, int w, int h);

#endif
