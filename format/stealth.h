/* A1111 "stealth" PNG info: parameters hidden in the least-significant bits
 * of the alpha channel (or of RGB), read column by column. */
#ifndef UNPROMPT_FORMAT_STEALTH_H
#define UNPROMPT_FORMAT_STEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "format/error.h"
#include "format/meta.h"

/* pixels: width*height*channels bytes (channels 3 or 4), row-major.
 * Returns 1 and appends an entry (keyword "parameters", source META_STEALTH)
 * if a stealth signature is found, 0 if none, -1 on a corrupt payload. */
int stealth_read(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                 size_t max_inflate, meta_list *out, fmt_error *err);

/* Writer (tests and fixtures): embed `text` in the alpha LSBs of an RGBA
 * image, plain or gzip-compressed. Returns -1 if the image is too small. */
int stealth_write_alpha(uint8_t *rgba, uint32_t width, uint32_t height, const char *text,
                        size_t len, int compressed, fmt_error *err);

#endif
