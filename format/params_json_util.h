/* Small helpers shared by the JSON-based parameter parsers. */
#ifndef UNPROMPT_FORMAT_PARAMS_JSON_UTIL_H
#define UNPROMPT_FORMAT_PARAMS_JSON_UTIL_H

#include "format/gen_params.h"
#include "format/json.h"

typedef struct {
    const char *json_key;
    const char *a1111_key;
} key_map;

/* Copy every mapped key present in obj into settings, in map order. */
int params_map_keys(const json_value *obj, const key_map *map, size_t n, gen_params *p, fmt_error *err);
/* "WxH" from two numbers (or numeric strings) into setting `key`. */
int params_set_size(gen_params *p, const char *key, const json_value *w, const json_value *h, fmt_error *err);
/* Set *field from a JSON string member, if present. */
int params_take_string(char **field, const json_value *v, fmt_error *err);

#endif
