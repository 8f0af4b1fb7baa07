/* BLIP's text decoder (models/med.py BertLMHeadModel), one step at a time:
 *
 *   x = LN(word[id] + position[p])                     LayerNorm eps 1e-12
 *   per layer (post-norm):
 *     x = LN(x + dense(causal self-attention(x)))      keys/values cached per beam
 *     x = LN(x + dense(cross-attention(x, image)))     engine/models/blip/blip_cross.c
 *     x = LN(x + dense(GELU(dense(x))))
 *   logits = LN(GELU(dense(x))) · wordᵀ + bias         decoder tied to the embeddings
 *
 * Every beam's row goes through each matrix together (M = beams), so a step
 * reads each weight once: decoding is bound by the weight bytes read. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "engine/models/blip/blip_internal.h"
#include "kernels/attention.h"

/* ---- state ---------------------------------------------------------------------- */

typedef struct {
    void **dst;
    size_t bytes;
} blip_block;

void blip_decode_release(blip_model *m)
{
    arena_free(&m->dec.mem);
    memset(&m->dec, 0, sizeof m->dec);
}

/* Bytes of every buffer for (slots, cap_len, rows, images); 0 on overflow. */
static size_t decode_plan(blip_model *m, blip_block *b, int slots, size_t cap_len, size_t rows, int images)
{
    const blip_config *c = &m->config;
    blip_decode_state *s = &m->dec;
    size_t B = (size_t)slots, H = (size_t)c->text_width, L = (size_t)c->text_layers, T = (size_t)c->image_tokens;
    size_t NI = (size_t)images, inter = (size_t)c->text_intermediate, n = 0, total = 0, keys = T > cap_len ? T : cap_len;
    size_t heads = (size_t)c->text_heads, hd = H / heads, Wv = (size_t)c->vision_width, wide = H > Wv ? H : Wv;
    size_t kf = blip_image_form_floats(m, 0), vf = blip_image_form_floats(m, 1), f32 = !m->kv_bf16;
    if (!kf || !vf) return 0;
    /* The same sums in double tell whether any size_t product wrapped. */
    double exact = (double)B * (double)L * 2.0 * (double)cap_len * (double)H * 8.0 +
                   ((double)NI + 1.0) * ((double)kf + (double)vf + 2.0 * (double)L * (double)T * (double)H) * 4.0 +
                   (double)rows * (double)(8 * H + inter) * 4.0 + (double)rows * (double)heads * (double)(2 * Wv + T) * 4.0 +
                   (double)T * (double)wide * 4.0 + (double)keys * 64.0 * (double)m->threads * 4.0 +
                   (double)m->threads * (double)rows * (double)(2 * H + T + 2 * wide) * 4.0;
    if (exact > (double)(SIZE_MAX / 4)) return 0;
    size_t cache = B * L * 2 * cap_len * H;
#define PLAN(ptr, count, size) (b[n++] = (blip_block){(void **)&(ptr), (count) * (size)})
    size_t kp = gemm_bf16_packed_size(T, hd), vp = gemm_bf16_packed_size(hd, T);
    s->kv_packed = ((kp > vp ? kp : vp) + 31) / 32 * 32;
    s->image_k_floats = kf, s->image_v_floats = vf, s->head_floats = Wv > hd ? Wv : hd;
    size_t bf16_kv = m->kv_bf16 ? NI * L * heads * s->kv_packed : 1;
    PLAN(s->image_k, f32 ? NI * kf : 1, sizeof(float));
    PLAN(s->image_v, f32 ? NI * vf : 1, sizeof(float));
    PLAN(s->qimg, f32 ? rows * heads * Wv : 1, sizeof(float));
    PLAN(s->uimg, f32 ? rows * heads * Wv : 1, sizeof(float));
    PLAN(s->scores, f32 ? rows * heads * T : 1, sizeof(float));
    PLAN(s->head_in, (size_t)m->threads * rows * s->head_floats, sizeof(float));
    PLAN(s->head_out, (size_t)m->threads * rows * s->head_floats, sizeof(float));
    PLAN(s->runs, rows + 1, sizeof(size_t));
    /* f32 keys and values are projected only for beams: one image */
    PLAN(s->cross_k, f32 ? L * T * H : 1, sizeof(float));
    PLAN(s->cross_v, f32 ? L * T * H : 1, sizeof(float));
    PLAN(s->cross_kp, bf16_kv, sizeof(uint16_t));
    PLAN(s->cross_vp, bf16_kv, sizeof(uint16_t));
    PLAN(s->kv_tmp, T * wide, sizeof(float));
    PLAN(s->head_tmp, T * hd, sizeof(float));
    PLAN(s->head_scratch, (size_t)m->threads * rows * (2 * hd + T), sizeof(float));
    PLAN(s->cache, cache, sizeof(float));
    PLAN(s->cache_tmp, B > 1 ? cache : 1, sizeof(float));
    float **rows_h[] = {&s->x, &s->h, &s->q, &s->k, &s->v, &s->ctx, &s->head};
    for (size_t i = 0; i < sizeof rows_h / sizeof rows_h[0]; i++) PLAN(*rows_h[i], rows * H, sizeof(float));
    PLAN(s->ffn, rows * inter, sizeof(float));
    PLAN(s->attn_scratch, attention_scratch(keys, m->threads), sizeof(float));
    PLAN(s->saved, B, 1);
    PLAN(s->row_cache, rows, sizeof(int));
    PLAN(s->row_image, rows, sizeof(int));
    PLAN(s->ids, rows, sizeof(int));
#undef PLAN
    for (size_t i = 0; i < n; i++) total += arena_block_size(b[i].bytes);
    b[n] = (blip_block){NULL, 0};
    return total;
}

int blip_decode_reserve(blip_model *m, int slots, size_t cap_len, size_t rows, int images, fmt_error *err)
{
    blip_decode_state *s = &m->dec;
    if (s->mem.base && slots <= s->beams && cap_len <= s->cap_len && rows <= s->rows && images <= s->images) return 0;
    /* Grow to cover what was asked before too. */
    if (s->mem.base) {
        slots = slots > s->beams ? slots : s->beams;
        cap_len = cap_len > s->cap_len ? cap_len : s->cap_len;
        rows = rows > s->rows ? rows : s->rows;
        images = images > s->images ? images : s->images;
    }
    blip_decode_release(m);
    blip_block plan[48];
    size_t total = decode_plan(m, plan, slots, cap_len, rows, images);
    if (!total || arena_init(&s->mem, total))
        return fmt_fail(err, "blip: cannot allocate %zu MB for decoding", total >> 20);
    for (blip_block *b = plan; b->dst; b++) *b->dst = arena_alloc(&s->mem, b->bytes);
    s->beams = slots, s->cap_len = cap_len, s->rows = rows, s->images = images;
    return 0;
}

void blip_rows_beams(blip_model *m, size_t rows)
{
    for (size_t r = 0; r < rows; r++) m->dec.row_cache[r] = (int)r, m->dec.row_image[r] = 0;
}

void blip_rows_prompts(blip_model *m, size_t n_slots, size_t prompt)
{
    for (size_t r = 0; r < n_slots * prompt; r++) m->dec.row_cache[r] = m->dec.row_image[r] = (int)(r / prompt);
}

void blip_rows_streams(blip_model *m, const int *streams, size_t rows)
{
    for (size_t r = 0; r < rows; r++) m->dec.row_cache[r] = m->dec.row_image[r] = streams[r];
}

/* ---- the self-attention cache ---------------------------------------------------- */

/* K (kv = 0) or V (kv = 1) of one beam and layer: [cap_len][H]. */
static float *cache_at(const blip_model *m, float *base, int beam, int layer, int kv)
{
    size_t H = (size_t)m->config.text_width, L = (size_t)m->config.text_layers;
    return base + (((size_t)beam * L + (size_t)layer) * 2 + (size_t)kv) * m->dec.cap_len * H;
}

static void cache_copy(blip_model *m, float *dst_base, int dst, const float *src_base, int src, size_t len)
{
    size_t H = (size_t)m->config.text_width;
    for (int l = 0; l < m->config.text_layers; l++)
        for (int kv = 0; kv < 2; kv++)
            memcpy(cache_at(m, dst_base, dst, l, kv), cache_at(m, (float *)src_base, src, l, kv), len * H * sizeof(float));
}

void blip_cache_reorder(blip_model *m, const int *src, int beams, size_t len)
{
    blip_decode_state *s = &m->dec;
    /* An old beam that another new beam extends, but whose own slot is
     * overwritten, is set aside first; beams that extend themselves stay. */
    memset(s->saved, 0, (size_t)beams);
    for (int i = 0; i < beams; i++) {
        int j = src[i];
        if (j != i && src[j] != j && !s->saved[j]) {
            cache_copy(m, s->cache_tmp, j, s->cache, j, len);
            s->saved[j] = 1;
        }
    }
    for (int i = 0; i < beams; i++) {
        int j = src[i];
        if (j != i) cache_copy(m, s->cache, i, s->saved[j] ? s->cache_tmp : s->cache, j, len);
    }
}

void blip_cache_broadcast(blip_model *m, int beams, size_t len)
{
    for (int b = 1; b < beams; b++) cache_copy(m, m->dec.cache, b, m->dec.cache, 0, len);
}

/* ---- forward ------------------------------------------------------------------- */

static void embed(blip_model *m, const int *ids, size_t rows, size_t pos, size_t prompt)
{
    const blip_config *c = &m->config;
    const blip_weights *w = &m->weights;
    size_t H = (size_t)c->text_width;
    for (size_t r = 0; r < rows; r++) {
        float *x = m->dec.x + r * H;
        size_t id = (size_t)ids[r], p = prompt ? pos + r % prompt : pos;
        if (w->word_type == DTYPE_BF16) m->kt->linalg.bf16_to_f32(x, (const uint16_t *)w->word + id * H, H);
        else memcpy(x, (const float *)w->word + id * H, H * sizeof(float));
        m->kt->nn.add(x, w->position + p * H, H);
    }
    m->kt->nn.layernorm(m->dec.x, m->dec.x, w->emb_ln.gamma, w->emb_ln.beta, rows, H, c->text_eps);
}

/* Self-attention of one decoding row and head over its sequence's cached
 * keys (a few dozen, row stride H): dot products and a weighted sum. */
static void cached_attention_head(const blip_model *m, const float *qh, const float *k, const float *v, size_t lk,
                                  float *o, float *p)
{
    const nn_kernels *nn = &m->kt->nn;
    size_t H = (size_t)m->config.text_width, hd = H / (size_t)m->config.text_heads;
    for (size_t t = 0; t < lk; t++) p[t] = nn->dot(qh, k + t * H, hd);
    nn->softmax(p, 1, lk, (float)(1.0 / sqrt((double)hd)));
    memset(o, 0, hd * sizeof *o);
    for (size_t t = 0; t < lk; t++) {
        const float *vt = v + t * H;
        for (size_t i = 0; i < hd; i++) o[i] += p[t] * vt[i];
    }
}

/* Each decoding row's new key and value into its sequence's cache, then
 * its attention over positions 0..pos, rows × heads shared among threads. */
static void self_cached_attention(blip_model *m, int layer, size_t rows, size_t pos)
{
    blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width, heads = (size_t)m->config.text_heads, hd = H / heads;
    size_t T = (size_t)m->config.image_tokens, keys = T > s->cap_len ? T : s->cap_len;
    for (size_t b = 0; b < rows; b++) {
        int slot = s->row_cache[b];
        memcpy(cache_at(m, s->cache, slot, layer, 0) + pos * H, s->k + b * H, H * sizeof(float));
        memcpy(cache_at(m, s->cache, slot, layer, 1) + pos * H, s->v + b * H, H * sizeof(float));
    }
#pragma omp parallel for schedule(static) num_threads(m->threads) if (m->threads > 1 && rows > 1)
    for (size_t i = 0; i < rows * heads; i++) {
        size_t b = i / heads, h = i % heads;
        int slot = s->row_cache[b];
        const float *kc = cache_at(m, s->cache, slot, layer, 0), *vc = cache_at(m, s->cache, slot, layer, 1);
        cached_attention_head(m, s->q + b * H + h * hd, kc + h * hd, vc + h * hd, pos + 1, s->ctx + b * H + h * hd,
                              s->attn_scratch + (size_t)omp_get_thread_num() * keys);
    }
}

/* x = LN(x + o(ctx)): BertSelfOutput. */
static void attention_output(blip_model *m, const blip_bert_attention *a, size_t rows)
{
    blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width;
    gemm_epilogue ep = {.bias = a->o.bias, .residual = s->x, .ldr = H};
    linear_run(&m->kt->linalg, s->h, s->ctx, &a->o.w, rows, H, H, &ep);
    m->kt->nn.layernorm(s->x, s->h, a->ln.gamma, a->ln.beta, rows, H, m->config.text_eps);
}

/* Blocks of `prompt` rows, each of one sequence: the block's keys and
 * values into its cache at pos.., then causal attention over the cache. */
static void prompt_attention(blip_model *m, int layer, size_t rows, size_t pos, size_t prompt)
{
    blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width, heads = (size_t)m->config.text_heads, hd = H / heads;
    float scale = (float)(1.0 / sqrt((double)hd));
    for (size_t r0 = 0; r0 < rows; r0 += prompt) {
        int slot = s->row_cache[r0];
        float *kc = cache_at(m, s->cache, slot, layer, 0), *vc = cache_at(m, s->cache, slot, layer, 1);
        memcpy(kc + pos * H, s->k + r0 * H, prompt * H * sizeof(float));
        memcpy(vc + pos * H, s->v + r0 * H, prompt * H * sizeof(float));
        attention_args at = {.heads = heads,
                             .head_dim = hd,
                             .lq = prompt,
                             .lk = pos + prompt,
                             .q = s->q + r0 * H,
                             .ldq = H,
                             .k = kc,
                             .ldk = H,
                             .v = vc,
                             .ldv = H,
                             .out = s->ctx + r0 * H,
                             .ldo = H,
                             .scale = scale,
                             .causal = 1,
                             .causal_offset = pos,
                             .threads = m->threads};
        attention(&m->kt->nn, &at, s->attn_scratch);
    }
}

static void self_attention(blip_model *m, int layer, const blip_bert_attention *a, size_t rows, size_t pos, size_t prompt)
{
    blip_decode_state *s = &m->dec;
    const linalg_kernels *lk = &m->kt->linalg;
    size_t H = (size_t)m->config.text_width;
    gemm_epilogue eq = {.bias = a->q.bias}, ek = {.bias = a->k.bias};
    gemm_epilogue ev = {.bias = a->v.bias};
    linear_run(lk, s->q, s->x, &a->q.w, rows, H, H, &eq);
    linear_run(lk, s->k, s->x, &a->k.w, rows, H, H, &ek);
    linear_run(lk, s->v, s->x, &a->v.w, rows, H, H, &ev);
    if (prompt) prompt_attention(m, layer, rows, pos, prompt);
    else self_cached_attention(m, layer, rows, pos);
    attention_output(m, a, rows);
}

static void cross_attention(blip_model *m, int layer, const blip_bert_attention *a, size_t rows)
{
    blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width;
    gemm_epilogue eq = {.bias = a->q.bias};
    linear_run(&m->kt->linalg, s->q, s->x, &a->q.w, rows, H, H, &eq);
    blip_image_attention(m, layer, rows);
    attention_output(m, a, rows);
}

static void feed_forward(blip_model *m, const blip_bert_layer *l, size_t rows)
{
    blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width, inter = (size_t)m->config.text_intermediate;
    gemm_epilogue e1 = {.bias = l->inter.bias, .act = m->kt->nn.gelu},
                  e2 = {.bias = l->out.bias, .residual = s->x, .ldr = H};
    linear_run(&m->kt->linalg, s->ffn, s->x, &l->inter.w, rows, inter, H, &e1);
    linear_run(&m->kt->linalg, s->h, s->ffn, &l->out.w, rows, H, inter, &e2);
    m->kt->nn.layernorm(s->x, s->h, l->ln_out.gamma, l->ln_out.beta, rows, H, m->config.text_eps);
}

void blip_decode_rows(blip_model *m, const int *ids, size_t rows, size_t pos, size_t prompt)
{
    embed(m, ids, rows, pos, prompt);
    for (int l = 0; l < m->config.text_layers; l++) {
        const blip_bert_layer *layer = &m->weights.layers[l];
        self_attention(m, l, &layer->self, rows, pos, prompt);
        cross_attention(m, l, &layer->cross, rows);
        feed_forward(m, layer, rows);
    }
}

void blip_lm_head(blip_model *m, const float *x, size_t rows, float *logits)
{
    const blip_weights *w = &m->weights;
    blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width, V = (size_t)m->config.vocab_size;
    gemm_epilogue e1 = {.bias = w->head_dense.bias, .act = m->kt->nn.gelu}, e2 = {.bias = w->decoder.bias};
    linear_run(&m->kt->linalg, s->head, x, &w->head_dense.w, rows, H, H, &e1);
    m->kt->nn.layernorm(s->head, s->head, w->head_ln.gamma, w->head_ln.beta, rows, H, m->config.text_eps);
    linear_run(&m->kt->linalg, logits, s->head, &w->decoder.w, rows, V, H, &e2);
}

int blip_decoder_logits(blip_model *m, const float *image_embeds, const int *ids, size_t n, float *logits,
                        fmt_error *err)
{
    const blip_config *c = &m->config;
    if (n < 1 || n > (size_t)c->max_positions)
        return fmt_fail(err, "blip: %zu ids (the decoder takes 1 to %d)", n, c->max_positions);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size) return fmt_fail(err, "blip: id %d is outside the vocabulary", ids[i]);
    if (blip_decode_reserve(m, 1, n, n, 1, err)) return -1;
    m->dec.kv_projected = m->kv_bf16;
    blip_cross_image(m, image_embeds, 0);
    blip_rows_prompts(m, 1, n);
    blip_decode_rows(m, ids, n, 0, n);
    blip_lm_head(m, m->dec.x, n, logits);
    return 0;
}
