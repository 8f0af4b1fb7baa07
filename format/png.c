/* PNG chunk walk: only chunk headers are visited; IDAT is skipped unread.
 * Text chunks (tEXt, zTXt, iTXt) and eXIf become meta_list entries. */
#include "format/crc.h"
#include "format/png.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "format/exif.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

#define PNG_MAX_CHUNK_LEN 0x7FFFFFFFu
#define PNG_MAX_KEYWORD 79

png_limits png_default_limits(void)
{
    png_limits l;
    l.max_inflate = (size_t)16 << 20;
    l.max_chunks = 1000000;
    return l;
}

int png_is_png(const uint8_t *data, size_t len)
{
    return len >= 8 && memcmp(data, png_signature, 8) == 0;
}

uint32_t png_crc(const uint8_t *type_and_data, size_t len)
{
    return crc32_of(type_and_data, len);
}

typedef struct {
    const uint8_t *data; /* chunk data */
    uint32_t len;
    char type[5];
} png_chunk;

typedef struct {
    const png_limits *lim;
    meta_list *out;
} png_walk;

static int valid_type(const uint8_t *t)
{
    for (int i = 0; i < 4; i++) {
        uint8_t c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return 0;
    }
    return 1;
}

/* Split "keyword\0rest": keyword length, or -1 if no NUL / bad length. */
static int split_keyword(const png_chunk *c, png_walk *w, size_t *kw_len)
{
    const uint8_t *nul = memchr(c->data, 0, c->len);
    if (!nul) return -1;
    *kw_len = (size_t)(nul - c->data);
    if (*kw_len == 0 || *kw_len > PNG_MAX_KEYWORD)
        meta_list_warn(w->out, "%s: keyword of %zu bytes (1-79 allowed)", c->type, *kw_len);
    return 0;
}

/* A chunk past the file's text budget is skipped with a warning: a later,
 * smaller chunk (the parameters after a junk one) is still read. */
static int add_text(png_walk *w, const png_chunk *c, const char *kw, size_t kw_len,
                    const char *text, size_t len, meta_source src, fmt_error *err)
{
    return meta_list_add_or_skip(w->out, c->type, kw, kw_len, text, len, src, err);
}

/* Inflate a compressed text chunk into what is left of the file's budget,
 * at most max_inflate. Returns 0 with *raw set; 1 skipped (a warning said
 * why); a text that outgrew the budget ends the file's text. */
static int inflate_text(png_walk *w, const png_chunk *c, size_t kw_len, const uint8_t *src, size_t n,
                        char **raw, size_t *raw_len)
{
    size_t room = meta_list_room(w->out);
    if (room == 0) return 1;
    size_t limit = room < w->lim->max_inflate ? room : w->lim->max_inflate;
    fmt_error ierr;
    if (!inflate_bounded(src, n, limit, 0, raw, raw_len, &ierr)) return 0;
    if (room < w->lim->max_inflate && strstr(ierr.msg, "exceeds")) {
        meta_list_exhaust(w->out, c->type);
        return 1;
    }
    meta_list_warn(w->out, "%s '%.*s': %s; chunk skipped", c->type, (int)(kw_len > 40 ? 40 : kw_len),
                   (const char *)c->data, ierr.msg);
    return 1;
}

static int read_text(png_walk *w, const png_chunk *c, fmt_error *err)
{
    size_t kw_len;
    if (split_keyword(c, w, &kw_len)) {
        meta_list_warn(w->out, "tEXt: no keyword separator, chunk skipped");
        return 0;
    }
    if (c->len - kw_len - 1 > meta_list_room(w->out)) { /* UTF-8 is never shorter than Latin-1 */
        meta_list_exhaust(w->out, c->type);
        return 0;
    }
    size_t kw8_len, text8_len;
    char *kw = latin1_to_utf8((const char *)c->data, kw_len, &kw8_len);
    char *text = latin1_to_utf8((const char *)c->data + kw_len + 1, c->len - kw_len - 1, &text8_len);
    int rc = (kw && text) ? add_text(w, c, kw, kw8_len, text, text8_len, META_PNG_TEXT, err)
                          : fmt_fail(err, "out of memory");
    free(kw);
    free(text);
    return rc;
}

static int read_ztxt(png_walk *w, const png_chunk *c, fmt_error *err)
{
    size_t kw_len;
    if (split_keyword(c, w, &kw_len) || kw_len + 2 > c->len) {
        meta_list_warn(w->out, "zTXt: malformed header, chunk skipped");
        return 0;
    }
    if (c->data[kw_len + 1] != 0) {
        meta_list_warn(w->out, "zTXt: unknown compression method %u, chunk skipped", c->data[kw_len + 1]);
        return 0;
    }
    char *raw;
    size_t raw_len;
    if (inflate_text(w, c, kw_len, c->data + kw_len + 2, c->len - kw_len - 2, &raw, &raw_len)) return 0;
    size_t kw8_len, text8_len;
    char *kw = latin1_to_utf8((const char *)c->data, kw_len, &kw8_len);
    char *text = latin1_to_utf8(raw, raw_len, &text8_len);
    free(raw);
    int rc = (kw && text) ? add_text(w, c, kw, kw8_len, text, text8_len, META_PNG_ZTXT, err)
                          : fmt_fail(err, "out of memory");
    free(kw);
    free(text);
    return rc;
}

/* iTXt: keyword \0 flag method language \0 translated-keyword \0 text */
static int read_itxt(png_walk *w, const png_chunk *c, fmt_error *err)
{
    size_t kw_len;
    if (split_keyword(c, w, &kw_len) || kw_len + 3 > c->len) {
        meta_list_warn(w->out, "iTXt: malformed header, chunk skipped");
        return 0;
    }
    uint8_t flag = c->data[kw_len + 1], method = c->data[kw_len + 2];
    const uint8_t *p = c->data + kw_len + 3, *end = c->data + c->len;
    const uint8_t *lang_end = memchr(p, 0, (size_t)(end - p));
    const uint8_t *tkw_end = lang_end ? memchr(lang_end + 1, 0, (size_t)(end - lang_end - 1)) : NULL;
    if (!tkw_end) {
        meta_list_warn(w->out, "iTXt: missing language or translated keyword, chunk skipped");
        return 0;
    }
    const uint8_t *text = tkw_end + 1;
    size_t text_len = (size_t)(end - text);
    if (flag > 1 || (flag == 1 && method != 0)) {
        meta_list_warn(w->out, "iTXt: unknown compression flag %u / method %u, chunk skipped", flag, method);
        return 0;
    }
    if (flag == 0)
        return add_text(w, c, (const char *)c->data, kw_len, (const char *)text, text_len,
                        META_PNG_ITXT, err);
    char *raw;
    size_t raw_len;
    if (inflate_text(w, c, kw_len, text, text_len, &raw, &raw_len)) return 0;
    int rc = add_text(w, c, (const char *)c->data, kw_len, raw, raw_len, META_PNG_ITXT, err);
    free(raw);
    return rc;
}

/* A broken Exif block is a warning: the rest of the file is still read. */
static int read_exif(png_walk *w, const png_chunk *c)
{
    fmt_error xerr;
    if (exif_read(c->data, c->len, w->out, &xerr)) meta_list_warn(w->out, "eXIf: %s", xerr.msg);
    return 0;
}

static int read_ihdr(const png_chunk *c, png_header *h, fmt_error *err)
{
    if (c->len != 13) return fmt_fail(err, "IHDR has %u bytes, not 13", c->len);
    const uint8_t *d = c->data;
    h->width = load_be32(d);
    h->height = load_be32(d + 4);
    h->bit_depth = d[8];
    h->color_type = d[9];
    h->interlace = d[12];
    if (h->width == 0 || h->height == 0 || h->width > PNG_MAX_CHUNK_LEN || h->height > PNG_MAX_CHUNK_LEN)
        return fmt_fail(err, "IHDR: invalid size %ux%u", h->width, h->height);
    static const struct { uint8_t type; uint8_t depths; } ok[] = {
        {0, 1 | 2 | 4 | 8 | 16}, {2, 8 | 16}, {3, 1 | 2 | 4 | 8}, {4, 8 | 16}, {6, 8 | 16}};
    int valid = 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i].type == h->color_type && (h->bit_depth & 31) == h->bit_depth &&
            h->bit_depth && (ok[i].depths & h->bit_depth) && !(h->bit_depth & (h->bit_depth - 1)))
            valid = 1;
    if (!valid)
        return fmt_fail(err, "IHDR: invalid colour type %u with bit depth %u", h->color_type, h->bit_depth);
    if (d[10] != 0 || d[11] != 0 || h->interlace > 1)
        return fmt_fail(err, "IHDR: unknown compression, filter or interlace method");
    return 0;
}

static int dispatch(png_walk *w, const png_chunk *c, fmt_error *err)
{
    if (!strcmp(c->type, "tEXt")) return read_text(w, c, err);
    if (!strcmp(c->type, "zTXt")) return read_ztxt(w, c, err);
    if (!strcmp(c->type, "iTXt")) return read_itxt(w, c, err);
    if (!strcmp(c->type, "eXIf")) return read_exif(w, c);
    return 0;
}

int png_read_meta(const uint8_t *data, size_t len, const png_limits *lim, meta_list *out,
                  png_header *hdr, fmt_error *err)
{
    png_limits defaults = png_default_limits();
    png_header local;
    if (!lim) lim = &defaults;
    if (!hdr) hdr = &local;
    memset(hdr, 0, sizeof *hdr);
    out->container = "png";
    if (!png_is_png(data, len)) return fmt_fail(err, len ? "not a PNG file (bad signature)" : "empty file");
    png_walk w = {lim, out};
    size_t pos = 8, n_chunks = 0;
    int seen_iend = 0, seen_idat = 0;
    while (pos < len && !seen_iend) {
        if (len - pos < 12) return fmt_fail(err, "truncated chunk header at byte %zu", pos);
        png_chunk c;
        c.len = load_be32(data + pos);
        memcpy(c.type, data + pos + 4, 4);
        c.type[4] = '\0';
        if (c.len > PNG_MAX_CHUNK_LEN)
            return fmt_fail(err, "chunk length %u at byte %zu exceeds 2^31-1", c.len, pos);
        if (!valid_type(data + pos + 4))
            return fmt_fail(err, "invalid chunk type at byte %zu", pos);
        if ((size_t)c.len > len - pos - 12)
            return fmt_fail(err, "%s chunk at byte %zu claims %u bytes, past the end of the file",
                            c.type, pos, c.len);
        if (++n_chunks > lim->max_chunks)
            return fmt_fail(err, "more than %zu chunks", lim->max_chunks);
        c.data = data + pos + 8;
        if (n_chunks == 1) {
            if (strcmp(c.type, "IHDR")) return fmt_fail(err, "first chunk is %s, not IHDR", c.type);
            if (read_ihdr(&c, hdr, err)) return -1;
            out->width = hdr->width;
            out->height = hdr->height;
        } else if (!strcmp(c.type, "IHDR")) {
            return fmt_fail(err, "second IHDR chunk at byte %zu", pos);
        }
        int is_idat = !strcmp(c.type, "IDAT");
        /* IDAT is never read here (png_verify_crcs does it before decoding
         * pixels). A damaged critical chunk is fatal; a damaged text chunk
         * is still shown, with a warning. */
        if (!is_idat && load_be32(c.data + c.len) != png_crc(data + pos + 4, (size_t)c.len + 4)) {
            if (c.type[0] >= 'A' && c.type[0] <= 'Z')
                return fmt_fail(err, "%s chunk at byte %zu: CRC mismatch", c.type, pos);
            meta_list_warn(out, "%s chunk at byte %zu: CRC mismatch", c.type, pos);
        }
        seen_idat |= is_idat;
        if (!strcmp(c.type, "IEND")) seen_iend = 1;
        else if (!is_idat && dispatch(&w, &c, err)) return -1;
        pos += (size_t)c.len + 12;
    }
    if (seen_iend && pos < len) meta_list_warn(out, "%zu bytes after IEND ignored", len - pos);
    if (!seen_idat) meta_list_warn(out, "no image data (IDAT)");
    if (!seen_iend) meta_list_warn(out, "no IEND chunk: file truncated?");
    return 0;
}

int png_verify_crcs(const uint8_t *data, size_t len, fmt_error *err)
{
    if (!png_is_png(data, len)) return fmt_fail(err, "not a PNG file");
    size_t pos = 8;
    while (len - pos >= 12) {
        uint32_t n = load_be32(data + pos);
        if (n > PNG_MAX_CHUNK_LEN || (size_t)n > len - pos - 12)
            return fmt_fail(err, "chunk at byte %zu runs past the end of the file", pos);
        if (load_be32(data + pos + 8 + n) != png_crc(data + pos + 4, (size_t)n + 4)) {
            if (data[pos + 4] >= 'A' && data[pos + 4] <= 'Z')
                return fmt_fail(err, "%.4s chunk at byte %zu: CRC mismatch", (const char *)data + pos + 4, pos);
        }
        if (!memcmp(data + pos + 4, "IEND", 4)) return 0;
        pos += (size_t)n + 12;
    }
    return fmt_fail(err, "no IEND chunk: file truncated");
}
