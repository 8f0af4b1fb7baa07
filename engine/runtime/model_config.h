/* Reading a converted file's "unprompt.config" (a flat JSON object of
 * numbers, weights/FORMAT.md): each value fetched by name with bounds, so a
 * damaged or hostile file cannot ask for absurd sizes. Every model reads
 * its shape through here. */
#ifndef UNPROMPT_ENGINE_RUNTIME_MODEL_CONFIG_H
#define UNPROMPT_ENGINE_RUNTIME_MODEL_CONFIG_H

#include <stddef.h>

#include "engine/runtime/weights.h"
#include "format/json.h"

/* The parsed object, or NULL with a reason ("clip: ..."). */
json_value *model_config_parse(const char *json, const char *model, fmt_error *err);
/* The same from the file, once its "unprompt.kind" is `model`; else NULL
 * with "<model>: this file holds a <kind> model, not <display>". */
json_value *model_config_open(const weights_file *wf, const char *model, const char *display, fmt_error *err);
/* An integer in [lo, hi]; -1 with a reason naming the key otherwise. */
int model_config_int(const json_value *cfg, const char *model, const char *key, int lo, int hi, int *out,
                     fmt_error *err);

/* One integer of a table read in order by model_config_ints. */
typedef struct {
    const char *key;
    int *dst;
    int lo, hi;
} model_config_field;
/* Every field in order; -1 with the first one's reason that fails. */
int model_config_ints(const json_value *cfg, const char *model, const model_config_field *fields, size_t n,
                      fmt_error *err);

/* A number in (0, hi]; `fallback` when the key is absent, or -1 with a
 * reason when fallback is NAN (the key is required). */
int model_config_float(const json_value *cfg, const char *model, const char *key, double hi, float fallback,
                       float *out, fmt_error *err);

#endif
