/* Zip reader over memory: EOCD (+ ZIP64), central directory, local headers;
 * stored entries in place, deflated ones through bounded raw inflate. */
#include "format/crc.h"
#include "format/zip.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

#define EOCD_LEN 22
#define LOCATOR64_LEN 20
#define EOCD64_LEN 56
#define CENTRAL_LEN 46
#define LOCAL_LEN 30
#define MAX_COMMENT 65535

#define NAME_SHOWN 80

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

uint32_t zip_crc32(const uint8_t *p, size_t n)
{
    return crc32_of(p, n);
}

zip_limits zip_default_limits(void)
{
    zip_limits l;
    l.max_entries = (size_t)1 << 20;
    l.check_stored_crc = 1;
    return l;
}

/* Where the central directory is, from the end records. */
typedef struct {
    uint64_t count, cd_size, cd_offset;
    size_t cd_limit; /* the central directory must end at or before this */
} zip_end;

static int read_eocd64(zip_archive *z, size_t eocd, zip_end *end, fmt_error *err)
{
    const uint8_t *loc = z->data + eocd - LOCATOR64_LEN;
    uint64_t off = load_le64(loc + 8);
    if (load_le32(loc + 4) != 0 || load_le32(loc + 16) > 1)
        return fmt_fail(err, "zip: multi-disk archives are not supported");
    if (off > eocd - LOCATOR64_LEN || eocd - LOCATOR64_LEN - off < EOCD64_LEN)
        return fmt_fail(err, "zip: ZIP64 end record at %llu is outside the file",
                        (unsigned long long)off);
    const uint8_t *p = z->data + off;
    if (load_le32(p) != SIG_EOCD64) return fmt_fail(err, "zip: ZIP64 end record has a bad signature");
    if (load_le64(p + 4) < EOCD64_LEN - 12) return fmt_fail(err, "zip: ZIP64 end record too short");
    if (load_le32(p + 16) != 0 || load_le32(p + 20) != 0)
        return fmt_fail(err, "zip: multi-disk archives are not supported");
    uint64_t on_disk = load_le64(p + 24);
    end->count = load_le64(p + 32);
    end->cd_size = load_le64(p + 40);
    end->cd_offset = load_le64(p + 48);
    if (on_disk != end->count) return fmt_fail(err, "zip: multi-disk archives are not supported");
    end->cd_limit = (size_t)off;
    z->zip64 = 1;
    return 0;
}

static int read_end(zip_archive *z, zip_end *end, fmt_error *err)
{
    if (z->len < EOCD_LEN) return fmt_fail(err, "zip: file of %zu bytes is too short", z->len);
    size_t lowest = z->len - EOCD_LEN > MAX_COMMENT ? z->len - EOCD_LEN - MAX_COMMENT : 0;
    size_t eocd = z->len - EOCD_LEN;
    for (;;) {
        const uint8_t *p = z->data + eocd;
        if (load_le32(p) == SIG_EOCD && load_le16(p + 20) <= z->len - eocd - EOCD_LEN) break;
        if (eocd == lowest) return fmt_fail(err, "zip: no end of central directory record (not a zip file)");
        eocd--;
    }
    const uint8_t *p = z->data + eocd;
    uint16_t disk = load_le16(p + 4), cd_disk = load_le16(p + 6);
    uint16_t on_disk = load_le16(p + 8), total = load_le16(p + 10);
    uint32_t cd_size = load_le32(p + 12), cd_offset = load_le32(p + 16);
    int saturated = total == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu;
    if (eocd >= LOCATOR64_LEN && load_le32(p - LOCATOR64_LEN) == SIG_LOCATOR64)
        return read_eocd64(z, eocd, end, err);
    if (saturated) return fmt_fail(err, "zip: ZIP64 sizes but no ZIP64 end record locator");
    if (disk != 0 || cd_disk != 0 || on_disk != total)
        return fmt_fail(err, "zip: multi-disk archives are not supported");
    end->count = total;
    end->cd_size = cd_size;
    end->cd_offset = cd_offset;
    end->cd_limit = eocd;
    return 0;
}

static const char *method_name(unsigned m)
{
    switch (m) {
    case 1: return "shrink";
    case 6: return "implode";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "lzma";
    case 93: return "zstd";
    case 95: return "xz";
    case 99: return "AES encryption";
    default: return "unknown";
    }
}

static int entry_fail(fmt_error *err, const char *name, size_t name_len, const char *fmt, ...)
    FMT_PRINTF(4, 5);
static int entry_fail(fmt_error *err, const char *name, size_t name_len, const char *fmt, ...)
{
    char what[FMT_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fmt_fail(err, "zip: entry '%.*s': %s", (int)(name_len > NAME_SHOWN ? NAME_SHOWN : name_len),
                    name, what);
}

/* The ZIP64 extended information extra field (0x0001) holds, in this order,
 * the fields whose 32-bit (16-bit for the disk) value is saturated. */
static int read_zip64_extra(const uint8_t *x, size_t xlen, uint64_t *size, uint64_t *csize,
                            uint64_t *offset, const zip_entry *e, const char *name, fmt_error *err)
{
    int need_size = *size == 0xFFFFFFFFu, need_csize = *csize == 0xFFFFFFFFu,
        need_offset = *offset == 0xFFFFFFFFu;
    size_t pos = 0;
    while (xlen - pos >= 4) {
        uint16_t id = load_le16(x + pos), n = load_le16(x + pos + 2);
        pos += 4;
        if (n > xlen - pos) return entry_fail(err, name, e->name_len, "extra field runs past its block");
        if (id == 0x0001) {
            const uint8_t *f = x + pos, *fend = x + pos + n;
            uint64_t *want[3] = {need_size ? size : NULL, need_csize ? csize : NULL,
                                 need_offset ? offset : NULL};
            for (int i = 0; i < 3; i++) {
                if (!want[i]) continue;
                if (fend - f < 8) return entry_fail(err, name, e->name_len, "%s", "ZIP64 extra field too short");
                *want[i] = load_le64(f);
                f += 8;
            }
            return 0;
        }
        pos += n;
    }
    if (need_size || need_csize || need_offset)
        return entry_fail(err, name, e->name_len, "ZIP64 sizes but no ZIP64 extra field");
    return 0;
}

/* One central directory header at *pos; advances *pos. e->name points into
 * the buffer for now (not NUL-terminated). */
static int read_central(const zip_archive *z, size_t *pos, size_t cd_end, zip_entry *e, fmt_error *err)
{
    if (cd_end - *pos < CENTRAL_LEN) return fmt_fail(err, "zip: central directory truncated");
    const uint8_t *p = z->data + *pos;
    if (load_le32(p) != SIG_CENTRAL) return fmt_fail(err, "zip: bad central directory signature");
    size_t nlen = load_le16(p + 28), xlen = load_le16(p + 30), clen = load_le16(p + 32);
    if (cd_end - *pos - CENTRAL_LEN < nlen + xlen + clen)
        return fmt_fail(err, "zip: central directory entry runs past the directory");
    const char *name = (const char *)p + CENTRAL_LEN;
    memset(e, 0, sizeof *e);
    e->name = name;
    e->name_len = nlen;
    e->flags = load_le16(p + 8);
    e->method = load_le16(p + 10);
    e->crc32 = load_le32(p + 16);
    uint64_t csize = load_le32(p + 20), size = load_le32(p + 24), offset = load_le32(p + 42);
    uint16_t disk = load_le16(p + 34);
    if (nlen == 0) return fmt_fail(err, "zip: entry with an empty name");
    if (memchr(name, 0, nlen)) return entry_fail(err, name, nlen, "name holds a NUL byte");
    if (e->flags & 0x41) return entry_fail(err, name, nlen, "encrypted entries are not supported");
    if (e->method != ZIP_STORED && e->method != ZIP_DEFLATED) {
        return entry_fail(err, name, nlen, "compression method %u (%s) is not supported", e->method,
                          method_name(e->method));
    }
    if (read_zip64_extra(p + CENTRAL_LEN + nlen, xlen, &size, &csize, &offset, e, name, err)) return -1;
    if (disk != 0 && disk != 0xFFFF) return fmt_fail(err, "zip: multi-disk archives are not supported");
    if (csize > z->len || offset > z->len)
        return entry_fail(err, name, nlen, "size or offset beyond the end of the file");
    e->comp_size = (size_t)csize;
    e->size = size;
    e->local_offset = (size_t)offset;
    if (e->method == ZIP_STORED && e->size != csize)
        return entry_fail(err, name, nlen, "stored entry whose sizes differ");
    *pos += CENTRAL_LEN + nlen + xlen + clen;
    return 0;
}

/* The local header must agree with the central one, and the data must lie
 * between it and the central directory. */
static int check_local(const zip_archive *z, zip_entry *e, size_t cd_offset, fmt_error *err)
{
    if (e->local_offset > cd_offset || cd_offset - e->local_offset < LOCAL_LEN)
        return entry_fail(err, e->name, e->name_len, "local header outside the file");
    const uint8_t *p = z->data + e->local_offset;
    if (load_le32(p) != SIG_LOCAL) return entry_fail(err, e->name, e->name_len, "bad local header signature");
    size_t nlen = load_le16(p + 26), xlen = load_le16(p + 28);
    size_t room = cd_offset - e->local_offset - LOCAL_LEN;
    if (nlen + xlen > room || room - nlen - xlen < e->comp_size)
        return entry_fail(err, e->name, e->name_len, "data runs past the central directory");
    if (nlen != e->name_len || memcmp(p + LOCAL_LEN, e->name, nlen) != 0)
        return entry_fail(err, e->name, e->name_len, "local header names a different file");
    if (load_le16(p + 8) != e->method)
        return entry_fail(err, e->name, e->name_len, "local header has a different method");
    if (load_le16(p + 6) & 0x41) return entry_fail(err, e->name, e->name_len, "encrypted entries are not supported");
    e->data_offset = e->local_offset + LOCAL_LEN + nlen + xlen;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const zip_entry *const *)a)->name, (*(const zip_entry *const *)b)->name);
}

static int by_offset(const void *a, const void *b)
{
    const zip_entry *x = *(const zip_entry *const *)a, *y = *(const zip_entry *const *)b;
    return x->local_offset < y->local_offset ? -1 : x->local_offset > y->local_offset;
}

/* Copy the names into one block, then sort for lookup; refuse duplicates and
 * entries whose bytes overlap. */
static int index_entries(zip_archive *z, fmt_error *err)
{
    size_t total = 1;
    for (size_t i = 0; i < z->count; i++)
        if (size_add(total, z->entries[i].name_len + 1, &total)) return fmt_fail(err, "zip: names too long");
    z->names = malloc(total);
    z->by_name = malloc((z->count ? z->count : 1) * sizeof *z->by_name);
    if (!z->names || !z->by_name) return fmt_fail(err, "out of memory");
    char *q = z->names;
    for (size_t i = 0; i < z->count; i++) {
        zip_entry *e = &z->entries[i];
        memcpy(q, e->name, e->name_len);
        q[e->name_len] = '\0';
        e->name = q;
        q += e->name_len + 1;
        z->by_name[i] = e;
    }
    qsort(z->by_name, z->count, sizeof *z->by_name, by_offset);
    for (size_t i = 1; i < z->count; i++) {
        const zip_entry *a = z->by_name[i - 1], *b = z->by_name[i];
        if (b->local_offset < a->data_offset + a->comp_size)
            return fmt_fail(err, "zip: entries '%.*s' and '%.*s' overlap", NAME_SHOWN / 2, a->name,
                            NAME_SHOWN / 2, b->name);
    }
    qsort(z->by_name, z->count, sizeof *z->by_name, by_name);
    for (size_t i = 1; i < z->count; i++)
        if (!strcmp(z->by_name[i - 1]->name, z->by_name[i]->name))
            return fmt_fail(err, "zip: entry '%.*s' appears twice", NAME_SHOWN, z->by_name[i]->name);
    return 0;
}

int zip_open(zip_archive *z, const uint8_t *data, size_t len, const zip_limits *lim, fmt_error *err)
{
    zip_limits defaults = zip_default_limits();
    if (!lim) lim = &defaults;
    memset(z, 0, sizeof *z);
    z->data = data;
    z->len = len;
    z->check_stored_crc = lim->check_stored_crc;
    zip_end end = {0};
    if (read_end(z, &end, err)) goto fail;
    if (end.cd_offset > end.cd_limit || end.cd_size > end.cd_limit - end.cd_offset) {
        fmt_fail(err, "zip: central directory (%llu bytes at %llu) lies outside the file",
                 (unsigned long long)end.cd_size, (unsigned long long)end.cd_offset);
        goto fail;
    }
    if (end.count > lim->max_entries) {
        fmt_fail(err, "zip: %llu entries exceed the limit of %zu", (unsigned long long)end.count,
                 lim->max_entries);
        goto fail;
    }
    size_t cd_offset = (size_t)end.cd_offset, cd_end = cd_offset + (size_t)end.cd_size;
    if (end.count > end.cd_size / CENTRAL_LEN) {
        fmt_fail(err, "zip: %llu entries cannot fit in a central directory of %llu bytes",
                 (unsigned long long)end.count, (unsigned long long)end.cd_size);
        goto fail;
    }
    z->entries = calloc(end.count ? (size_t)end.count : 1, sizeof *z->entries);
    if (!z->entries) {
        fmt_fail(err, "out of memory");
        goto fail;
    }
    size_t pos = cd_offset;
    for (size_t i = 0; i < (size_t)end.count; i++) {
        if (read_central(z, &pos, cd_end, &z->entries[i], err)) goto fail;
        z->count++;
        if (check_local(z, &z->entries[i], cd_offset, err)) goto fail;
    }
    if (pos != cd_end) {
        fmt_fail(err, "zip: central directory has %zu bytes after its %zu entries", cd_end - pos,
                 z->count);
        goto fail;
    }
    if (index_entries(z, err)) goto fail;
    return 0;
fail:
    zip_close(z);
    return -1;
}

void zip_close(zip_archive *z)
{
    free(z->entries);
    free(z->by_name);
    free(z->names);
    memset(z, 0, sizeof *z);
}

size_t zip_count(const zip_archive *z)
{
    return z->count;
}

const zip_entry *zip_entry_at(const zip_archive *z, size_t i)
{
    return i < z->count ? &z->entries[i] : NULL;
}

const zip_entry *zip_find(const zip_archive *z, const char *name)
{
    size_t lo = 0, hi = z->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, z->by_name[mid]->name);
        if (c == 0) return z->by_name[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const zip_entry *zip_find_suffix(const zip_archive *z, const char *suffix, size_t *matches)
{
    size_t n = strlen(suffix), found = 0;
    const zip_entry *first = NULL;
    for (size_t i = 0; i < z->count; i++) {
        const zip_entry *e = &z->entries[i];
        if (e->name_len >= n && memcmp(e->name + e->name_len - n, suffix, n) == 0) {
            if (!found++) first = e;
        }
    }
    if (matches) *matches = found;
    return first;
}

#define INFLATE_FIRST ((size_t)1 << 20)

/* Raw inflate into exactly e->size bytes; one byte more is an error, so a
 * stream can never write past what the header declared. */
static int inflate_entry(const zip_archive *z, const zip_entry *e, size_t size, uint8_t **out,
                         fmt_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK) return fmt_fail(err, "zip: cannot initialise zlib");
    size_t cap = size < INFLATE_FIRST ? size + 1 : INFLATE_FIRST;
    uint8_t *buf = malloc(cap);
    const uint8_t *in = z->data + e->data_offset;
    size_t left = e->comp_size, have = 0;
    int rc = buf ? Z_OK : Z_MEM_ERROR;
    if (!buf) fmt_fail(err, "out of memory");
    while (rc == Z_OK || rc == Z_BUF_ERROR) {
        if (have == cap) {
            if (cap == size + 1) {
                entry_fail(err, e->name, e->name_len, "inflates to more than its declared size");
                rc = Z_DATA_ERROR;
                break;
            }
            size_t ncap = cap > (size + 1) / 2 ? size + 1 : cap * 2;
            uint8_t *p = realloc(buf, ncap);
            if (!p) {
                fmt_fail(err, "out of memory");
                rc = Z_MEM_ERROR;
                break;
            }
            buf = p;
            cap = ncap;
        }
        uInt in_now = left > 1u << 30 ? 1u << 30 : (uInt)left;
        size_t out_room = cap - have;
        uInt out_now = out_room > 1u << 30 ? 1u << 30 : (uInt)out_room;
        zs.next_in = (Bytef *)in;
        zs.avail_in = in_now;
        zs.next_out = buf + have;
        zs.avail_out = out_now;
        rc = inflate(&zs, Z_NO_FLUSH);
        in += in_now - zs.avail_in;
        left -= in_now - zs.avail_in;
        have += out_now - zs.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && left == 0 && zs.avail_out != 0) {
            entry_fail(err, e->name, e->name_len, "compressed data is truncated");
            rc = Z_DATA_ERROR;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            entry_fail(err, e->name, e->name_len, "corrupt compressed data (%s)",
                       zs.msg ? zs.msg : "zlib error");
        }
    }
    inflateEnd(&zs);
    if (rc == Z_STREAM_END && have != size) {
        rc = entry_fail(err, e->name, e->name_len, "inflates to %zu bytes, not the declared %zu", have,
                        size);
    }
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

int zip_entry_data(const zip_archive *z, const zip_entry *e, const uint8_t **data, uint8_t **owned,
                   size_t *len, size_t max_len, fmt_error *err)
{
    *data = NULL;
    *owned = NULL;
    *len = 0;
    if (e->size > max_len || e->size > SIZE_MAX - 1) {
        return entry_fail(err, e->name, e->name_len, "%llu bytes exceed the limit of %zu",
                          (unsigned long long)e->size, max_len);
    }
    size_t size = (size_t)e->size;
    const uint8_t *bytes;
    if (e->method == ZIP_STORED) {
        bytes = z->data + e->data_offset;
    } else {
        if (inflate_entry(z, e, size, owned, err)) return -1;
        bytes = *owned;
    }
    if (e->method != ZIP_STORED || z->check_stored_crc) {
        uint32_t crc = zip_crc32(bytes, size);
        if (crc != e->crc32) {
            free(*owned);
            *owned = NULL;
            return entry_fail(err, e->name, e->name_len, "CRC-32 mismatch (computed %08x, declared %08x)",
                              (unsigned)crc, (unsigned)e->crc32);
        }
    }
    *data = bytes;
    *len = size;
    return 0;
}
