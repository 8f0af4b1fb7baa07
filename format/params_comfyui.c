/* ComfyUI: the `prompt` chunk is the API graph {node id: {class_type,
 * inputs}}; inputs are literals or links [node id, output index]. Find the
 * sampler, follow its positive/negative links through intermediate nodes to
 * the text encoders, and read steps/cfg/seed/... from the nodes around it.
 * Without `prompt`, the editor's `workflow` (nodes + links) is used. */
#include <stdlib.h>
#include <string.h>

#include "format/buf.h"
#include "format/gen_params.h"
#include "format/json.h"

#define COMFY_MAX_DEPTH 32
#define COMFY_MAX_VISITS 4096

typedef struct {
    const json_value *graph; /* object: id → node */
    int visits;
} comfy_graph;

static const json_value *node_by_id(const comfy_graph *g, const char *id)
{
    return json_get(g->graph, id);
}

static const json_value *inputs_of(const json_value *node)
{
    return json_get(node, "inputs");
}

static const char *class_of(const json_value *node)
{
    return json_str(json_get(node, "class_type"));
}

/* A link is [ "id", index ] (id may be written as a number). */
static const json_value *follow(const comfy_graph *g, const json_value *link)
{
    if (!link || link->type != JSON_ARRAY || link->count != 2) return NULL;
    const json_value *id = json_at(link, 0);
    if (id->type == JSON_STRING || id->type == JSON_NUMBER) return node_by_id(g, id->str);
    return NULL;
}

static int is_link(const json_value *v)
{
    return v && v->type == JSON_ARRAY && v->count == 2 &&
           (json_at(v, 0)->type == JSON_STRING || json_at(v, 0)->type == JSON_NUMBER) &&
           json_at(v, 1)->type == JSON_NUMBER;
}

/* A string input, resolved through primitive/string nodes it links to. */
static const char *string_input(comfy_graph *g, const json_value *v, int depth)
{
    if (!v || depth > COMFY_MAX_DEPTH || ++g->visits > COMFY_MAX_VISITS) return NULL;
    if (v->type == JSON_STRING) return v->str;
    const json_value *n = is_link(v) ? follow(g, v) : NULL;
    const json_value *in = inputs_of(n);
    if (!in) return NULL;
    static const char *const names[] = {"text", "string", "value", "prompt", "text_g", "Text"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *s = string_input(g, json_get(in, names[i]), depth + 1);
        if (s) return s;
    }
    return NULL;
}

static int add_text(buf *out, const char *s, fmt_error *err)
{
    if (!s || !*s) return 0;
    /* The same text reached twice (e.g. text_g == text_l) is kept once. */
    if (out->data) {
        const char *hit = strstr(out->data, s);
        size_t n = strlen(s);
        while (hit) {
            int starts = hit == out->data || hit[-1] == '\n';
            int ends = hit[n] == '\0' || hit[n] == '\n';
            if (starts && ends) return 0;
            hit = strstr(hit + 1, s);
        }
    }
    if (out->len && buf_append_char(out, '\n', err)) return -1;
    return buf_append_str(out, s, err);
}

/* Collect the prompt text reaching a conditioning link. `polarity` is
 * "positive" or "negative", followed where a node forwards both. */
static int collect_text(comfy_graph *g, const json_value *link, const char *polarity, buf *out,
                        int depth, fmt_error *err)
{
    if (depth > COMFY_MAX_DEPTH || ++g->visits > COMFY_MAX_VISITS) return 0;
    const json_value *node = follow(g, link);
    const json_value *in = inputs_of(node);
    if (!in || in->type != JSON_OBJECT) return 0;
    const char *cls = class_of(node);
    static const char *const text_names[] = {"text", "text_g", "text_l", "prompt"};
    int found = 0;
    for (size_t i = 0; i < sizeof text_names / sizeof text_names[0]; i++) {
        const json_value *t = json_get(in, text_names[i]);
        if (!t) continue;
        const char *s = string_input(g, t, depth + 1);
        if (s) {
            found = 1;
            if (add_text(out, s, err)) return -1;
        }
    }
    if (found && cls && strstr(cls, "TextEncode")) return 0;
    /* Intermediate nodes: follow the same polarity if the node has it,
     * otherwise every conditioning-like link input. */
    const json_value *same = json_get(in, polarity);
    if (is_link(same)) return collect_text(g, same, polarity, out, depth + 1, err);
    for (size_t i = 0; i < in->count; i++) {
        const char *name = in->keys[i];
        if (!is_link(&in->items[i])) continue;
        if (strncmp(name, "conditioning", 12) && strcmp(name, "guider") && strcmp(name, "cond"))
            continue;
        if (collect_text(g, &in->items[i], polarity, out, depth + 1, err)) return -1;
    }
    return 0;
}

static int is_sampler(const json_value *node)
{
    const json_value *in = inputs_of(node);
    const char *cls = class_of(node);
    if (!in || !cls) return 0;
    if (is_link(json_get(in, "positive")) && is_link(json_get(in, "negative"))) return strstr(cls, "Sampler") != NULL;
    return !strcmp(cls, "SamplerCustomAdvanced");
}

/* Node ids are usually numbers: order them numerically, then as text. */
static int id_before(const char *a, const char *b)
{
    char *ea, *eb;
    long na = strtol(a, &ea, 10), nb = strtol(b, &eb, 10);
    if (!*ea && !*eb && *a && *b) return na < nb;
    return strcmp(a, b) < 0;
}

static const json_value *first_sampler(const comfy_graph *g, const char **id_out)
{
    const json_value *best = NULL;
    const char *best_id = NULL;
    for (size_t i = 0; i < g->graph->count; i++) {
        if (!is_sampler(&g->graph->items[i])) continue;
        if (!best || id_before(g->graph->keys[i], best_id)) {
            best = &g->graph->items[i];
            best_id = g->graph->keys[i];
        }
    }
    *id_out = best_id;
    return best;
}

static int set_from(gen_params *p, const char *key, const json_value *v, fmt_error *err)
{
    if (!v || is_link(v)) return 0;
    return gen_params_set_json(p, key, v, err);
}

/* Follow `name` links until a node that has `want` as a literal input. */
static const json_value *find_upstream(comfy_graph *g, const json_value *node, const char *name,
                                       const char *want, int depth)
{
    if (!node || depth > COMFY_MAX_DEPTH || ++g->visits > COMFY_MAX_VISITS) return NULL;
    const json_value *in = inputs_of(node);
    const json_value *v = json_get(in, want);
    if (v && !is_link(v)) return v;
    const json_value *next = json_get(in, name);
    if (!is_link(next)) return NULL;
    return find_upstream(g, follow(g, next), name, want, depth + 1);
}

static int sampler_settings(comfy_graph *g, const json_value *s, gen_params *p, fmt_error *err)
{
    const json_value *in = inputs_of(s);
    /* SamplerCustomAdvanced keeps its settings in linked nodes. */
    const json_value *noise = follow(g, json_get(in, "noise"));
    const json_value *sampler = follow(g, json_get(in, "sampler"));
    const json_value *sigmas = follow(g, json_get(in, "sigmas"));
    const json_value *guider = follow(g, json_get(in, "guider"));
    const json_value *seed = json_get(in, "seed");
    if (!seed) seed = json_get(in, "noise_seed");
    if (!seed && noise) seed = json_get(inputs_of(noise), "noise_seed");
    const json_value *steps = json_get(in, "steps");
    if (!steps && sigmas) steps = json_get(inputs_of(sigmas), "steps");
    const json_value *name = json_get(in, "sampler_name");
    if (!name && sampler) name = json_get(inputs_of(sampler), "sampler_name");
    const json_value *sched = json_get(in, "scheduler");
    if (!sched && sigmas) sched = json_get(inputs_of(sigmas), "scheduler");
    const json_value *cfg = json_get(in, "cfg");
    if (!cfg && guider) cfg = json_get(inputs_of(guider), "cfg");
    const json_value *denoise = json_get(in, "denoise");
    if (!denoise && sigmas) denoise = json_get(inputs_of(sigmas), "denoise");
    if (set_from(p, "Steps", steps, err) || set_from(p, "Sampler", name, err) ||
        set_from(p, "Schedule type", sched, err) || set_from(p, "CFG scale", cfg, err) ||
        set_from(p, "Seed", seed, err))
        return -1;
    const json_value *latent = follow(g, json_get(in, "latent_image"));
    const json_value *w = find_upstream(g, latent, "samples", "width", 0);
    const json_value *h = find_upstream(g, latent, "samples", "height", 0);
    if (w && h && w->type == JSON_NUMBER && h->type == JSON_NUMBER) {
        buf b;
        buf_init(&b, 64);
        int rc = buf_printf(&b, err, "%sx%s", w->str, h->str);
        if (!rc) rc = gen_params_set(p, "Size", b.data, b.len, err);
        buf_free(&b);
        if (rc) return -1;
    }
    const json_value *model_src = json_get(in, "model") ? s : guider;
    const json_value *ckpt = find_upstream(g, model_src, "model", "ckpt_name", 0);
    if (!ckpt) ckpt = find_upstream(g, model_src, "model", "unet_name", 0);
    if (set_from(p, "Model", ckpt, err)) return -1;
    if (denoise && denoise->type == JSON_NUMBER && denoise->number != 1.0 &&
        set_from(p, "Denoising strength", denoise, err))
        return -1;
    return 0;
}

static int take_text(buf *b, char **field, fmt_error *err)
{
    int rc = b->data ? gen_params_set_text(field, b->data, b->len, err) : 0;
    buf_free(b);
    return rc;
}

static int parse_prompt_graph(const json_value *root, gen_params *p, fmt_error *err)
{
    comfy_graph g = {root, 0};
    const char *id;
    const json_value *s = first_sampler(&g, &id);
    if (!s) return fmt_fail(err, "comfyui: no sampler node in the graph");
    const json_value *in = inputs_of(s);
    const json_value *guider = follow(&g, json_get(in, "guider"));
    const json_value *pos = json_get(in, "positive"), *neg = json_get(in, "negative");
    if (!pos && guider) {
        pos = json_get(inputs_of(guider), "positive");
        neg = json_get(inputs_of(guider), "negative");
        if (!pos) pos = json_get(inputs_of(guider), "conditioning");
    }
    buf pb, nb;
    buf_init(&pb, (size_t)64 << 20);
    buf_init(&nb, (size_t)64 << 20);
    if ((pos && collect_text(&g, pos, "positive", &pb, 0, err)) ||
        (neg && collect_text(&g, neg, "negative", &nb, 0, err))) {
        buf_free(&pb);
        buf_free(&nb);
        return -1;
    }
    if (take_text(&pb, &p->prompt, err) || take_text(&nb, &p->negative_prompt, err)) {
        buf_free(&nb);
        return -1;
    }
    return sampler_settings(&g, s, p, err);
}

/* ---- workflow (editor format) ------------------------------------------- */

static const json_value *wf_node(const json_value *nodes, double id)
{
    for (size_t i = 0; i < nodes->count; i++) {
        const json_value *nid = json_get(&nodes->items[i], "id");
        if (nid && nid->type == JSON_NUMBER && nid->number == id) return &nodes->items[i];
    }
    return NULL;
}

/* The node feeding input `name` of `node`, via the links table. */
static const json_value *wf_source(const json_value *wf, const json_value *node, const char *name)
{
    const json_value *inputs = json_get(node, "inputs");
    const json_value *links = json_get(wf, "links");
    const json_value *nodes = json_get(wf, "nodes");
    if (!inputs || !links || !nodes) return NULL;
    for (size_t i = 0; i < inputs->count; i++) {
        const json_value *in = &inputs->items[i];
        const json_value *lid = json_get(in, "link");
        if (!json_str(json_get(in, "name")) || strcmp(json_str(json_get(in, "name")), name) || !lid ||
            lid->type != JSON_NUMBER)
            continue;
        for (size_t k = 0; k < links->count; k++) {
            const json_value *l = &links->items[k];
            if (l->type == JSON_ARRAY && l->count >= 4 && json_at(l, 0)->type == JSON_NUMBER &&
                json_at(l, 0)->number == lid->number && json_at(l, 1)->type == JSON_NUMBER)
                return wf_node(nodes, json_at(l, 1)->number);
        }
    }
    return NULL;
}

static const char *wf_text(const json_value *node)
{
    const json_value *w = json_get(node, "widgets_values");
    const json_value *first = json_at(w, 0);
    return json_str(first);
}

static int parse_workflow(const json_value *wf, gen_params *p, fmt_error *err)
{
    const json_value *nodes = json_get(wf, "nodes");
    if (!nodes || nodes->type != JSON_ARRAY) return fmt_fail(err, "comfyui: workflow has no nodes");
    for (size_t i = 0; i < nodes->count; i++) {
        const json_value *n = &nodes->items[i];
        const char *type = json_str(json_get(n, "type"));
        if (!type || strncmp(type, "KSampler", 8)) continue;
        const char *pos = wf_text(wf_source(wf, n, "positive"));
        const char *neg = wf_text(wf_source(wf, n, "negative"));
        if (pos && gen_params_set_text(&p->prompt, pos, strlen(pos), err)) return -1;
        if (neg && gen_params_set_text(&p->negative_prompt, neg, strlen(neg), err)) return -1;
        /* KSampler widgets: seed, control, steps, cfg, sampler, scheduler, denoise. */
        const json_value *w = json_get(n, "widgets_values");
        if (w && w->type == JSON_ARRAY && !strcmp(type, "KSampler") && w->count >= 7) {
            if (set_from(p, "Steps", json_at(w, 2), err) || set_from(p, "Sampler", json_at(w, 4), err) ||
                set_from(p, "Schedule type", json_at(w, 5), err) || set_from(p, "CFG scale", json_at(w, 3), err) ||
                set_from(p, "Seed", json_at(w, 0), err))
                return -1;
        }
        return 0;
    }
    /* No sampler: the text encoders' texts are still the prompt. */
    buf b;
    buf_init(&b, (size_t)64 << 20);
    for (size_t i = 0; i < nodes->count; i++) {
        const char *type = json_str(json_get(&nodes->items[i], "type"));
        if (type && strstr(type, "TextEncode") && add_text(&b, wf_text(&nodes->items[i]), err)) {
            buf_free(&b);
            return -1;
        }
    }
    if (!b.data) {
        buf_free(&b);
        return fmt_fail(err, "comfyui: workflow has no sampler or text encoder");
    }
    return take_text(&b, &p->prompt, err);
}

int params_parse_comfyui(const char *prompt_json, size_t prompt_len, const char *workflow_json,
                         size_t workflow_len, gen_params *p, fmt_error *err)
{
    json_value *root = NULL;
    int rc = -1;
    fmt_error local;
    if (!err) err = &local;
    err->msg[0] = '\0';
    if (prompt_json) {
        root = json_parse(prompt_json, prompt_len, NULL, err);
        if (root && root->type == JSON_OBJECT) rc = parse_prompt_graph(root, p, err);
        json_free(root);
    }
    if (rc != 0 && workflow_json) {
        if (strstr(err->msg, "out of memory")) return -1;
        gen_params_free(p);
        root = json_parse(workflow_json, workflow_len, NULL, err);
        if (root && root->type == JSON_OBJECT) rc = parse_workflow(root, p, err);
        json_free(root);
    }
    if (rc == 0) p->generator = "comfyui";
    return rc;
}
