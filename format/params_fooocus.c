/* Fooocus: `parameters` holds a JSON object (metadata scheme "fooocus"). */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/params_json_util.h"

static const key_map fooocus_keys[] = {
    {"steps", "Steps"}, {"sampler", "Sampler"}, {"scheduler", "Schedule type"},
    {"guidance_scale", "CFG scale"}, {"seed", "Seed"},
};
static const key_map fooocus_tail[] = {
    {"base_model", "Model"}, {"base_model_hash", "Model hash"}, {"refiner_model", "Refiner"},
    {"refiner_switch", "Refiner switch at"}, {"sharpness", "Sharpness"},
    {"performance", "Performance"}, {"styles", "Styles"}, {"version", "Version"},
};

/* "(1152, 896)" → "1152x896". */
static int set_resolution(gen_params *p, const json_value *r, fmt_error *err)
{
    const char *s = json_str(r);
    if (!s) return 0;
    char *end;
    while (*s == '(' || *s == '[' || *s == ' ') s++;
    long w = strtol(s, &end, 10);
    if (end == s) return gen_params_set(p, "Size", r->str, r->len, err);
    while (*end == ',' || *end == ' ') end++;
    char *end2;
    long h = strtol(end, &end2, 10);
    if (end2 == end) return gen_params_set(p, "Size", r->str, r->len, err);
    buf b;
    buf_init(&b, 64);
    int rc = buf_printf(&b, err, "%ldx%ld", w, h);
    if (!rc) rc = gen_params_set(p, "Size", b.data, b.len, err);
    buf_free(&b);
    return rc;
}

int params_parse_fooocus(const char *json, size_t len, gen_params *p, fmt_error *err)
{
    json_value *v = json_parse(json, len, NULL, err);
    if (!v || v->type != JSON_OBJECT) {
        json_free(v);
        return fmt_fail(err, "fooocus: parameters are not a JSON object");
    }
    if (!json_get(v, "prompt") && !json_get(v, "fooocus_scheme") && !json_get(v, "metadata_scheme")) {
        json_free(v);
        return fmt_fail(err, "fooocus: no prompt in the JSON");
    }
    int rc = params_take_string(&p->prompt, json_get(v, "prompt"), err);
    if (!rc) rc = params_take_string(&p->negative_prompt, json_get(v, "negative_prompt"), err);
    if (!rc) rc = params_map_keys(v, fooocus_keys, sizeof fooocus_keys / sizeof fooocus_keys[0], p, err);
    if (!rc) rc = set_resolution(p, json_get(v, "resolution"), err);
    if (!rc) rc = params_map_keys(v, fooocus_tail, sizeof fooocus_tail / sizeof fooocus_tail[0], p, err);
    json_free(v);
    if (!rc) p->generator = "fooocus";
    return rc;
}
