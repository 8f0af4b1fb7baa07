/* A strict, bounded JSON parser (RFC 8259). Also accepts NaN, Infinity and
 * -Infinity, which Python's json module writes and real ComfyUI files hold.
 *
 * Two passes over the text. The first checks it and counts what the tree
 * needs: values, keys, string bytes and each container's members. The
 * second builds the tree in one allocation of exactly that size. A tree
 * costs sizeof(json_value) per value plus its strings, with no allocation
 * per value and no container growing by copies; objects with many members
 * also get a hash index of their keys (see json.h). */
#include "format/json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/hash.h"

/* Objects with this many members get an index; smaller ones are scanned
 * (a scan of a few keys costs less than hashing one). */
#define JSON_INDEX_MIN 16

struct json_index {
    hash_index h; /* hash of a key → position of its first member */
};

/* One parse's allocation; json_parse returns &doc->root. */
typedef struct {
    json_value root; /* first, so json_free finds the document from it */
    json_index *indexes;
    size_t n_indexes;
} json_doc;

typedef struct {
    const char *s;
    size_t len, pos;
    size_t depth, values;
    const json_limits *lim;
    fmt_error *err;
    /* First pass: the members of each container, in the order they open,
     * and the totals. */
    size_t *members;
    size_t n_containers, cap_containers;
    size_t keys, bytes, indexes;
    /* Second pass (build != 0): where the next of each goes. */
    int build;
    size_t next_container;
    json_value *next_value;
    char **next_key;
    char *next_byte;
    json_index *next_index;
    hash_seed seed;       /* one per document, for every object's index */
    int seeded;           /* drawn at the first indexed object */
} json_parser;

json_limits json_default_limits(void)
{
    json_limits l;
    l.max_depth = 256;
    l.max_values = 4000000;
    return l;
}

static int jfail(json_parser *p, const char *what)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return fmt_fail(p->err, "json: line %zu column %zu: %s", line, col, what);
}

static void skip_ws(json_parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int literal(json_parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return 0;
    p->pos += n;
    return 1;
}

/* ---- strings ---------------------------------------------------------------- */

static int hex4(json_parser *p, unsigned *out)
{
    if (p->len - p->pos < 4) return jfail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return jfail(p, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

/* The UTF-8 of cp into out (NULL: only counted); its length. */
static size_t put_utf8(char *out, unsigned cp)
{
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (out) memcpy(out, t, n);
    return n;
}

/* The escape after a backslash, decoded into out (NULL: only counted);
 * *n grows by its length. */
static int parse_escape(json_parser *p, char *out, size_t *n)
{
    if (p->pos >= p->len) return jfail(p, "truncated escape");
    char c = p->s[p->pos++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = strchr(from, c);
    if (c && hit) {
        if (out) *out = to[hit - from];
        (*n)++;
        return 0;
    }
    if (c != 'u') return jfail(p, "invalid escape");
    unsigned cp;
    if (hex4(p, &cp)) return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        if (p->len - p->pos >= 6 && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
            size_t save = p->pos;
            p->pos += 2;
            if (hex4(p, &lo)) return -1;
            if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else {
                p->pos = save;
                cp = 0xFFFD;
            }
        } else {
            cp = 0xFFFD;
        }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    *n += put_utf8(out, cp);
    return 0;
}

/* The string opening at p->pos, decoded into out and NUL-terminated (out
 * NULL: only checked); *out_len = its decoded length. */
static int scan_string(json_parser *p, char *out, size_t *out_len)
{
    size_t n = 0;
    p->pos++; /* opening quote */
    for (;;) {
        if (p->pos >= p->len) return jfail(p, "unterminated string");
        size_t start = p->pos;
        while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\\' &&
               (unsigned char)p->s[p->pos] >= 0x20)
            p->pos++;
        if (out) memcpy(out + n, p->s + start, p->pos - start);
        n += p->pos - start;
        if (p->pos >= p->len) continue;
        char c = p->s[p->pos];
        if (c == '"') break;
        if (c == '\\') {
            p->pos++;
            if (parse_escape(p, out ? out + n : NULL, &n)) return -1;
            continue;
        }
        return jfail(p, "control character in string");
    }
    p->pos++;
    if (out) out[n] = '\0';
    *out_len = n;
    return 0;
}

/* A string: counted in the first pass, stored in the second. */
static int take_string(json_parser *p, char **out, size_t *out_len)
{
    size_t n;
    if (!p->build) {
        if (scan_string(p, NULL, &n)) return -1;
        p->bytes += n + 1;
        return 0;
    }
    char *dst = p->next_byte;
    if (scan_string(p, dst, &n)) return -1;
    p->next_byte += n + 1;
    *out = dst;
    *out_len = n;
    return 0;
}

/* ---- numbers ---------------------------------------------------------------- */

static void skip_digits(json_parser *p)
{
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
}

static int digit_at(const json_parser *p)
{
    return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

static int scan_number(json_parser *p)
{
    const char *s = p->s;
    if (literal(p, "NaN") || literal(p, "Infinity") || literal(p, "-Infinity")) return 0;
    if (p->pos < p->len && s[p->pos] == '-') p->pos++;
    if (!digit_at(p)) return jfail(p, "invalid number");
    if (s[p->pos] == '0') p->pos++;
    else skip_digits(p);
    if (p->pos < p->len && s[p->pos] == '.') {
        p->pos++;
        if (!digit_at(p)) return jfail(p, "digit expected after '.'");
        skip_digits(p);
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-')) p->pos++;
        if (!digit_at(p)) return jfail(p, "digit expected in exponent");
        skip_digits(p);
    }
    return 0;
}

/* A number keeps its source text (v->str) and its value. */
static int parse_number(json_parser *p, json_value *v)
{
    size_t start = p->pos;
    if (scan_number(p)) return -1;
    size_t n = p->pos - start;
    if (!p->build) {
        p->bytes += n + 1;
        return 0;
    }
    v->type = JSON_NUMBER;
    v->str = p->next_byte;
    v->len = n;
    memcpy(v->str, p->s + start, n);
    v->str[n] = '\0';
    p->next_byte += n + 1;
    char c = v->str[0] == '-' ? v->str[1] : v->str[0];
    if (c == 'N') v->number = NAN;
    else if (c == 'I') v->number = v->str[0] == '-' ? -INFINITY : INFINITY;
    else v->number = strtod(v->str, NULL);
    return 0;
}

/* ---- containers ------------------------------------------------------------- */

static uint64_t key_hash(const json_index *ix, const char *key)
{
    return hash_index_key(&ix->h, key, strlen(key));
}

/* The first member whose key is `key`, through the index. */
static const json_value *indexed_get(const json_value *obj, uint64_t hash, const char *key)
{
    hash_probe pr = hash_index_probe(&obj->index->h, hash);
    size_t i;
    while (hash_probe_next(&pr, &i))
        if (!strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

/* Index a large object: each distinct key once, at its first member (a
 * repeated key is never added, so no run of equal hashes builds up). */
static int index_object(json_parser *p, json_value *v)
{
    json_index *ix = p->next_index++;
    if (!p->seeded) p->seed = hash_seed_random(), p->seeded = 1;
    if (hash_index_init_seeded(&ix->h, p->seed, v->count, p->err)) return -1;
    v->index = ix;
    for (size_t i = 0; i < v->count; i++) {
        uint64_t h = key_hash(ix, v->keys[i]);
        if (!indexed_get(v, h, v->keys[i]) && hash_index_add(&ix->h, h, i, p->err)) return -1;
    }
    return 0;
}

/* First pass: a container opens; its slot for the member count. */
static int open_container(json_parser *p, size_t *slot)
{
    if (p->n_containers == p->cap_containers) {
        size_t nc = p->cap_containers ? p->cap_containers * 2 : 64, bytes;
        if (size_mul(nc, sizeof *p->members, &bytes)) return fmt_fail(p->err, "json: too many containers");
        size_t *m = realloc(p->members, bytes);
        if (!m) return fmt_fail(p->err, "out of memory");
        p->members = m;
        p->cap_containers = nc;
    }
    *slot = p->n_containers++;
    return 0;
}

/* Second pass: the container's members go to the next free slots. */
static int place_container(json_parser *p, json_value *v, size_t *count)
{
    if (p->next_container >= p->n_containers) return jfail(p, "text changed while parsed");
    *count = p->members[p->next_container++];
    if (*count == 0) return 0;
    v->items = p->next_value;
    p->next_value += *count;
    if (v->type == JSON_OBJECT) {
        v->keys = p->next_key;
        p->next_key += *count;
    }
    return 0;
}

static int parse_value(json_parser *p, json_value *v);

static int parse_member(json_parser *p, json_value *v, size_t i, size_t expect)
{
    json_value *item = NULL;
    if (p->build) {
        if (i >= expect) return jfail(p, "text changed while parsed");
        item = &v->items[i];
    }
    if (v->type == JSON_OBJECT) {
        char *key = NULL;
        size_t klen;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"') return jfail(p, "expected a string key");
        if (take_string(p, &key, &klen)) return -1;
        if (p->build) v->keys[i] = key;
        else p->keys++;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') return jfail(p, "expected ':'");
        p->pos++;
    }
    return parse_value(p, item);
}

/* v: the container (its type set); in the first pass a stand-in whose
 * only use is the type. */
static int parse_container(json_parser *p, json_value *v, char close)
{
    size_t slot = 0, expect = 0, n = 0;
    if (++p->depth > p->lim->max_depth) return jfail(p, "nesting too deep");
    if (p->build ? place_container(p, v, &expect) : open_container(p, &slot)) return -1;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            if (parse_member(p, v, n++, expect)) return -1;
            skip_ws(p);
            if (p->pos >= p->len) return jfail(p, "unexpected end of input");
            char c = p->s[p->pos++];
            if (c == close) break;
            if (c != ',') return jfail(p, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
        }
    }
    p->depth--;
    int indexed = v->type == JSON_OBJECT && n >= JSON_INDEX_MIN;
    if (!p->build) {
        p->members[slot] = n;
        p->indexes += (size_t)indexed;
        return 0;
    }
    if (n != expect) return jfail(p, "text changed while parsed");
    v->count = n;
    return indexed ? index_object(p, v) : 0;
}

static int parse_value(json_parser *p, json_value *v)
{
    json_value scratch;
    if (!v) v = &scratch; /* first pass: nothing is kept */
    memset(v, 0, sizeof *v);
    if (++p->values > p->lim->max_values) return jfail(p, "too many values");
    skip_ws(p);
    if (p->pos >= p->len) return jfail(p, "unexpected end of input");
    char c = p->s[p->pos];
    switch (c) {
    case '{': v->type = JSON_OBJECT; return parse_container(p, v, '}');
    case '[': v->type = JSON_ARRAY; return parse_container(p, v, ']');
    case '"': v->type = JSON_STRING; return take_string(p, &v->str, &v->len);
    default: break;
    }
    if (literal(p, "null")) v->type = JSON_NULL;
    else if (literal(p, "true")) v->type = JSON_TRUE;
    else if (literal(p, "false")) v->type = JSON_FALSE;
    else if (c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I') return parse_number(p, v);
    else return jfail(p, "unexpected character");
    return 0;
}

/* ---- the document ----------------------------------------------------------- */

/* One pass over the whole text (trailing whitespace only). */
static int parse_text(json_parser *p, json_value *root)
{
    p->pos = p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    p->depth = p->values = 0;
    if (parse_value(p, root)) return -1;
    skip_ws(p);
    return p->pos == p->len ? 0 : jfail(p, "trailing characters after the value");
}

/* Memory for a tree; from 2 MiB up in transparent huge pages where the
 * kernel offers them (its "madvise" mode). Building a large tree is mostly
 * the first touch of fresh memory: a 466k-object, 16 MiB array took 0.51 s
 * in 4 KiB pages and 0.08 s in 2 MiB ones on the test VM. */
static void *tree_alloc(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < huge || bytes > SIZE_MAX - huge) return malloc(bytes);
    size_t size = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, size);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, size, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
    return p;
}

/* The document's allocation: the header and root, the values, the indexes,
 * the key pointers, the string bytes (in that order, all aligned). */
static json_doc *alloc_doc(json_parser *p)
{
    size_t values = p->values - 1; /* the root lives in the header */
    size_t at_values = sizeof(json_doc), at_indexes, at_keys, at_bytes, total, n;
    if (size_mul(values, sizeof(json_value), &n) || size_add(at_values, n, &at_indexes) ||
        size_mul(p->indexes, sizeof(json_index), &n) || size_add(at_indexes, n, &at_keys) ||
        size_mul(p->keys, sizeof(char *), &n) || size_add(at_keys, n, &at_bytes) ||
        size_add(at_bytes, p->bytes, &total)) {
        fmt_fail(p->err, "json: the tree is too large");
        return NULL;
    }
    unsigned char *mem = tree_alloc(total);
    if (!mem) {
        fmt_fail(p->err, "out of memory (JSON tree of %zu bytes)", total);
        return NULL;
    }
    json_doc *doc = (json_doc *)mem;
    memset(doc, 0, sizeof *doc);
    doc->indexes = (json_index *)(mem + at_indexes);
    memset(doc->indexes, 0, at_keys - at_indexes);
    doc->n_indexes = p->indexes;
    p->next_value = (json_value *)(mem + at_values);
    p->next_index = doc->indexes;
    p->next_key = (char **)(mem + at_keys);
    p->next_byte = (char *)(mem + at_bytes);
    return doc;
}

json_value *json_parse(const char *text, size_t len, const json_limits *lim, fmt_error *err)
{
    json_limits defaults = json_default_limits();
    json_parser p;
    memset(&p, 0, sizeof p);
    p.s = text;
    p.len = len;
    p.lim = lim ? lim : &defaults;
    p.err = err;
    json_doc *doc = NULL;
    if (parse_text(&p, NULL) == 0 && (doc = alloc_doc(&p)) != NULL) {
        p.build = 1;
        if (parse_text(&p, &doc->root)) {
            json_free(&doc->root);
            doc = NULL;
        }
    }
    free(p.members);
    return doc ? &doc->root : NULL;
}

void json_free(json_value *v)
{
    if (!v) return;
    json_doc *doc = (json_doc *)v;
    for (size_t i = 0; i < doc->n_indexes; i++) hash_index_free(&doc->indexes[i].h);
    free(doc);
}

/* ---- access ----------------------------------------------------------------- */

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    if (obj->index) return indexed_get(obj, key_hash(obj->index, key), key);
    for (size_t i = 0; i < obj->count; i++)
        if (obj->keys[i] && !strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

const json_value *json_at(const json_value *arr, size_t i)
{
    if (!arr || arr->type != JSON_ARRAY || i >= arr->count) return NULL;
    return &arr->items[i];
}

const char *json_str(const json_value *v)
{
    return v && v->type == JSON_STRING ? v->str : NULL;
}
