/* A GIF's first frame as Pillow 9.4 shows it after convert("RGB"): Pillow
 * keeps frame 0 as palette indices, so a pixel of the transparent index
 * shows that index's palette colour, and the screen outside the frame
 * holds the transparent index when there is one, else index 0 (the
 * background index is not used for frame 0). stb_image leaves both
 * transparent black; these helpers mend its output. */
#include <stdlib.h>
#include <string.h>

#include "format/image_decoders.h"

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

/* Skip an extension's sub-blocks from i (its first size byte); returns the
 * offset after the empty block, or n. */
static size_t skip_blocks(const uint8_t *d, size_t n, size_t i)
{
    while (i < n && d[i]) i += (size_t)d[i] + 1;
    return i < n ? i + 1 : n;
}

/* The colour of palette index k (global, or the frame's local table). */
static void palette_colour(const uint8_t *pal, size_t entries, unsigned k, uint8_t rgb[3])
{
    if (pal && k < entries) memcpy(rgb, pal + 3 * (size_t)k, 3);
    else memset(rgb, 0, 3);
}

int image_gif_first_frame(const uint8_t *d, size_t n, image_gif_frame *f)
{
    memset(f, 0, sizeof *f);
    if (n < 13 || memcmp(d, "GIF", 3) != 0) return -1;
    const uint8_t *pal = NULL;
    size_t entries = 0, i = 13, gce = 0;
    if (d[10] & 0x80) {
        entries = (size_t)1 << ((d[10] & 7) + 1);
        pal = d + 13;
        i += 3 * entries;
    }
    while (i + 1 < n && d[i] == 0x21) {
        if (d[i + 1] == 0xF9 && i + 7 < n && d[i + 2] == 4) gce = i + 3;
        i = skip_blocks(d, n, i + 2);
    }
    if (i + 10 > n || d[i] != 0x2C) return -1;
    f->x = le16(d + i + 1), f->y = le16(d + i + 3), f->w = le16(d + i + 5), f->h = le16(d + i + 7);
    uint8_t flags = d[i + 9];
    if ((flags & 0x80) && i + 10 + 3 * ((size_t)1 << ((flags & 7) + 1)) <= n) {
        entries = (size_t)1 << ((flags & 7) + 1);
        pal = d + i + 10;
    }
    if (pal && pal + 3 * entries > d + n) pal = NULL, entries = 0;
    int transparent = gce && (d[gce] & 1);
    f->transparency_flag = transparent ? gce : 0;
    palette_colour(pal, entries, transparent ? d[gce + 3] : 0, f->fill);
    return 0;
}

uint8_t *image_gif_opaque_copy(const uint8_t *data, size_t len, const image_gif_frame *f)
{
    if (!f->transparency_flag) return NULL;
    uint8_t *copy = malloc(len);
    if (!copy) return NULL;
    memcpy(copy, data, len);
    copy[f->transparency_flag] &= (uint8_t)~1u;
    return copy;
}

void image_gif_fill_outside(image_u8 *img, const image_gif_frame *f)
{
    int c = img->channels;
    if (c < 3) return;
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            if (x >= f->x && x - f->x < f->w && y >= f->y && y - f->y < f->h) continue;
            uint8_t *p = img->pixels + ((size_t)y * img->width + x) * (size_t)c;
            memcpy(p, f->fill, 3);
            if (c == 4) p[3] = 255;
        }
}
