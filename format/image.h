/* Image decoding front (stb_image) with explicit limits. */
#ifndef UNPROMPT_FORMAT_IMAGE_H
#define UNPROMPT_FORMAT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "format/error.h"

typedef struct {
    uint32_t max_width, max_height; /* default 16384 each */
    size_t max_pixels;              /* default 16384*16384/4 */
} image_limits;

typedef struct {
    uint32_t width, height;
    int channels;      /* channels as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    uint8_t *pixels;   /* width*height*channels bytes, 8 bits each (16-bit reduced to high byte) */
} image_u8;

image_limits image_default_limits(void);
/* Decode PNG/JPEG/BMP/GIF (first frame) from memory. Header is checked
 * against limits before any pixel allocation. */
int image_decode(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out,
                 fmt_error *err);
void image_free(image_u8 *img);

#endif
