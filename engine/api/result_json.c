/* The library's JSON results (result_json.h): the writer, and the JSON
 * formatters of unprompt.h over each result (info's is in info_format.c,
 * over the same writer). */
#include <stdio.h>
#include <string.h>

#include "engine/api/result_json.h"
#include "format/json.h"

static void put(json_out *o, const char *text)
{
    if (!o->failed && buf_append_str(o->b, text, o->e)) o->failed = 1;
}

static void put_string(json_out *o, const char *s)
{
    if (!s) put(o, "null");
    else if (!o->failed && json_write_string(o->b, s, strlen(s), o->e)) o->failed = 1;
}

void json_out_begin(json_out *o, buf *b, fmt_error *e)
{
    *o = (json_out){.b = b, .e = e, .first = 1, .failed = 0};
    put(o, "{");
}

void json_out_key(json_out *o, const char *key)
{
    if (!o->first) put(o, ", ");
    o->first = 0;
    if (key) put_string(o, key), put(o, ": ");
}

void json_out_str(json_out *o, const char *key, const char *value)
{
    json_out_key(o, key);
    put_string(o, value);
}

void json_out_raw(json_out *o, const char *key, const char *json)
{
    json_out_key(o, key);
    put(o, json);
}

void json_out_int(json_out *o, const char *key, int v)
{
    char s[16];
    snprintf(s, sizeof s, "%d", v);
    json_out_raw(o, key, s);
}

void json_out_score(json_out *o, const char *key, float v)
{
    char s[64];
    snprintf(s, sizeof s, "%.6f", (double)v);
    json_out_raw(o, key, s);
}

void json_out_feature(json_out *o, const char *key, float v)
{
    char s[32];
    snprintf(s, sizeof s, "%.7g", (double)v);
    json_out_raw(o, key, s);
}

void json_out_open(json_out *o, const char *key, char bracket)
{
    char open[2] = {bracket, 0};
    json_out_key(o, key);
    put(o, open);
    o->first = 1;
}

void json_out_close(json_out *o, char bracket)
{
    char close[2] = {bracket, 0};
    put(o, close);
    o->first = 0;
}

char *json_out_take(json_out *o)
{
    json_out_close(o, '}');
    if (o->failed) {
        buf_free(o->b);
        return NULL;
    }
    return buf_take(o->b);
}

void result_json_begin(json_out *o, buf *b, const char *file, fmt_error *e)
{
    json_out_begin(o, b, e);
    json_out_str(o, "file", file);
}

/* ---- the results' members ------------------------------------------------------- */

static const char *or_empty(const char *s) { return s ? s : ""; }

/* {"<key>": name, "score": s}: a match or a tag, in an array. */
static void scored(json_out *o, const char *key, const char *name, float score)
{
    json_out_open(o, NULL, '{');
    json_out_str(o, key, name);
    json_out_score(o, "score", score);
    json_out_close(o, '}');
}

static void clip_members(json_out *o, const void *result)
{
    const unprompt_clip_result *r = result;
    json_out_str(o, "prompt", or_empty(r->prompt));
    json_out_str(o, "caption", or_empty(r->caption));
    json_out_open(o, "categories", '{');
    for (size_t i = 0; i < r->n_categories; i++) {
        const unprompt_category_result *cat = &r->categories[i];
        json_out_open(o, cat->name, '[');
        for (size_t j = 0; j < cat->n_matches; j++) scored(o, "text", cat->matches[j].text, cat->matches[j].score);
        json_out_close(o, ']');
    }
    json_out_close(o, '}');
}

static void ints(json_out *o, const char *key, const int *v, size_t n)
{
    json_out_open(o, key, '[');
    for (size_t i = 0; i < n; i++) json_out_int(o, NULL, v[i]);
    json_out_close(o, ']');
}

static void floats(json_out *o, const char *key, const float *v, size_t n)
{
    json_out_open(o, key, '[');
    for (size_t i = 0; i < n; i++) json_out_feature(o, NULL, v[i]);
    json_out_close(o, ']');
}

static void caption_members(json_out *o, const void *result)
{
    const unprompt_clip_result *r = result;
    json_out_str(o, "caption", or_empty(r->caption));
    ints(o, "tokens", r->tokens, r->n_tokens);
}

static void booru_members(json_out *o, const void *result)
{
    const unprompt_booru_result *r = result;
    json_out_str(o, "prompt", or_empty(r->prompt));
    json_out_open(o, "tags", '[');
    for (size_t i = 0; i < r->n_tags; i++) scored(o, "tag", r->tags[i].tag, r->tags[i].score);
    json_out_close(o, ']');
}

/* The source ("metadata" or "models"), then each model's members nested
 * under its name (null when the prompt is the stored one). */
static void all_members(json_out *o, const void *result)
{
    const unprompt_all_result *r = result;
    json_out_str(o, "prompt", or_empty(r->prompt));
    json_out_str(o, "source", r->from_metadata ? "metadata" : "models");
    if (r->from_metadata) { /* the same keys whatever the source */
        json_out_raw(o, "clip", "null");
        json_out_raw(o, "booru", "null");
        return;
    }
    json_out_open(o, "clip", '{');
    clip_members(o, &r->clip);
    json_out_close(o, '}');
    json_out_open(o, "booru", '{');
    booru_members(o, &r->booru);
    json_out_close(o, '}');
}

typedef struct {
    const char *text; /* NULL: an image's */
    const int *tokens;
    size_t n_tokens;
    const float *features;
    size_t dim;
} embedding;

static void embedding_members(json_out *o, const void *p)
{
    const embedding *em = p;
    if (em->text) json_out_str(o, "text", em->text), ints(o, "tokens", em->tokens, em->n_tokens);
    floats(o, "embedding", em->features, em->dim);
}

/* ---- the formatters ------------------------------------------------------------- */

/* One object: {"file": F (with_file), then the members. */
static char *object(int with_file, const char *file, void (*members)(json_out *, const void *), const void *p)
{
    buf b;
    json_out o;
    buf_init(&b, 0);
    if (with_file) result_json_begin(&o, &b, file, NULL);
    else json_out_begin(&o, &b, NULL);
    members(&o, p);
    return json_out_take(&o);
}

char *unprompt_clip_to_json(const unprompt_clip_result *r, const char *file)
{
    return object(1, file, clip_members, r);
}

char *unprompt_caption_to_json(const unprompt_clip_result *r, const char *file)
{
    return object(1, file, caption_members, r);
}

char *unprompt_booru_to_json(const unprompt_booru_result *r, const char *file)
{
    return object(1, file, booru_members, r);
}

char *unprompt_all_to_json(const unprompt_all_result *r, const char *file)
{
    return object(1, file, all_members, r);
}

char *unprompt_embedding_to_json(const float *features, size_t dim, const char *file)
{
    embedding em = {.text = NULL, .features = features, .dim = dim};
    return object(1, file, embedding_members, &em);
}

char *unprompt_text_embedding_to_json(const char *text, const int *tokens, size_t n_tokens, const float *features,
                                      size_t dim)
{
    embedding em = {.text = text, .tokens = tokens, .n_tokens = n_tokens, .features = features, .dim = dim};
    return object(0, NULL, embedding_members, &em);
}
