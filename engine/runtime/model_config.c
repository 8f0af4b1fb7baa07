/* Bounded reading of a model's config; see model_config.h. */
#include <math.h>
#include <string.h>

#include "engine/runtime/model_config.h"

json_value *model_config_parse(const char *json, const char *model, fmt_error *err)
{
    if (!json) {
        fmt_fail(err, "%s: the file has no unprompt.config (convert it again)", model);
        return NULL;
    }
    json_limits lim = {8, 1000};
    json_value *v = json_parse(json, strlen(json), &lim, err);
    if (!v) {
        fmt_prefix(err, ": unprompt.config: ");
        fmt_prefix(err, model);
        return NULL;
    }
    if (v->type != JSON_OBJECT) {
        json_free(v);
        fmt_fail(err, "%s: unprompt.config is not a JSON object", model);
        return NULL;
    }
    return v;
}

json_value *model_config_open(const weights_file *wf, const char *model, const char *display, fmt_error *err)
{
    const char *kind = weights_meta(wf, "unprompt.kind");
    if (!kind || strcmp(kind, model)) {
        fmt_fail(err, "%s: this file holds a %s model, not %s", model, kind ? kind : "unknown", display);
        return NULL;
    }
    return model_config_parse(weights_meta(wf, "unprompt.config"), model, err);
}

int model_config_int(const json_value *cfg, const char *model, const char *key, int lo, int hi, int *out,
                     fmt_error *err)
{
    const json_value *v = json_get(cfg, key);
    if (!v || v->type != JSON_NUMBER) return fmt_fail(err, "%s: config has no number \"%s\"", model, key);
    if (!(v->number >= lo && v->number <= hi) || v->number != floor(v->number))
        return fmt_fail(err, "%s: config \"%s\" = %s is not an integer in [%d, %d]", model, key, v->str, lo, hi);
    *out = (int)v->number;
    return 0;
}

int model_config_ints(const json_value *cfg, const char *model, const model_config_field *fields, size_t n,
                      fmt_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (model_config_int(cfg, model, fields[i].key, fields[i].lo, fields[i].hi, fields[i].dst, err)) return -1;
    return 0;
}

int model_config_float(const json_value *cfg, const char *model, const char *key, double hi, float fallback,
                       float *out, fmt_error *err)
{
    const json_value *v = json_get(cfg, key);
    if (!v && isnan(fallback)) return fmt_fail(err, "%s: config has no number \"%s\"", model, key);
    if (!v) {
        *out = fallback;
        return 0;
    }
    if (v->type != JSON_NUMBER || !(v->number > 0 && v->number <= hi))
        return fmt_fail(err, "%s: config \"%s\" is not a number in (0, %g]", model, key, hi);
    *out = (float)v->number;
    return 0;
}
