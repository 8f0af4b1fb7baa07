/* The table of image formats and their signatures. */
#include "format/image_format.h"

#include <string.h>
#include <strings.h>

#include "format/jpeg.h"
#include "format/png.h"
#include "format/webp.h"

static const char *const png_ext[] = {".png", NULL};
static const char *const jpeg_ext[] = {".jpg", ".jpeg", ".jpe", ".jfif", NULL};
static const char *const webp_ext[] = {".webp", NULL};
static const char *const gif_ext[] = {".gif", NULL};
static const char *const bmp_ext[] = {".bmp", ".dib", NULL};
static const char *const tiff_ext[] = {".tif", ".tiff", NULL};

static const image_format formats[IMAGE_FORMAT_COUNT] = {
    {IMAGE_FORMAT_PNG, "png", "PNG", png_ext},     {IMAGE_FORMAT_JPEG, "jpeg", "JPEG", jpeg_ext},
    {IMAGE_FORMAT_WEBP, "webp", "WebP", webp_ext}, {IMAGE_FORMAT_GIF, "gif", "GIF", gif_ext},
    {IMAGE_FORMAT_BMP, "bmp", "BMP", bmp_ext},     {IMAGE_FORMAT_TIFF, "tiff", "TIFF", tiff_ext},
};

static int is_gif(const uint8_t *d, size_t n)
{
    return n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6));
}

/* "BM", then a header size (at 14) of one of the BITMAPINFOHEADER family. */
static int is_bmp(const uint8_t *d, size_t n)
{
    if (n < 18 || d[0] != 'B' || d[1] != 'M') return 0;
    uint32_t hs = (uint32_t)d[14] | (uint32_t)d[15] << 8 | (uint32_t)d[16] << 16 | (uint32_t)d[17] << 24;
    return hs == 12 || hs == 40 || hs == 52 || hs == 56 || hs == 64 || hs == 108 || hs == 124;
}

/* Classic TIFF (42) and BigTIFF (43), either byte order. */
static int is_tiff(const uint8_t *d, size_t n)
{
    if (n < 8) return 0;
    if (d[0] == 'I' && d[1] == 'I') return d[3] == 0 && (d[2] == 42 || d[2] == 43);
    if (d[0] == 'M' && d[1] == 'M') return d[2] == 0 && (d[3] == 42 || d[3] == 43);
    return 0;
}

const image_format *image_format_sniff(const uint8_t *data, size_t len)
{
    if (!data) return NULL;
    if (png_is_png(data, len)) return &formats[IMAGE_FORMAT_PNG];
    if (jpeg_is_jpeg(data, len)) return &formats[IMAGE_FORMAT_JPEG];
    if (webp_is_webp(data, len)) return &formats[IMAGE_FORMAT_WEBP];
    if (is_gif(data, len)) return &formats[IMAGE_FORMAT_GIF];
    if (is_bmp(data, len)) return &formats[IMAGE_FORMAT_BMP];
    if (is_tiff(data, len)) return &formats[IMAGE_FORMAT_TIFF];
    return NULL;
}

const image_format *image_format_by_name(const char *file_name)
{
    const char *dot = file_name ? strrchr(file_name, '.') : NULL;
    if (!dot) return NULL;
    for (size_t i = 0; i < IMAGE_FORMAT_COUNT; i++)
        for (const char *const *e = formats[i].extensions; *e; e++)
            if (!strcasecmp(dot, *e)) return &formats[i];
    return NULL;
}

const image_format *image_format_at(size_t i)
{
    return i < IMAGE_FORMAT_COUNT ? &formats[i] : NULL;
}

const char *image_format_labels(void)
{
    return "PNG, JPEG, WebP, GIF, BMP or TIFF";
}
