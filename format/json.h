/* A small, strict, bounded JSON parser (RFC 8259) and string escaper. */
#ifndef UNPROMPT_FORMAT_JSON_H
#define UNPROMPT_FORMAT_JSON_H

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
typedef struct json_index json_index;
struct json_value {
    json_type type;
    /* JSON_STRING: decoded UTF-8 (may contain NUL; len gives its size).
     * JSON_NUMBER: the number's source text, exactly as written. */
    char *str;
    size_t len;
    double number;      /* JSON_NUMBER */
    size_t count;       /* JSON_ARRAY / JSON_OBJECT: members */
    json_value *items;  /* members (array elements or object values), in order */
    char **keys;        /* JSON_OBJECT: decoded keys, parallel to items */
    json_index *index;  /* JSON_OBJECT json_parse built with many members: each
                           distinct key's first member, hashed under a random
                           seed; NULL otherwise (json_get then scans) */
};

typedef struct {
    size_t max_depth;   /* default 256 */
    size_t max_values;  /* default 4,000,000 */
} json_limits;

json_limits json_default_limits(void);
/* Parse the whole text (trailing whitespace only). NULL limits = defaults.
 * Returns a tree to free with json_free, or NULL with err set
 * ("json: line 3 column 7: expected ':'"). A leading UTF-8 BOM is skipped.
 * Cost: two linear passes; the tree is one allocation of sizeof(json_value)
 * (64 bytes) per value plus the decoded strings, and each object of 16
 * members or more adds an index of 32-64 bytes per member. A text the
 * limits refuse is refused before the tree is allocated. */
json_value *json_parse(const char *text, size_t len, const json_limits *lim, fmt_error *err);
/* Free a tree json_parse returned (only the root: the tree is one block). */
void json_free(json_value *v);

/* Object member by key (first match, keys compared as C strings), or NULL;
 * NULL-safe. O(1) expected on the objects json_parse indexed, whatever keys
 * the text chose; a scan of the few members of the others. */
const json_value *json_get(const json_value *obj, const char *key);
/* Array element, or NULL; NULL-safe. */
const json_value *json_at(const json_value *arr, size_t i);
/* The string of a JSON_STRING, else NULL. */
const char *json_str(const json_value *v);

/* Append `s` as a quoted, escaped JSON string (control chars as \uXXXX,
 * invalid UTF-8 replaced by U+FFFD). */
int json_write_string(buf *out, const char *s, size_t len, fmt_error *err);
/* Append the value re-serialised compactly (numbers as their source text). */
int json_write_value(buf *out, const json_value *v, fmt_error *err);

#endif
