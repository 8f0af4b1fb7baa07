/* Each model's input from 8-bit RGB, as the WebUI prepares it: the resize
 * policy (resize.h), then x = (rgb / 255 - mean) / std per channel in f32,
 * NHWC, with the constants of one table (pixel_norms). */
#ifndef UNPROMPT_ENGINE_PREPROCESS_MODEL_INPUT_H
#define UNPROMPT_ENGINE_PREPROCESS_MODEL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct {
    const char *model;
    float mean[3], std[3];
} pixel_norm;

/* CLIP's ToTensor + Normalize, which BLIP uses too: mean (0.48145466,
 * 0.4578275, 0.40821073), std (0.26862954, 0.26130258, 0.27577711). */
extern const pixel_norm pixel_norm_clip;
/* DeepDanbooru: rgb / 255 (mean 0, std 1, so the arithmetic is exactly the
 * division). */
extern const pixel_norm pixel_norm_deepdanbooru;

/* x[3i + c] = (rgb[3i + c] / 255 - mean[c]) / std[c] for `pixels` pixels. */
void pixels_normalize(float *x, const uint8_t *rgb, size_t pixels, const pixel_norm *norm);

/* CLIP (open_clip's transform): short side bicubic to `size`, centre crop
 * size×size, CLIP's normalisation. x holds size*size*3 floats. 0 or -1. */
int model_input_clip(const uint8_t *rgb, int width, int height, int size, float *x, fmt_error *err);

/* BLIP (the WebUI's transform): bicubic to size×size, CLIP's
 * normalisation. x holds size*size*3 floats. 0 or -1. */
int model_input_blip(const uint8_t *rgb, int width, int height, int size, float *x, fmt_error *err);

/* DeepDanbooru (modules/deepbooru.py): resize-and-fill to size×size, then
 * rgb / 255. scratch holds size*size*3 bytes; x size*size*3 floats. */
int model_input_deepdanbooru(const uint8_t *rgb, int width, int height, int size, uint8_t *scratch, float *x,
                             fmt_error *err);

#endif
