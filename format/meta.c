#include "format/meta.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define META_MAX_ENTRIES 4096

#define BUDGET_MESSAGE "text beyond the per-file budget of"

void meta_list_init(meta_list *m)
{
    memset(m, 0, sizeof *m);
    m->budget = META_DEFAULT_BUDGET;
}

size_t meta_list_room(const meta_list *m)
{
    return !m->exhausted && m->text_total < m->budget ? m->budget - m->text_total : 0;
}

/* "16 MiB", or "1000 bytes" for a budget that is not whole MiB. */
static const char *budget_text(size_t budget, char out[32])
{
    if (budget && budget % ((size_t)1 << 20) == 0) snprintf(out, 32, "%zu MiB", budget >> 20);
    else snprintf(out, 32, "%zu bytes", budget);
    return out;
}

void meta_list_exhaust(meta_list *m, const char *where)
{
    char b[32];
    if (!m->exhausted)
        meta_list_warn(m, "%s: " BUDGET_MESSAGE " %s; the rest of the file's text skipped", where,
                       budget_text(m->budget, b));
    m->exhausted = 1;
}

void meta_list_free(meta_list *m)
{
    size_t budget = m->budget;
    for (size_t i = 0; i < m->count; i++) {
        free(m->items[i].keyword);
        free(m->items[i].text);
    }
    free(m->items);
    meta_list_init(m);
    m->budget = budget;
}

int meta_list_add(meta_list *m, const char *keyword, size_t kw_len, const char *text,
                  size_t text_len, meta_source source, fmt_error *err)
{
    size_t total;
    if (m->exhausted || size_add(m->text_total, kw_len, &total) || size_add(total, text_len, &total) ||
        total > m->budget) {
        char b[32];
        m->exhausted = 1;
        return fmt_fail(err, BUDGET_MESSAGE " %s: '%.*s' of %zu bytes not kept", budget_text(m->budget, b),
                        (int)(kw_len > 40 ? 40 : kw_len), keyword, text_len);
    }
    if (m->count >= META_MAX_ENTRIES)
        return fmt_fail(err, "more than %d text entries", META_MAX_ENTRIES);
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        meta_entry *p = realloc(m->items, cap * sizeof *p);
        if (!p) return fmt_fail(err, "out of memory");
        m->items = p;
        m->cap = cap;
    }
    meta_entry *e = &m->items[m->count];
    e->keyword = str_ndup(keyword, kw_len);
    e->text = str_ndup(text, text_len);
    if (!e->keyword || !e->text) {
        free(e->keyword);
        free(e->text);
        return fmt_fail(err, "out of memory (%zu bytes of text)", text_len);
    }
    e->text_len = text_len;
    e->source = source;
    m->count++;
    m->text_total = total;
    return 0;
}

int meta_list_add_or_skip(meta_list *m, const char *where, const char *keyword, size_t kw_len,
                          const char *text, size_t text_len, meta_source source, fmt_error *err)
{
    fmt_error local;
    if (!err) err = &local;
    int was_exhausted = m->exhausted;
    if (!meta_list_add(m, keyword, kw_len, text, text_len, source, err)) return 0;
    if (!m->exhausted) return -1; /* a failure other than the budget's */
    if (!was_exhausted) meta_list_warn(m, "%s: %s; the rest of the file's text skipped", where, err->msg);
    return 0;
}

void meta_list_warn(meta_list *m, const char *fmt, ...)
{
    if (m->n_warnings >= META_MAX_WARNINGS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->warnings[m->n_warnings], META_WARNING_LEN, fmt, ap);
    va_end(ap);
    m->n_warnings++;
}

const meta_entry *meta_list_find(const meta_list *m, const char *keyword)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->items[i].keyword, keyword) == 0) return &m->items[i];
    return NULL;
}

const char *meta_source_name(meta_source s)
{
    switch (s) {
    case META_PNG_TEXT: return "tEXt";
    case META_PNG_ZTXT: return "zTXt";
    case META_PNG_ITXT: return "iTXt";
    case META_EXIF: return "Exif";
    case META_JPEG_COM: return "COM";
    case META_STEALTH: return "stealth";
    }
    return "?";
}

char *latin1_to_utf8(const char *s, size_t n, size_t *out_len)
{
    size_t cap;
    if (size_mul(n, 2, &cap) || size_add(cap, 1, &cap)) return NULL;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            out[j++] = (char)c;
        } else {
            out[j++] = (char)(0xC0 | (c >> 6));
            out[j++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[j] = '\0';
    if (out_len) *out_len = j;
    return out;
}

int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                   : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        if (!len || len > n - i) return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        if (len == 3 && ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0))) return 0;
        if (len == 4 && ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))) return 0;
        i += len;
    }
    return 1;
}

char *bytes_to_utf8(const unsigned char *p, size_t n, size_t *out_len)
{
    const unsigned char *nul = memchr(p, 0, n);
    if (nul) n = (size_t)(nul - p);
    if (utf8_valid(p, n)) {
        char *s = str_ndup((const char *)p, n);
        if (s && out_len) *out_len = n;
        return s;
    }
    return latin1_to_utf8((const char *)p, n, out_len);
}
