/* Lookups over the generated Unicode tables (bisection), Hangul arithmetic. */
#include "engine/text/unicode.h"

static int in_ranges(const ucd_range *r, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid].lo)
            hi = mid;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int uc_is_letter(uint32_t c)
{
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return in_ranges(ucd_letters, ucd_letters_count, c);
}

int uc_is_number(uint32_t c)
{
    if (c < 0x80) return c >= '0' && c <= '9';
    return in_ranges(ucd_numbers, ucd_numbers_count, c);
}

int uc_is_decimal(uint32_t c)
{
    if (c < 0x80) return c >= '0' && c <= '9';
    return in_ranges(ucd_decimal, ucd_decimal_count, c);
}

/* The generator checks both sets against the regex module and str.isspace(). */
int uc_is_regex_space(uint32_t c)
{
    if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
    if (c < 0x85) return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

int uc_is_py_space(uint32_t c)
{
    return uc_is_regex_space(c) || (c >= 0x1C && c <= 0x1F);
}

int uc_is_unmatched(uint32_t c) { return c == 0x345; }

int uc_bert_class(uint32_t c)
{
    if (c >= 0x110000) return UC_BERT_DROP;
    size_t lo = 0, hi = ucd_bert_class_runs_count; /* the last run starting <= c */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((ucd_bert_class_runs[mid] >> 3) <= c)
            lo = mid;
        else
            hi = mid;
    }
    return (int)(ucd_bert_class_runs[lo] & 7);
}

int uc_is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

uint32_t uc_lower(uint32_t c)
{
    if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    size_t lo = 0, hi = ucd_lower_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ucd_lower_run *r = &ucd_lower[mid];
        if (c < r->lo)
            hi = mid;
        else if (c > r->hi)
            lo = mid + 1;
        else
            return (c - r->lo) % r->stride == 0 ? (uint32_t)((int64_t)c + r->delta) : c;
    }
    return c;
}

int uc_is_cased(uint32_t c) { return in_ranges(ucd_cased, ucd_cased_count, c); }

int uc_is_case_ignorable(uint32_t c)
{
    return in_ranges(ucd_case_ignorable, ucd_case_ignorable_count, c);
}

uint8_t uc_ccc(uint32_t c)
{
    if (c < 0x300) return 0;
    size_t lo = 0, hi = ucd_ccc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < ucd_ccc[mid].lo)
            hi = mid;
        else if (c > ucd_ccc[mid].hi)
            lo = mid + 1;
        else
            return ucd_ccc[mid].ccc;
    }
    return 0;
}

/* Hangul syllables (Unicode §3.12). */
enum {
    H_SBASE = 0xAC00, H_LBASE = 0x1100, H_VBASE = 0x1161, H_TBASE = 0x11A7,
    H_LCOUNT = 19, H_VCOUNT = 21, H_TCOUNT = 28, H_NCOUNT = H_VCOUNT * H_TCOUNT,
    H_SCOUNT = H_LCOUNT * H_NCOUNT
};

static const ucd_pair_map *find_decomp(uint32_t c)
{
    size_t lo = 0, hi = ucd_decomp_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < ucd_decomp[mid].cp)
            hi = mid;
        else if (c > ucd_decomp[mid].cp)
            lo = mid + 1;
        else
            return &ucd_decomp[mid];
    }
    return NULL;
}

size_t uc_decompose(uint32_t c, uint32_t out[4])
{
    if (c >= H_SBASE && c < H_SBASE + H_SCOUNT) {
        uint32_t s = c - H_SBASE;
        out[0] = H_LBASE + s / H_NCOUNT;
        out[1] = H_VBASE + (s % H_NCOUNT) / H_TCOUNT;
        if (s % H_TCOUNT == 0) return 2;
        out[2] = H_TBASE + s % H_TCOUNT;
        return 3;
    }
    /* Only first halves decompose further (checked by the generator), at most
     * 4 code points in all. */
    uint32_t tail[4];
    size_t nt = 0;
    const ucd_pair_map *d;
    while (c >= 0xC0 && (d = find_decomp(c)) != NULL && nt < 3) {
        if (d->second) tail[nt++] = d->second;
        c = d->first;
    }
    size_t n = 0;
    out[n++] = c;
    while (nt > 0) out[n++] = tail[--nt];
    return n;
}

uint32_t uc_compose(uint32_t a, uint32_t b)
{
    if (a >= H_LBASE && a < H_LBASE + H_LCOUNT && b >= H_VBASE && b < H_VBASE + H_VCOUNT)
        return H_SBASE + ((a - H_LBASE) * H_VCOUNT + (b - H_VBASE)) * H_TCOUNT;
    if (a >= H_SBASE && a < H_SBASE + H_SCOUNT && (a - H_SBASE) % H_TCOUNT == 0 && b > H_TBASE &&
        b < H_TBASE + H_TCOUNT)
        return a + (b - H_TBASE);
    size_t lo = 0, hi = ucd_compose_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ucd_pair_map *p = &ucd_decomp[ucd_compose[mid]];
        if (a < p->first || (a == p->first && b < p->second))
            hi = mid;
        else if (a > p->first || b > p->second)
            lo = mid + 1;
        else
            return p->cp;
    }
    return 0;
}

const ucd_expand *uc_expand(const ucd_expand *table, size_t count, uint32_t c)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < table[mid].from)
            hi = mid;
        else if (c > table[mid].from)
            lo = mid + 1;
        else
            return &table[mid];
    }
    return NULL;
}

/* strcmp order of name[0..len) against an ASCII C string. */
static int name_cmp(const uint32_t *name, size_t len, const char *s)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b == 0) return 1;
        if (name[i] != b) return name[i] < b ? -1 : 1;
    }
    return s[len] ? -1 : 0;
}

const ucd_entity *uc_entity(const uint32_t *name, size_t len)
{
    size_t lo = 0, hi = ucd_entities_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(name, len, ucd_entities[mid].name);
        if (c < 0)
            hi = mid;
        else if (c > 0)
            lo = mid + 1;
        else
            return &ucd_entities[mid];
    }
    return NULL;
}
