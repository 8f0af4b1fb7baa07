/* Unicode look-ups for the BERT tokenizer (see bert_unicode.h). */
#include "engine/bert_unicode.h"

typedef struct {
    uint32_t first, last;
    int32_t delta;
    uint32_t stride;
} bu_lower_range;
typedef struct {
    uint32_t from, to;
} bu_pair;
typedef struct {
    uint32_t from, n, cp[3];
} bu_decomp_many;

#include "engine/bert_unicode_tables.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int bu_class(uint32_t cp)
{
    size_t lo = 0, hi = COUNT(tab_class_runs); /* last run starting <= cp */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((tab_class_runs[mid] >> 3) <= cp) lo = mid;
        else hi = mid;
    }
    if (cp >= 0x110000) return BU_DROP;
    return (int)(tab_class_runs[lo] & 7);
}

int bu_lower(uint32_t cp, uint32_t out[2])
{
    if (cp == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = cp;
    if (cp < 'A') return 1;
    size_t lo = 0, hi = COUNT(tab_lower);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab_lower[mid].last < cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo < COUNT(tab_lower)) {
        const bu_lower_range *r = &tab_lower[lo];
        if (cp >= r->first && (cp - r->first) % r->stride == 0) out[0] = (uint32_t)((int32_t)cp + r->delta);
    }
    return 1;
}

static const bu_pair *find_pair(const bu_pair *t, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].from < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && t[lo].from == cp ? &t[lo] : NULL;
}

int bu_decompose(uint32_t cp, uint32_t out[3])
{
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: L V [T] jamo */
        uint32_t s = cp - 0xAC00, t = s % 28;
        out[0] = 0x1100 + s / (21 * 28);
        out[1] = 0x1161 + (s % (21 * 28)) / 28;
        if (!t) return 2;
        out[2] = 0x11A7 + t;
        return 3;
    }
    out[0] = cp;
    if (cp < 0xC0) return 1;
    const bu_pair *p = find_pair(tab_decomp1, COUNT(tab_decomp1), cp);
    if (p) {
        out[0] = p->to;
        return 1;
    }
    size_t lo = 0, hi = COUNT(tab_decompn);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab_decompn[mid].from < cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo == COUNT(tab_decompn) || tab_decompn[lo].from != cp) return 1;
    for (uint32_t k = 0; k < tab_decompn[lo].n; k++) out[k] = tab_decompn[lo].cp[k];
    return (int)tab_decompn[lo].n;
}

int bu_ccc_nonmark(uint32_t cp)
{
    const bu_pair *p = cp < 0x1700 ? NULL : find_pair(tab_ccc, COUNT(tab_ccc), cp);
    return p ? (int)p->to : 0;
}

int bu_is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int bu_is_pyspace(uint32_t cp)
{
    return (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

size_t bu_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    uint32_t v;
    if (b >= 0xC2 && b <= 0xDF) need = 1, v = b & 0x1F;
    else if (b >= 0xE0 && b <= 0xEF) need = 2, v = b & 0x0F;
    else if (b >= 0xF0 && b <= 0xF4) need = 3, v = b & 0x07;
    else {
        *cp = 0xFFFD;
        return 1;
    }
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    for (size_t i = 1; i <= need; i++) {
        unsigned c = i < len ? s[i] : 0;
        unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (i >= len || c < l || c > h) { /* maximal subpart ends here */
            *cp = 0xFFFD;
            return i;
        }
        v = (v << 6) | (c & 0x3F);
    }
    *cp = v;
    return need + 1;
}

size_t bu_utf8_put(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t bu_utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    uint32_t cp;
    for (size_t i = 0; i < len; n++) i += bu_utf8_next((const unsigned char *)s + i, len - i, &cp);
    return n;
}
