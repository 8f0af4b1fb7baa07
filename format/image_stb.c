/* PNG, GIF and BMP through stb_image, where its pixels are Pillow's. Two
 * layouts where they are not are mended here: 16-bit grey PNG (Pillow's "I"
 * mode, which convert("RGB") clips to 255 rather than taking the high byte)
 * is read at 16 bits and clipped, a GIF's first frame is given Pillow's
 * colours where stb_image leaves it transparent (format/image_gif.c), and
 * 16-bit BMP samples are widened as Pillow widens them. */
#include <stdlib.h>
#include <string.h>

#include "format/image_decoders.h"
#include "format/png.h"

#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_PNM
#define STBI_NO_TGA
#define STBI_NO_JPEG
#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* A PNG's IHDR: bit depth 16 and colour type 0 (grey, with or without tRNS). */
static int png_is_grey16(const uint8_t *data, size_t len)
{
    return png_is_png(data, len) && len >= 26 && !memcmp(data + 12, "IHDR", 4) && data[24] == 16 && data[25] == 0;
}

/* Pillow's "I" → "L"/"RGB": values above 255 become 255. */
static int decode_grey16(const uint8_t *data, size_t len, image_u8 *out, fmt_error *err)
{
    int w, h, c;
    stbi_us *p = stbi_load_16_from_memory(data, (int)len, &w, &h, &c, 1);
    if (!p) return fmt_fail(err, "cannot decode image: %s", stbi_failure_reason());
    size_t n = (size_t)w * (size_t)h;
    uint8_t *g = malloc(n ? n : 1);
    if (!g) {
        stbi_image_free(p);
        return fmt_fail(err, "out of memory for an image of %dx%d", w, h);
    }
    for (size_t i = 0; i < n; i++) g[i] = p[i] > 255 ? 255 : (uint8_t)p[i];
    stbi_image_free(p);
    out->width = (uint32_t)w, out->height = (uint32_t)h, out->channels = 1, out->pixels = g;
    return 0;
}

/* A 16-bit BMP: 0 if not; 5 for 5-5-5 (BI_RGB, or those bit fields), 6
 * when green has 6 bits (5-6-5 bit fields). */
static int bmp16_green_bits(const uint8_t *d, size_t n)
{
    if (n < 62 || d[0] != 'B' || d[1] != 'M' || d[14] < 40 || d[28] != 16 || d[29] != 0) return 0;
    uint32_t compression = (uint32_t)d[30] | (uint32_t)d[31] << 8 | (uint32_t)d[32] << 16 | (uint32_t)d[33] << 24;
    if (compression != 3) return 5;
    return d[58] == 0xE0 && d[59] == 0x07 ? 6 : 5; /* the green mask (0x07E0) follows red's at 54 */
}

/* stb_image widens a k-bit sample by repeating its bits (v << 3 | v >> 2
 * for 5); Pillow's unpackers compute v * 255 / 31 (or / 63), rounding down.
 * The top k bits of stb's byte are v, so a table maps one to the other. */
static void bmp16_as_pillow(image_u8 *img, int green_bits)
{
    uint8_t five[256], six[256];
    for (unsigned v = 0; v < 256; v++)
        five[v] = (uint8_t)((v >> 3) * 255 / 31), six[v] = (uint8_t)((v >> 2) * 255 / 63);
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = img->pixels + i * (size_t)img->channels;
        p[0] = five[p[0]], p[1] = green_bits == 6 ? six[p[1]] : five[p[1]], p[2] = five[p[2]];
    }
}

int image_decode_stb(const uint8_t *data, size_t len, const image_limits *lim, image_u8 *out, fmt_error *err)
{
    int w, h, c;
    if (!stbi_info_from_memory(data, (int)len, &w, &h, &c))
        return fmt_fail(err, "cannot decode image: %s", stbi_failure_reason());
    if (image_check_size(w > 0 ? (uint64_t)w : 0, h > 0 ? (uint64_t)h : 0, lim, err)) return -1;
    if (png_is_grey16(data, len)) return decode_grey16(data, len, out, err);
    image_gif_frame gif;
    int is_gif = image_gif_first_frame(data, len, &gif) == 0;
    uint8_t *opaque = is_gif ? image_gif_opaque_copy(data, len, &gif) : NULL;
    uint8_t *p = stbi_load_from_memory(opaque ? opaque : data, (int)len, &w, &h, &c, 0);
    free(opaque);
    if (!p) return fmt_fail(err, "cannot decode image: %s", stbi_failure_reason());
    out->width = (uint32_t)w, out->height = (uint32_t)h, out->channels = c, out->pixels = p;
    if (is_gif) image_gif_fill_outside(out, &gif);
    int green = bmp16_green_bits(data, len);
    if (green && c >= 3) bmp16_as_pillow(out, green);
    return 0;
}
