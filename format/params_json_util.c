#include "format/params_json_util.h"

#include <string.h>

#include "base/buf.h"

int params_map_keys(const json_value *obj, const key_map *map, size_t n, gen_params *p, fmt_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (gen_params_set_json(p, map[i].a1111_key, json_get(obj, map[i].json_key), err)) return -1;
    return 0;
}

static const char *scalar_text(const json_value *v)
{
    if (!v) return NULL;
    if (v->type == JSON_NUMBER || v->type == JSON_STRING) return v->str;
    return NULL;
}

int params_set_size(gen_params *p, const char *key, const json_value *w, const json_value *h, fmt_error *err)
{
    const char *ws = scalar_text(w), *hs = scalar_text(h);
    if (!ws || !hs) return 0;
    buf b;
    buf_init(&b, 128);
    int rc = buf_printf(&b, err, "%sx%s", ws, hs);
    if (!rc) rc = gen_params_set(p, key, b.data, b.len, err);
    buf_free(&b);
    return rc;
}

int params_take_string(char **field, const json_value *v, fmt_error *err)
{
    if (!v || v->type != JSON_STRING) return 0;
    return gen_params_set_text(field, v->str, v->len, err);
}
