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

/* The largest side resample_u8 takes. */
#define RESAMPLE_MAX_SIDE (1 << 16)

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

/* Whether a w×h image of ch channels is one resample_u8 takes (sides in
 * 1..RESAMPLE_MAX_SIDE, 1..4 channels). */
int resample_sizes_ok(int w, int h, int ch);

#endif
