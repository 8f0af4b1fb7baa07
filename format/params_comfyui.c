/* ComfyUI: the `prompt` chunk is the API graph {node id: {class_type,
 * inputs}}; inputs are literals or links [node id, output index]. Find the
 * sampler, follow its positive/negative links through intermediate nodes to
 * the text encoders, and read steps/cfg/seed/... from the nodes around it.
 * Without `prompt`, the editor's `workflow` (nodes + links) is used. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "format/gen_params.h"
#include "base/hash.h"
#include "format/json.h"
#include "format/text_join.h"

/* Bounds on each walk (the positive text, the negative text, the
 * settings): links followed in a row, and calls in all. Each node's inputs
 * are walked once per text, so the cost is linear in the graph. */
#define COMFY_MAX_DEPTH 32
#define COMFY_MAX_VISITS 4096
#define COMFY_MAX_TEXT ((size_t)64 << 20)

typedef struct {
    const json_value *graph; /* object: id → node (json_get is O(1) on it) */
    int visits;              /* calls of the current walk */
} comfy_graph;

/* One walk collecting the text that reaches a sampler's positive or
 * negative input. */
typedef struct {
    comfy_graph *g;
    const char *polarity;    /* "positive" or "negative" */
    unsigned char *expanded; /* per node of the graph: its inputs were walked */
    hash_index added;        /* addresses of the strings already joined */
    text_join out;
} comfy_walk;

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

static int walk_init(comfy_walk *w, comfy_graph *g, const char *polarity, fmt_error *err)
{
    memset(w, 0, sizeof *w);
    w->g = g;
    w->polarity = polarity;
    g->visits = 0;
    w->expanded = calloc(g->graph->count ? g->graph->count : 1, 1);
    if (!w->expanded) return fmt_fail(err, "out of memory");
    if (hash_index_init(&w->added, 0, err) || text_join_init(&w->out, COMFY_MAX_TEXT, err)) return -1;
    return 0;
}

static void walk_free(comfy_walk *w)
{
    free(w->expanded);
    hash_index_free(&w->added);
    text_join_free(&w->out);
}

/* Join a text once. The same text reached twice (e.g. text_g == text_l) is
 * kept once; the same string (one node's input, reached by many links) is
 * recognised by its address before its bytes are read again. */
static int add_text(comfy_walk *w, const char *s, fmt_error *err)
{
    if (!s || !*s) return 0;
    uint64_t h = hash_index_key(&w->added, &s, sizeof s);
    hash_probe p = hash_index_probe(&w->added, h);
    size_t seen;
    while (hash_probe_next(&p, &seen))
        if (seen == (size_t)(uintptr_t)s) return 0;
    if (hash_index_add(&w->added, h, (size_t)(uintptr_t)s, err)) return -1;
    return text_join_add(&w->out, s, strlen(s), err);
}

/* Mark a node of the graph walked; 0 if it was already. */
static int first_visit(comfy_walk *w, const json_value *node)
{
    size_t at = (size_t)(node - w->g->graph->items);
    if (w->expanded[at]) return 0;
    w->expanded[at] = 1;
    return 1;
}

/* Collect the prompt text reaching a conditioning link, following the
 * walk's polarity where a node forwards both. A node reached again adds
 * nothing new (its texts are in already), so it is walked once. */
static int collect_text(comfy_walk *w, const json_value *link, int depth, fmt_error *err)
{
    comfy_graph *g = w->g;
    if (depth > COMFY_MAX_DEPTH || ++g->visits > COMFY_MAX_VISITS) return 0;
    const json_value *node = follow(g, link);
    const json_value *in = inputs_of(node);
    if (!in || in->type != JSON_OBJECT || !first_visit(w, node)) return 0;
    const char *cls = class_of(node);
    static const char *const text_names[] = {"text", "text_g", "text_l", "prompt"};
    int found = 0;
    for (size_t i = 0; i < sizeof text_names / sizeof text_names[0]; i++) {
        const json_value *t = json_get(in, text_names[i]);
        if (!t) continue;
        const char *s = string_input(g, t, depth + 1);
        if (s) {
            found = 1;
            if (add_text(w, s, err)) return -1;
        }
    }
    if (found && cls && strstr(cls, "TextEncode")) return 0;
    /* Intermediate nodes: follow the same polarity if the node has it,
     * otherwise every conditioning-like link input. */
    const json_value *same = json_get(in, w->polarity);
    if (is_link(same)) return collect_text(w, same, depth + 1, err);
    for (size_t i = 0; i < in->count; i++) {
        const char *name = in->keys[i];
        if (!is_link(&in->items[i])) continue;
        if (strncmp(name, "conditioning", 12) && strcmp(name, "guider") && strcmp(name, "cond"))
            continue;
        if (collect_text(w, &in->items[i], depth + 1, err)) return -1;
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

static int take_text(const text_join *j, char **field, fmt_error *err)
{
    return j->text.data ? gen_params_set_text(field, j->text.data, j->text.len, err) : 0;
}

/* The text reaching `link` into *field (left NULL when none does). */
static int walk_text(comfy_graph *g, const json_value *link, const char *polarity, char **field,
                     fmt_error *err)
{
    if (!link) return 0;
    comfy_walk w;
    int rc = walk_init(&w, g, polarity, err);
    if (!rc) rc = collect_text(&w, link, 0, err);
    if (!rc) rc = take_text(&w.out, field, err);
    walk_free(&w);
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
    if (walk_text(&g, pos, "positive", &p->prompt, err) || walk_text(&g, neg, "negative", &p->negative_prompt, err))
        return -1;
    g.visits = 0;
    return sampler_settings(&g, s, p, err);
}

/* ---- workflow (editor format) ------------------------------------------- */

/* Nodes and links by id (a JSON number), each id at its first holder. */
typedef const json_value *(*wf_id_fn)(const json_value *item);

typedef struct {
    const json_value *nodes, *links;
    hash_index node_at, link_at;
} wf_graph;

static const json_value *node_id(const json_value *node)
{
    const json_value *id = json_get(node, "id");
    return id && id->type == JSON_NUMBER ? id : NULL;
}

/* A link is [id, source node, source slot, target node, ...]. */
static const json_value *link_id(const json_value *l)
{
    if (l->type != JSON_ARRAY || l->count < 4 || json_at(l, 0)->type != JSON_NUMBER ||
        json_at(l, 1)->type != JSON_NUMBER)
        return NULL;
    return json_at(l, 0);
}

static uint64_t id_hash(const hash_index *h, double id)
{
    if (id == 0) id = 0; /* -0 is the same id as 0 */
    return hash_index_key(h, &id, sizeof id);
}

/* The first item of `list` whose id equals `id`, or NULL. */
static const json_value *wf_find(const hash_index *h, const json_value *list, wf_id_fn id_of, double id)
{
    if (isnan(id)) return NULL;
    hash_probe p = hash_index_probe(h, id_hash(h, id));
    size_t i;
    while (hash_probe_next(&p, &i))
        if (id_of(&list->items[i])->number == id) return &list->items[i];
    return NULL;
}

static int wf_index(hash_index *h, const json_value *list, wf_id_fn id_of, fmt_error *err)
{
    if (hash_index_init(h, list->count, err)) return -1;
    for (size_t i = 0; i < list->count; i++) {
        const json_value *id = id_of(&list->items[i]);
        if (!id || isnan(id->number) || wf_find(h, list, id_of, id->number)) continue;
        if (hash_index_add(h, id_hash(h, id->number), i, err)) return -1;
    }
    return 0;
}

static void wf_free(wf_graph *g)
{
    hash_index_free(&g->node_at);
    hash_index_free(&g->link_at);
}

static int wf_init(wf_graph *g, const json_value *wf, fmt_error *err)
{
    memset(g, 0, sizeof *g);
    g->nodes = json_get(wf, "nodes");
    g->links = json_get(wf, "links");
    if (!g->links) return 0;
    if (wf_index(&g->node_at, g->nodes, node_id, err) || wf_index(&g->link_at, g->links, link_id, err)) {
        wf_free(g);
        return -1;
    }
    return 0;
}

/* The node feeding input `name` of `node`: the first input of that name
 * whose link is in the table names it (NULL if that node is missing). */
static const json_value *wf_source(const wf_graph *g, const json_value *node, const char *name)
{
    const json_value *inputs = json_get(node, "inputs");
    if (!inputs || !g->links) return NULL;
    for (size_t i = 0; i < inputs->count; i++) {
        const json_value *in = &inputs->items[i];
        const json_value *lid = json_get(in, "link");
        if (!json_str(json_get(in, "name")) || strcmp(json_str(json_get(in, "name")), name) || !lid ||
            lid->type != JSON_NUMBER)
            continue;
        const json_value *l = wf_find(&g->link_at, g->links, link_id, lid->number);
        if (l) return wf_find(&g->node_at, g->nodes, node_id, json_at(l, 1)->number);
    }
    return NULL;
}

static const char *wf_text(const json_value *node)
{
    const json_value *w = json_get(node, "widgets_values");
    const json_value *first = json_at(w, 0);
    return json_str(first);
}

static int wf_sampler(const json_value *wf, const json_value *n, const char *type, gen_params *p, fmt_error *err)
{
    wf_graph g;
    if (wf_init(&g, wf, err)) return -1;
    const char *pos = wf_text(wf_source(&g, n, "positive"));
    const char *neg = wf_text(wf_source(&g, n, "negative"));
    wf_free(&g);
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
static int wf_encoders(const json_value *nodes, gen_params *p, fmt_error *err)
{
    text_join j;
    int rc = text_join_init(&j, COMFY_MAX_TEXT, err);
    for (size_t i = 0; i < nodes->count && !rc; i++) {
        const char *type = json_str(json_get(&nodes->items[i], "type"));
        const char *text = type && strstr(type, "TextEncode") ? wf_text(&nodes->items[i]) : NULL;
        if (text) rc = text_join_add(&j, text, strlen(text), err);
    }
    if (!rc && !j.text.data) rc = fmt_fail(err, "comfyui: workflow has no sampler or text encoder");
    if (!rc) rc = take_text(&j, &p->prompt, err);
    text_join_free(&j);
    return rc;
}

static int parse_workflow(const json_value *wf, gen_params *p, fmt_error *err)
{
    const json_value *nodes = json_get(wf, "nodes");
    if (!nodes || nodes->type != JSON_ARRAY) return fmt_fail(err, "comfyui: workflow has no nodes");
    for (size_t i = 0; i < nodes->count; i++) {
        const char *type = json_str(json_get(&nodes->items[i], "type"));
        if (type && !strncmp(type, "KSampler", 8)) return wf_sampler(wf, &nodes->items[i], type, p, err);
    }
    return wf_encoders(nodes, p, err);
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
