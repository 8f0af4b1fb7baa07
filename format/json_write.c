/* JSON output: escaped strings and compact re-serialisation. */
#include <stdint.h>
#include <string.h>

#include "format/json.h"

/* Length of a valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

int json_write_string(buf *out, const char *s, size_t len, fmt_error *err)
{
    const unsigned char *p = (const unsigned char *)s;
    if (buf_append_char(out, '"', err)) return -1;
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') run++;
        if (run > i && buf_append(out, s + i, run - i, err)) return -1;
        i = run;
        if (i >= len) break;
        unsigned c = p[i];
        int rc;
        if (c == '"') rc = buf_append_str(out, "\\\"", err);
        else if (c == '\\') rc = buf_append_str(out, "\\\\", err);
        else if (c == '\n') rc = buf_append_str(out, "\\n", err);
        else if (c == '\r') rc = buf_append_str(out, "\\r", err);
        else if (c == '\t') rc = buf_append_str(out, "\\t", err);
        else if (c < 0x20) rc = buf_printf(out, err, "\\u%04x", c);
        else {
            size_t n = utf8_seq(p + i, len - i);
            if (n == 0) {
                rc = buf_append_str(out, "\xEF\xBF\xBD", err); /* U+FFFD */
                n = 1;
            } else {
                rc = buf_append(out, s + i, n, err);
            }
            i += n;
            if (rc) return -1;
            continue;
        }
        if (rc) return -1;
        i++;
    }
    return buf_append_char(out, '"', err);
}

int json_write_value(buf *out, const json_value *v, fmt_error *err)
{
    switch (v->type) {
    case JSON_NULL: return buf_append_str(out, "null", err);
    case JSON_TRUE: return buf_append_str(out, "true", err);
    case JSON_FALSE: return buf_append_str(out, "false", err);
    case JSON_NUMBER: return buf_append(out, v->str, v->len, err);
    case JSON_STRING: return json_write_string(out, v->str, v->len, err);
    case JSON_ARRAY:
    case JSON_OBJECT: break;
    }
    int obj = v->type == JSON_OBJECT;
    if (buf_append_char(out, obj ? '{' : '[', err)) return -1;
    for (size_t i = 0; i < v->count; i++) {
        if (i && buf_append_char(out, ',', err)) return -1;
        if (obj && (json_write_string(out, v->keys[i], strlen(v->keys[i]), err) ||
                    buf_append_char(out, ':', err)))
            return -1;
        if (json_write_value(out, &v->items[i], err)) return -1;
    }
    return buf_append_char(out, obj ? '}' : ']', err);
}
