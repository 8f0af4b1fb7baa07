/* A strict, bounded JSON parser (RFC 8259). Also accepts NaN, Infinity and
 * -Infinity, which Python's json module writes and real ComfyUI files hold. */
#include "format/json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len, pos;
    size_t depth, values;
    const json_limits *lim;
    fmt_error *err;
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

static int put_utf8(buf *b, unsigned cp, fmt_error *err)
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
    return buf_append(b, t, n, err);
}

static int parse_escape(json_parser *p, buf *b)
{
    if (p->pos >= p->len) return jfail(p, "truncated escape");
    char c = p->s[p->pos++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = strchr(from, c);
    if (c && hit) return buf_append_char(b, to[hit - from], p->err);
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
    return put_utf8(b, cp, p->err);
}

static int parse_string_raw(json_parser *p, char **out, size_t *out_len)
{
    p->pos++; /* opening quote */
    buf b;
    buf_init(&b, 0);
    for (;;) {
        if (p->pos >= p->len) {
            buf_free(&b);
            return jfail(p, "unterminated string");
        }
        size_t start = p->pos;
        while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\\' &&
               (unsigned char)p->s[p->pos] >= 0x20)
            p->pos++;
        if (buf_append(&b, p->s + start, p->pos - start, p->err)) goto fail;
        if (p->pos >= p->len) continue;
        char c = p->s[p->pos];
        if (c == '"') break;
        if (c == '\\') {
            p->pos++;
            if (parse_escape(p, &b)) goto fail;
            continue;
        }
        jfail(p, "control character in string");
        goto fail;
    }
    p->pos++;
    *out_len = b.len;
    *out = buf_take(&b);
    return *out ? 0 : fmt_fail(p->err, "out of memory");
fail:
    buf_free(&b);
    return -1;
}

static int parse_number(json_parser *p, json_value *v)
{
    size_t start = p->pos;
    const char *s = p->s;
    if (literal(p, "NaN") || literal(p, "Infinity") || literal(p, "-Infinity")) {
        v->number = s[start] == 'N' ? NAN : (s[start] == '-' ? -INFINITY : INFINITY);
    } else {
        if (p->pos < p->len && s[p->pos] == '-') p->pos++;
        if (p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9') return jfail(p, "invalid number");
        if (s[p->pos] == '0') p->pos++;
        else while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
        if (p->pos < p->len && s[p->pos] == '.') {
            p->pos++;
            if (p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9') return jfail(p, "digit expected after '.'");
            while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
        }
        if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
            p->pos++;
            if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-')) p->pos++;
            if (p->pos >= p->len || s[p->pos] < '0' || s[p->pos] > '9') return jfail(p, "digit expected in exponent");
            while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
        }
        char tmp[64];
        size_t n = p->pos - start;
        if (n < sizeof tmp) {
            memcpy(tmp, s + start, n);
            tmp[n] = '\0';
            v->number = strtod(tmp, NULL);
        } else {
            char *big = str_ndup(s + start, n);
            if (!big) return fmt_fail(p->err, "out of memory");
            v->number = strtod(big, NULL);
            free(big);
        }
    }
    v->type = JSON_NUMBER;
    v->len = p->pos - start;
    v->str = str_ndup(s + start, v->len);
    return v->str ? 0 : fmt_fail(p->err, "out of memory");
}

static int parse_value(json_parser *p, json_value *v);

static int push_item(json_parser *p, json_value *v, size_t *cap, char *key)
{
    if (v->count == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        json_value *items = realloc(v->items, nc * sizeof *items);
        if (!items) return fmt_fail(p->err, "out of memory");
        v->items = items;
        if (v->type == JSON_OBJECT) {
            char **keys = realloc(v->keys, nc * sizeof *keys);
            if (!keys) return fmt_fail(p->err, "out of memory");
            v->keys = keys;
        }
        *cap = nc;
    }
    memset(&v->items[v->count], 0, sizeof v->items[0]);
    if (v->type == JSON_OBJECT) v->keys[v->count] = key;
    v->count++;
    return 0;
}

static int parse_container(json_parser *p, json_value *v, char close)
{
    size_t cap = 0;
    if (++p->depth > p->lim->max_depth) return jfail(p, "nesting too deep");
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        if (v->type == JSON_OBJECT) {
            size_t klen;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != '"') return jfail(p, "expected a string key");
            if (parse_string_raw(p, &key, &klen)) return -1;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                return jfail(p, "expected ':'");
            }
            p->pos++;
        }
        if (push_item(p, v, &cap, key)) {
            free(key);
            return -1;
        }
        if (parse_value(p, &v->items[v->count - 1])) return -1;
        skip_ws(p);
        if (p->pos >= p->len) return jfail(p, "unexpected end of input");
        char c = p->s[p->pos++];
        if (c == close) break;
        if (c != ',') return jfail(p, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
    }
    p->depth--;
    return 0;
}

static int parse_value(json_parser *p, json_value *v)
{
    memset(v, 0, sizeof *v);
    if (++p->values > p->lim->max_values) return jfail(p, "too many values");
    skip_ws(p);
    if (p->pos >= p->len) return jfail(p, "unexpected end of input");
    char c = p->s[p->pos];
    switch (c) {
    case '{': v->type = JSON_OBJECT; return parse_container(p, v, '}');
    case '[': v->type = JSON_ARRAY; return parse_container(p, v, ']');
    case '"': v->type = JSON_STRING; return parse_string_raw(p, &v->str, &v->len);
    default: break;
    }
    if (literal(p, "null")) v->type = JSON_NULL;
    else if (literal(p, "true")) v->type = JSON_TRUE;
    else if (literal(p, "false")) v->type = JSON_FALSE;
    else if (c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I') return parse_number(p, v);
    else return jfail(p, "unexpected character");
    return 0;
}

static void free_members(json_value *v)
{
    for (size_t i = 0; i < v->count; i++) {
        free_members(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

json_value *json_parse(const char *text, size_t len, const json_limits *lim, fmt_error *err)
{
    json_limits defaults = json_default_limits();
    json_parser p = {text, len, 0, 0, 0, lim ? lim : &defaults, err};
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) p.pos = 3;
    json_value *v = calloc(1, sizeof *v);
    if (!v) {
        fmt_fail(err, "out of memory");
        return NULL;
    }
    if (parse_value(&p, v) == 0) {
        skip_ws(&p);
        if (p.pos == p.len) return v;
        jfail(&p, "trailing characters after the value");
    }
    json_free(v);
    return NULL;
}

void json_free(json_value *v)
{
    if (!v) return;
    free_members(v);
    free(v);
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT) return NULL;
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
