/* unprompt_decode_rgb: the decoder every model reads images with
 * (engine/preprocess/pixels.c), for callers that decode once and hand the same pixels
 * to several models, or decode on one thread while another runs them. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/preprocess/pixels.h"
#include "engine/api/unprompt.h"

int unprompt_decode_rgb(const uint8_t *bytes, size_t len, uint8_t **rgb, int *width, int *height, char *err,
                        size_t err_size)
{
    fmt_error e = {{0}};
    *rgb = NULL, *width = *height = 0;
    if (!bytes) {
        if (err && err_size) snprintf(err, err_size, "no image bytes");
        return UNPROMPT_ERR_ARGS;
    }
    if (pixels_decode_rgb(bytes, len, rgb, width, height, &e)) {
        if (err && err_size) snprintf(err, err_size, "%s", e.msg);
        return UNPROMPT_ERR_FORMAT;
    }
    return UNPROMPT_OK;
}

void unprompt_rgb_free(uint8_t *rgb) { free(rgb); }
