/* image_decode: recognise the format from its first bytes (the one table of
 * format/image_format.c), check the size, hand the bytes to its decoder. */
#include "format/image.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/image_decoders.h"
#include "format/image_format.h"
#include "format/png.h"

image_limits image_default_limits(void)
{
    image_limits l;
    l.max_width = 16384;
    l.max_height = 16384;
    l.max_pixels = (size_t)16384 * 16384 / 4;
    return l;
}

int image_check_size(uint64_t w, uint64_t h, const image_limits *lim, fmt_error *err)
{
    if (w == 0 || h == 0) return fmt_fail(err, "image of %llux%llu has no pixels", (unsigned long long)w,
                                          (unsigned long long)h);
    if (w > lim->max_width || h > lim->max_height || w * h > lim->max_pixels)
        return fmt_fail(err, "image of %llux%llu exceeds the limit of %ux%u and %zu pixels", (unsigned long long)w,
                        (unsigned long long)h, lim->max_width, lim->max_height, lim->max_pixels);
    return 0;
}

int image_alloc(image_u8 *out, uint32_t w, uint32_t h, int channels, const image_limits *lim, fmt_error *err)
{
    size_t px, bytes;
    if (image_check_size(w, h, lim, err)) return -1;
    if (size_mul((size_t)w, (size_t)h, &px) || size_mul(px, (size_t)channels, &bytes))
        return fmt_fail(err, "image of %ux%u: size overflow", w, h);
    out->pixels = malloc(bytes);
    if (!out->pixels) return fmt_fail(err, "out of memory for an image of %ux%u", w, h);
    out->width = w, out->height = h, out->channels = channels;
    return 0;
}

int image_decode(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out,
                 fmt_error *err)
{
    image_limits defaults = image_default_limits();
    if (!lim) lim = &defaults;
    memset(out, 0, sizeof *out);
    if (len == 0) return fmt_fail(err, "empty file");
    if (len > 0x7FFFFFFF) return fmt_fail(err, "image file larger than 2 GiB");
    const image_format *f = image_format_sniff(data, len);
    if (!f) return fmt_fail(err, "cannot decode image: not a %s file", image_format_labels());
    int rc;
    switch (f->id) {
    case IMAGE_FORMAT_JPEG: rc = image_decode_jpeg(data, len, lim, out, err); break;
    case IMAGE_FORMAT_WEBP: rc = image_decode_webp(data, len, lim, out, err); break;
    case IMAGE_FORMAT_TIFF: rc = image_decode_tiff(data, len, lim, out, err); break;
    case IMAGE_FORMAT_PNG:
        if (png_verify_crcs(data, len, err)) return -1;
        rc = image_decode_stb(data, len, lim, out, err);
        break;
    default: rc = image_decode_stb(data, len, lim, out, err); break;
    }
    if (rc) image_free(out);
    return rc;
}

void image_free(image_u8 *img)
{
    free(img->pixels);
    memset(img, 0, sizeof *img);
}
