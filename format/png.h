/* Hand-rolled PNG chunk walk: signature, chunk length/type/CRC, text chunks.
 * Never inflates IDAT; chunks after IDAT are read too. No I/O: bytes in,
 * structure out. */
#ifndef UNPROMPT_FORMAT_PNG_H
#define UNPROMPT_FORMAT_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "format/meta.h"

typedef struct {
    size_t max_inflate;     /* per compressed chunk; default 16 MiB */
    size_t max_chunks;      /* default 1,000,000 */
    /* All text kept is bounded by the meta_list's per-file budget. */
} png_limits;

typedef struct {
    uint32_t width, height;
    uint8_t bit_depth, color_type, interlace;
} png_header;

png_limits png_default_limits(void);

/* 1 if data starts with the 8-byte PNG signature. */
int png_is_png(const uint8_t *data, size_t len);

/* Walk every chunk; append tEXt/zTXt/iTXt (and eXIf fields via exif.h) to
 * `out`, fill `hdr` from IHDR (may be NULL). CRC mismatches and trailing
 * garbage become warnings in out->warnings. Returns 0, or -1 with `err` set
 * for a file that is not a readable PNG (bad signature, missing/invalid IHDR,
 * chunk length past end of file, ...). Entries read before a fatal error
 * stay in `out`. */
int png_read_meta(const uint8_t *data, size_t len, const png_limits *lim, meta_list *out,
                  png_header *hdr, fmt_error *err);

/* Inflate a zlib stream with a hard output limit (used by zTXt/iTXt and by
 * stealth's gzip variant when `gzip` is 1). Output is NUL-terminated.
 * Returns 0 with *out malloc'd, or -1 ("inflated size exceeds 16 MiB", ...). */
int inflate_bounded(const uint8_t *src, size_t src_len, size_t limit, int gzip, char **out,
                    size_t *out_len, fmt_error *err);

/* Check the CRC of every critical chunk, IDAT included (a pass over the
 * whole file: done before decoding pixels, never for metadata alone). */
int png_verify_crcs(const uint8_t *data, size_t len, fmt_error *err);

/* CRC-32 of type+data as PNG computes it. */
uint32_t png_crc(const uint8_t *type_and_data, size_t len);

#endif
