/* CLIP forward passes; the architecture is described in clip.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/models/clip/clip.h"
#include "engine/runtime/model_config.h"
#include "engine/runtime/panel_cache.h"
#include "engine/preprocess/model_input.h"
#include "kernels/attention.h"

#define CLIP_HEAD_DIM_MAX 256

/* ---- config ------------------------------------------------------------------ */

static int clip_read_config(const json_value *v, clip_config *c, fmt_error *err)
{
    memset(c, 0, sizeof *c);
    const model_config_field fields[] = {
        {.key = "embed_dim", .dst = &c->embed_dim, .lo = 1, .hi = 16384},
        {.key = "image_size", .dst = &c->image_size, .lo = 1, .hi = 4096},
        {.key = "patch", .dst = &c->patch, .lo = 1, .hi = 1024},
        {.key = "vision_width", .dst = &c->vision_width, .lo = 1, .hi = 16384},
        {.key = "vision_layers", .dst = &c->vision_layers, .lo = 1, .hi = 256},
        {.key = "vision_heads", .dst = &c->vision_heads, .lo = 1, .hi = 1024},
        {.key = "context_length", .dst = &c->context_length, .lo = 2, .hi = 4096},
        {.key = "vocab_size", .dst = &c->vocab_size, .lo = 2, .hi = 1 << 22},
        {.key = "text_width", .dst = &c->text_width, .lo = 1, .hi = 16384},
        {.key = "text_layers", .dst = &c->text_layers, .lo = 1, .hi = 256},
        {.key = "text_heads", .dst = &c->text_heads, .lo = 1, .hi = 1024},
    };
    if (model_config_ints(v, "clip", fields, sizeof fields / sizeof fields[0], err) ||
        model_config_float(v, "clip", "eps", 1.0, 1e-5f, &c->eps, err))
        return -1;
    if (c->image_size % c->patch) return fmt_fail(err, "clip: image_size %d is not a multiple of patch %d", c->image_size, c->patch);
    if (c->vision_width % c->vision_heads || c->vision_width / c->vision_heads > CLIP_HEAD_DIM_MAX ||
        c->text_width % c->text_heads || c->text_width / c->text_heads > CLIP_HEAD_DIM_MAX)
        return fmt_fail(err, "clip: widths %d/%d do not split into %d/%d heads", c->vision_width, c->text_width,
                        c->vision_heads, c->text_heads);
    size_t grid = (size_t)(c->image_size / c->patch);
    if (grid * grid + 1 > 65536) return fmt_fail(err, "clip: %zu patches is too many", grid * grid);
    return 0;
}

/* ---- loading ----------------------------------------------------------------- */

static int clip_load_tower(clip_model *m, clip_tower *t, const char *prefix, int width, int layers, int heads,
                           fmt_error *err)
{
    t->width = width, t->layers = layers, t->heads = heads;
    t->blocks = calloc((size_t)layers, sizeof *t->blocks);
    if (!t->blocks) return fmt_fail(err, "clip: out of memory");
    static const vit_block_names names = {.norm1 = "ln_1",
                                          .norm2 = "ln_2",
                                          .qkv_weight = "attn.in_proj_weight",
                                          .qkv_bias = "attn.in_proj_bias",
                                          .proj = "attn.out_proj",
                                          .fc1 = "mlp.c_fc",
                                          .fc2 = "mlp.c_proj"};
    for (int i = 0; i < layers; i++) {
        char block[160];
        snprintf(block, sizeof block, "%sresblocks.%d.", prefix, i);
        if (vit_block_load(&m->pool, block, &names, (size_t)width, 4 * (size_t)width, &t->blocks[i], err)) return -1;
    }
    return 0;
}

static size_t clip_tokens(const clip_config *c)
{
    size_t grid = (size_t)(c->image_size / c->patch);
    return grid * grid + 1;
}

static int clip_load_vision(clip_model *m, fmt_error *err)
{
    const clip_config *c = &m->config;
    weight_pool *p = &m->pool;
    size_t w = (size_t)c->vision_width, pp = (size_t)c->patch;
    size_t conv_shape[4] = {w, 3, pp, pp}, pos_shape[2] = {clip_tokens(c), w};
    const float *conv;
    if (wp_f32(p, "visual.conv1.weight", 4, conv_shape, &conv, err)) return -1;
    m->patch = (layer_linear){.w = {.f32 = conv}, .out = w, .in = 3 * pp * pp};
    return wp_f32(p, "visual.class_embedding", 1, &w, &m->class_embedding, err) ||
           wp_f32(p, "visual.positional_embedding", 2, pos_shape, &m->vision_positions, err) ||
           wp_norm(p, "visual.ln_pre", w, &m->ln_pre, err) || wp_norm(p, "visual.ln_post", w, &m->ln_post, err) ||
           wp_linear_transposed(p, "visual.proj", w, (size_t)c->embed_dim, &m->visual_proj, err) ||
           clip_load_tower(m, &m->vision, "visual.transformer.", c->vision_width, c->vision_layers,
                           c->vision_heads, err);
}

static int clip_load_text(clip_model *m, const weights_file *wf, fmt_error *err)
{
    const clip_config *c = &m->config;
    weight_pool *p = &m->pool;
    size_t w = (size_t)c->text_width, pos_shape[2] = {(size_t)c->context_length, w};
    const float *scale;
    if (wp_embedding(p, "token_embedding.weight", (size_t)c->vocab_size, w, &m->token_embedding, err) ||
        wp_f32(p, "positional_embedding", 2, pos_shape, &m->text_positions, err) ||
        wp_norm(p, "ln_final", w, &m->ln_final, err) ||
        wp_linear_transposed(p, "text_projection", w, (size_t)c->embed_dim, &m->text_proj, err) ||
        wp_f32(p, "logit_scale", 0, NULL, &scale, err) ||
        clip_load_tower(m, &m->text, "transformer.", c->text_width, c->text_layers, c->text_heads, err))
        return -1;
    m->logit_scale = scale[0];
    const uint8_t *merges = NULL;
    size_t len = 0;
    if (weights_has(wf, "tokenizer.bpe_merges") && weights_bytes(wf, "tokenizer.bpe_merges", &merges, &len, err))
        return -1;
    m->bpe_merges = (const char *)merges, m->bpe_merges_len = len;
    return 0;
}

/* Buffers of one pass, carved from the arena in this order. */
typedef struct {
    float *x, *y, *h, *qkv, *att, *mlp, *patches, *scratch;
} clip_buffers;

static size_t clip_width_max(const clip_config *c)
{
    return (size_t)(c->vision_width > c->text_width ? c->vision_width : c->text_width);
}

static void clip_buffer_sizes(const clip_model *m, size_t sizes[8])
{
    const clip_config *c = &m->config;
    size_t rows = m->rows_max, w = clip_width_max(c), grid = (size_t)(c->image_size / c->patch);
    size_t lk = clip_tokens(c) > (size_t)c->context_length ? clip_tokens(c) : (size_t)c->context_length;
    size_t s[8] = {rows * w, rows * w, rows * w, rows * 3 * w, rows * w, rows * 4 * w,
                   grid * grid * 3 * (size_t)c->patch * (size_t)c->patch, attention_scratch(lk, m->threads)};
    for (int i = 0; i < 8; i++) sizes[i] = s[i] * sizeof(float);
}

/* The arena for passes of `rows` rows (at least what the towers need alone). */
static int clip_alloc_rows(clip_model *m, size_t rows)
{
    size_t sizes[8], total = 0, old = m->rows_max;
    if (rows < clip_tokens(&m->config)) rows = clip_tokens(&m->config);
    if (rows < CLIP_TEXT_BATCH_ROWS) rows = CLIP_TEXT_BATCH_ROWS;
    if (rows < (size_t)m->config.context_length) rows = (size_t)m->config.context_length;
    if (m->mem.base && rows <= old) return 0;
    if (rows > SIZE_MAX / 64 / (4 * clip_width_max(&m->config) + 1)) return -1;
    m->rows_max = rows;
    clip_buffer_sizes(m, sizes);
    for (int i = 0; i < 8; i++) total += arena_block_size(sizes[i]);
    arena_free(&m->mem);
    if (arena_init(&m->mem, total)) {
        m->rows_max = 0;
        return -1;
    }
    return 0;
}

static int clip_alloc(clip_model *m, fmt_error *err)
{
    if (clip_alloc_rows(m, 0)) return fmt_fail(err, "clip: cannot allocate the activations");
    return 0;
}

static clip_buffers clip_take_buffers(clip_model *m)
{
    size_t sizes[8];
    clip_buffer_sizes(m, sizes);
    arena_reset(&m->mem, 0);
    float *p[8];
    for (int i = 0; i < 8; i++) p[i] = arena_alloc(&m->mem, sizes[i]);
    return (clip_buffers){
        .x = p[0], .y = p[1], .h = p[2], .qkv = p[3], .att = p[4], .mlp = p[5], .patches = p[6], .scratch = p[7]};
}

/* The image tower's f32 weights into panels where the kernel level prefers
 * them (kernels/gemm_f32.h, engine/api/unprompt.h "Weights"); the text tower
 * stays as mapped: with a warm label cache it does not run. */
static int clip_pack_image_tower(clip_model *m)
{
    if (!m->kt->f32p.preferred) return 0;
    if (!(m->panels = panel_set_begin(m->pool.file, m->kt))) return -1;
    for (int i = 0; i < m->vision.layers; i++)
        if (vit_block_pack(m->panels, &m->vision.blocks[i])) return -1;
    panel_set_finish(m->panels);
    return 0;
}

int clip_load(clip_model *m, const weights_file *wf, const kernel_table *kt, int threads, fmt_error *err)
{
    memset(m, 0, sizeof *m);
    m->kt = kt;
    m->threads = threads > 1 ? threads : 1;
    weight_pool_init(&m->pool, wf, kt);
    json_value *cfg = model_config_open(wf, "clip", "CLIP", err);
    int bad = !cfg || clip_read_config(cfg, &m->config, err);
    json_free(cfg);
    if (bad || clip_load_vision(m, err) ||
        clip_load_text(m, wf, err) || clip_alloc(m, err) ||
        (clip_pack_image_tower(m) && fmt_fail(err, "clip: out of memory re-laying the image tower"))) {
        clip_free(m);
        return -1;
    }
    return 0;
}

void clip_free(clip_model *m)
{
    free(m->vision.blocks);
    free(m->text.blocks);
    weight_pool_free(&m->pool);
    panel_set_free(m->panels);
    arena_free(&m->mem);
    memset(m, 0, sizeof *m);
}

/* ---- the transformer ---------------------------------------------------------- */

static void clip_tower_forward(const clip_model *m, const clip_tower *t, const clip_buffers *b, size_t rows,
                               const vit_segment *segs, size_t n_segs, int causal)
{
    size_t hd = (size_t)t->width / (size_t)t->heads;
    vit_params p = {.width = (size_t)t->width, .heads = (size_t)t->heads, .mlp = 4 * (size_t)t->width,
                    .eps = m->config.eps, .scale = 1.0f / sqrtf((float)hd), .act = m->kt->nn.quick_gelu,
                    .causal = causal, .short_len = (size_t)m->config.context_length, .threads = m->threads};
    vit_buffers vb = {.x = b->x, .y = b->y, .h = b->h, .qkv = b->qkv, .att = b->att, .mlp = b->mlp, .scratch = b->scratch};
    for (int i = 0; i < t->layers; i++) vit_block_forward(m->kt, &p, &t->blocks[i], &vb, rows, segs, n_segs);
}

/* ---- image tower ---------------------------------------------------------------- */

/* Patch (gy, gx) of an NHWC image as conv1 reads it: (channel, y, x). */
static void clip_gather_patches(const clip_config *c, const float *img, float *patches)
{
    size_t s = (size_t)c->image_size, p = (size_t)c->patch, grid = s / p, len = 3 * p * p;
    for (size_t gy = 0; gy < grid; gy++)
        for (size_t gx = 0; gx < grid; gx++) {
            float *v = patches + (gy * grid + gx) * len;
            for (size_t ch = 0; ch < 3; ch++)
                for (size_t y = 0; y < p; y++)
                    for (size_t x = 0; x < p; x++) v[(ch * p + y) * p + x] = img[((gy * p + y) * s + gx * p + x) * 3 + ch];
        }
}

int clip_encode_images(clip_model *m, const float *const *x, size_t n, float *features)
{
    const clip_config *c = &m->config;
    size_t w = (size_t)c->vision_width, tokens = clip_tokens(c), rows = n * tokens;
    if (n < 1 || n > CLIP_MAX_IMAGES || clip_alloc_rows(m, rows)) return -1;
    clip_buffers b = clip_take_buffers(m);
    vit_segment segs[CLIP_MAX_IMAGES];
    for (size_t i = 0; i < n; i++) { /* [class, patches] + positions, image after image */
        float *y = b.y + i * tokens * w;
        clip_gather_patches(c, x[i], b.patches);
        memcpy(y, m->class_embedding, w * sizeof *y);
        layer_linear_run(m->kt, &m->patch, y + w, b.patches, tokens - 1, NULL, NULL);
        for (size_t j = 0; j < tokens * w; j++) y[j] += m->vision_positions[j];
        segs[i] = (vit_segment){.start = i * tokens, .len = tokens};
    }
    m->kt->nn.layernorm(b.x, b.y, m->ln_pre.gamma, m->ln_pre.beta, rows, w, c->eps);
    clip_tower_forward(m, &m->vision, &b, rows, segs, n, 0);
    for (size_t i = 0; i < n; i++) /* each image's class token */
        m->kt->nn.layernorm(b.h + i * w, b.x + i * tokens * w, m->ln_post.gamma, m->ln_post.beta, 1, w, c->eps);
    layer_linear_run(m->kt, &m->visual_proj, features, b.h, n, NULL, NULL);
    return 0;
}

void clip_encode_image(clip_model *m, const float *x, float *features)
{
    clip_encode_images(m, &x, 1, features); /* one image always fits the arena sized at load */
}

double clip_image_flops(const clip_model *m)
{
    const clip_config *c = &m->config;
    double t = (double)clip_tokens(c), w = c->vision_width, p = c->patch;
    double blocks = c->vision_layers * (2.0 * t * 12.0 * w * w + 4.0 * t * t * w);
    return blocks + 2.0 * (t - 1) * 3.0 * p * p * w + 2.0 * w * c->embed_dim;
}

/* ---- text tower --------------------------------------------------------------- */

double clip_text_flops(const clip_model *m, size_t tokens)
{
    const clip_config *c = &m->config;
    double t = (double)tokens, w = c->text_width;
    return c->text_layers * (2.0 * t * 12.0 * w * w + 4.0 * t * t * w) + 2.0 * w * c->embed_dim;
}

/* Phrases [first, first + n) stacked into one pass. */
static void clip_text_pass(clip_model *m, const int *const *ids, const size_t *lens, size_t n, float *features)
{
    const clip_config *c = &m->config;
    clip_buffers b = clip_take_buffers(m);
    size_t w = (size_t)c->text_width, e = (size_t)c->embed_dim, rows = 0;
    vit_segment segs[CLIP_TEXT_BATCH_ROWS];
    for (size_t i = 0; i < n; i++) {
        segs[i] = (vit_segment){.start = rows, .len = lens[i]};
        for (size_t t = 0; t < lens[i]; t++) {
            float *row = b.x + (rows + t) * w;
            wp_embedding_row(m->kt, &m->token_embedding, (size_t)ids[i][t], row);
            m->kt->nn.add(row, m->text_positions + t * w, w);
        }
        rows += lens[i];
    }
    clip_tower_forward(m, &m->text, &b, rows, segs, n, 1);
    for (size_t i = 0; i < n; i++) /* the EOT row of each phrase */
        m->kt->nn.layernorm(b.h + i * w, b.x + (segs[i].start + segs[i].len - 1) * w, m->ln_final.gamma,
                            m->ln_final.beta, 1, w, c->eps);
    layer_linear_run(m->kt, &m->text_proj, b.y, b.h, n, NULL, NULL);
    memcpy(features, b.y, n * e * sizeof *features);
}

int clip_encode_text(clip_model *m, const int *const *ids, const size_t *lens, size_t n, float *features)
{
    const clip_config *c = &m->config;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] < 1 || lens[i] > (size_t)c->context_length) return -1;
        for (size_t t = 0; t < lens[i]; t++)
            if (ids[i][t] < 0 || ids[i][t] >= c->vocab_size) return -1;
    }
    size_t e = (size_t)c->embed_dim;
    for (size_t first = 0; first < n;) {
        size_t count = 0, rows = 0;
        while (first + count < n && rows + lens[first + count] <= m->rows_max && count < CLIP_TEXT_BATCH_ROWS &&
               count * e < m->rows_max * (size_t)c->text_width) /* features fit in y */
            rows += lens[first + count++];
        clip_text_pass(m, ids + first, lens + first, count, features + first * e);
        first += count;
    }
    return 0;
}

/* ---- pre-processing -------------------------------------------------------------- */

int clip_preprocess(const clip_model *m, const uint8_t *rgb, int w, int h, float *x)
{
    fmt_error err;
    return model_input_clip(rgb, w, h, m->config.image_size, x, &err);
}
