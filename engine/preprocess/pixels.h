/* From decoded images to 8-bit RGB: PIL's convert("RGB"). The models'
 * resizing and normalisation are in model_input.h. */
#ifndef UNPROMPT_ENGINE_PREPROCESS_PIXELS_H
#define UNPROMPT_ENGINE_PREPROCESS_PIXELS_H

#include <stdint.h>

#include "base/error.h"
#include "format/image.h"

/* 8-bit RGB as PIL's Image.convert("RGB") makes it: alpha dropped (not
 * composited), grey replicated, CMYK turned to RGB by Pillow's naive formula
 * (no colour management). rgb holds width*height*3 bytes; the decoder
 * already expanded palettes and reduced 16-bit samples to 8 bits. */
int pixels_to_rgb(const image_u8 *img, uint8_t *rgb, fmt_error *err);

/* Decode and convert in one step; *rgb is malloc'd. */
int pixels_decode_rgb(const uint8_t *data, size_t len, uint8_t **rgb, int *width, int *height, fmt_error *err);

#endif
