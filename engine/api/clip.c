/* Interrogate CLIP (modules/interrogate.py), the public API of unprompt.h:
 *
 *   caption:  RGB → bicubic S×S → BLIP ViT → BERT decoder from "a picture of "
 *             → WordPiece decode, the prompt cut off
 *   ranking:  RGB → bicubic short side + centre crop → CLIP image tower →
 *             L2-normalise → per list softmax(100 · cos) → top N
 *   prompt:   "caption, match, match, …" (or "(match:0.123)" with ranks)
 *
 * The label embeddings of every list are computed once (label_cache.c) when
 * the context loads, so a run costs one image through each tower plus the
 * caption's decoding. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/text/bert_tokenizer.h"
#include "engine/models/blip/blip.h"
#include "engine/models/clip/categories.h"
#include "engine/models/clip/clip.h"
#include "engine/models/clip/clip_rank.h"
#include "engine/text/clip_tokenizer.h"
#include "engine/models/clip/label_cache.h"
#include "engine/preprocess/pixels.h"
#include "engine/runtime/threads.h"
#include "engine/api/unprompt.h"
#include "base/buf.h"

#define BLIP_PROMPT "a picture of "
#define CLIP_CONTEXT 77

struct unprompt_clip {
    kernel_table kt;
    weights_file *clip_file, *blip_file;
    clip_model clip;
    int clip_loaded;
    clip_tokenizer *tok;
    blip_model *blip;
    bert_tokenizer *bert;
    category_set cats;
    float **labels;    /* per list: [n_items][dim], normalised */
    float *clip_input; /* [clip_inputs_cap][S*S*3] */
    size_t clip_inputs_cap;
    float *blip_input; /* [blip_inputs_cap][S*S*3] */
    size_t blip_inputs_cap;
    float *blip_embeds; /* [embeds_cap][tokens][width] */
    size_t embeds_cap;
    float *probs;      /* the longest list */
    char model_key[256];
    int threads;
};

typedef struct {
    char *prompt, *caption;
    int *tokens;
    unprompt_category_result *cats;
    unprompt_match *matches;
} clip_internal;

static int fail(char *err, size_t size, int status, const char *msg)
{
    if (err && size) snprintf(err, size, "%s", msg);
    return status;
}

unprompt_clip_params unprompt_clip_default_params(void)
{
    unprompt_clip_params p;
    memset(&p, 0, sizeof p);
    p.dict_limit = 1500;
    return p;
}

int unprompt_clip_check_skip_categories(const char *categories_dir, const char *skip_categories, char *err,
                                        size_t err_size)
{
    fmt_error e = {{0}};
    if (categories_check_skip(categories_dir, skip_categories, &e)) return fail(err, err_size, UNPROMPT_ERR_ARGS, e.msg);
    return UNPROMPT_OK;
}

unprompt_clip_run_params unprompt_clip_default_run_params(void)
{
    unprompt_clip_run_params p = {
        .beams = 1, .min_length = 24, .max_length = 48, .repetition_penalty = 1.0f, .include_ranks = 0};
    return p;
}

size_t unprompt_clip_dim(const unprompt_clip *c) { return c->clip_loaded ? (size_t)c->clip.config.embed_dim : 0; }

/* ---- loading ------------------------------------------------------------------- */

/* Phrases → token ids → text tower, for the label cache. */
static int encode_phrases(void *user, const char *const *phrases, size_t n, float *features, fmt_error *err)
{
    unprompt_clip *c = user;
    int *ids = malloc(n * CLIP_CONTEXT * sizeof *ids);
    const int **rows = malloc(n * sizeof *rows);
    size_t *lens = malloc(n * sizeof *lens);
    int rc = ids && rows && lens ? 0 : fmt_fail(err, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        rows[i] = ids + i * CLIP_CONTEXT;
        if (clip_tokenize(c->tok, phrases[i], ids + i * CLIP_CONTEXT, CLIP_CONTEXT, &lens[i]))
            rc = fmt_fail(err, "cannot tokenize \"%.60s\"", phrases[i]);
    }
    if (!rc && clip_encode_text(&c->clip, rows, lens, n, features))
        rc = fmt_fail(err, "token ids outside the model's vocabulary");
    free(ids), free(rows), free(lens);
    return rc;
}

/* *buf holds *cap images of `per` floats: grow it to n. */
static int reserve_images(float **buf, size_t *cap, size_t n, size_t per, fmt_error *e)
{
    if (n <= *cap && *buf) return 0;
    float *p = realloc(*buf, n * per * sizeof *p);
    if (!p) return fmt_fail(e, "out of memory for %zu images", n);
    *buf = p, *cap = n;
    return 0;
}

static int load_clip(unprompt_clip *c, const unprompt_clip_params *p, int threads, fmt_error *e)
{
    if (weights_open(&c->clip_file, p->clip_model, e) || clip_load(&c->clip, c->clip_file, &c->kt, threads, e))
        return -1;
    c->clip_loaded = 1;
    if (!c->clip.bpe_merges) return fmt_fail(e, "%s: no tokenizer.bpe_merges (convert it again with --vocab)", p->clip_model);
    if (clip_tokenizer_load(&c->tok, c->clip.bpe_merges, c->clip.bpe_merges_len, e)) return fmt_prefix(e, "clip: ");
    const char *sha = weights_meta(c->clip_file, "unprompt.source_sha256"),
               *dt = weights_meta(c->clip_file, "unprompt.dtype"), *cv = weights_meta(c->clip_file, "unprompt.converter");
    snprintf(c->model_key, sizeof c->model_key, "clip %s %s converter %s", sha ? sha : p->clip_model, dt ? dt : "?",
             cv ? cv : "?");
    size_t s = (size_t)c->clip.config.image_size;
    return reserve_images(&c->clip_input, &c->clip_inputs_cap, 1, s * s * 3, e);
}


static int load_blip(unprompt_clip *c, const char *path, int threads, fmt_error *e)
{
    const uint8_t *vocab;
    size_t len;
    if (weights_open(&c->blip_file, path, e)) return -1;
    if (!(c->blip = calloc(1, sizeof *c->blip))) return fmt_fail(e, "blip: out of memory");
    if (blip_load(c->blip, c->blip_file, &c->kt, threads, e)) {
        free(c->blip), c->blip = NULL;
        return -1;
    }
    if (weights_bytes(c->blip_file, "tokenizer.vocab", &vocab, &len, e)) return fmt_prefix(e, "blip: ");
    if (bert_tokenizer_load(&c->bert, (const char *)vocab, len, e)) return fmt_prefix(e, "blip: ");
    const blip_config *cfg = blip_get_config(c->blip);
    size_t s = (size_t)cfg->image_size, tokens = (size_t)cfg->image_tokens * (size_t)cfg->vision_width;
    return reserve_images(&c->blip_input, &c->blip_inputs_cap, 1, s * s * 3, e) ||
                   reserve_images(&c->blip_embeds, &c->embeds_cap, 1, tokens, e)
               ? -1
               : 0;
}

static int load_labels(unprompt_clip *c, const unprompt_clip_params *p, fmt_error *e)
{
    if (categories_load(&c->cats, p->categories_dir, p->dict_limit, p->skip_categories, e)) return -1;
    char cache[4096];
    if (p->cache_dir) snprintf(cache, sizeof cache, "%s", p->cache_dir);
    else {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", p->clip_model);
        snprintf(cache, sizeof cache, "%s/cache", dirname(copy));
    }
    label_cache_params lp = {.dir = cache,
                             .model_key = c->model_key,
                             .dim = unprompt_clip_dim(c),
                             .chunk = 0,
                             .encode = encode_phrases,
                             .encode_user = c,
                             .progress = p->progress,
                             .progress_user = p->progress_user};
    c->labels = calloc(c->cats.n, sizeof *c->labels);
    size_t most = 1;
    for (size_t i = 0; i < c->cats.n; i++) most = c->cats.cats[i].n_items > most ? c->cats.cats[i].n_items : most;
    c->probs = malloc(most * sizeof *c->probs);
    if (!c->labels || !c->probs) return fmt_fail(e, "out of memory");
    for (size_t i = 0; i < c->cats.n; i++)
        if (label_cache_get(&lp, &c->cats.cats[i], &c->labels[i], NULL, e)) {
            char prefix[300];
            snprintf(prefix, sizeof prefix, "list %.200s: ", c->cats.cats[i].name);
            return fmt_prefix(e, prefix);
        }
    return 0;
}

int unprompt_clip_load(unprompt_clip **out, const unprompt_clip_params *p, char *err, size_t err_size)
{
    *out = NULL;
    unprompt_clip *c = calloc(1, sizeof *c);
    if (!c) return fail(err, err_size, UNPROMPT_ERR_NOMEM, "out of memory");
    int threads = c->threads = threads_count(p->threads);
    threads_use(threads);
    kernels_init(&c->kt);
    fmt_error e = {{0}};
    int rc = UNPROMPT_OK;
    if (!p->clip_model && !p->blip_model) {
        fmt_fail(&e, "neither a CLIP nor a BLIP model given");
        rc = UNPROMPT_ERR_ARGS;
    } else if ((p->clip_model && load_clip(c, p, threads, &e)) || (p->blip_model && load_blip(c, p->blip_model, threads, &e)))
        rc = UNPROMPT_ERR_MODEL;
    else if (p->clip_model && p->categories_dir && load_labels(c, p, &e)) rc = UNPROMPT_ERR_ARGS;
    if (rc != UNPROMPT_OK) {
        unprompt_clip_free(c);
        return fail(err, err_size, rc, e.msg);
    }
    *out = c;
    return UNPROMPT_OK;
}

void unprompt_clip_free(unprompt_clip *c)
{
    if (!c) return;
    for (size_t i = 0; c->labels && i < c->cats.n; i++) free(c->labels[i]);
    free(c->labels);
    categories_free(&c->cats);
    if (c->clip_loaded) clip_free(&c->clip);
    clip_tokenizer_free(c->tok);
    blip_free(c->blip), free(c->blip);
    bert_tokenizer_free(c->bert);
    weights_close(c->clip_file);
    weights_close(c->blip_file);
    free(c->clip_input), free(c->blip_input), free(c->blip_embeds), free(c->probs);
    free(c);
}

/* ---- running ------------------------------------------------------------------- */

/* Images per pass of a vision tower. A tower's activations grow with the
 * images of a pass, its speed does not beyond a few (each image is
 * hundreds of rows already), so a batch larger than this, which decoding
 * does gain from, goes through the towers in passes of this many. */
#define TOWER_PASS 8

/* Images in the pass that starts at image i of n. */
static size_t tower_pass(size_t n, size_t i) { return n - i < TOWER_PASS ? n - i : TOWER_PASS; }

/* BLIP captions of n images, decoded together (blip_generate_batch). */
static int caption_images(unprompt_clip *c, const unprompt_rgb_image *im, size_t n, const unprompt_clip_run_params *rp,
                          clip_internal **in, size_t *n_tokens, fmt_error *e)
{
    blip_generate_params gp = {.beams = rp->beams,
                               .min_length = rp->min_length,
                               .max_length = rp->max_length,
                               .repetition_penalty = rp->repetition_penalty};
    int32_t prompt[64];
    size_t n_prompt = 0, cap = (size_t)(rp->max_length > 0 ? rp->max_length : 1) + 64;
    if (bert_blip_prompt_ids(c->bert, BLIP_PROMPT, prompt, 64, &n_prompt) || n_prompt > 64)
        return fmt_fail(e, "blip: cannot tokenize the prompt");
    const blip_config *cfg = blip_get_config(c->blip);
    size_t per = (size_t)cfg->image_tokens * (size_t)cfg->vision_width;
    size_t px = (size_t)cfg->image_size * (size_t)cfg->image_size * 3;
    if (reserve_images(&c->blip_embeds, &c->embeds_cap, n, per, e) ||
        reserve_images(&c->blip_input, &c->blip_inputs_cap, n, px, e))
        return -1;
    const float *embeds[UNPROMPT_MAX_BATCH], *pixels[UNPROMPT_MAX_BATCH];
    for (size_t i = 0; i < n; i++) {
        embeds[i] = c->blip_embeds + i * per, pixels[i] = c->blip_input + i * px;
        if (blip_preprocess(c->blip, im[i].rgb, im[i].width, im[i].height, c->blip_input + i * px, e)) return -1;
    }
    for (size_t i = 0; i < n; i += TOWER_PASS)
        if (blip_encode_images(c->blip, pixels + i, tower_pass(n, i), c->blip_embeds + i * per, e)) return -1;
    int *ids = malloc(n * cap * sizeof *ids);
    if (!ids) return fmt_fail(e, "out of memory");
    int rc = blip_generate_batch(c->blip, embeds, n, prompt, n_prompt, &gp, ids, cap, n_tokens, e);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!(in[i]->tokens = malloc((n_tokens[i] ? n_tokens[i] : 1) * sizeof *in[i]->tokens))) {
            rc = fmt_fail(e, "out of memory");
            break;
        }
        memcpy(in[i]->tokens, ids + i * cap, n_tokens[i] * sizeof *ids);
        if (!(in[i]->caption = bert_caption_alloc(c->bert, in[i]->tokens, n_tokens[i], BLIP_PROMPT, e))) rc = -1;
    }
    free(ids);
    return rc;
}

/* The image's matches in every list. */
static int rank_image(unprompt_clip *c, const float *features, clip_internal *in, fmt_error *e)
{
    size_t total = 0, dim = unprompt_clip_dim(c);
    for (size_t i = 0; i < c->cats.n; i++) total += (size_t)c->cats.cats[i].top;
    in->cats = calloc(c->cats.n ? c->cats.n : 1, sizeof *in->cats);
    in->matches = calloc(total ? total : 1, sizeof *in->matches);
    size_t *idx = malloc((total ? total : 1) * sizeof *idx);
    float *prob = malloc((total ? total : 1) * sizeof *prob);
    if (!in->cats || !in->matches || !idx || !prob) {
        free(idx), free(prob);
        return fmt_fail(e, "out of memory");
    }
    unprompt_match *m = in->matches;
    for (size_t i = 0; i < c->cats.n; i++) {
        const category *cat = &c->cats.cats[i];
        size_t k = clip_rank(features, c->labels[i], cat->n_items, dim, (size_t)cat->top, idx, prob, c->probs);
        in->cats[i] = (unprompt_category_result){cat->name, m, k};
        for (size_t j = 0; j < k; j++) *m++ = (unprompt_match){cat->items[idx[j]], prob[j]};
    }
    free(idx), free(prob);
    return 0;
}

/* "caption, match, …" as interrogate.py joins them. */
static char *build_prompt(const char *caption, const unprompt_category_result *cats, size_t n, int ranks)
{
    buf b;
    buf_init(&b, 0);
    int bad = buf_append_str(&b, caption, NULL);
    for (size_t i = 0; i < n && !bad; i++)
        for (size_t j = 0; j < cats[i].n_matches && !bad; j++) {
            const unprompt_match *m = &cats[i].matches[j];
            float score = m->score * 100.0f; /* float32 as numpy computes it */
            bad = ranks ? buf_printf(&b, NULL, ", (%s:%.3f)", m->text, (double)(score / 100.0f))
                        : buf_printf(&b, NULL, ", %s", m->text);
        }
    if (bad) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* The images' CLIP features (passes of TOWER_PASS images), then each
 * one's matches in every list. */
static int rank_images(unprompt_clip *c, const unprompt_rgb_image *im, size_t n, clip_internal **in, fmt_error *e)
{
    size_t s = (size_t)c->clip.config.image_size, per = s * s * 3, dim = unprompt_clip_dim(c);
    if (reserve_images(&c->clip_input, &c->clip_inputs_cap, n, per, e)) return -1;
    const float *x[UNPROMPT_MAX_BATCH];
    for (size_t i = 0; i < n; i++) {
        x[i] = c->clip_input + i * per;
        if (clip_preprocess(&c->clip, im[i].rgb, im[i].width, im[i].height, c->clip_input + i * per))
            return fmt_fail(e, "clip: bad image size %dx%d", im[i].width, im[i].height);
    }
    float *features = malloc(n * dim * sizeof *features);
    int rc = features ? 0 : fmt_fail(e, "out of memory");
    for (size_t i = 0; !rc && i < n; i += TOWER_PASS)
        if (clip_encode_images(&c->clip, x + i, tower_pass(n, i), features + i * dim)) rc = fmt_fail(e, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        clip_l2_normalize(features + i * dim, dim);
        rc = rank_image(c, features + i * dim, in[i], e);
    }
    free(features);
    return rc;
}

/* Caption, matches and prompt of n images into in[0..n). */
static int interrogate_images(unprompt_clip *c, const unprompt_rgb_image *im, size_t n, const unprompt_clip_run_params *rp,
                              clip_internal **in, size_t *n_tokens, fmt_error *e)
{
    int rc = 0;
    if (c->blip) rc = caption_images(c, im, n, rp, in, n_tokens, e);
    for (size_t i = 0; !c->blip && !rc && i < n; i++)
        if (!(in[i]->caption = strdup(""))) rc = fmt_fail(e, "out of memory");
    if (!rc && c->clip_loaded) rc = rank_images(c, im, n, in, e);
    for (size_t i = 0; !rc && i < n; i++)
        if (!(in[i]->prompt = build_prompt(in[i]->caption, in[i]->cats, c->cats.n, rp->include_ranks)))
            rc = fmt_fail(e, "out of memory");
    return rc;
}

int unprompt_clip_run_batch(unprompt_clip *c, const unprompt_rgb_image *images, size_t n,
                            const unprompt_clip_run_params *rp, unprompt_clip_result *out, char *err, size_t err_size)
{
    unprompt_clip_run_params def = unprompt_clip_default_run_params();
    if (!rp) rp = &def;
    if (n < 1 || n > UNPROMPT_MAX_BATCH) return fail(err, err_size, UNPROMPT_ERR_ARGS, "1 to 64 images at once");
    threads_use(c->threads);
    clip_internal *in[UNPROMPT_MAX_BATCH];
    size_t n_tokens[UNPROMPT_MAX_BATCH] = {0};
    int rc = 0;
    fmt_error e = {{0}};
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        if (!(in[i] = calloc(1, sizeof *in[i])) && !rc) rc = fmt_fail(&e, "out of memory");
        out[i].internal_ = in[i];
    }
    for (size_t i = 0; !rc && i < n; i++)
        if (!images[i].rgb || images[i].width < 1 || images[i].height < 1)
            rc = fmt_fail(&e, "image %zu: no pixels", i);
    if (!rc) rc = interrogate_images(c, images, n, rp, in, n_tokens, &e);
    for (size_t i = 0; i < n; i++) {
        if (rc) unprompt_clip_result_free(&out[i]);
        else
            out[i] = (unprompt_clip_result){.prompt = in[i]->prompt,
                                            .caption = in[i]->caption,
                                            .tokens = in[i]->tokens,
                                            .n_tokens = n_tokens[i],
                                            .categories = in[i]->cats,
                                            .n_categories = c->cats.n,
                                            .internal_ = in[i]};
    }
    return rc ? fail(err, err_size, UNPROMPT_ERR_MODEL, e.msg) : UNPROMPT_OK;
}

int unprompt_clip_run_rgb(unprompt_clip *c, const uint8_t *rgb, int w, int h, const unprompt_clip_run_params *rp,
                          unprompt_clip_result *out, char *err, size_t err_size)
{
    unprompt_rgb_image im = {rgb, w, h};
    return unprompt_clip_run_batch(c, &im, 1, rp, out, err, err_size);
}

int unprompt_clip_run(unprompt_clip *c, const uint8_t *bytes, size_t len, const unprompt_clip_run_params *rp,
                      unprompt_clip_result *out, char *err, size_t err_size)
{
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    fmt_error e = {{0}};
    memset(out, 0, sizeof *out);
    if (pixels_decode_rgb(bytes, len, &rgb, &w, &h, &e)) return fail(err, err_size, UNPROMPT_ERR_FORMAT, e.msg);
    int rc = unprompt_clip_run_rgb(c, rgb, w, h, rp, out, err, err_size);
    free(rgb);
    return rc;
}

void unprompt_clip_result_free(unprompt_clip_result *r)
{
    clip_internal *in = r->internal_;
    if (in) {
        free(in->prompt), free(in->caption), free(in->tokens), free(in->cats), free(in->matches);
        free(in);
    }
    memset(r, 0, sizeof *r);
}

/* ---- embeddings ------------------------------------------------------------------ */

int unprompt_clip_embed_image(unprompt_clip *c, const uint8_t *bytes, size_t len, float *features, char *err,
                              size_t err_size)
{
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    fmt_error e = {{0}};
    if (!c->clip_loaded) return fail(err, err_size, UNPROMPT_ERR_ARGS, "no CLIP model loaded");
    threads_use(c->threads);
    if (pixels_decode_rgb(bytes, len, &rgb, &w, &h, &e)) return fail(err, err_size, UNPROMPT_ERR_FORMAT, e.msg);
    int rc = clip_preprocess(&c->clip, rgb, w, h, c->clip_input);
    free(rgb);
    if (rc) return fail(err, err_size, UNPROMPT_ERR_FORMAT, "bad image size");
    clip_encode_image(&c->clip, c->clip_input, features);
    clip_l2_normalize(features, unprompt_clip_dim(c));
    return UNPROMPT_OK;
}

int unprompt_clip_max_caption_length(const unprompt_clip *c)
{
    return c && c->blip ? blip_get_config(c->blip)->max_positions : 0;
}

size_t unprompt_clip_text_tokens(const unprompt_clip *c, const char *text)
{
    size_t len = strlen(text), context = len + 2 < UNPROMPT_CLIP_COUNT_MAX ? len + 2 : UNPROMPT_CLIP_COUNT_MAX;
    if (!c->clip_loaded || context < 2) return 0;
    int *ids = malloc(context * sizeof *ids);
    size_t n = 0;
    if (!ids || clip_tokenize(c->tok, text, ids, context, &n)) n = 0;
    free(ids);
    return n;
}

int unprompt_clip_embed_text(unprompt_clip *c, const char *text, int *tokens, size_t *n_tokens, float *features,
                             char *err, size_t err_size)
{
    fmt_error e = {{0}};
    const char *one[1] = {text};
    if (!c->clip_loaded) return fail(err, err_size, UNPROMPT_ERR_ARGS, "no CLIP model loaded");
    threads_use(c->threads);
    if (clip_tokenize(c->tok, text, tokens, CLIP_CONTEXT, n_tokens))
        return fail(err, err_size, UNPROMPT_ERR_ARGS, "cannot tokenize the text");
    if (encode_phrases(c, one, 1, features, &e)) return fail(err, err_size, UNPROMPT_ERR_MODEL, e.msg);
    clip_l2_normalize(features, unprompt_clip_dim(c));
    return UNPROMPT_OK;
}
