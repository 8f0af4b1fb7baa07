/* Exif: a TIFF structure (byte order, IFD0, the Exif sub-IFD) holding the
 * text fields generators write prompts into. Every offset and count is
 * checked against the block; IFD chains are bounded. */
#include "format/exif.h"

#include <stdlib.h>
#include <string.h>

#include "format/buf.h"

#define EXIF_MAX_ENTRIES 1000
#define EXIF_MAX_IFDS 8

typedef struct {
    const uint8_t *d;
    size_t n;
    int le;
    meta_list *out;
    uint32_t seen[EXIF_MAX_IFDS];
    int n_seen;
} tiff;

static uint16_t rd16(const tiff *t, size_t off) { return t->le ? load_le16(t->d + off) : load_be16(t->d + off); }
static uint32_t rd32(const tiff *t, size_t off) { return t->le ? load_le32(t->d + off) : load_be32(t->d + off); }

static void put_cp(char *out, size_t *j, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*j)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*j)++] = (char)(0xC0 | (cp >> 6));
        out[(*j)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*j)++] = (char)(0xE0 | (cp >> 12));
        out[(*j)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*j)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*j)++] = (char)(0xF0 | (cp >> 18));
        out[(*j)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*j)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*j)++] = (char)(0x80 | (cp & 0x3F));
    }
}

char *utf16_to_utf8(const uint8_t *p, size_t n_bytes, int le, size_t *out_len)
{
    size_t units = n_bytes / 2, cap;
    if (size_mul(units, 3, &cap) || size_add(cap, 1, &cap)) return NULL;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t u = le ? load_le16(p + 2 * i) : load_be16(p + 2 * i);
        if (u == 0) break;
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units) {
            uint32_t lo = le ? load_le16(p + 2 * i + 2) : load_be16(p + 2 * i + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                put_cp(out, &j, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                i++;
                continue;
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF) u = 0xFFFD;
        put_cp(out, &j, u);
    }
    out[j] = '\0';
    if (out_len) *out_len = j;
    return out;
}

/* Which byte order a UTF-16 payload is in: BOM, else where ASCII's zero
 * bytes fall, else the hint. */
static int utf16_little_endian(const uint8_t *p, size_t n, int hint_le, size_t *skip)
{
    *skip = 0;
    if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) return *skip = 2, 1;
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) return *skip = 2, 0;
    size_t zero_even = 0, zero_odd = 0;
    for (size_t i = 0; i + 1 < n && i < 512; i += 2) {
        zero_even += p[i] == 0 && p[i + 1] != 0;
        zero_odd += p[i + 1] == 0 && p[i] != 0;
    }
    if (zero_even > zero_odd) return 0;
    if (zero_odd > zero_even) return 1;
    return hint_le;
}

int exif_decode_user_comment(const uint8_t *data, size_t len, int big_endian_hint, char **out,
                             size_t *out_len, fmt_error *err)
{
    *out = NULL;
    if (len < 8) return fmt_fail(err, "UserComment shorter than its 8-byte charset prefix");
    const uint8_t *p = data + 8;
    size_t n = len - 8;
    if (!memcmp(data, "UNICODE\0", 8)) {
        size_t skip;
        int le = utf16_little_endian(p, n, !big_endian_hint, &skip);
        *out = utf16_to_utf8(p + skip, n - skip, le, out_len);
    } else {
        /* "ASCII\0\0\0", undefined (all zero) or anything else: bytes. */
        *out = bytes_to_utf8(p, n, out_len);
    }
    return *out ? 0 : fmt_fail(err, "out of memory");
}

typedef struct {
    uint16_t tag, type;
    uint32_t count;
    size_t data_off, data_len;
} ifd_entry;

static size_t type_size(uint16_t type)
{
    static const uint8_t sizes[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8};
    return type < sizeof sizes ? sizes[type] : 0;
}

static int read_entry(const tiff *t, size_t off, ifd_entry *e)
{
    e->tag = rd16(t, off);
    e->type = rd16(t, off + 2);
    e->count = rd32(t, off + 4);
    size_t unit = type_size(e->type), total;
    if (!unit || size_mul(unit, e->count, &total)) return -1;
    e->data_len = total;
    if (total <= 4) {
        e->data_off = off + 8;
        return 0;
    }
    uint32_t at = rd32(t, off + 8);
    if (at > t->n || total > t->n - at) return -1;
    e->data_off = at;
    return 0;
}

static int add_field(tiff *t, const char *name, const ifd_entry *e, fmt_error *err)
{
    const uint8_t *p = t->d + e->data_off;
    char *s;
    size_t len = 0;
    if (!strcmp(name, "UserComment")) {
        if (exif_decode_user_comment(p, e->data_len, !t->le, &s, &len, err)) {
            /* too short to carry a prefix: nothing to show */
            return strstr(err->msg, "memory") ? -1 : 0;
        }
    } else if (!strcmp(name, "XPComment")) {
        s = utf16_to_utf8(p, e->data_len, 1, &len);
    } else {
        s = bytes_to_utf8(p, e->data_len, &len);
    }
    if (!s) return fmt_fail(err, "out of memory");
    int rc = 0;
    if (len) rc = meta_list_add(t->out, name, strlen(name), s, len, META_EXIF, err);
    free(s);
    return rc;
}

static const char *tag_name(uint16_t tag)
{
    switch (tag) {
    case 0x010E: return "ImageDescription";
    case 0x010F: return "Make";
    case 0x0110: return "Model";
    case 0x0131: return "Software";
    case 0x013B: return "Artist";
    case 0x9286: return "UserComment";
    case 0x9C9C: return "XPComment";
    default: return NULL;
    }
}

static int walk_ifd(tiff *t, uint32_t off, int depth, fmt_error *err)
{
    for (int i = 0; i < t->n_seen; i++)
        if (t->seen[i] == off) return fmt_fail(err, "Exif IFD loop at offset %u", off);
    if (t->n_seen >= EXIF_MAX_IFDS || depth > 4) return fmt_fail(err, "Exif: too many IFDs");
    t->seen[t->n_seen++] = off;
    if (off > t->n || t->n - off < 2) return fmt_fail(err, "Exif IFD offset %u past the end", off);
    uint16_t count = rd16(t, off);
    if (count > EXIF_MAX_ENTRIES) return fmt_fail(err, "Exif IFD with %u entries", count);
    if ((size_t)count * 12 > t->n - off - 2) return fmt_fail(err, "Exif IFD at %u is truncated", off);
    for (uint16_t i = 0; i < count; i++) {
        ifd_entry e;
        size_t eo = off + 2 + (size_t)i * 12;
        if (read_entry(t, eo, &e)) continue; /* a lying entry is skipped, not fatal */
        if (e.tag == 0x8769 && e.count == 1 && (e.type == 4 || e.type == 13)) {
            if (walk_ifd(t, rd32(t, e.data_off), depth + 1, err)) return -1;
            continue;
        }
        const char *name = tag_name(e.tag);
        if (name && add_field(t, name, &e, err)) return -1;
    }
    return 0;
}

int exif_read(const uint8_t *data, size_t len, meta_list *out, fmt_error *err)
{
    fmt_error local;
    if (!err) err = &local;
    if (len >= 6 && !memcmp(data, "Exif\0\0", 6)) {
        data += 6;
        len -= 6;
    }
    if (len < 8) return fmt_fail(err, "Exif block too short");
    tiff t;
    memset(&t, 0, sizeof t);
    t.d = data;
    t.n = len;
    t.out = out;
    if (!memcmp(data, "II*\0", 4)) t.le = 1;
    else if (!memcmp(data, "MM\0*", 4)) t.le = 0;
    else return fmt_fail(err, "Exif: no TIFF byte-order mark");
    return walk_ifd(&t, rd32(&t, 4), 0, err);
}
