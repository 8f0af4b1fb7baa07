/* JPEG marker walk from SOI to SOS: APP1 Exif / XMP and COM segments.
 * The entropy-coded image data is never touched. */
#include "format/jpeg.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/exif.h"

#define JPEG_MAX_SEGMENTS 10000

int jpeg_is_jpeg(const uint8_t *data, size_t len)
{
    return len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

static const char xmp_sig[] = "http://ns.adobe.com/xap/1.0/";

static int read_app1(const uint8_t *p, size_t n, meta_list *out, fmt_error *err)
{
    if (n >= 6 && !memcmp(p, "Exif\0\0", 6)) {
        fmt_error xerr;
        if (exif_read(p, n, out, &xerr)) meta_list_warn(out, "APP1 Exif: %s", xerr.msg);
        return 0;
    }
    size_t sl = sizeof xmp_sig; /* with the NUL that ends the signature */
    if (n > sl && !memcmp(p, xmp_sig, sl))
        return meta_list_add_or_skip(out, "APP1 XMP", "XML:com.adobe.xmp", 17, (const char *)p + sl, n - sl,
                                     META_EXIF, err);
    return 0;
}

static int read_com(const uint8_t *p, size_t n, meta_list *out, fmt_error *err)
{
    size_t len;
    char *s = bytes_to_utf8(p, n, &len);
    if (!s) return fmt_fail(err, "out of memory");
    int rc = len ? meta_list_add_or_skip(out, "COM", "comment", 7, s, len, META_JPEG_COM, err) : 0;
    free(s);
    return rc;
}

static int is_sof(uint8_t m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

int jpeg_read_meta(const uint8_t *data, size_t len, meta_list *out, fmt_error *err)
{
    out->container = "jpeg";
    if (!jpeg_is_jpeg(data, len)) return fmt_fail(err, "not a JPEG file");
    size_t pos = 2;
    for (int seg = 0; seg < JPEG_MAX_SEGMENTS; seg++) {
        while (pos < len && data[pos] == 0xFF && pos + 1 < len && data[pos + 1] == 0xFF) pos++;
        if (len - pos < 2) return fmt_fail(err, "truncated before the image data (byte %zu)", pos);
        if (data[pos] != 0xFF) return fmt_fail(err, "expected a marker at byte %zu", pos);
        uint8_t m = data[pos + 1];
        pos += 2;
        if (m == 0xD9 || m == 0xDA) return 0; /* EOI, or SOS: metadata is over */
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01 || m == 0xD8) continue; /* no length */
        if (len - pos < 2) return fmt_fail(err, "truncated segment header at byte %zu", pos);
        size_t seg_len = load_be16(data + pos);
        if (seg_len < 2) return fmt_fail(err, "segment length %zu at byte %zu", seg_len, pos);
        if (seg_len > len - pos) return fmt_fail(err, "segment at byte %zu runs past the end of the file", pos);
        const uint8_t *body = data + pos + 2;
        size_t n = seg_len - 2;
        int rc = 0;
        if (m == 0xE1) rc = read_app1(body, n, out, err);
        else if (m == 0xFE) rc = read_com(body, n, out, err);
        else if (is_sof(m) && n >= 5) {
            out->height = load_be16(body + 1);
            out->width = load_be16(body + 3);
        }
        if (rc) return -1;
        pos += seg_len;
    }
    return fmt_fail(err, "more than %d segments", JPEG_MAX_SEGMENTS);
}
