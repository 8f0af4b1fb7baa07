/* Generation parameters: the prompt, negative prompt and settings a
 * generator stored, normalised to AUTOMATIC1111's field names. */
#ifndef UNPROMPT_FORMAT_GEN_PARAMS_H
#define UNPROMPT_FORMAT_GEN_PARAMS_H

#include <stddef.h>

#include "base/error.h"
#include "base/hash.h"
#include "format/meta.h"

typedef struct {
    char *key;   /* A1111 key: "Steps", "Sampler", "CFG scale", "Seed", "Size", "Model", ... */
    char *value; /* as a string, exactly as written (quotes of quoted values removed) */
} gen_setting;

typedef struct {
    const char *generator;  /* "automatic1111", "comfyui", "novelai", "invokeai",
                               "fooocus", "unknown" (text present, no known format), or NULL */
    char *prompt;           /* NULL when absent */
    char *negative_prompt;  /* NULL when absent */
    gen_setting *settings;  /* in the order found */
    size_t n_settings;
    const char *source_keyword; /* the meta entry the fields came from, or NULL */
    hash_index keys_;       /* settings by key, so a set or get is O(1) */
} gen_params;

void gen_params_init(gen_params *p);
void gen_params_free(gen_params *p);
int gen_params_set(gen_params *p, const char *key, const char *value, size_t value_len,
                   fmt_error *err); /* replaces an existing key; at most 1024 keys */
const char *gen_params_get(const gen_params *p, const char *key);

/* Set `key` from a JSON value: strings as they are, numbers as written in
 * the source, other values re-serialised. NULL or JSON null sets nothing. */
struct json_value;
int gen_params_set_json(gen_params *p, const char *key, const struct json_value *v, fmt_error *err);
/* Replace *field (prompt / negative_prompt) with a copy of text. */
int gen_params_set_text(char **field, const char *text, size_t len, fmt_error *err);

/* Decide which generator wrote the file and parse its fields. Order of
 * preference follows what each generator writes (see gen_params.c).
 * Returns 0 (p->generator NULL if the file has no text at all) or -1 on
 * allocation failure only; a malformed JSON graph falls back to "unknown". */
int gen_params_detect(const meta_list *m, gen_params *p, fmt_error *err);

/* The individual parsers. Each returns 0 on success, -1 if the text is not
 * of that format (err says why). */
int params_parse_a1111(const char *text, size_t len, gen_params *p, fmt_error *err);
int params_parse_comfyui(const char *prompt_json, size_t prompt_len, const char *workflow_json,
                         size_t workflow_len, gen_params *p, fmt_error *err);
int params_parse_novelai(const char *description, size_t desc_len, const char *comment_json,
                         size_t comment_len, gen_params *p, fmt_error *err);
int params_parse_invokeai(const meta_list *m, gen_params *p, fmt_error *err);
int params_parse_fooocus(const char *json, size_t len, gen_params *p, fmt_error *err);

#endif
