/* The text a file carries, as found: one entry per text chunk / Exif field.
 * Readers (png.c, jpeg.c, webp.c, exif.c, stealth.c) append to a meta_list;
 * the generation-parameter parsers (gen_params.h) read it. */
#ifndef UNPROMPT_FORMAT_META_H
#define UNPROMPT_FORMAT_META_H

#include <stddef.h>

#include "base/error.h"

typedef enum {
    META_PNG_TEXT,   /* tEXt, Latin-1 converted to UTF-8 */
    META_PNG_ZTXT,   /* zTXt, inflated, Latin-1 converted to UTF-8 */
    META_PNG_ITXT,   /* iTXt, UTF-8, compressed or not */
    META_EXIF,       /* an Exif field (PNG eXIf, JPEG APP1, WebP EXIF) */
    META_JPEG_COM,   /* JPEG COM segment */
    META_STEALTH     /* A1111 stealth info hidden in pixel LSBs */
} meta_source;

typedef struct {
    char *keyword;   /* NUL-terminated UTF-8, e.g. "parameters", "prompt", "UserComment" */
    char *text;      /* NUL-terminated UTF-8 (may contain no NUL itself) */
    size_t text_len; /* bytes in text, excluding the terminator */
    meta_source source;
} meta_entry;

/* The per-file budget: all text decoded from one file (keywords and texts
 * of every entry, whatever the source: text chunks, Exif, comments, stealth
 * bits) may not exceed it, and neither may any output made from it. One
 * number, so a small file cannot turn into gigabytes of text. */
#define META_DEFAULT_BUDGET ((size_t)16 << 20)

#define META_MAX_WARNINGS 8
#define META_WARNING_LEN 160

typedef struct {
    meta_entry *items;
    size_t count, cap;
    /* Non-fatal problems (CRC mismatch, truncated trailing data...). */
    char warnings[META_MAX_WARNINGS][META_WARNING_LEN];
    int n_warnings;
    /* Image facts the reader saw, 0 if unknown. */
    unsigned width, height;
    const char *container; /* "png", "jpeg", "webp", or NULL */
    size_t budget;         /* bytes of text allowed; META_DEFAULT_BUDGET after init */
    size_t text_total;     /* bytes of text held (keywords + texts) */
    int exhausted;         /* an entry did not fit: the rest of the file's text is skipped */
} meta_list;

void meta_list_init(meta_list *m);
void meta_list_free(meta_list *m);
/* Copies keyword and text. Text must already be UTF-8. Fails with "text
 * beyond the per-file budget of N MiB" when the entry would take the total
 * past m->budget; the list is then exhausted (m->exhausted, which tells
 * that failure apart) and accepts nothing more, so a file cannot make its
 * readers decode text again and again only to throw it away. */
int meta_list_add(meta_list *m, const char *keyword, size_t kw_len, const char *text,
                  size_t text_len, meta_source source, fmt_error *err);
/* meta_list_add, except that an entry beyond the budget is skipped with one
 * warning naming `where` (returns 0), as is everything after it. -1 only for
 * other failures (too many entries, out of memory). */
int meta_list_add_or_skip(meta_list *m, const char *where, const char *keyword, size_t kw_len,
                          const char *text, size_t text_len, meta_source source, fmt_error *err);
/* Bytes of text still allowed (0 once exhausted). Readers bound a
 * decoder's output by it before decoding (inflate limits, UTF-16
 * conversion) and decode nothing when it is 0. */
size_t meta_list_room(const meta_list *m);
/* A decoder stopped at meta_list_room(): mark the list exhausted, with one
 * warning naming `where`. */
void meta_list_exhaust(meta_list *m, const char *where);
void meta_list_warn(meta_list *m, const char *fmt, ...) FMT_PRINTF(2, 3);
/* First entry with this keyword (exact match), or NULL. */
const meta_entry *meta_list_find(const meta_list *m, const char *keyword);
const char *meta_source_name(meta_source s);

/* Latin-1 → UTF-8 (tEXt/zTXt are Latin-1 by the PNG specification). */
char *latin1_to_utf8(const char *s, size_t n, size_t *out_len);
/* 1 if the n bytes are well-formed UTF-8. */
int utf8_valid(const unsigned char *s, size_t n);
/* Text of unknown encoding: kept if valid UTF-8, else read as Latin-1.
 * Stops at the first NUL. malloc'd, NULL when out of memory. */
char *bytes_to_utf8(const unsigned char *p, size_t n, size_t *out_len);

#endif
