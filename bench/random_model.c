/* Random safetensors models: header from the writer, data filled in place. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/random_model.h"
#include "engine/models/deepdanbooru/deepdanbooru.h"
#include "format/safetensors.h"

typedef struct {
    char name[128];
    st_dtype dtype;
    int rank;
    size_t shape[4];
    float scale; /* uniform in [offset - scale, offset + scale] */
    float offset;
    const char *text; /* U8 tensors: their bytes */
} spec;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static uint16_t to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

static void fill(const st_tensor *t, const spec *s)
{
    uint8_t *p = (uint8_t *)t->data; /* our own buffer */
    if (s->text) {
        memcpy(p, s->text, t->nbytes);
        return;
    }
    for (size_t i = 0; i < t->numel; i++) {
        float v = s->offset + uniform() * s->scale;
        if (t->dtype == ST_F32) memcpy(p + 4 * i, &v, 4);
        else {
            uint16_t h = to_bf16(v);
            memcpy(p + 2 * i, &h, 2);
        }
    }
}

/* Only the header is written through the writer; the bytes are filled in
 * place afterwards, so this is never called. */
static int no_fill(void *user, size_t offset, uint8_t *dst, size_t n, fmt_error *err)
{
    (void)user, (void)offset, (void)dst, (void)n;
    return fmt_fail(err, "unused");
}

/* meta: NULL or pairs of key, value ending with NULL. */
static int build(random_model *m, const spec *specs, size_t n, const char *const *meta)
{
    st_writer w;
    st_writer_init(&w);
    fmt_error err;
    buf header;
    buf_init(&header, 0);
    size_t data = 0;
    int rc = 0;
    for (size_t i = 0; meta && meta[i] && !rc; i += 2) rc = st_writer_meta(&w, meta[i], meta[i + 1], &err);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = st_writer_add_fill(&w, specs[i].name, specs[i].dtype, specs[i].rank, specs[i].shape, no_fill, NULL, &err);
        size_t numel = 1;
        for (int d = 0; d < specs[i].rank; d++) numel *= specs[i].shape[d];
        data += numel * st_dtype_size(specs[i].dtype);
    }
    rc = rc || st_writer_header(&w, &header, &err);
    st_writer_free(&w);
    m->len = header.len + data;
    m->bytes = rc ? NULL : malloc(m->len);
    if (!m->bytes) {
        buf_free(&header);
        return -1;
    }
    memcpy(m->bytes, header.data, header.len);
    buf_free(&header);
    st_file f;
    if (st_open(&f, m->bytes, m->len, NULL, &err)) {
        fprintf(stderr, "bench: random model: %s\n", err.msg);
        random_model_free(m);
        return -1;
    }
    for (size_t i = 0; i < n; i++) fill(st_find(&f, specs[i].name), &specs[i]);
    st_close(&f);
    return 0;
}

int random_deepdanbooru(random_model *m, int width_div, int n_tags, const char *dtype)
{
    dd_layer_shape shapes[DD_CONVS];
    if (dd_layer_shapes(width_div, n_tags, shapes)) return -1;
    st_dtype wt = strcmp(dtype, "BF16") ? ST_F32 : ST_BF16;
    spec *specs = calloc(2 * DD_CONVS + 1, sizeof *specs);
    if (!specs) return -1;
    size_t n = 0, text_len = 0;
    for (int i = 0; i < DD_CONVS; i++) {
        const dd_layer_shape *l = &shapes[i];
        spec *s = &specs[n++];
        snprintf(s->name, sizeof s->name, "n_Conv_%d.weight", i);
        s->dtype = wt, s->rank = 4;
        s->shape[0] = (size_t)l->cout, s->shape[1] = (size_t)l->cin, s->shape[2] = s->shape[3] = (size_t)l->k;
        /* uniform with variance 2/fan_in (He), residual branches damped */
        s->scale = sqrtf(6.0f / (float)(l->cin * l->k * l->k)) * 0.5f;
        if (l->has_bias) {
            spec *b = &specs[n++];
            snprintf(b->name, sizeof b->name, "n_Conv_%d.bias", i);
            b->dtype = ST_F32, b->rank = 1, b->shape[0] = (size_t)l->cout, b->scale = 0.01f;
        }
    }
    char *tags = malloc((size_t)n_tags * 16);
    if (!tags) return free(specs), -1;
    for (int i = 0; i < n_tags; i++) text_len += (size_t)sprintf(tags + text_len, i ? "\ntag_%d" : "tag_%d", i);
    spec *t = &specs[n++];
    snprintf(t->name, sizeof t->name, "tags");
    t->dtype = ST_U8, t->rank = 1, t->shape[0] = text_len, t->text = tags;
    int rc = build(m, specs, n, NULL);
    free(tags);
    free(specs);
    return rc;
}

/* ---- building blocks ------------------------------------------------------------- */

typedef struct {
    spec *specs;
    size_t n;
    st_dtype matrix; /* dtype of rank ≥ 2 tensors */
} spec_list;

static void add_spec(spec_list *l, const char *name, int rank, const size_t *shape, float scale, float offset)
{
    spec *s = &l->specs[l->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->dtype = rank >= 2 ? l->matrix : ST_F32, s->rank = rank;
    for (int i = 0; i < rank; i++) s->shape[i] = shape[i];
    s->scale = scale, s->offset = offset;
}

/* A U8 tensor of text (kept by the caller until build). */
static void add_text(spec_list *l, const char *name, const char *text, size_t len)
{
    spec *s = &l->specs[l->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->dtype = ST_U8, s->rank = 1, s->shape[0] = len, s->text = text;
}

/* weight [out][in] uniform with unit gain, bias small */
static void add_linear(spec_list *l, const char *prefix, size_t out, size_t in)
{
    char name[128];
    size_t w[2] = {out, in};
    snprintf(name, sizeof name, "%s.weight", prefix);
    add_spec(l, name, 2, w, sqrtf(3.0f / (float)in), 0);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add_spec(l, name, 1, &out, 0.02f, 0);
}

static void add_norm(spec_list *l, const char *prefix, size_t n)
{
    char name[128];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add_spec(l, name, 1, &n, 0.1f, 1.0f);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add_spec(l, name, 1, &n, 0.02f, 0);
}

static void add_bert_attention(spec_list *l, const char *prefix, size_t H, size_t kv_in)
{
    char p[128];
    snprintf(p, sizeof p, "%s.self.query", prefix), add_linear(l, p, H, H);
    snprintf(p, sizeof p, "%s.self.key", prefix), add_linear(l, p, H, kv_in);
    snprintf(p, sizeof p, "%s.self.value", prefix), add_linear(l, p, H, kv_in);
    snprintf(p, sizeof p, "%s.output.dense", prefix), add_linear(l, p, H, H);
    snprintf(p, sizeof p, "%s.output.LayerNorm", prefix), add_norm(l, p, H);
}

/* ---- CLIP ------------------------------------------------------------------ */

/* One pre-norm block of width w, the branches' output projections damped
 * so the residual stream stays O(1) through the tower. */
static void add_clip_block(spec_list *l, const char *prefix, int i, size_t w)
{
    char p[128];
    size_t v3 = 3 * w, in[2] = {3 * w, w};
#define CB(s) (snprintf(p, sizeof p, "%sresblocks.%d.%s", prefix, i, s), p)
    add_norm(l, CB("ln_1"), w), add_norm(l, CB("ln_2"), w);
    add_spec(l, CB("attn.in_proj_weight"), 2, in, sqrtf(3.0f / (float)w), 0);
    add_spec(l, CB("attn.in_proj_bias"), 1, &v3, 0.02f, 0);
    add_linear(l, CB("attn.out_proj"), w, w), add_linear(l, CB("mlp.c_fc"), 4 * w, w);
    add_linear(l, CB("mlp.c_proj"), w, 4 * w);
#undef CB
    l->specs[l->n - 2].scale *= 0.3f, l->specs[l->n - 6].scale *= 0.3f; /* c_proj, out_proj weights */
}

int random_clip(random_model *m, const random_clip_config *c, const char *dtype)
{
    spec_list l = {calloc(12 * (size_t)(c->vision_layers + c->text_layers) + 16, sizeof(spec)), 0,
                   strcmp(dtype, "BF16") ? ST_F32 : ST_BF16};
    if (!l.specs) return -1;
    size_t wv = (size_t)c->vision_width, wt = (size_t)c->text_width, e = (size_t)c->embed_dim;
    size_t p = (size_t)c->patch, grid = (size_t)(c->image_size / c->patch);
    size_t conv[4] = {wv, 3, p, p}, pos[2] = {grid * grid + 1, wv}, vproj[2] = {wv, e};
    size_t tok[2] = {(size_t)c->vocab_size, wt}, tpos[2] = {77, wt}, tproj[2] = {wt, e};
    add_spec(&l, "visual.conv1.weight", 4, conv, sqrtf(3.0f / (float)(3 * p * p)), 0);
    add_spec(&l, "visual.class_embedding", 1, &wv, 0.05f, 0);
    add_spec(&l, "visual.positional_embedding", 2, pos, 0.05f, 0);
    add_norm(&l, "visual.ln_pre", wv);
    for (int i = 0; i < c->vision_layers; i++) add_clip_block(&l, "visual.transformer.", i, wv);
    add_norm(&l, "visual.ln_post", wv);
    add_spec(&l, "visual.proj", 2, vproj, sqrtf(3.0f / (float)wv), 0);
    add_spec(&l, "token_embedding.weight", 2, tok, 0.05f, 0);
    add_spec(&l, "positional_embedding", 2, tpos, 0.01f, 0);
    for (int i = 0; i < c->text_layers; i++) add_clip_block(&l, "transformer.", i, wt);
    add_norm(&l, "ln_final", wt);
    add_spec(&l, "text_projection", 2, tproj, sqrtf(3.0f / (float)wt), 0);
    add_spec(&l, "logit_scale", 0, NULL, 0, 4.6052f);
    char merges[26 * 26 * 4 + 1]; /* a BPE of every pair of letters: enough to tokenize */
    size_t ml = 0;
    for (char a = 'a'; a <= 'z'; a++)
        for (char b = 'a'; b <= 'z'; b++) ml += (size_t)snprintf(merges + ml, sizeof merges - ml, "%c %c\n", a, b);
    add_text(&l, "tokenizer.bpe_merges", merges, ml);
    char config[512];
    snprintf(config, sizeof config,
             "{\"embed_dim\": %d, \"image_size\": %d, \"patch\": %d, \"vision_width\": %d, \"vision_layers\": %d, "
             "\"vision_heads\": %d, \"context_length\": 77, \"vocab_size\": %d, \"text_width\": %d, "
             "\"text_layers\": %d, \"text_heads\": %d, \"eps\": 1e-5}",
             c->embed_dim, c->image_size, c->patch, c->vision_width, c->vision_layers, c->vision_width / 64,
             c->vocab_size, c->text_width, c->text_layers, c->text_width / 64);
    const char *meta[] = {"unprompt.kind", "clip", "unprompt.config", config, "unprompt.dtype",
                          l.matrix == ST_BF16 ? "bf16" : "f32", NULL};
    int rc = build(m, l.specs, l.n, meta);
    free(l.specs);
    return rc;
}

const random_clip_config random_clip_vit_l14 = {.embed_dim = 768,
                                                .image_size = 224,
                                                .patch = 14,
                                                .vision_width = 1024,
                                                .vision_layers = 24,
                                                .vocab_size = 49408,
                                                .text_width = 768,
                                                .text_layers = 12};

/* ---- BLIP ---------------------------------------------------------------------- */

/* A vocab.txt of `lines` lines with bert-base-uncased's special tokens and
 * the prompt's words at their real ids, "[unusedN]" elsewhere. */
static char *bert_like_vocab(size_t lines)
{
    char *v = malloc(lines * 16 + 1);
    size_t n = 0;
    for (size_t i = 0; v && i < lines; i++) {
        const char *w = i == 0 ? "[PAD]" : i == 100 ? "[UNK]" : i == 101 ? "[CLS]" : i == 102 ? "[SEP]" : i == 103 ? "[MASK]"
                        : i == 1037 ? "a" : i == 1997 ? "of" : i == 3861 ? "picture" : NULL;
        n += w ? (size_t)sprintf(v + n, "%s\n", w) : (size_t)sprintf(v + n, "[unused%zu]\n", i);
    }
    return v;
}

int random_blip(random_model *m, const char *dtype)
{
    /* model_base_caption_capfilt_large: ViT-B/16 at 384 px, BERT base with
     * cross-attention, vocabulary 30522 + [DEC] + [ENC] */
    const size_t S = 384, P = 16, Wv = 768, Lv = 12, Mv = 3072, H = 768, Lt = 12, I = 3072, V = 30524, Pmax = 512;
    const size_t T = (S / P) * (S / P) + 1;
    spec_list l = {calloc(64 + Lv * 12 + Lt * 26, sizeof(spec)), 0, strcmp(dtype, "BF16") ? ST_F32 : ST_BF16};
    if (!l.specs) return -1;
    char p[128];
    size_t conv[4] = {Wv, 3, P, P}, cls[3] = {1, 1, Wv}, pos[3] = {1, T, Wv}, word[2] = {V, H}, tpos[2] = {Pmax, H};
    add_spec(&l, "visual_encoder.patch_embed.proj.weight", 4, conv, sqrtf(3.0f / (float)(3 * P * P)), 0);
    add_spec(&l, "visual_encoder.patch_embed.proj.bias", 1, &Wv, 0.02f, 0);
    add_spec(&l, "visual_encoder.cls_token", 3, cls, 0.02f, 0);
    add_spec(&l, "visual_encoder.pos_embed", 3, pos, 0.02f, 0);
    for (size_t i = 0; i < Lv; i++) {
#define VB(s) (snprintf(p, sizeof p, "visual_encoder.blocks.%zu.%s", i, s), p)
        add_norm(&l, VB("norm1"), Wv), add_norm(&l, VB("norm2"), Wv);
        add_linear(&l, VB("attn.qkv"), 3 * Wv, Wv), add_linear(&l, VB("attn.proj"), Wv, Wv);
        add_linear(&l, VB("mlp.fc1"), Mv, Wv), add_linear(&l, VB("mlp.fc2"), Wv, Mv);
#undef VB
    }
    add_norm(&l, "visual_encoder.norm", Wv);
    add_spec(&l, "text_decoder.bert.embeddings.word_embeddings.weight", 2, word, 0.05f, 0);
    add_spec(&l, "text_decoder.bert.embeddings.position_embeddings.weight", 2, tpos, 0.02f, 0);
    add_norm(&l, "text_decoder.bert.embeddings.LayerNorm", H);
    for (size_t i = 0; i < Lt; i++) {
#define TL(s) (snprintf(p, sizeof p, "text_decoder.bert.encoder.layer.%zu.%s", i, s), p)
        add_bert_attention(&l, TL("attention"), H, H);
        add_bert_attention(&l, TL("crossattention"), H, Wv);
        add_linear(&l, TL("intermediate.dense"), I, H), add_linear(&l, TL("output.dense"), H, I);
        add_norm(&l, TL("output.LayerNorm"), H);
#undef TL
    }
    add_linear(&l, "text_decoder.cls.predictions.transform.dense", H, H);
    add_norm(&l, "text_decoder.cls.predictions.transform.LayerNorm", H);
    add_spec(&l, "text_decoder.cls.predictions.bias", 1, &V, 0.02f, 0);
    char *vocab = bert_like_vocab(V - 2);
    if (!vocab) return free(l.specs), -1;
    add_text(&l, "tokenizer.vocab", vocab, strlen(vocab));
    char config[512];
    snprintf(config, sizeof config,
             "{\"image_size\":%zu,\"patch\":%zu,\"vision_width\":%zu,\"vision_layers\":%zu,\"vision_heads\":12,"
             "\"vision_mlp\":%zu,\"vision_eps\":1e-6,\"text_width\":%zu,\"text_layers\":%zu,\"text_heads\":12,"
             "\"text_intermediate\":%zu,\"vocab_size\":%zu,\"max_positions\":%zu,\"text_eps\":1e-12,"
             "\"bos_id\":30522,\"sep_id\":102,\"pad_id\":0}",
             S, P, Wv, Lv, Mv, H, Lt, I, V, Pmax);
    const char *meta[] = {"unprompt.kind", "blip", "unprompt.dtype", l.matrix == ST_BF16 ? "bf16" : "f32",
                          "unprompt.config", config, NULL};
    int rc = build(m, l.specs, l.n, meta);
    free(l.specs);
    free(vocab);
    return rc;
}

int random_model_save(const random_model *m, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int rc = fwrite(m->bytes, 1, m->len, f) == m->len ? 0 : -1;
    return fclose(f) || rc ? -1 : 0;
}

void random_model_free(random_model *m)
{
    free(m->bytes);
    m->bytes = NULL, m->len = 0;
}
