/* WebP metadata: RIFF chunk walk, EXIF (and XMP as keyword "XML:com.adobe.xmp"). */
#ifndef UNPROMPT_FORMAT_WEBP_H
#define UNPROMPT_FORMAT_WEBP_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "format/meta.h"

int webp_is_webp(const uint8_t *data, size_t len);
int webp_read_meta(const uint8_t *data, size_t len, meta_list *out, fmt_error *err);

#endif
