/* A1111 "stealth" PNG info: parameters hidden in the least-significant bits
 * of the alpha channel (or of RGB), read column by column. */
#ifndef UNPROMPT_FORMAT_STEALTH_H
#define UNPROMPT_FORMAT_STEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "format/image.h"
#include "format/meta.h"

/* pixels: width*height*channels bytes (channels 3 or 4), row-major.
 * Returns 1 and appends an entry (keyword "parameters", source META_STEALTH)
 * if a stealth signature is found, 0 if none, -1 on a corrupt payload (one
 * that does not fit in the image, is larger than max_inflate bytes, or does
 * not inflate within max_inflate). */
int stealth_read(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                 size_t max_inflate, meta_list *out, fmt_error *err);

/* The same, straight from a PNG file, with the pixels as image_decode would
 * present them, but streamed (format/png_rows.h): a first pass reads the
 * rows until the 152 signature and length bits of each mode are known, or
 * until no signature can match; only after a match a second pass collects
 * exactly the payload's bits. Memory is O(width + payload), never the image;
 * time is linear in the rows read, and damage in rows past the last one
 * needed goes unseen (a whole decode would refuse such a file). Each pass
 * inflates at most max(64 MiB, 32 x the file) of pixel data, so the work is
 * proportional to the file. The payload is refused above max_inflate bytes
 * or what is left of the file's text budget (meta_list_room). Returns 1, 0 or -1 as stealth_read does,
 * or -2 with `err` set when the pixels cannot be decoded (a damaged file,
 * or one past `lim`: NULL for image_default_limits()). */
int stealth_read_png(const uint8_t *data, size_t len, const image_limits *lim, size_t max_inflate,
                     meta_list *out, fmt_error *err);

/* Writer (tests and fixtures): embed `text` in the alpha LSBs of an RGBA
 * image, plain or gzip-compressed. Returns -1 if the image is too small. */
int stealth_write_alpha(uint8_t *rgba, uint32_t width, uint32_t height, const char *text,
                        size_t len, int compressed, fmt_error *err);

#endif
