/* Code point buffers and UTF-8 with CPython's errors='replace' behaviour. */
#include <stdlib.h>

#include "engine/clip_text.h"
#include "engine/clip_unicode.h"

int clip_cps_reserve(clip_cps *b, size_t cap)
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

void clip_cps_free(clip_cps *b)
{
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

void clip_cps_swap(clip_cps *a, clip_cps *b)
{
    clip_cps t = *a;
    *a = *b;
    *b = t;
}

static int is_cont(unsigned char b) { return (b & 0xC0) == 0x80; }

/* Length of the sequence starting at s[0] and its code point; a length with
 * *cp == CLIP_REPLACEMENT for an ill-formed prefix (its maximal subpart). */
static size_t decode_one(const unsigned char *s, size_t left, uint32_t *cp)
{
    unsigned char b = s[0];
    *cp = CLIP_REPLACEMENT;
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
    if (left < 2 || s[1] < lo || s[1] > hi) return 1;
    size_t k = 2;
    while (k < need && k < left && is_cont(s[k])) k++;
    if (k < need) return k;
    uint32_t c = b & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < need; i++) c = c << 6 | (s[i] & 0x3F);
    *cp = c;
    return need;
}

int clip_utf8_decode(const unsigned char *s, size_t len, clip_cps *out)
{
    out->n = 0;
    if (clip_cps_reserve(out, len + 1)) return -1;
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        i += decode_one(s + i, len - i, &c);
        out->v[out->n++] = c;
    }
    return 0;
}

size_t clip_utf8_encode(uint32_t c, unsigned char out[4])
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
