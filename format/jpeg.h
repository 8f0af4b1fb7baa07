/* JPEG metadata: APP1 Exif and COM segments. Never decodes the image. */
#ifndef UNPROMPT_FORMAT_JPEG_H
#define UNPROMPT_FORMAT_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "format/meta.h"

int jpeg_is_jpeg(const uint8_t *data, size_t len);
/* Walk markers up to SOS; Exif fields via exif_read, COM as keyword "comment".
 * Fills out->width/height from SOFn. */
int jpeg_read_meta(const uint8_t *data, size_t len, meta_list *out, fmt_error *err);

#endif
