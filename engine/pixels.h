/* From decoded images to model inputs: PIL's convert("RGB"), then the float
 * layouts the networks take. */
#ifndef UNPROMPT_ENGINE_PIXELS_H
#define UNPROMPT_ENGINE_PIXELS_H

#include <stdint.h>

#include "format/error.h"
#include "format/image.h"

/* 8-bit RGB as PIL's Image.convert("RGB") makes it: alpha dropped (not
 * composited), grey replicated, CMYK turned to RGB by Pillow's naive formula
 * (no colour management). rgb holds width*height*3 bytes; the decoder
 * already expanded palettes and reduced 16-bit samples to 8 bits. */
int pixels_to_rgb(const image_u8 *img, uint8_t *rgb, fmt_error *err);

/* Decode and convert in one step; *rgb is malloc'd. */
int pixels_decode_rgb(const uint8_t *data, size_t len, uint8_t **rgb, int *width, int *height, fmt_error *err);

/* x[i] = rgb[i] / 255 (NHWC, as the WebUI feeds DeepDanbooru). */
void pixels_unit_float(float *x, const uint8_t *rgb, size_t n);

/* CLIP's normalisation (also BLIP's): x = (rgb / 255 - mean) / std per
 * channel, mean (0.48145466, 0.4578275, 0.40821073), std (0.26862954,
 * 0.26130258, 0.27577711), in f32 as torchvision's ToTensor + Normalize. */
void pixels_clip_normalize(float *x, const uint8_t *rgb, size_t pixels);

#endif
