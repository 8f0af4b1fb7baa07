/* Exif (TIFF structure) reader: the fields prompts live in. */
#ifndef UNPROMPT_FORMAT_EXIF_H
#define UNPROMPT_FORMAT_EXIF_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "format/meta.h"

/* Parse a TIFF block ("II*\0" or "MM\0*", optionally preceded by "Exif\0\0")
 * and append text fields to `out`: keyword "UserComment" (0x9286, its 8-byte
 * charset prefix decoded: "UNICODE\0" as UTF-16 BE or LE — detected — ,
 * "ASCII\0\0\0", or undefined), "ImageDescription" (0x010E), "Make",
 * "Model", "Software" (0x0131), "Artist", "XPComment" (0x9C9C, UTF-16LE).
 * All text converted to UTF-8. Bounded IFD walk (no loops, depth ≤ 4). */
int exif_read(const uint8_t *data, size_t len, meta_list *out, fmt_error *err);

/* Decode Exif UserComment bytes (with the 8-byte prefix) to malloc'd UTF-8. */
int exif_decode_user_comment(const uint8_t *data, size_t len, int big_endian_hint,
                             char **out, size_t *out_len, fmt_error *err);

/* UTF-16 (le = 1 little-endian) → UTF-8, stops at a NUL code unit;
 * unpaired surrogates become U+FFFD. */
char *utf16_to_utf8(const uint8_t *p, size_t n_bytes, int le, size_t *out_len);

#endif
