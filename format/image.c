/* Decoding pixels with stb_image, with explicit limits checked on the
 * header before any pixel memory is allocated. */
#include "format/image.h"

#include <stdlib.h>
#include <string.h>

#include "format/buf.h"
#include "format/png.h"

#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_PNM
#define STBI_NO_TGA
#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

image_limits image_default_limits(void)
{
    image_limits l;
    l.max_width = 16384;
    l.max_height = 16384;
    l.max_pixels = (size_t)16384 * 16384 / 4;
    return l;
}

int image_decode(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out,
                 fmt_error *err)
{
    image_limits defaults = image_default_limits();
    if (!lim) lim = &defaults;
    memset(out, 0, sizeof *out);
    if (len == 0) return fmt_fail(err, "empty file");
    if (len > 0x7FFFFFFF) return fmt_fail(err, "image file larger than 2 GiB");
    if (png_is_png(data, len) && png_verify_crcs(data, len, err)) return -1;
    int w, h, c;
    if (!stbi_info_from_memory(data, (int)len, &w, &h, &c))
        return fmt_fail(err, "cannot decode image: %s", stbi_failure_reason());
    size_t px;
    if (w <= 0 || h <= 0 || (uint32_t)w > lim->max_width || (uint32_t)h > lim->max_height ||
        size_mul((size_t)w, (size_t)h, &px) || px > lim->max_pixels)
        return fmt_fail(err, "image of %dx%d exceeds the limit of %ux%u", w, h, lim->max_width, lim->max_height);
    uint8_t *p = stbi_load_from_memory(data, (int)len, &w, &h, &c, 0);
    if (!p) return fmt_fail(err, "cannot decode image: %s", stbi_failure_reason());
    out->width = (uint32_t)w;
    out->height = (uint32_t)h;
    out->channels = c;
    out->pixels = p;
    return 0;
}

void image_free(image_u8 *img)
{
    if (img->pixels) stbi_image_free(img->pixels);
    memset(img, 0, sizeof *img);
}
