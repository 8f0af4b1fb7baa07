/* Exif: a TIFF structure (byte order, IFD0, the Exif sub-IFD) holding the
 * text fields generators write prompts into. Every offset and count is
 * checked against the block; IFD chains are bounded. */
#include "format/exif.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"

#define EXIF_MAX_ENTRIES 1000
#define EXIF_MAX_IFDS 8

typedef struct {
    const uint8_t *d;
    size_t n;
    int le;
    meta_list *out;
    uint32_t seen[EXIF_MAX_IFDS];
    int n_seen;
    struct field_memo *memo; /* fields read so far (add_field) */
    size_t n_memo, cap_memo;
    hash_index memo_index;
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

/* UserComment with its payload decoded from at most `cap` bytes (the UTF-16
 * byte order is still detected on the whole payload). */
static int decode_user_comment(const uint8_t *data, size_t len, int big_endian_hint, size_t cap, char **out,
                               size_t *out_len, fmt_error *err)
{
    *out = NULL;
    if (len < 8) return fmt_fail(err, "UserComment shorter than its 8-byte charset prefix");
    const uint8_t *p = data + 8;
    size_t n = len - 8;
    if (!memcmp(data, "UNICODE\0", 8)) {
        size_t skip;
        int le = utf16_little_endian(p, n, !big_endian_hint, &skip);
        size_t take = n - skip < cap ? n - skip : cap & ~(size_t)1;
        *out = utf16_to_utf8(p + skip, take, le, out_len);
    } else {
        /* "ASCII\0\0\0", undefined (all zero) or anything else: bytes. */
        *out = bytes_to_utf8(p, n < cap ? n : cap, out_len);
    }
    return *out ? 0 : fmt_fail(err, "out of memory");
}

int exif_decode_user_comment(const uint8_t *data, size_t len, int big_endian_hint, char **out,
                             size_t *out_len, fmt_error *err)
{
    return decode_user_comment(data, len, big_endian_hint, SIZE_MAX, out, out_len, err);
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

/* How many input bytes can decode to at most `room` bytes of text, plus
 * one unit: every byte (bytes_to_utf8) or UTF-16 unit gives at least one
 * byte of UTF-8 until the terminating NUL, so a longer text ends past the
 * cut and exceeds the room whether cut or not. Bounds the work a field
 * costs by the budget, not by its declared count. */
static size_t decode_cap(size_t room, int utf16)
{
    size_t units = room < SIZE_MAX / 4 ? room + 1 : SIZE_MAX / 4;
    return utf16 ? units * 2 : units;
}

static int decode_field(const tiff *t, const char *name, const ifd_entry *e, char **s, size_t *len,
                        fmt_error *err)
{
    const uint8_t *p = t->d + e->data_off;
    size_t room = meta_list_room(t->out);
    *s = NULL;
    *len = 0;
    if (!strcmp(name, "UserComment")) {
        if (decode_user_comment(p, e->data_len, !t->le, decode_cap(room, 1), s, len, err))
            return strstr(err->msg, "memory") ? -1 : 0; /* too short for a prefix: nothing to show */
        return 0;
    }
    if (!strcmp(name, "XPComment")) {
        size_t cap = decode_cap(room, 1);
        *s = utf16_to_utf8(p, e->data_len < cap ? e->data_len : cap, 1, len);
    } else {
        size_t cap = decode_cap(room, 0);
        *s = bytes_to_utf8(p, e->data_len < cap ? e->data_len : cap, len);
    }
    return *s ? 0 : fmt_fail(err, "out of memory");
}

/* Fields already read, by (decoding, offset, length): a file may point many
 * entries of many IFDs at one string. Each distinct string is decoded once;
 * a field repeating a tag it already gave is skipped. */
typedef struct field_memo {
    int decoding;       /* 0 bytes, 1 UserComment, 2 XPComment */
    size_t off, len;
    size_t entry;       /* index in the meta_list, or SIZE_MAX when empty */
    unsigned tags;      /* bit per tag_name() slot already added */
} field_memo;

static int decoding_of(const char *name)
{
    return !strcmp(name, "UserComment") ? 1 : !strcmp(name, "XPComment") ? 2 : 0;
}

static uint64_t memo_hash(const tiff *t, int decoding, size_t off, size_t len)
{
    uint64_t key[3] = {(uint64_t)decoding, (uint64_t)off, (uint64_t)len};
    return hash_bytes(t->memo_index.seed, key, sizeof key);
}

static field_memo *memo_find(tiff *t, int decoding, size_t off, size_t len, uint64_t hash)
{
    hash_probe probe = hash_index_probe(&t->memo_index, hash);
    size_t i;
    while (hash_probe_next(&probe, &i)) {
        field_memo *m = &t->memo[i];
        if (m->decoding == decoding && m->off == off && m->len == len) return m;
    }
    return NULL;
}

static field_memo *memo_new(tiff *t, int decoding, const ifd_entry *e, uint64_t hash, fmt_error *err)
{
    if (t->n_memo == t->cap_memo) {
        size_t cap = t->cap_memo ? t->cap_memo * 2 : 16;
        field_memo *m = realloc(t->memo, cap * sizeof *m);
        if (!m) return fmt_fail(err, "out of memory"), NULL;
        t->memo = m;
        t->cap_memo = cap;
    }
    if (hash_index_add(&t->memo_index, hash, t->n_memo, err)) return NULL;
    field_memo *m = &t->memo[t->n_memo++];
    m->decoding = decoding;
    m->off = e->data_off;
    m->len = e->data_len;
    m->entry = SIZE_MAX;
    m->tags = 0;
    return m;
}

static int add_field(tiff *t, const char *name, unsigned tag_bit, const ifd_entry *e, fmt_error *err)
{
    int decoding = decoding_of(name);
    uint64_t hash = memo_hash(t, decoding, e->data_off, e->data_len);
    field_memo *m = memo_find(t, decoding, e->data_off, e->data_len, hash);
    if (m && (m->tags & tag_bit)) return 0;
    if (m) {
        m->tags |= tag_bit;
        if (m->entry == SIZE_MAX) return 0;
        const meta_entry *had = &t->out->items[m->entry];
        return meta_list_add_or_skip(t->out, "Exif", name, strlen(name), had->text, had->text_len, META_EXIF,
                                     err);
    }
    if (meta_list_room(t->out) == 0) return 0;
    if (!(m = memo_new(t, decoding, e, hash, err))) return -1;
    m->tags |= tag_bit;
    char *s;
    size_t len;
    if (decode_field(t, name, e, &s, &len, err)) return -1;
    int rc = 0;
    if (s && len) {
        size_t at = t->out->count;
        rc = meta_list_add_or_skip(t->out, "Exif", name, strlen(name), s, len, META_EXIF, err);
        if (!rc && t->out->count > at) m->entry = at;
    }
    free(s);
    return rc;
}

/* The text tags read, and each one's bit for field_memo.tags. */
static const struct {
    uint16_t tag;
    const char *name;
} text_tags[] = {{0x010E, "ImageDescription"}, {0x010F, "Make"},    {0x0110, "Model"},
                 {0x0131, "Software"},         {0x013B, "Artist"},  {0x9286, "UserComment"},
                 {0x9C9C, "XPComment"}};

static const char *tag_name(uint16_t tag, unsigned *bit)
{
    for (unsigned i = 0; i < sizeof text_tags / sizeof *text_tags; i++) {
        if (text_tags[i].tag == tag) {
            *bit = 1u << i;
            return text_tags[i].name;
        }
    }
    return NULL;
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
        unsigned bit;
        const char *name = tag_name(e.tag, &bit);
        if (name && add_field(t, name, bit, &e, err)) return -1;
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
    if (hash_index_init(&t.memo_index, 16, err)) return -1;
    int rc = walk_ifd(&t, rd32(&t, 4), 0, err);
    hash_index_free(&t.memo_index);
    free(t.memo);
    return rc;
}
