/* JSON parser and writer on arbitrary bytes; json_get, through an object's
 * index or its scan, must find the first member of each key. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "format/json.h"

/* Each of an object's first keys against a scan for its first member. */
static void check_lookups(const json_value *v)
{
    if (v->type == JSON_OBJECT) {
        size_t n = v->count < 64 ? v->count : 64;
        for (size_t i = 0; i < n; i++) {
            size_t first = 0;
            while (strcmp(v->keys[first], v->keys[i])) first++;
            if (json_get(v, v->keys[i]) != &v->items[first]) abort();
        }
    }
    if (v->type == JSON_OBJECT || v->type == JSON_ARRAY)
        for (size_t i = 0; i < v->count; i++) check_lookups(&v->items[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fmt_error e;
    json_value *v = json_parse((const char *)data, size, NULL, &e);
    if (v) {
        check_lookups(v);
        buf b;
        buf_init(&b, 0);
        json_write_value(&b, v, &e);
        buf_free(&b);
        json_free(v);
    }
    return 0;
}
