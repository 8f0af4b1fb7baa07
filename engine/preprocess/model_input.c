/* Each model's input from RGB; see model_input.h. */
#include "engine/preprocess/model_input.h"

#include <stdlib.h>

#include "engine/preprocess/resize.h"

const pixel_norm pixel_norm_clip = {"clip", {0.48145466f, 0.4578275f, 0.40821073f},
                                    {0.26862954f, 0.26130258f, 0.27577711f}};
const pixel_norm pixel_norm_deepdanbooru = {"deepdanbooru", {0, 0, 0}, {1, 1, 1}};

void pixels_normalize(float *x, const uint8_t *rgb, size_t pixels, const pixel_norm *norm)
{
    for (size_t i = 0; i < pixels; i++)
        for (int c = 0; c < 3; c++) x[3 * i + c] = ((float)rgb[3 * i + c] / 255.0f - norm->mean[c]) / norm->std[c];
}

static int sizes_ok(const char *model, int width, int height, int size, fmt_error *err)
{
    if (width >= 1 && height >= 1 && resample_sizes_ok(width, height, 3) && resample_sizes_ok(size, size, 3)) return 0;
    return fmt_fail(err, "%s: cannot resize an image of %d x %d pixels", model, width, height);
}

int model_input_clip(const uint8_t *rgb, int width, int height, int size, float *x, fmt_error *err)
{
    if (sizes_ok("clip", width, height, size, err)) return -1;
    uint8_t *crop = malloc((size_t)size * (size_t)size * 3);
    if (!crop) return fmt_fail(err, "clip: out of memory");
    image_view v = {.pixels = rgb, .width = width, .height = height, .channels = 3};
    int rc = resize_center_crop(&v, crop, size);
    if (rc) fmt_fail(err, "clip: cannot resize %d x %d to %d x %d", width, height, size, size);
    else pixels_normalize(x, crop, (size_t)size * (size_t)size, &pixel_norm_clip);
    free(crop);
    return rc;
}

int model_input_blip(const uint8_t *rgb, int width, int height, int size, float *x, fmt_error *err)
{
    if (sizes_ok("blip", width, height, size, err)) return -1;
    uint8_t *resized = malloc((size_t)size * (size_t)size * 3);
    if (!resized) return fmt_fail(err, "blip: out of memory");
    image_view v = {.pixels = rgb, .width = width, .height = height, .channels = 3};
    int rc = resample_u8(&v, resized, size, size, RESAMPLE_BICUBIC, NULL);
    if (rc) fmt_fail(err, "blip: cannot resize %d x %d to %d x %d", width, height, size, size);
    else pixels_normalize(x, resized, (size_t)size * (size_t)size, &pixel_norm_clip);
    free(resized);
    return rc;
}

int model_input_deepdanbooru(const uint8_t *rgb, int width, int height, int size, uint8_t *scratch, float *x,
                             fmt_error *err)
{
    if (sizes_ok("deepdanbooru", width, height, size, err)) return -1;
    image_view v = {.pixels = rgb, .width = width, .height = height, .channels = 3};
    if (resize_and_fill(&v, scratch, size, size))
        return fmt_fail(err, "deepdanbooru: cannot resize %d x %d to %d x %d", width, height, size, size);
    pixels_normalize(x, scratch, (size_t)size * (size_t)size, &pixel_norm_deepdanbooru);
    return 0;
}
