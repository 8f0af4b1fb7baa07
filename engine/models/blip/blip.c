/* BLIP loading, through the runtime every model shares: the config from
 * the file's metadata (engine/runtime/model_config.h), every tensor checked against
 * it and used in place (f32), converted (f16) or packed for the bf16 GEMM
 * (bf16) by the weight pool (engine/runtime/model_weights.h); the image encoder's
 * arena sized for one image. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/models/blip/blip_internal.h"
#include "engine/runtime/model_config.h"
#include "engine/runtime/panel_cache.h"
#include "kernels/attention.h"

/* ---- config ----------------------------------------------------------------- */

/* Relations between the numbers, once each is in range. */
static int config_check(blip_config *c, fmt_error *err)
{
    if (c->image_size % c->patch) return fmt_fail(err, "blip: image_size %d is not a multiple of patch %d", c->image_size, c->patch);
    if (c->vision_width % c->vision_heads) return fmt_fail(err, "blip: vision_width %d is not divisible by %d heads", c->vision_width, c->vision_heads);
    if (c->text_width % c->text_heads) return fmt_fail(err, "blip: text_width %d is not divisible by %d heads", c->text_width, c->text_heads);
    int ids[3] = {c->bos_id, c->sep_id, c->pad_id};
    for (int i = 0; i < 3; i++)
        if (ids[i] >= c->vocab_size) return fmt_fail(err, "blip: special id %d is outside the vocabulary of %d", ids[i], c->vocab_size);
    int grid = c->image_size / c->patch;
    c->image_tokens = grid * grid + 1;
    if (c->image_tokens > 16385) return fmt_fail(err, "blip: %d image tokens is too many", c->image_tokens);
    return 0;
}

static int config_read(blip_config *c, const weights_file *wf, fmt_error *err)
{
    json_value *cfg = model_config_open(wf, "blip", "BLIP", err);
    if (!cfg) return -1;
    const model_config_field fields[] = {
        {.key = "image_size", .dst = &c->image_size, .lo = 1, .hi = 4096},
        {.key = "patch", .dst = &c->patch, .lo = 1, .hi = 1024},
        {.key = "vision_width", .dst = &c->vision_width, .lo = 1, .hi = 16384},
        {.key = "vision_layers", .dst = &c->vision_layers, .lo = 1, .hi = 256},
        {.key = "vision_heads", .dst = &c->vision_heads, .lo = 1, .hi = 1024},
        {.key = "vision_mlp", .dst = &c->vision_mlp, .lo = 1, .hi = 65536},
        {.key = "text_width", .dst = &c->text_width, .lo = 1, .hi = 16384},
        {.key = "text_layers", .dst = &c->text_layers, .lo = 1, .hi = 256},
        {.key = "text_heads", .dst = &c->text_heads, .lo = 1, .hi = 1024},
        {.key = "text_intermediate", .dst = &c->text_intermediate, .lo = 1, .hi = 65536},
        {.key = "vocab_size", .dst = &c->vocab_size, .lo = 1, .hi = 1 << 20},
        {.key = "max_positions", .dst = &c->max_positions, .lo = 1, .hi = 8192},
        {.key = "bos_id", .dst = &c->bos_id, .lo = 0, .hi = 1 << 20},
        {.key = "sep_id", .dst = &c->sep_id, .lo = 0, .hi = 1 << 20},
        {.key = "pad_id", .dst = &c->pad_id, .lo = 0, .hi = 1 << 20},
    };
    int rc = model_config_ints(cfg, "blip", fields, sizeof fields / sizeof fields[0], err) ||
             model_config_float(cfg, "blip", "vision_eps", 0.1, NAN, &c->vision_eps, err) ||
             model_config_float(cfg, "blip", "text_eps", 0.1, NAN, &c->text_eps, err);
    json_free(cfg);
    return rc ? -1 : config_check(c, err);
}

/* ---- the image encoder ------------------------------------------------------ */

/* The patch conv [Wv][3][P][P] re-laid as [Wv][P][P][3] for NHWC input. */
static int load_patch(blip_model *m, fmt_error *err)
{
    const blip_config *c = &m->config;
    size_t W = (size_t)c->vision_width, P = (size_t)c->patch, shape[4] = {W, 3, P, P};
    const char *name = "visual_encoder.patch_embed.proj.weight";
    tensor t;
    if (wp_tensor(&m->pool, name, 4, shape, &t, err)) return -1;
    size_t es = dtype_size(t.type), k = 3 * P * P;
    unsigned char *tmp = malloc(W * k * es);
    if (!tmp) return fmt_fail(err, "out of memory re-laying the patch embedding");
    const unsigned char *src = t.data;
    for (size_t o = 0; o < W; o++)
        for (size_t ch = 0; ch < 3; ch++)
            for (size_t y = 0; y < P; y++)
                for (size_t x = 0; x < P; x++)
                    memcpy(tmp + ((o * P + y) * P * 3 + x * 3 + ch) * es, src + (((o * 3 + ch) * P + y) * P + x) * es, es);
    layer_linear *l = &m->weights.patch;
    *l = (layer_linear){.out = W, .in = k};
    int rc = wp_matrix(&m->pool, name, &t, tmp, l, err);
    free(tmp);
    weights_release(m->pool.file, &t);
    return rc || wp_f32(&m->pool, "visual_encoder.patch_embed.proj.bias", 1, &W, &l->bias, err) ? -1 : 0;
}

static int load_vision(blip_model *m, fmt_error *err)
{
    static const vit_block_names names = {.norm1 = "norm1",
                                          .norm2 = "norm2",
                                          .qkv_weight = "attn.qkv.weight",
                                          .qkv_bias = "attn.qkv.bias",
                                          .proj = "attn.proj",
                                          .fc1 = "mlp.fc1",
                                          .fc2 = "mlp.fc2"};
    const blip_config *c = &m->config;
    blip_weights *w = &m->weights;
    weight_pool *p = &m->pool;
    size_t W = (size_t)c->vision_width, M = (size_t)c->vision_mlp, T = (size_t)c->image_tokens;
    size_t cls_shape[3] = {1, 1, W}, pos_shape[3] = {1, T, W};
    if (load_patch(m, err) || wp_f32(p, "visual_encoder.cls_token", 3, cls_shape, &w->cls, err) ||
        wp_f32(p, "visual_encoder.pos_embed", 3, pos_shape, &w->pos, err) ||
        wp_norm(p, "visual_encoder.norm", W, &w->norm, err))
        return -1;
    w->blocks = calloc((size_t)c->vision_layers, sizeof *w->blocks);
    if (!w->blocks) return fmt_fail(err, "out of memory");
    for (int i = 0; i < c->vision_layers; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "visual_encoder.blocks.%d.", i);
        if (vit_block_load(p, prefix, &names, W, M, &w->blocks[i], err)) return -1;
    }
    return 0;
}

/* ---- the text decoder ------------------------------------------------------- */

static int load_attention(blip_model *m, const char *prefix, size_t kv_in, blip_bert_attention *a, fmt_error *err)
{
    weight_pool *wp = &m->pool;
    size_t H = (size_t)m->config.text_width;
    char p[160];
#define AT(suffix) (snprintf(p, sizeof p, "%s.%s", prefix, suffix), p)
    return wp_linear(wp, AT("self.query"), H, H, 1, &a->q, err) || wp_linear(wp, AT("self.key"), H, kv_in, 1, &a->k, err) ||
                   wp_linear(wp, AT("self.value"), H, kv_in, 1, &a->v, err) ||
                   wp_linear(wp, AT("output.dense"), H, H, 1, &a->o, err) ||
                   wp_norm(wp, AT("output.LayerNorm"), H, &a->ln, err)
               ? -1
               : 0;
#undef AT
}

/* Word embeddings: looked up per token and, unless the file has an untied
 * decoder, the LM head's output matrix. */
static int load_words(blip_model *m, fmt_error *err)
{
    const blip_config *c = &m->config;
    blip_weights *w = &m->weights;
    weight_pool *p = &m->pool;
    size_t V = (size_t)c->vocab_size, H = (size_t)c->text_width, shape[2] = {V, H};
    const char *words = "text_decoder.bert.embeddings.word_embeddings.weight";
    const char *untied = "text_decoder.cls.predictions.decoder.weight", *bias = "text_decoder.cls.predictions.bias";
    tensor t;
    if (wp_tensor(p, words, 2, shape, &t, err)) return -1;
    w->word_type = t.type == DTYPE_BF16 ? DTYPE_BF16 : DTYPE_F32;
    w->word = t.data;
    if (t.type == DTYPE_F16 && wp_f32(p, words, 2, shape, (const float **)&w->word, err)) return -1;
    if (weights_has(p->file, untied)) return wp_linear_named(p, untied, bias, V, H, &w->decoder, err);
    tensor view = t;
    view.type = w->word_type, view.data = (void *)w->word;
    w->decoder = (layer_linear){.out = V, .in = H};
    return wp_matrix(p, words, &view, view.data, &w->decoder, err) || wp_f32(p, bias, 1, &V, &w->decoder.bias, err);
}

static int load_text(blip_model *m, fmt_error *err)
{
    const blip_config *c = &m->config;
    blip_weights *w = &m->weights;
    weight_pool *p = &m->pool;
    size_t H = (size_t)c->text_width, I = (size_t)c->text_intermediate, Wv = (size_t)c->vision_width;
    size_t pos_shape[2] = {(size_t)c->max_positions, H};
    if (load_words(m, err) ||
        wp_f32(p, "text_decoder.bert.embeddings.position_embeddings.weight", 2, pos_shape, &w->position, err) ||
        wp_norm(p, "text_decoder.bert.embeddings.LayerNorm", H, &w->emb_ln, err) ||
        wp_linear(p, "text_decoder.cls.predictions.transform.dense", H, H, 1, &w->head_dense, err) ||
        wp_norm(p, "text_decoder.cls.predictions.transform.LayerNorm", H, &w->head_ln, err))
        return -1;
    w->layers = calloc((size_t)c->text_layers, sizeof *w->layers);
    if (!w->layers) return fmt_fail(err, "out of memory");
    for (int i = 0; i < c->text_layers; i++) {
        blip_bert_layer *l = &w->layers[i];
        char q[128];
#define TL(suffix) (snprintf(q, sizeof q, "text_decoder.bert.encoder.layer.%d.%s", i, suffix), q)
        if (load_attention(m, TL("attention"), H, &l->self, err) ||
            load_attention(m, TL("crossattention"), Wv, &l->cross, err) ||
            wp_linear(p, TL("intermediate.dense"), I, H, 1, &l->inter, err) ||
            wp_linear(p, TL("output.dense"), H, I, 1, &l->out, err) ||
            wp_norm(p, TL("output.LayerNorm"), H, &l->ln_out, err))
            return -1;
#undef TL
    }
    return 0;
}

/* ---- the image encoder's arena ---------------------------------------------- */

int blip_vision_alloc(blip_model *m, size_t images, fmt_error *err)
{
    const blip_config *c = &m->config;
    blip_vision_state *s = &m->vis;
    if (s->mem.base && images <= s->images) return 0;
    size_t R = images * (size_t)c->image_tokens, W = (size_t)c->vision_width;
    size_t counts[8] = {R * W, R * W, R * W, 3 * R * W, R * W, R * (size_t)c->vision_mlp,
                        attention_scratch((size_t)c->image_tokens, m->threads), conv2d_scratch(3, c->patch, m->threads)};
    size_t total = 0;
    double exact = 0;
    for (int i = 0; i < 8; i++) exact += ((double)counts[i] + 16) * sizeof(float);
    if (exact > (double)(SIZE_MAX / 2)) return fmt_fail(err, "blip: the image encoder's activations do not fit in memory");
    for (int i = 0; i < 8; i++) total += arena_block_size(counts[i] * sizeof(float));
    arena_free(&s->mem);
    s->images = 0;
    if (arena_init(&s->mem, total)) return fmt_fail(err, "blip: cannot allocate %zu MB for the image encoder", total >> 20);
    float **dst[8] = {&s->x, &s->x2, &s->h, &s->qkv, &s->ctx, &s->mlp, &s->attn_scratch, &s->conv_scratch};
    for (int i = 0; i < 8; i++) *dst[i] = arena_floats(&s->mem, counts[i]);
    s->images = images;
    return 0;
}

/* ---- the cross-attention's weights by head (engine/models/blip/blip_cross.c) ------------- */

typedef struct {
    const float *wk; /* [H][Wv] */
    size_t h, hd, Wv;
} key_head;

/* Head h's key weights transposed: dst[j][d] = W_k[h·hd + d][j]. */
static int write_key_head(void *user, float *dst)
{
    const key_head *k = user;
    for (size_t j = 0; j < k->Wv; j++)
        for (size_t d = 0; d < k->hd; d++) dst[j * k->hd + d] = k->wk[(k->h * k->hd + d) * k->Wv + j];
    return 0;
}

/* f32 cross.k and cross.v of one layer, split by head: into panels (with
 * m->panels, in its fixed order), else the keys transposed into memory of
 * the model's and the values' rows used in place. cross.k and cross.v stay
 * as they are too (beams project the image's keys and values with them). */
static int split_cross_heads(blip_model *m, blip_bert_layer *l)
{
    size_t heads = (size_t)m->config.text_heads, hd = (size_t)m->config.text_width / heads;
    size_t Wv = (size_t)m->config.vision_width;
    blip_cross_heads *ch = &l->cross_heads;
    const float *wk = l->cross.k.w.f32, *wv = l->cross.v.w.f32;
    if (!wk || !wv) return 0; /* bf16: keys and values are projected per image */
    if (!(ch->kt = wp_alloc(&m->pool, heads * sizeof *ch->kt)) || !(ch->vh = wp_alloc(&m->pool, heads * sizeof *ch->vh)))
        return -1;
    for (size_t h = 0; h < heads; h++) {
        key_head src = {.wk = wk, .h = h, .hd = hd, .Wv = Wv};
        layer_linear *kt = &ch->kt[h], *vh = &ch->vh[h];
        *kt = (layer_linear){.out = Wv, .in = hd};
        *vh = (layer_linear){.out = hd, .in = Wv, .bias = l->cross.v.bias + h * hd};
        const float *vrows = wv + h * hd * Wv;
        if (m->panels) {
            if (panel_set_add(m->panels, Wv, hd, NULL, write_key_head, &src, &kt->panel, &kt->w) ||
                panel_set_add(m->panels, hd, Wv, vrows, NULL, NULL, &vh->panel, &vh->w))
                return -1;
            continue;
        }
        float *t = wp_alloc(&m->pool, Wv * hd * sizeof *t);
        if (!t) return -1;
        write_key_head(&src, t);
        kt->w = (linear_weights){.f32 = t};
        vh->w = (linear_weights){.f32 = vrows};
    }
    return 0;
}

/* Both towers' f32 weights into panels where the kernel level prefers them
 * (kernels/gemm_f32.h, engine/api/unprompt.h "Weights"). */
static int blip_pack_weights(blip_model *m)
{
    if (!m->kt->f32p.preferred) return 0;
    if (!(m->panels = panel_set_begin(m->pool.file, m->kt))) return -1;
    blip_weights *w = &m->weights;
    /* One fixed order (the panels file is indexed by it): each statement
     * is sequenced, unlike the operands of | would be. */
    for (int i = 0; i < m->config.vision_layers; i++)
        if (vit_block_pack(m->panels, &w->blocks[i])) return -1;
    for (int i = 0; i < m->config.text_layers; i++) {
        blip_bert_layer *t = &w->layers[i];
        if (split_cross_heads(m, t)) return -1;
        layer_linear *l[10] = {&t->self.q,  &t->self.k,  &t->self.v,  &t->self.o, &t->cross.q,
                              &t->cross.k, &t->cross.v, &t->cross.o, &t->inter,  &t->out};
        for (int j = 0; j < 10; j++)
            if (layer_linear_pack(m->panels, l[j])) return -1;
    }
    if (layer_linear_pack(m->panels, &w->head_dense) || layer_linear_pack(m->panels, &w->decoder)) return -1;
    panel_set_finish(m->panels);
    return 0;
}

/* Where the level does not pack f32 weights (no panel set), the
 * cross-attention's heads; blip_pack_weights split them otherwise. */
static int blip_split_unpacked(blip_model *m)
{
    if (m->panels) return 0;
    for (int i = 0; i < m->config.text_layers; i++)
        if (split_cross_heads(m, &m->weights.layers[i])) return -1;
    return 0;
}

/* Every tensor, named in errors as "blip: <tensor> ...". */
static int load_weights(blip_model *m, fmt_error *err)
{
    return load_vision(m, err) || load_text(m, err) ? fmt_prefix(err, "blip: ") : 0;
}

int blip_load(blip_model *m, const weights_file *wf, const kernel_table *kt, int threads, fmt_error *err)
{
    memset(m, 0, sizeof *m);
    m->kt = kt;
    m->threads = threads > 1 ? threads : 1;
    weight_pool_init(&m->pool, wf, kt);
    if (config_read(&m->config, wf, err) || load_weights(m, err) || blip_vision_alloc(m, 1, err)) {
        blip_free(m);
        return -1;
    }
    m->kv_bf16 = m->weights.layers[0].cross.k.w.panel && m->weights.layers[0].cross.k.panel.elem_bytes == 2;
    if (blip_pack_weights(m) || blip_split_unpacked(m)) {
        blip_free(m);
        return fmt_fail(err, "blip: out of memory re-laying the weights");
    }
    return 0;
}

void blip_free(blip_model *m)
{
    if (!m) return;
    free(m->weights.blocks);
    free(m->weights.layers);
    arena_free(&m->vis.mem);
    panel_set_free(m->panels);
    blip_decode_release(m);
    weight_pool_free(&m->pool);
    memset(m, 0, sizeof *m);
}

const blip_config *blip_get_config(const blip_model *m) { return &m->config; }

blip_generate_params blip_generate_default_params(void) { return (blip_generate_params){.beams = 1, .min_length = 24, .max_length = 48, .repetition_penalty = 1.0f}; }

double blip_image_flops(const blip_model *m)
{
    const blip_config *c = &m->config;
    double T = c->image_tokens, W = c->vision_width, M = c->vision_mlp, P = c->patch;
    double per_block = 2 * T * W * (3 * W + W + 2 * M) + 4 * T * T * W;
    return 2 * (T - 1) * W * 3 * P * P + c->vision_layers * per_block;
}

static double linear_bytes(const layer_linear *l)
{
    return (double)l->out * (double)l->in * (l->w.f32 ? 4.0 : (double)l->panel.elem_bytes);
}

double blip_decode_weight_bytes(const blip_model *m)
{
    const blip_weights *w = &m->weights;
    double b = linear_bytes(&w->head_dense) + linear_bytes(&w->decoder);
    for (int i = 0; i < m->config.text_layers; i++) {
        const blip_bert_layer *l = &w->layers[i];
        b += linear_bytes(&l->self.q) + linear_bytes(&l->self.k) + linear_bytes(&l->self.v) + linear_bytes(&l->self.o) +
             linear_bytes(&l->cross.q) + linear_bytes(&l->cross.o) + linear_bytes(&l->inter) + linear_bytes(&l->out);
        for (int h = 0; l->cross_heads.kt && h < m->config.text_heads; h++)
            b += linear_bytes(&l->cross_heads.kt[h]) + linear_bytes(&l->cross_heads.vh[h]);
    }
    return b;
}
