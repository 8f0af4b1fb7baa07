/* Decoding images to the pixels Pillow's Image.open gives the WebUI, with
 * explicit limits. The format is recognised from the bytes through the one
 * table of format/image_format.h. */
#ifndef UNPROMPT_FORMAT_IMAGE_H
#define UNPROMPT_FORMAT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct {
    uint32_t max_width, max_height; /* default 16384 each */
    size_t max_pixels;              /* default 16384*16384/4 */
} image_limits;

typedef struct {
    uint32_t width, height;
    int channels;      /* channels as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (or CMYK) */
    uint8_t *pixels;   /* width*height*channels bytes, 8 bits each, as Pillow's 8-bit modes hold
                          them: palettes expanded, 16-bit colour reduced to its high byte, 16-bit
                          grey clipped to 255 (Pillow's "I" and "I;16" modes) */
    int cmyk;          /* 4 channels are C, M, Y, K (Pillow's "CMYK" mode; Adobe JPEGs un-inverted) */
} image_u8;

image_limits image_default_limits(void);

/* Decode PNG, JPEG, WebP (first frame), GIF (first frame), BMP or TIFF (first
 * page) from memory. The size is checked against lim (NULL: the defaults)
 * before any pixel memory is allocated; a larger image is refused with its
 * size in the message. */
int image_decode(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out,
                 fmt_error *err);
void image_free(image_u8 *img);

#endif
