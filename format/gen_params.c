/* Generation parameters: storage, and deciding which generator wrote a file. */
#include "format/gen_params.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/json.h"

#define GEN_MAX_SETTINGS 1024

void gen_params_init(gen_params *p)
{
    memset(p, 0, sizeof *p);
}

void gen_params_free(gen_params *p)
{
    for (size_t i = 0; i < p->n_settings; i++) {
        free(p->settings[i].key);
        free(p->settings[i].value);
    }
    free(p->settings);
    hash_index_free(&p->keys_);
    free(p->prompt);
    free(p->negative_prompt);
    gen_params_init(p);
}

int gen_params_set_text(char **field, const char *text, size_t len, fmt_error *err)
{
    char *s = str_ndup(text, len);
    if (!s) return fmt_fail(err, "out of memory");
    free(*field);
    *field = s;
    return 0;
}

/* The index of `key` in p->settings, or SIZE_MAX. */
static size_t find_key(const gen_params *p, const char *key, uint64_t hash)
{
    hash_probe probe = hash_index_probe(&p->keys_, hash);
    size_t i;
    while (hash_probe_next(&probe, &i))
        if (!strcmp(p->settings[i].key, key)) return i;
    return SIZE_MAX;
}

int gen_params_set(gen_params *p, const char *key, const char *value, size_t value_len,
                   fmt_error *err)
{
    if (!p->keys_.hashes && hash_index_init(&p->keys_, 16, err)) return -1;
    uint64_t hash = hash_index_key(&p->keys_, key, strlen(key));
    size_t at = find_key(p, key, hash);
    if (at == SIZE_MAX && p->n_settings >= GEN_MAX_SETTINGS)
        return fmt_fail(err, "more than %d settings", GEN_MAX_SETTINGS);
    char *v = str_ndup(value, value_len);
    if (!v) return fmt_fail(err, "out of memory");
    if (at != SIZE_MAX) {
        free(p->settings[at].value);
        p->settings[at].value = v;
        return 0;
    }
    gen_setting *s = realloc(p->settings, (p->n_settings + 1) * sizeof *s);
    char *k = strdup(key);
    if (!s || !k || hash_index_add(&p->keys_, hash, p->n_settings, err)) {
        if (s) p->settings = s;
        free(k);
        free(v);
        return fmt_fail(err, "out of memory");
    }
    p->settings = s;
    s[p->n_settings].key = k;
    s[p->n_settings].value = v;
    p->n_settings++;
    return 0;
}

const char *gen_params_get(const gen_params *p, const char *key)
{
    if (!p->keys_.hashes) return NULL;
    size_t at = find_key(p, key, hash_index_key(&p->keys_, key, strlen(key)));
    return at == SIZE_MAX ? NULL : p->settings[at].value;
}

int gen_params_set_json(gen_params *p, const char *key, const json_value *v, fmt_error *err)
{
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type == JSON_STRING || v->type == JSON_NUMBER) return gen_params_set(p, key, v->str, v->len, err);
    if (v->type == JSON_TRUE) return gen_params_set(p, key, "True", 4, err);
    if (v->type == JSON_FALSE) return gen_params_set(p, key, "False", 5, err);
    buf b;
    buf_init(&b, 0);
    int rc = json_write_value(&b, v, err);
    if (!rc) rc = gen_params_set(p, key, b.data, b.len, err);
    buf_free(&b);
    return rc;
}

/* ---- detection ----------------------------------------------------------- */

static int starts_json_object(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    return *s == '{';
}

/* Parsers return -1 for "not this format"; keep the error only for
 * allocation failures, which abort detection. */
static int is_oom(const fmt_error *e)
{
    return strstr(e->msg, "out of memory") != NULL;
}

static int try_fooocus(const meta_list *m, gen_params *p, fmt_error *err)
{
    const meta_entry *scheme = meta_list_find(m, "fooocus_scheme");
    const meta_entry *params = meta_list_find(m, "parameters");
    if (!params) return 0;
    if (starts_json_object(params->text)) {
        gen_params_free(p);
        if (params_parse_fooocus(params->text, params->text_len, p, err) == 0) {
            p->source_keyword = "parameters";
            return 1;
        }
        if (is_oom(err)) return -1;
        gen_params_free(p);
        return 0;
    }
    if (scheme && params_parse_a1111(params->text, params->text_len, p, err) == 0) {
        p->generator = "fooocus";
        p->source_keyword = "parameters";
        return 1;
    }
    return 0;
}

static int try_a1111(const meta_list *m, const char *keyword, gen_params *p, fmt_error *err)
{
    const meta_entry *e = meta_list_find(m, keyword);
    if (!e || starts_json_object(e->text)) return 0;
    gen_params_free(p);
    /* Only the `parameters` keyword is the WebUI's own; elsewhere (Exif
     * UserComment, JPEG comments) text counts only with a settings line. */
    int own = !strcmp(keyword, "parameters");
    if (params_parse_a1111(e->text, e->text_len, p, err) == 0 && (own || p->n_settings > 0)) {
        p->source_keyword = e->keyword;
        return 1;
    }
    if (is_oom(err)) return -1;
    gen_params_free(p);
    return 0;
}

static int try_comfyui(const meta_list *m, gen_params *p, fmt_error *err)
{
    const meta_entry *pr = meta_list_find(m, "prompt");
    const meta_entry *wf = meta_list_find(m, "workflow");
    if (!pr && !wf) return 0;
    if (pr && !starts_json_object(pr->text)) pr = NULL;
    if (wf && !starts_json_object(wf->text)) wf = NULL;
    if (!pr && !wf) return 0;
    gen_params_free(p);
    if (params_parse_comfyui(pr ? pr->text : NULL, pr ? pr->text_len : 0, wf ? wf->text : NULL,
                             wf ? wf->text_len : 0, p, err) == 0) {
        p->source_keyword = pr ? "prompt" : "workflow";
        return 1;
    }
    if (is_oom(err)) return -1;
    gen_params_free(p);
    return 0;
}

static int try_novelai(const meta_list *m, gen_params *p, fmt_error *err)
{
    const meta_entry *sw = meta_list_find(m, "Software");
    const meta_entry *desc = meta_list_find(m, "Description");
    const meta_entry *comment = meta_list_find(m, "Comment");
    int named = sw && strstr(sw->text, "NovelAI");
    if (!named && !(comment && starts_json_object(comment->text))) return 0;
    gen_params_free(p);
    if (params_parse_novelai(desc ? desc->text : NULL, desc ? desc->text_len : 0,
                             comment ? comment->text : NULL, comment ? comment->text_len : 0, p,
                             err) == 0) {
        const meta_entry *src = meta_list_find(m, "Source");
        if (src && !gen_params_get(p, "Model") && gen_params_set(p, "Model", src->text, src->text_len, err))
            return -1;
        p->source_keyword = comment ? "Comment" : "Description";
        return 1;
    }
    if (is_oom(err)) return -1;
    gen_params_free(p);
    return 0;
}

/* NovelAI's stealth info: a JSON object with the PNG chunks as members
 * ({"Description": …, "Software": "NovelAI", "Comment": "{…}"}). */
static int try_novelai_json(const meta_list *m, gen_params *p, fmt_error *err)
{
    const meta_entry *e = meta_list_find(m, "parameters");
    if (!e || !starts_json_object(e->text)) return 0;
    fmt_error jerr;
    json_value *v = json_parse(e->text, e->text_len, NULL, &jerr);
    const char *comment = json_str(json_get(v, "Comment"));
    const char *desc = json_str(json_get(v, "Description"));
    int r = 0;
    if (comment || (desc && json_str(json_get(v, "Software")))) {
        gen_params_free(p);
        if (params_parse_novelai(desc, desc ? strlen(desc) : 0, comment, comment ? strlen(comment) : 0, p,
                                 err) == 0) {
            const char *src = json_str(json_get(v, "Source"));
            r = 1;
            if (src && !gen_params_get(p, "Model") && gen_params_set(p, "Model", src, strlen(src), err)) r = -1;
            p->source_keyword = "parameters";
        } else if (is_oom(err)) {
            r = -1;
        } else {
            gen_params_free(p);
        }
    }
    json_free(v);
    return r;
}

static int try_invokeai(const meta_list *m, gen_params *p, fmt_error *err)
{
    if (!meta_list_find(m, "invokeai_metadata") && !meta_list_find(m, "sd-metadata") &&
        !meta_list_find(m, "Dream"))
        return 0;
    gen_params_free(p);
    if (params_parse_invokeai(m, p, err) == 0) return 1;
    if (is_oom(err)) return -1;
    gen_params_free(p);
    return 0;
}

int gen_params_detect(const meta_list *m, gen_params *p, fmt_error *err)
{
    gen_params_init(p);
    if (m->count == 0) return 0;
    fmt_error local;
    if (!err) err = &local;
    int r;
    if ((r = try_fooocus(m, p, err)) != 0) return r < 0 ? -1 : 0;
    if ((r = try_a1111(m, "parameters", p, err)) != 0) return r < 0 ? -1 : 0;
    if ((r = try_comfyui(m, p, err)) != 0) return r < 0 ? -1 : 0;
    if ((r = try_invokeai(m, p, err)) != 0) return r < 0 ? -1 : 0;
    if ((r = try_novelai(m, p, err)) != 0) return r < 0 ? -1 : 0;
    if ((r = try_novelai_json(m, p, err)) != 0) return r < 0 ? -1 : 0;
    if ((r = try_a1111(m, "UserComment", p, err)) != 0) return r < 0 ? -1 : 0;
    if ((r = try_a1111(m, "comment", p, err)) != 0) return r < 0 ? -1 : 0;
    gen_params_free(p);
    p->generator = "unknown";
    return 0;
}
