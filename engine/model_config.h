/* Reading a converted file's "unprompt.config" (a flat JSON object of
 * numbers, weights/FORMAT.md): each value fetched by name with bounds, so a
 * damaged or hostile file cannot ask for absurd sizes. */
#ifndef UNPROMPT_ENGINE_MODEL_CONFIG_H
#define UNPROMPT_ENGINE_MODEL_CONFIG_H

#include "format/json.h"

/* The parsed object, or NULL with a reason ("clip: ..."). */
json_value *model_config_parse(const char *json, const char *model, fmt_error *err);
/* An integer in [lo, hi]; -1 with a reason naming the key otherwise. */
int model_config_int(const json_value *cfg, const char *model, const char *key, int lo, int hi, int *out,
                     fmt_error *err);
/* A number in (0, hi]; `fallback` when the key is absent. */
int model_config_float(const json_value *cfg, const char *model, const char *key, double hi, float fallback,
                       float *out, fmt_error *err);

#endif
