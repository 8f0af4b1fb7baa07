/* WebP: a RIFF container; EXIF and XMP chunks hold the metadata. */
#include "format/webp.h"

#include <string.h>

#include "base/buf.h"
#include "format/exif.h"

#define WEBP_MAX_CHUNKS 100000

int webp_is_webp(const uint8_t *data, size_t len)
{
    return len >= 12 && !memcmp(data, "RIFF", 4) && !memcmp(data + 8, "WEBP", 4);
}

static void read_size(const char *type, const uint8_t *p, size_t n, meta_list *out)
{
    if (!strcmp(type, "VP8X") && n >= 10) {
        out->width = 1 + (p[4] | (p[5] << 8) | ((unsigned)p[6] << 16));
        out->height = 1 + (p[7] | (p[8] << 8) | ((unsigned)p[9] << 16));
    } else if (!strcmp(type, "VP8 ") && n >= 10 && p[3] == 0x9D && p[4] == 0x01 && p[5] == 0x2A) {
        out->width = load_le16(p + 6) & 0x3FFF;
        out->height = load_le16(p + 8) & 0x3FFF;
    } else if (!strcmp(type, "VP8L") && n >= 5 && p[0] == 0x2F) {
        uint32_t b = load_le32(p + 1);
        out->width = (b & 0x3FFF) + 1;
        out->height = ((b >> 14) & 0x3FFF) + 1;
    }
}

int webp_read_meta(const uint8_t *data, size_t len, meta_list *out, fmt_error *err)
{
    out->container = "webp";
    if (!webp_is_webp(data, len)) return fmt_fail(err, "not a WebP file");
    size_t riff_end = (size_t)load_le32(data + 4);
    if (riff_end > len - 8) {
        meta_list_warn(out, "RIFF size %zu larger than the file: truncated?", riff_end);
        riff_end = len - 8;
    }
    riff_end += 8;
    size_t pos = 12;
    for (int i = 0; i < WEBP_MAX_CHUNKS && pos < riff_end; i++) {
        if (riff_end - pos < 8) return fmt_fail(err, "truncated chunk header at byte %zu", pos);
        char type[5];
        memcpy(type, data + pos, 4);
        type[4] = '\0';
        size_t n = load_le32(data + pos + 4);
        if (n > riff_end - pos - 8) return fmt_fail(err, "%s chunk at byte %zu runs past the end", type, pos);
        const uint8_t *body = data + pos + 8;
        if (!strcmp(type, "EXIF")) {
            fmt_error xerr;
            if (exif_read(body, n, out, &xerr)) meta_list_warn(out, "EXIF: %s", xerr.msg);
        } else if (!strcmp(type, "XMP ")) {
            if (meta_list_add_or_skip(out, "XMP", "XML:com.adobe.xmp", 17, (const char *)body, n, META_EXIF, err))
                return -1;
        } else {
            read_size(type, body, n, out);
        }
        pos += 8 + n + (n & 1);
    }
    return 0;
}
