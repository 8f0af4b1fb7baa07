/* A streaming PNG pixel reader: the image's rows handed to a callback one at
 * a time, as the 8-bit samples format/image.c (stb_image) would hold for
 * them, while never keeping more than two scanlines. For readers that need a
 * few pixels of an image of any size (stealth info): memory is O(width),
 * time is linear in the rows read, and the caller may stop after any row.
 * No I/O: bytes in, rows out. */
#ifndef UNPROMPT_FORMAT_PNG_ROWS_H
#define UNPROMPT_FORMAT_PNG_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "format/image.h"

typedef struct {
    /* From IHDR. */
    uint32_t width, height;
    uint8_t bit_depth, color_type, interlace;
    /* Samples per pixel handed to the callback, as image_decode reports
     * them: grey 1, grey+alpha 2, RGB 3, RGBA 4. A tRNS chunk adds an alpha
     * sample to grey and RGB (0 where the colour key matches, else 255) and
     * makes a palette image 4 (else 3). 16-bit samples keep their high
     * byte, except 16-bit grey: one sample clipped to 255 (Pillow's "I"
     * mode, as image_decode reads it; no key alpha); grey below 8 bits is
     * scaled to 0-255, palette indices are not. */
    int channels;

    /* What the chunk walk found; read by png_rows_each only. */
    const uint8_t *data;
    size_t len;
    size_t first_idat;          /* file offset of the first IDAT chunk */
    int raw_deflate;            /* Apple's CgBI: IDAT holds deflate without the zlib header */
    int has_key;                /* tRNS colour key (grey or RGB) */
    uint16_t key16[3];          /* the key as stored, compared with 16-bit samples */
    uint8_t key8[3];            /* the key as compared with 8-bit (and scaled grey) samples */
    uint8_t palette[256 * 4];   /* RGBA; entries PLTE does not define read as 0, 0, 0, 255 */

    /* Set by the caller after png_rows_open (0 there: no limit): the most
     * bytes of pixel data one png_rows_each may inflate, so the work stays
     * proportional to the file however well its zeros compress. */
    size_t max_inflated;
} png_rows;

typedef struct {
    uint32_t y;        /* the row's place in the image */
    uint32_t x0, dx;   /* pixel i is at x = x0 + i * dx (dx > 1 only in Adam7's passes) */
    uint32_t n;        /* pixels in the row (left of png_rows_each's x_end; may be 0) */
    const uint8_t *px; /* n * channels samples */
} png_row;

/* Return 0 for the next row, 1 to stop (png_rows_each then returns 0), or
 * -1 with `err` set to fail. */
typedef int (*png_row_fn)(void *ctx, const png_row *row, fmt_error *err);

/* Check the file before any pixel is read: every critical chunk's CRC and
 * an IEND (png_verify_crcs), IHDR as the PNG specification allows it (as
 * png_read_meta does), PLTE and tRNS as stb_image accepts them, no unknown
 * critical chunk, some IDAT, and the size against `lim` (NULL:
 * image_default_limits()). Fills `r`, which points into `data`. Returns 0,
 * or -1 with `err` set. Allocates nothing. */
int png_rows_open(png_rows *r, const uint8_t *data, size_t len, const image_limits *lim,
                  fmt_error *err);

/* Inflate the concatenated IDAT data through fixed windows (the file's own
 * bytes in, one scanline out), unfilter each row against the previous one,
 * and hand it to `fn`: top to bottom, or pass by pass for Adam7 (y and
 * x0/dx give every pixel's true place). Only the pixels at x < x_end are
 * converted and handed over (UINT32_MAX: all of them); every row is still
 * reported. Rows past the one where `fn` stops are never inflated, so damage
 * after it goes unseen. Returns 0, or -1 with `err` set (corrupt or
 * truncated data, an unknown filter, out of memory, or what `fn` reported). */
int png_rows_each(const png_rows *r, uint32_t x_end, png_row_fn fn, void *ctx, fmt_error *err);

#endif
