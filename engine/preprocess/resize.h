/* How each model's pre-processing sizes an RGB image, over
 * kernels/resample.h's Pillow-exact resampling. */
#ifndef UNPROMPT_ENGINE_PREPROCESS_RESIZE_H
#define UNPROMPT_ENGINE_PREPROCESS_RESIZE_H

#include <stdint.h>

#include "kernels/resample.h"

/* CLIP's pre-processing (torchvision Resize(size, BICUBIC) + CenterCrop):
 * bicubic resize of the short side to `size` (the long side to
 * int(size * long / short), as torchvision computes it), then a centre crop
 * of size×size. dst holds size*size*3 bytes (RGB input). Returns 0 or -1. */
int resize_center_crop(const image_view *src, uint8_t *dst, int size);

/* The WebUI's "resize and fill" (modules/images.py resize_image, mode 2), as
 * DeepBooru uses it: Lanczos to fit inside w×h keeping the aspect ratio,
 * centred, and the bars filled by bicubic-stretching the first/last row (or
 * column). RGB. Returns 0 or -1. */
int resize_and_fill(const image_view *src, uint8_t *dst, int w, int h);

#endif
