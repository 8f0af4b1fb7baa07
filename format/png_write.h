/* A small PNG writer: an 8-bit image plus any text chunks, used to make the
 * shipped sample image and the test fixtures. */
#ifndef UNPROMPT_FORMAT_PNG_WRITE_H
#define UNPROMPT_FORMAT_PNG_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

/* Start a PNG: signature + IHDR (8-bit, color_type 0, 2, 4 or 6). */
int png_write_begin(buf *out, uint32_t width, uint32_t height, int color_type, fmt_error *err);
/* Append one raw chunk with the given 4-letter type (CRC computed). */
int png_write_chunk(buf *out, const char type[4], const void *data, size_t len, fmt_error *err);
/* tEXt (keyword \0 text), zTXt (deflated), iTXt (compressed or not). */
int png_write_text(buf *out, const char *keyword, const char *text, size_t len, fmt_error *err);
int png_write_ztxt(buf *out, const char *keyword, const char *text, size_t len, fmt_error *err);
int png_write_itxt(buf *out, const char *keyword, const char *text, size_t len, int compressed,
                   fmt_error *err);
/* IDAT from 8-bit pixels, rows of width*channels bytes (filter 0). */
int png_write_pixels(buf *out, const uint8_t *pixels, uint32_t width, uint32_t height,
                     int channels, fmt_error *err);
int png_write_end(buf *out, fmt_error *err); /* IEND */

#endif
