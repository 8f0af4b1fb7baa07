/* HTML character references, twice over: ftfy's cautious unescape_html (only
 * complete "&...;" references) and Python's html.unescape (HTML5 tokenizer
 * rules). Both write no more code points than they read. */
#include "engine/text/clean.h"
#include "engine/text/unicode.h"

static int is_alnum(uint32_t c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }

static int is_hex(uint32_t c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

static uint32_t hex_value(uint32_t c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

/* What html.unescape makes of the number of a numeric reference: 0 or 1 code
 * point. `num` is saturated at 0x110000 by the callers. */
static size_t charref_value(uint32_t num, uint32_t *out)
{
    if (num == 0) return *out = UTF8_REPLACEMENT, 1;
    if (num == 0x0D) return *out = 0x0D, 1;
    if (num >= 0x80 && num <= 0x9F) return *out = ucd_c1[num - 0x80], 1;
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return *out = UTF8_REPLACEMENT, 1;
    if ((num >= 0x01 && num <= 0x08) || num == 0x0B || (num >= 0x0E && num <= 0x1F) || num == 0x7F ||
        (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE)
        return 0;
    *out = num;
    return 1;
}

/* Digits v[0..n) in base 10 or 16, saturated just past the code space. */
static uint32_t parse_number(const uint32_t *v, size_t n, int hex)
{
    uint32_t num = 0;
    for (size_t i = 0; i < n; i++) {
        num = num * (hex ? 16 : 10) + (hex ? hex_value(v[i]) : v[i] - '0');
        if (num > 0x10FFFF) return 0x110000;
    }
    return num;
}

/* ---- ftfy.fixes.unescape_html ------------------------------------------- */

/* The ftfy entity HTML_ENTITY_RE matched: "&" "#"? name ";" with name of 1..24
 * ASCII letters/digits. Returns the length of the match at v[i] (v[i] == '&'),
 * 0 if none, and where the name starts. */
static size_t ftfy_match(const uint32_t *v, size_t n, size_t i, size_t *name_at)
{
    size_t j = i + 1;
    for (int hash = 1; hash >= 0; hash--) {
        size_t s = j;
        if (hash) {
            if (s >= n || v[s] != '#') continue;
            s++;
        }
        size_t e = s;
        while (e < n && e - s < 25 && is_alnum(v[e])) e++;
        if (e > s && e - s <= 24 && e < n && v[e] == ';') {
            *name_at = s;
            return e + 1 - i;
        }
    }
    return 0;
}

/* A numeric reference "&#digits;" / "&#xhex;" that html.unescape consumes whole
 * and whose result holds no ';' (ftfy keeps the text otherwise). Returns 1 and
 * the code points (0 or 1 of them), or 0 to keep the text. */
static int ftfy_numeric(const uint32_t *name, size_t len, uint32_t *out, size_t *count)
{
    int hex = (name[0] | 0x20) == 'x';
    size_t from = hex ? 1 : 0;
    if (from == len) return 0;
    for (size_t k = from; k < len; k++)
        if (hex ? !is_hex(name[k]) : !is_digit(name[k])) return 0;
    *count = charref_value(parse_number(name + from, len - from, hex), out);
    return !(*count == 1 && *out == ';');
}

/* Upper-case form: "&NTILDE;" for an all-lower-case name ftfy admits. */
static const ucd_entity *ftfy_upper_entity(const uint32_t *name, size_t len)
{
    uint32_t low[24];
    for (size_t k = 0; k < len; k++) {
        if (name[k] >= 'a' && name[k] <= 'z') return NULL;
        low[k] = name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k];
    }
    const ucd_entity *e = uc_entity(low, len);
    return e && (e->flags & UC_ENTITY_UPPER) ? e : NULL;
}

static void put_values(cp_buf *o, const uint32_t *v, size_t max)
{
    for (size_t k = 0; k < max && v[k]; k++) o->v[o->n++] = v[k];
}

int clip_ftfy_unescape_html(cp_buf *t, cp_buf *scratch)
{
    const uint32_t *v = t->v;
    size_t n = t->n, i = 0;
    if (cp_buf_reserve(scratch, n + 1)) return -1;
    scratch->n = 0;
    while (i < n) {
        size_t name_at, m = v[i] == '&' ? ftfy_match(v, n, i, &name_at) : 0;
        if (!m) {
            scratch->v[scratch->n++] = v[i++];
            continue;
        }
        const uint32_t *name = v + name_at;
        size_t len = i + m - 1 - name_at;
        const ucd_entity *e;
        uint32_t c;
        size_t count;
        if (name_at == i + 1 && (e = uc_entity(name, len)) && (e->flags & UC_ENTITY_SEMI))
            put_values(scratch, e->value, 2);
        else if (name_at == i + 1 && (e = ftfy_upper_entity(name, len)))
            put_values(scratch, e->upper, 3);
        else if (name_at == i + 2 && ftfy_numeric(name, len, &c, &count)) {
            if (count) scratch->v[scratch->n++] = c;
        } else {
            for (size_t k = 0; k < m; k++) scratch->v[scratch->n++] = v[i + k];
        }
        i += m;
    }
    cp_buf_swap(t, scratch);
    return 0;
}

/* ---- html.unescape ---------------------------------------------------- */

/* html's _charref: '&' then "#[0-9]+;?" | "#[xX][0-9a-fA-F]+;?" |
 * "[^\t\n\f <&#;]{1,32};?". Appends the replacement and returns the match
 * length at v[i] (v[i] == '&'), or 0 when nothing matches. */
static size_t html_ref(const uint32_t *v, size_t n, size_t i, cp_buf *o)
{
    size_t j = i + 1;
    if (j < n && v[j] == '#') {
        int hex = j + 1 < n && (v[j + 1] | 0x20) == 'x';
        size_t s = j + 1 + (hex ? 1 : 0), e = s;
        while (e < n && (hex ? is_hex(v[e]) : is_digit(v[e]))) e++;
        if (e == s && hex) { /* "&#x" without digits: try the decimal form */
            hex = 0;
            s = e = j + 1;
        }
        if (e == s) return 0;
        uint32_t c;
        if (charref_value(parse_number(v + s, e - s, hex), &c)) o->v[o->n++] = c;
        return e + (e < n && v[e] == ';') - i;
    }
    size_t e = j;
    while (e < n && e - j < 32 && v[e] != '\t' && v[e] != '\n' && v[e] != '\f' && v[e] != ' ' &&
           v[e] != '<' && v[e] != '&' && v[e] != '#' && v[e] != ';')
        e++;
    if (e == j) return 0;
    int semi = e < n && v[e] == ';';
    const ucd_entity *ent = uc_entity(v + j, e - j);
    if (ent && (ent->flags & (semi ? UC_ENTITY_SEMI : UC_ENTITY_LEGACY))) {
        put_values(o, ent->value, 2);
        return e + semi - i;
    }
    /* The longest legacy name that is a proper prefix (at least 2 long). */
    size_t len = e + semi - j;
    for (size_t x = len - 1; x >= 2; x--) {
        if (x > e - j) continue; /* the prefix would end in ';' */
        ent = uc_entity(v + j, x);
        if (ent && (ent->flags & UC_ENTITY_LEGACY)) {
            put_values(o, ent->value, 2);
            for (size_t k = j + x; k < e + semi; k++) o->v[o->n++] = v[k];
            return e + semi - i;
        }
    }
    for (size_t k = i; k < e + semi; k++) o->v[o->n++] = v[k];
    return e + semi - i;
}

int clip_html_unescape(cp_buf *t, cp_buf *scratch)
{
    const uint32_t *v = t->v;
    size_t n = t->n, i = 0;
    while (i < n && v[i] != '&') i++;
    if (i == n) return 0;
    if (cp_buf_reserve(scratch, n + 1)) return -1;
    scratch->n = 0;
    for (size_t k = 0; k < i; k++) scratch->v[scratch->n++] = v[k];
    while (i < n) {
        size_t m = v[i] == '&' ? html_ref(v, n, i, scratch) : 0;
        if (m)
            i += m;
        else
            scratch->v[scratch->n++] = v[i++];
    }
    cp_buf_swap(t, scratch);
    return 0;
}
