/* InvokeAI, three generations of it:
 *   invokeai_metadata  (v3+) JSON: positive_prompt, negative_prompt, seed, steps, ...
 *   sd-metadata        (v2)  JSON: model_weights, image: {prompt, seed, steps, ...}
 *   Dream              (v1)  text: "prompt [negative]" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms
 * In v1/v2 prompts, text in [square brackets] is the negative prompt. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/params_json_util.h"

static const key_map v3_keys[] = {
    {"steps", "Steps"}, {"scheduler", "Sampler"}, {"cfg_scale", "CFG scale"}, {"seed", "Seed"},
};
static const key_map v2_keys[] = {
    {"steps", "Steps"}, {"sampler", "Sampler"}, {"cfg_scale", "CFG scale"}, {"seed", "Seed"},
};

/* Split "a cat [ugly, blurry] on a mat" into prompt and negative. */
static int split_brackets(const char *s, size_t n, gen_params *p, fmt_error *err)
{
    buf pos, neg;
    buf_init(&pos, 0);
    buf_init(&neg, 0);
    int rc = 0, depth = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (s[i] == '[') {
            if (depth++ == 0 && neg.len) rc = buf_append_str(&neg, ", ", err);
            if (depth == 1) continue;
        } else if (s[i] == ']' && depth > 0) {
            if (--depth == 0) continue;
        }
        rc = buf_append_char(depth ? &neg : &pos, s[i], err);
    }
    /* Collapse the spaces left where a bracket was cut out. */
    const char *ps = pos.data ? pos.data : "";
    size_t pl = pos.len;
    while (pl && ps[pl - 1] == ' ') pl--;
    while (pl && *ps == ' ') ps++, pl--;
    if (!rc) rc = gen_params_set_text(&p->prompt, ps, pl, err);
    if (!rc && neg.len) rc = gen_params_set_text(&p->negative_prompt, neg.data, neg.len, err);
    buf_free(&pos);
    buf_free(&neg);
    return rc;
}

static int parse_v3(const char *text, size_t len, gen_params *p, fmt_error *err)
{
    json_value *v = json_parse(text, len, NULL, err);
    if (!v || v->type != JSON_OBJECT) {
        json_free(v);
        return fmt_fail(err, "invokeai: invokeai_metadata is not a JSON object");
    }
    int rc = params_take_string(&p->prompt, json_get(v, "positive_prompt"), err);
    if (!rc) rc = params_take_string(&p->negative_prompt, json_get(v, "negative_prompt"), err);
    if (!rc) rc = params_map_keys(v, v3_keys, sizeof v3_keys / sizeof v3_keys[0], p, err);
    if (!rc) rc = params_set_size(p, "Size", json_get(v, "width"), json_get(v, "height"), err);
    const json_value *model = json_get(v, "model");
    if (!rc && model && model->type == JSON_OBJECT) {
        const json_value *name = json_get(model, "model_name");
        if (!name) name = json_get(model, "name");
        rc = gen_params_set_json(p, "Model", name, err);
        if (!rc) rc = gen_params_set_json(p, "Model hash", json_get(model, "hash"), err);
    } else if (!rc) {
        rc = gen_params_set_json(p, "Model", model, err);
    }
    if (!rc) rc = gen_params_set_json(p, "Version", json_get(v, "app_version"), err);
    json_free(v);
    return rc;
}

static int parse_v2(const char *text, size_t len, gen_params *p, fmt_error *err)
{
    json_value *v = json_parse(text, len, NULL, err);
    const json_value *img = json_get(v, "image");
    if (!img || img->type != JSON_OBJECT) {
        json_free(v);
        return fmt_fail(err, "invokeai: sd-metadata has no image object");
    }
    const json_value *pr = json_get(img, "prompt");
    int rc = 0;
    if (pr && pr->type == JSON_ARRAY && pr->count) pr = json_get(json_at(pr, 0), "prompt");
    if (json_str(pr)) rc = split_brackets(pr->str, pr->len, p, err);
    if (!rc) rc = params_map_keys(img, v2_keys, sizeof v2_keys / sizeof v2_keys[0], p, err);
    if (!rc) rc = params_set_size(p, "Size", json_get(img, "width"), json_get(img, "height"), err);
    if (!rc) rc = gen_params_set_json(p, "Model", json_get(v, "model_weights"), err);
    if (!rc) rc = gen_params_set_json(p, "Model hash", json_get(v, "model_hash"), err);
    if (!rc) rc = gen_params_set_json(p, "Version", json_get(v, "app_version"), err);
    json_free(v);
    return rc;
}

/* Dream: a quoted prompt, then -x value options. */
static int parse_dream(const char *s, size_t n, gen_params *p, fmt_error *err)
{
    size_t i = 0;
    while (i < n && s[i] == ' ') i++;
    if (i >= n || s[i] != '"') return fmt_fail(err, "invokeai: Dream does not start with a quoted prompt");
    size_t start = ++i;
    while (i < n && s[i] != '"') i++;
    if (i >= n) return fmt_fail(err, "invokeai: unterminated Dream prompt");
    if (split_brackets(s + start, i - start, p, err)) return -1;
    static const struct { char opt; const char *key; } opts[] = {
        {'s', "Steps"}, {'S', "Seed"}, {'C', "CFG scale"}, {'A', "Sampler"}, {'f', "Denoising strength"}};
    char w[32] = "", h[32] = "";
    for (i++; i + 1 < n; i++) {
        if (s[i] != '-' || (i && s[i - 1] != ' ')) continue;
        char o = s[i + 1];
        size_t v = i + 2;
        while (v < n && s[v] == ' ') v++;
        size_t e = v;
        while (e < n && s[e] != ' ') e++;
        if (e == v) continue;
        if ((o == 'W' || o == 'H') && e - v < sizeof w) {
            char *dst = o == 'W' ? w : h;
            memcpy(dst, s + v, e - v);
            dst[e - v] = '\0';
        }
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (opts[k].opt == o && gen_params_set(p, opts[k].key, s + v, e - v, err)) return -1;
        i = e - 1;
    }
    if (*w && *h) {
        buf b;
        buf_init(&b, 80);
        int rc = buf_printf(&b, err, "%sx%s", w, h);
        if (!rc) rc = gen_params_set(p, "Size", b.data, b.len, err);
        buf_free(&b);
        if (rc) return -1;
    }
    return 0;
}

int params_parse_invokeai(const meta_list *m, gen_params *p, fmt_error *err)
{
    const meta_entry *e;
    int rc;
    if ((e = meta_list_find(m, "invokeai_metadata")) != NULL) {
        rc = parse_v3(e->text, e->text_len, p, err);
    } else if ((e = meta_list_find(m, "sd-metadata")) != NULL) {
        rc = parse_v2(e->text, e->text_len, p, err);
    } else if ((e = meta_list_find(m, "Dream")) != NULL) {
        rc = parse_dream(e->text, e->text_len, p, err);
    } else {
        return fmt_fail(err, "invokeai: no InvokeAI metadata");
    }
    if (rc == 0) {
        p->generator = "invokeai";
        p->source_keyword = e->keyword;
    }
    return rc;
}
