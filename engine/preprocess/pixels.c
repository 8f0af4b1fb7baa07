/* Decoded pixels → RGB → float inputs. */
#include <stdlib.h>
#include <string.h>

#include "engine/preprocess/pixels.h"
#include "base/buf.h"

/* a*b/255 rounded, as Pillow's MULDIV255 computes it. */
static unsigned muldiv255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

/* Pillow's cmyk2rgb: each of C, M, Y taken off the ink left by K, no ICC. */
static void cmyk_to_rgb(const uint8_t *p, uint8_t *rgb, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 4) {
        unsigned nk = 255u - p[3];
        for (int c = 0; c < 3; c++) rgb[3 * i + (size_t)c] = (uint8_t)(nk - muldiv255(p[c], nk));
    }
}

int pixels_to_rgb(const image_u8 *img, uint8_t *rgb, fmt_error *err)
{
    size_t n = (size_t)img->width * img->height;
    const uint8_t *p = img->pixels;
    if (img->cmyk) {
        if (img->channels != 4) return fmt_fail(err, "image: CMYK with %d channels", img->channels);
        cmyk_to_rgb(p, rgb, n);
        return 0;
    }
    switch (img->channels) {
    case 1:
    case 2:
        for (size_t i = 0; i < n; i++, p += img->channels) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = p[0];
        return 0;
    case 3:
        memcpy(rgb, p, n * 3);
        return 0;
    case 4:
        for (size_t i = 0; i < n; i++, p += 4) memcpy(rgb + 3 * i, p, 3);
        return 0;
    }
    return fmt_fail(err, "image: %d channels", img->channels);
}

int pixels_decode_rgb(const uint8_t *data, size_t len, uint8_t **rgb, int *width, int *height, fmt_error *err)
{
    image_u8 img;
    image_limits lim = image_default_limits();
    if (image_decode(data, len, &lim, &img, err)) return -1;
    *width = (int)img.width, *height = (int)img.height;
    if (img.channels == 3 && !img.cmyk) {
        /* Already RGB: the decoder's buffer (malloc'd) is the result. A
         * second 19 MB buffer for a 6-megapixel photo cost more in page
         * faults and copying than libjpeg-turbo's decoding itself. */
        *rgb = img.pixels;
        return 0;
    }
    size_t bytes;
    if (size_mul((size_t)img.width * img.height, 3, &bytes)) {
        image_free(&img);
        return fmt_fail(err, "image: too large");
    }
    *rgb = malloc(bytes ? bytes : 1);
    if (!*rgb) {
        image_free(&img);
        return fmt_fail(err, "image: out of memory for %u x %u pixels", img.width, img.height);
    }
    int rc = pixels_to_rgb(&img, *rgb, err);
    image_free(&img);
    if (rc) {
        free(*rgb);
        *rgb = NULL;
    }
    return rc;
}
