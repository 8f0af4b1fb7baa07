/* UTF-8 with CPython's errors='replace' behaviour, and code point buffers. */
#include <stdlib.h>

#include "engine/text/utf8.h"

int cp_buf_reserve(cp_buf *b, size_t cap)
{
    if (cap <= b->cap) return 0;
    if (cap > SIZE_MAX / sizeof(uint32_t) / 2) return -1;
    size_t want = b->cap ? b->cap : 64;
    while (want < cap) want *= 2;
    uint32_t *v = realloc(b->v, want * sizeof(uint32_t));
    if (!v) return -1;
    b->v = v;
    b->cap = want;
    return 0;
}

void cp_buf_free(cp_buf *b)
{
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

void cp_buf_swap(cp_buf *a, cp_buf *b)
{
    cp_buf t = *a;
    *a = *b;
    *b = t;
}

static int is_cont(unsigned char b) { return (b & 0xC0) == 0x80; }

size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char b = s[0];
    *cp = UTF8_REPLACEMENT;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF)
        need = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        need = 3, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4)
        need = 4, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    else
        return 1;
    if (len < 2 || s[1] < lo || s[1] > hi) return 1;
    size_t k = 2;
    while (k < need && k < len && is_cont(s[k])) k++;
    if (k < need) return k; /* the maximal subpart ends here */
    uint32_t c = b & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < need; i++) c = c << 6 | (s[i] & 0x3F);
    *cp = c;
    return need;
}

size_t utf8_count(const unsigned char *s, size_t len)
{
    size_t n = 0;
    uint32_t cp;
    for (size_t i = 0; i < len; n++) i += utf8_next(s + i, len - i, &cp);
    return n;
}

int utf8_decode(const unsigned char *s, size_t len, cp_buf *out)
{
    out->n = 0;
    if (cp_buf_reserve(out, len + 1)) return -1;
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        i += utf8_next(s + i, len - i, &c);
        out->v[out->n++] = c;
    }
    return 0;
}

size_t utf8_encode(uint32_t c, unsigned char out[4])
{
    if (c < 0x80) {
        out[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (unsigned char)(0xC0 | c >> 6);
        out[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (unsigned char)(0xE0 | c >> 12);
        out[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | c >> 18);
    out[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}
