/* BLIP loading: the config from the file's metadata, every tensor checked
 * against it, matrices used in place (f32), converted (f16) or packed for
 * the bf16 GEMM (bf16); the image encoder's arena sized for one image. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/big_alloc.h"
#include "engine/blip_internal.h"
#include "engine/panel_cache.h"
#include "engine/threads.h"
#include "format/json.h"
#include "kernels/attention.h"

/* ---- config ----------------------------------------------------------------- */

typedef struct {
    const char *key;
    int *dst;
    int lo, hi;
} int_field;

static int config_int(const json_value *cfg, const int_field *f, fmt_error *err)
{
    const json_value *v = json_get(cfg, f->key);
    if (!v || v->type != JSON_NUMBER) return fmt_fail(err, "blip: config has no number \"%s\"", f->key);
    if (!(v->number >= f->lo && v->number <= f->hi) || v->number != floor(v->number))
        return fmt_fail(err, "blip: config \"%s\" = %s is not an integer in [%d, %d]", f->key, v->str, f->lo, f->hi);
    *f->dst = (int)v->number;
    return 0;
}

static int config_eps(const json_value *cfg, const char *key, float *dst, fmt_error *err)
{
    const json_value *v = json_get(cfg, key);
    if (!v || v->type != JSON_NUMBER) return fmt_fail(err, "blip: config has no number \"%s\"", key);
    if (!(v->number > 0 && v->number < 0.1)) return fmt_fail(err, "blip: config \"%s\" = %s is out of range", key, v->str);
    *dst = (float)v->number;
    return 0;
}

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
    const char *kind = weights_meta(wf, "unprompt.kind"), *text = weights_meta(wf, "unprompt.config");
    if (!kind || strcmp(kind, "blip")) return fmt_fail(err, "blip: the file is not a converted BLIP model (unprompt.kind is %s)", kind ? kind : "missing");
    if (!text) return fmt_fail(err, "blip: the file has no unprompt.config");
    json_value *cfg = json_parse(text, strlen(text), NULL, err);
    if (!cfg) return fmt_prefix(err, "blip: unprompt.config: ");
    const int_field fields[] = {
        {"image_size", &c->image_size, 1, 4096},       {"patch", &c->patch, 1, 1024},
        {"vision_width", &c->vision_width, 1, 16384},  {"vision_layers", &c->vision_layers, 1, 256},
        {"vision_heads", &c->vision_heads, 1, 1024},   {"vision_mlp", &c->vision_mlp, 1, 65536},
        {"text_width", &c->text_width, 1, 16384},      {"text_layers", &c->text_layers, 1, 256},
        {"text_heads", &c->text_heads, 1, 1024},       {"text_intermediate", &c->text_intermediate, 1, 65536},
        {"vocab_size", &c->vocab_size, 1, 1 << 20},    {"max_positions", &c->max_positions, 1, 8192},
        {"bos_id", &c->bos_id, 0, 1 << 20},            {"sep_id", &c->sep_id, 0, 1 << 20},
        {"pad_id", &c->pad_id, 0, 1 << 20},
    };
    int rc = cfg->type == JSON_OBJECT ? 0 : fmt_fail(err, "blip: unprompt.config is not an object");
    for (size_t i = 0; !rc && i < sizeof fields / sizeof fields[0]; i++) rc = config_int(cfg, &fields[i], err);
    rc = rc || config_eps(cfg, "vision_eps", &c->vision_eps, err) || config_eps(cfg, "text_eps", &c->text_eps, err);
    json_free(cfg);
    return rc ? -1 : config_check(c, err);
}

/* ---- tensors ---------------------------------------------------------------- */

static void *own(blip_model *m, size_t bytes, int aligned)
{
    blip_weights *w = &m->weights;
    if (w->n_owned == w->cap_owned) {
        size_t cap = w->cap_owned ? 2 * w->cap_owned : 64;
        void **p = realloc(w->owned, cap * sizeof *p);
        if (!p) return NULL;
        w->owned = p, w->cap_owned = cap;
    }
    bytes = (bytes + 63) / 64 * 64;
    void *p = aligned ? big_alloc(bytes) : malloc(bytes ? bytes : 1);
    if (p) w->owned[w->n_owned++] = p;
    return p;
}

/* The tensor `name`, of exactly this shape. */
static int get_tensor(const weights_file *wf, const char *name, int rank, const size_t *shape, tensor *t, fmt_error *err)
{
    if (weights_tensor(wf, name, t, err)) return fmt_prefix(err, "blip: ");
    int same = t->rank == rank;
    for (int i = 0; same && i < rank; i++) same = t->shape[i] == shape[i];
    if (same) return 0;
    char want[96] = "", got[96] = "";
    for (int i = 0; i < rank; i++) snprintf(want + strlen(want), sizeof want - strlen(want), i ? ", %zu" : "%zu", shape[i]);
    for (int i = 0; i < t->rank; i++) snprintf(got + strlen(got), sizeof got - strlen(got), i ? ", %zu" : "%zu", t->shape[i]);
    return fmt_fail(err, "blip: %s is [%s], the config wants [%s]", name, got, want);
}

/* Floats of a tensor: in place when stored as f32, else converted. */
static const float *as_f32(blip_model *m, const weights_file *wf, const tensor *t, fmt_error *err)
{
    if (t->type == DTYPE_F32) return t->data;
    float *p = own(m, tensor_numel(t) * sizeof(float), 0);
    if (!p) {
        fmt_fail(err, "blip: out of memory converting weights");
        return NULL;
    }
    weights_to_f32(p, t);
    weights_release(wf, t);
    return p;
}

/* A vector or table used as floats (norms, biases, embeddings). */
static int load_floats(blip_model *m, const weights_file *wf, const char *name, int rank, const size_t *shape,
                       const float **out, fmt_error *err)
{
    tensor t;
    if (get_tensor(wf, name, rank, shape, &t, err)) return -1;
    *out = as_f32(m, wf, &t, err);
    return *out ? 0 : -1;
}

static int load_vec(blip_model *m, const weights_file *wf, const char *name, size_t n, const float **out, fmt_error *err)
{
    return load_floats(m, wf, name, 1, &n, out, err);
}

/* Matrix weights [out][in] (any layout already permuted into `data` when
 * `relaid` is given) as linear_weights. */
static int set_matrix(blip_model *m, const weights_file *wf, const tensor *t, const void *data, blip_linear *l,
                      fmt_error *err)
{
    if (t->type == DTYPE_BF16) {
        size_t n = gemm_bf16_packed_size(l->out, l->in);
        uint16_t *p = n ? own(m, n * sizeof(uint16_t), 1) : NULL;
        if (!p) return fmt_fail(err, "blip: out of memory packing bf16 weights");
        gemm_bf16_pack(p, data, l->out, l->in);
        l->panel = (weight_panel){p, l->out, l->in, sizeof *p};
        l->w = (linear_weights){NULL, &l->panel, m->kt.bf16.gemm_bf16};
        return 0;
    }
    if (t->type == DTYPE_F32 && data == t->data) {
        l->w = (linear_weights){data, NULL, NULL};
        return 0;
    }
    float *p = own(m, l->out * l->in * sizeof(float), 1);
    if (!p) return fmt_fail(err, "blip: out of memory converting weights");
    tensor view = *t;
    view.data = (void *)data;
    weights_to_f32(p, &view);
    l->w = (linear_weights){p, NULL, NULL};
    (void)wf;
    return 0;
}

static int load_linear(blip_model *m, const weights_file *wf, const char *prefix, size_t out, size_t in, blip_linear *l,
                       fmt_error *err)
{
    char name[256];
    tensor t;
    size_t shape[2] = {out, in};
    snprintf(name, sizeof name, "%s.weight", prefix);
    l->out = out, l->in = in;
    if (get_tensor(wf, name, 2, shape, &t, err) || set_matrix(m, wf, &t, t.data, l, err)) return -1;
    if (l->w.f32 != t.data) weights_release(wf, &t);
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load_vec(m, wf, name, out, &l->bias, err);
}

static int load_norm(blip_model *m, const weights_file *wf, const char *prefix, size_t n, blip_norm *nm, fmt_error *err)
{
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (load_vec(m, wf, name, n, &nm->gamma, err)) return -1;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load_vec(m, wf, name, n, &nm->beta, err);
}

/* ---- the image encoder ------------------------------------------------------ */

/* The patch conv [Wv][3][P][P] re-laid as [Wv][P][P][3] for NHWC input. */
static int load_patch(blip_model *m, const weights_file *wf, fmt_error *err)
{
    const blip_config *c = &m->config;
    size_t W = (size_t)c->vision_width, P = (size_t)c->patch, shape[4] = {W, 3, P, P};
    tensor t;
    if (get_tensor(wf, "visual_encoder.patch_embed.proj.weight", 4, shape, &t, err)) return -1;
    size_t es = dtype_size(t.type), k = 3 * P * P;
    unsigned char *tmp = malloc(W * k * es);
    if (!tmp) return fmt_fail(err, "blip: out of memory re-laying the patch embedding");
    const unsigned char *src = t.data;
    for (size_t o = 0; o < W; o++)
        for (size_t ch = 0; ch < 3; ch++)
            for (size_t y = 0; y < P; y++)
                for (size_t x = 0; x < P; x++)
                    memcpy(tmp + ((o * P + y) * P * 3 + x * 3 + ch) * es, src + (((o * 3 + ch) * P + y) * P + x) * es, es);
    blip_linear *l = &m->weights.patch;
    l->out = W, l->in = k;
    int rc = set_matrix(m, wf, &t, tmp, l, err);
    free(tmp);
    weights_release(wf, &t);
    return rc || load_vec(m, wf, "visual_encoder.patch_embed.proj.bias", W, &l->bias, err) ? -1 : 0;
}

static int load_vision(blip_model *m, const weights_file *wf, fmt_error *err)
{
    const blip_config *c = &m->config;
    blip_weights *w = &m->weights;
    size_t W = (size_t)c->vision_width, M = (size_t)c->vision_mlp, T = (size_t)c->image_tokens;
    size_t cls_shape[3] = {1, 1, W}, pos_shape[3] = {1, T, W};
    if (load_patch(m, wf, err) || load_floats(m, wf, "visual_encoder.cls_token", 3, cls_shape, &w->cls, err) ||
        load_floats(m, wf, "visual_encoder.pos_embed", 3, pos_shape, &w->pos, err) ||
        load_norm(m, wf, "visual_encoder.norm", W, &w->norm, err))
        return -1;
    w->blocks = calloc((size_t)c->vision_layers, sizeof *w->blocks);
    if (!w->blocks) return fmt_fail(err, "blip: out of memory");
    for (int i = 0; i < c->vision_layers; i++) {
        blip_vit_block *b = &w->blocks[i];
        char p[128];
#define VB(suffix) (snprintf(p, sizeof p, "visual_encoder.blocks.%d.%s", i, suffix), p)
        if (load_norm(m, wf, VB("norm1"), W, &b->norm1, err) || load_norm(m, wf, VB("norm2"), W, &b->norm2, err) ||
            load_linear(m, wf, VB("attn.qkv"), 3 * W, W, &b->qkv, err) ||
            load_linear(m, wf, VB("attn.proj"), W, W, &b->proj, err) ||
            load_linear(m, wf, VB("mlp.fc1"), M, W, &b->fc1, err) || load_linear(m, wf, VB("mlp.fc2"), W, M, &b->fc2, err))
            return -1;
#undef VB
    }
    return 0;
}

/* ---- the text decoder ------------------------------------------------------- */

static int load_attention(blip_model *m, const weights_file *wf, const char *prefix, size_t kv_in,
                          blip_bert_attention *a, fmt_error *err)
{
    size_t H = (size_t)m->config.text_width;
    char p[160];
#define AT(suffix) (snprintf(p, sizeof p, "%s.%s", prefix, suffix), p)
    return load_linear(m, wf, AT("self.query"), H, H, &a->q, err) || load_linear(m, wf, AT("self.key"), H, kv_in, &a->k, err) ||
                   load_linear(m, wf, AT("self.value"), H, kv_in, &a->v, err) ||
                   load_linear(m, wf, AT("output.dense"), H, H, &a->o, err) ||
                   load_norm(m, wf, AT("output.LayerNorm"), H, &a->ln, err)
               ? -1
               : 0;
#undef AT
}

/* Word embeddings: looked up per token and, unless the file has an untied
 * decoder, the LM head's output matrix. */
static int load_words(blip_model *m, const weights_file *wf, fmt_error *err)
{
    const blip_config *c = &m->config;
    blip_weights *w = &m->weights;
    size_t V = (size_t)c->vocab_size, H = (size_t)c->text_width, shape[2] = {V, H};
    tensor t;
    if (get_tensor(wf, "text_decoder.bert.embeddings.word_embeddings.weight", 2, shape, &t, err)) return -1;
    w->word_type = t.type == DTYPE_BF16 ? DTYPE_BF16 : DTYPE_F32;
    w->word = t.type == DTYPE_F16 ? (const void *)as_f32(m, wf, &t, err) : t.data;
    if (!w->word) return -1;
    w->decoder.out = V, w->decoder.in = H;
    const char *untied = "text_decoder.cls.predictions.decoder.weight";
    if (weights_has(wf, untied)) {
        tensor d;
        if (get_tensor(wf, untied, 2, shape, &d, err) || set_matrix(m, wf, &d, d.data, &w->decoder, err)) return -1;
        if (w->decoder.w.f32 != d.data) weights_release(wf, &d);
    } else {
        tensor view = t;
        view.type = w->word_type, view.data = (void *)w->word;
        if (set_matrix(m, wf, &view, view.data, &w->decoder, err)) return -1;
    }
    return load_vec(m, wf, "text_decoder.cls.predictions.bias", V, &w->decoder.bias, err);
}

static int load_text(blip_model *m, const weights_file *wf, fmt_error *err)
{
    const blip_config *c = &m->config;
    blip_weights *w = &m->weights;
    size_t H = (size_t)c->text_width, I = (size_t)c->text_intermediate, Wv = (size_t)c->vision_width;
    size_t pos_shape[2] = {(size_t)c->max_positions, H};
    if (load_words(m, wf, err) ||
        load_floats(m, wf, "text_decoder.bert.embeddings.position_embeddings.weight", 2, pos_shape, &w->position, err) ||
        load_norm(m, wf, "text_decoder.bert.embeddings.LayerNorm", H, &w->emb_ln, err) ||
        load_linear(m, wf, "text_decoder.cls.predictions.transform.dense", H, H, &w->head_dense, err) ||
        load_norm(m, wf, "text_decoder.cls.predictions.transform.LayerNorm", H, &w->head_ln, err))
        return -1;
    w->layers = calloc((size_t)c->text_layers, sizeof *w->layers);
    if (!w->layers) return fmt_fail(err, "blip: out of memory");
    for (int i = 0; i < c->text_layers; i++) {
        blip_bert_layer *l = &w->layers[i];
        char p[128];
#define TL(suffix) (snprintf(p, sizeof p, "text_decoder.bert.encoder.layer.%d.%s", i, suffix), p)
        if (load_attention(m, wf, TL("attention"), H, &l->self, err) ||
            load_attention(m, wf, TL("crossattention"), Wv, &l->cross, err) ||
            load_linear(m, wf, TL("intermediate.dense"), I, H, &l->inter, err) ||
            load_linear(m, wf, TL("output.dense"), H, I, &l->out, err) ||
            load_norm(m, wf, TL("output.LayerNorm"), H, &l->ln_out, err))
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

/* ---- the cross-attention's weights by head (engine/blip_cross.c) ------------- */

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
    if (!(ch->kt = own(m, heads * sizeof *ch->kt, 0)) || !(ch->vh = own(m, heads * sizeof *ch->vh, 0))) return -1;
    for (size_t h = 0; h < heads; h++) {
        key_head src = {wk, h, hd, Wv};
        blip_linear *kt = &ch->kt[h], *vh = &ch->vh[h];
        *kt = (blip_linear){.out = Wv, .in = hd};
        *vh = (blip_linear){.out = hd, .in = Wv, .bias = l->cross.v.bias + h * hd};
        const float *vrows = wv + h * hd * Wv;
        if (m->panels) {
            if (panel_set_add(m->panels, Wv, hd, NULL, write_key_head, &src, &kt->panel, &kt->w) ||
                panel_set_add(m->panels, hd, Wv, vrows, NULL, NULL, &vh->panel, &vh->w))
                return -1;
            continue;
        }
        float *t = own(m, Wv * hd * sizeof *t, 1);
        if (!t) return -1;
        write_key_head(&src, t);
        kt->w = (linear_weights){t, NULL, NULL};
        vh->w = (linear_weights){vrows, NULL, NULL};
    }
    return 0;
}

/* One layer's f32 weights into panels (mapped from the panels file, or
 * packed), the mapped source released. */
static int pack_linear(blip_model *m, blip_linear *l)
{
    return l->w.f32 ? panel_set_add(m->panels, l->out, l->in, l->w.f32, NULL, NULL, &l->panel, &l->w) : 0;
}

/* Both towers' f32 weights into panels where the kernel level prefers them
 * (kernels/gemm_f32.h, engine/unprompt.h "Weights"). */
static int blip_pack_weights(blip_model *m, const weights_file *wf)
{
    if (!m->kt.f32p.preferred) return 0;
    if (!(m->panels = panel_set_begin(wf, &m->kt))) return -1;
    blip_weights *w = &m->weights;
    /* One fixed order (the panels file is indexed by it): each statement
     * is sequenced, unlike the operands of | would be. */
    for (int i = 0; i < m->config.vision_layers; i++) {
        blip_vit_block *b = &w->blocks[i];
        blip_linear *l[4] = {&b->qkv, &b->proj, &b->fc1, &b->fc2};
        for (int j = 0; j < 4; j++)
            if (pack_linear(m, l[j])) return -1;
    }
    for (int i = 0; i < m->config.text_layers; i++) {
        blip_bert_layer *t = &w->layers[i];
        if (split_cross_heads(m, t)) return -1;
        blip_linear *l[10] = {&t->self.q,  &t->self.k,  &t->self.v,  &t->self.o, &t->cross.q,
                              &t->cross.k, &t->cross.v, &t->cross.o, &t->inter,  &t->out};
        for (int j = 0; j < 10; j++)
            if (pack_linear(m, l[j])) return -1;
    }
    if (pack_linear(m, &w->head_dense) || pack_linear(m, &w->decoder)) return -1;
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

int blip_load(blip_model **out, const weights_file *wf, const kernel_table *kt, int threads, fmt_error *err)
{
    *out = NULL;
    blip_model *m = calloc(1, sizeof *m);
    if (!m) return fmt_fail(err, "blip: out of memory");
    if (kt) m->kt = *kt;
    else kernels_init(&m->kt);
    m->threads = threads > 0 ? threads : threads_available();
    if (config_read(&m->config, wf, err) || load_vision(m, wf, err) || load_text(m, wf, err) || blip_vision_alloc(m, 1, err)) {
        blip_free(m);
        return -1;
    }
    m->kv_bf16 = m->weights.layers[0].cross.k.w.panel && m->weights.layers[0].cross.k.panel.elem_bytes == 2;
    if (blip_pack_weights(m, wf) || blip_split_unpacked(m)) {
        blip_free(m);
        return fmt_fail(err, "blip: out of memory re-laying the weights");
    }
    *out = m;
    return 0;
}

void blip_free(blip_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->weights.n_owned; i++) free(m->weights.owned[i]);
    free(m->weights.owned);
    free(m->weights.blocks);
    free(m->weights.layers);
    arena_free(&m->vis.mem);
    panel_set_free(m->panels);
    blip_decode_release(m);
    free(m);
}

const blip_config *blip_get_config(const blip_model *m) { return &m->config; }

blip_generate_params blip_generate_default_params(void) { return (blip_generate_params){1, 24, 48, 1.0f}; }

double blip_image_flops(const blip_model *m)
{
    const blip_config *c = &m->config;
    double T = c->image_tokens, W = c->vision_width, M = c->vision_mlp, P = c->patch;
    double per_block = 2 * T * W * (3 * W + W + 2 * M) + 4 * T * T * W;
    return 2 * (T - 1) * W * 3 * P * P + c->vision_layers * per_block;
}

static double linear_bytes(const blip_linear *l)
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
