/* The decoder's cross-attention to the image (models/med.py
 * BertSelfAttention with encoder_hidden_states): per head h, with E the
 * image encoder's output [tokens][Wv],
 *
 *   K_h = E·W_k,hᵀ + b_k,h     V_h = E·W_v,hᵀ + b_v,h
 *   out_h = softmax(q_h·K_hᵀ / √head_dim) · V_h
 *
 * f32 weights: through the projections, without K and V. Since
 * q_h·(W_k,h·e + b_k,h) = (W_k,hᵀ·q_h)·e + q_h·b_k,h and the last term is
 * the same for every token (softmax ignores it), and the probabilities p
 * sum to one:
 *
 *   q'_h = W_k,hᵀ·q_h                     [Wv]        (per row, per head)
 *   s_h  = E·q'_h,  p_h = softmax(s_h / √head_dim)    [tokens]
 *   u_h  = Eᵀ·p_h                         [Wv]
 *   out_h = W_v,h·u_h + b_v,h             [head_dim]
 *
 * The heads' q' of a row are one product with E (M = heads rows, or
 * heads × beams), the u's another. Projecting K and V of every layer costs
 * 2 · tokens · Wv · H per layer and image up front and 2 · layers · tokens ·
 * H floats read per step; this costs 4 · (heads · tokens + H) · Wv per
 * layer and step, reads E (3.5 MB at the real size, in cache) instead, and keeps
 * 3.5 MB per image instead of 42 MB: with greedy decoding (48 steps, one
 * row per image) it is the cheaper, and when images are decoded together
 * the K/V projections were most of the work that batching cannot share.
 * The products are summed in another order than PyTorch's, as any GEMM's.
 *
 * Keys and values projected once per image (m->dec.kv_projected): with
 * beams, whose rows share the image and so would multiply the per-step
 * cost, and always with bf16 weights, where K and V are kept as bf16 (half
 * the bytes per step) and each head's pair goes through the bf16 GEMM. The
 * f32 keys are [tokens][head_dim] per head, the values transposed, and a
 * row's head is two gemvs over them. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "engine/models/blip/blip_internal.h"

/* Head h of [T][H] into dst as [T][head_dim], or transposed [head_dim][T]
 * (h = 0, head_dim = H: the whole matrix transposed). */
static void gather_head(float *dst, const float *src, size_t T, size_t H, size_t h, size_t hd, int transposed)
{
    src += h * hd;
    if (!transposed) {
        for (size_t t = 0; t < T; t++) memcpy(dst + t * hd, src + t * H, hd * sizeof *dst);
        return;
    }
    for (size_t i = 0; i < hd; i++)
        for (size_t t = 0; t < T; t++) dst[i * T + t] = src[t * H + i];
}

/* ---- through the projections: the image's two forms -------------------------- */

/* Image `image`'s E as the weights of a product: values = 0, E itself
 * (tokens outputs over Wv); values = 1, Eᵀ (Wv outputs over tokens). */
static void image_weights(const blip_model *m, int image, int values, weight_panel *panel, linear_weights *lw)
{
    const blip_decode_state *s = &m->dec;
    size_t T = (size_t)m->config.image_tokens, Wv = (size_t)m->config.vision_width;
    size_t N = values ? Wv : T, K = values ? T : Wv;
    float *p = values ? s->image_v + (size_t)image * s->image_v_floats : s->image_k + (size_t)image * s->image_k_floats;
    if (m->kt->f32p.preferred) gemm_f32_use_panels(&m->kt->f32p, p, N, K, panel, lw);
    else *lw = (linear_weights){.f32 = p};
}

size_t blip_image_form_floats(const blip_model *m, int values)
{
    size_t T = (size_t)m->config.image_tokens, Wv = (size_t)m->config.vision_width;
    size_t n = !m->kt->f32p.preferred ? T * Wv : values ? gemm_f32_packed_size(Wv, T) : gemm_f32_packed_size(T, Wv);
    return n ? (n + 15) / 16 * 16 : 0;
}

static void image_forms(blip_model *m, const float *E, int image)
{
    blip_decode_state *s = &m->dec;
    size_t T = (size_t)m->config.image_tokens, Wv = (size_t)m->config.vision_width;
    float *ek = s->image_k + (size_t)image * s->image_k_floats, *ev = s->image_v + (size_t)image * s->image_v_floats;
    if (m->kt->f32p.preferred) {
        gemm_f32_pack(ek, E, T, Wv);
        gather_head(s->kv_tmp, E, T, Wv, 0, Wv, 1);
        gemm_f32_pack(ev, s->kv_tmp, Wv, T);
    } else {
        memcpy(ek, E, T * Wv * sizeof *ek);
        gather_head(ev, E, T, Wv, 0, Wv, 1);
    }
}

/* ---- keys and values projected once ------------------------------------------ */

/* [T][H] → per head: f32 contiguous (keys [T][head_dim], values transposed
 * [head_dim][T]); bf16 packed as the weights of T outputs (keys) or of
 * head_dim outputs (values). dst is the layer's first head. */
static void store_heads(blip_model *m, void *dst, const float *src, int values)
{
    blip_decode_state *s = &m->dec;
    size_t T = (size_t)m->config.image_tokens, heads = (size_t)m->config.text_heads;
    size_t H = (size_t)m->config.text_width, hd = H / heads;
    for (size_t h = 0; h < heads; h++) {
        if (!m->kv_bf16) {
            gather_head((float *)dst + h * T * hd, src, T, H, h, hd, values);
            continue;
        }
        uint16_t *p = (uint16_t *)dst + h * s->kv_packed;
        gather_head(s->head_tmp, src, T, H, h, hd, values);
        if (values) gemm_bf16_pack_f32(p, s->head_tmp, hd, T);
        else gemm_bf16_pack_f32(p, s->head_tmp, T, hd);
    }
}

/* Offset of (image, layer) in cross_k / cross_v, or with bf16 in cross_kp / cross_vp. */
static size_t cross_at(const blip_model *m, int image, int layer)
{
    const blip_config *c = &m->config;
    size_t il = (size_t)image * (size_t)c->text_layers + (size_t)layer;
    return m->kv_bf16 ? il * (size_t)c->text_heads * m->dec.kv_packed : il * (size_t)c->image_tokens * (size_t)c->text_width;
}

static void project_kv(blip_model *m, const float *E, int image)
{
    const blip_config *c = &m->config;
    blip_decode_state *s = &m->dec;
    size_t T = (size_t)c->image_tokens, H = (size_t)c->text_width, Wv = (size_t)c->vision_width;
    for (int l = 0; l < c->text_layers; l++) {
        const blip_bert_attention *a = &m->weights.layers[l].cross;
        gemm_epilogue ek = {.bias = a->k.bias}, ev = {.bias = a->v.bias};
        size_t at = cross_at(m, image, l);
        linear_run(&m->kt->linalg, s->kv_tmp, E, &a->k.w, T, H, Wv, &ek);
        store_heads(m, m->kv_bf16 ? (void *)(s->cross_kp + at) : (void *)(s->cross_k + at), s->kv_tmp, 0);
        linear_run(&m->kt->linalg, s->kv_tmp, E, &a->v.w, T, H, Wv, &ev);
        store_heads(m, m->kv_bf16 ? (void *)(s->cross_vp + at) : (void *)(s->cross_v + at), s->kv_tmp, 1);
    }
}

void blip_cross_image(blip_model *m, const float *image_embeds, int image)
{
    if (m->dec.kv_projected) project_kv(m, image_embeds, image);
    else image_forms(m, image_embeds, image);
}

/* ---- attention through the projections --------------------------------------- */

/* Per head, rows' columns [h·width, (h+1)·width) of src (row stride lds)
 * through W into columns [h·out_width, ...) of dst (row stride ldd), the
 * rows gathered into and scattered from this thread's scratch. */
typedef struct {
    const float *src;
    size_t lds, width;
    float *dst;
    size_t ldd, out_width;
} head_map;

static void map_heads(const blip_model *m, const layer_linear *per_head, const head_map *hm, size_t rows)
{
    const blip_decode_state *s = &m->dec;
    size_t heads = (size_t)m->config.text_heads, stride = s->head_floats;
#pragma omp parallel for schedule(static) num_threads(m->threads) if (m->threads > 1)
    for (size_t h = 0; h < heads; h++) {
        float *in = s->head_in + (size_t)omp_get_thread_num() * rows * stride, *out = s->head_out + (size_t)omp_get_thread_num() * rows * stride;
        const layer_linear *l = &per_head[h];
        gemm_epilogue ep = {.bias = l->bias};
        for (size_t r = 0; r < rows; r++) memcpy(in + r * hm->width, hm->src + r * hm->lds + h * hm->width, hm->width * sizeof *in);
        linear_run(&m->kt->linalg, out, in, &l->w, rows, hm->out_width, hm->width, &ep);
        for (size_t r = 0; r < rows; r++)
            memcpy(hm->dst + r * hm->ldd + h * hm->out_width, out + r * hm->out_width, hm->out_width * sizeof *out);
    }
}

/* Rows [r0, r1), all on `image`: scores of their heads' q' against E,
 * softmax, then u = P·E. */
static void image_products(const blip_model *m, size_t r0, size_t r1, int image)
{
    const blip_decode_state *s = &m->dec;
    size_t T = (size_t)m->config.image_tokens, Wv = (size_t)m->config.vision_width;
    size_t heads = (size_t)m->config.text_heads, hd = (size_t)m->config.text_width / heads, M = (r1 - r0) * heads;
    weight_panel pk, pv;
    linear_weights ek, ev;
    image_weights(m, image, 0, &pk, &ek);
    image_weights(m, image, 1, &pv, &ev);
    float *sc = s->scores + r0 * heads * T;
    linear_run(&m->kt->linalg, sc, s->qimg + r0 * heads * Wv, &ek, M, T, Wv, NULL);
    m->kt->nn.softmax(sc, M, T, (float)(1.0 / sqrt((double)hd)));
    linear_run(&m->kt->linalg, s->uimg + r0 * heads * Wv, sc, &ev, M, Wv, T, NULL);
}

/* Runs of rows on one image (a prompt's rows; beams; images decoded
 * together have one row each): run i is rows [runs[i], runs[i+1]).
 * Returns the number of runs. */
static size_t image_runs(const blip_model *m, size_t rows, size_t *runs)
{
    const int *img = m->dec.row_image;
    size_t n = 0;
    for (size_t r = 0; r < rows; r++)
        if (r == 0 || img[r] != img[r - 1]) runs[n++] = r;
    runs[n] = rows;
    return n;
}

static void image_attention_projected(blip_model *m, int layer, size_t rows)
{
    blip_decode_state *s = &m->dec;
    const blip_cross_heads *ch = &m->weights.layers[layer].cross_heads;
    size_t H = (size_t)m->config.text_width, heads = (size_t)m->config.text_heads, hd = H / heads;
    size_t Wv = (size_t)m->config.vision_width;
    head_map queries = {.src = s->q, .lds = H, .width = hd, .dst = s->qimg, .ldd = heads * Wv, .out_width = Wv},
             values = {.src = s->uimg, .lds = heads * Wv, .width = Wv, .dst = s->ctx, .ldd = H, .out_width = hd};
    map_heads(m, ch->kt, &queries, rows);
    size_t n = image_runs(m, rows, s->runs);
    /* Enough runs for every thread: one each, single-threaded products;
     * else the runs in turn, each product shared among the threads. */
    if (m->threads > 1 && n >= (size_t)m->threads) {
#pragma omp parallel for schedule(dynamic) num_threads(m->threads)
        for (size_t i = 0; i < n; i++) image_products(m, s->runs[i], s->runs[i + 1], s->row_image[s->runs[i]]);
    } else {
        for (size_t i = 0; i < n; i++) image_products(m, s->runs[i], s->runs[i + 1], s->row_image[s->runs[i]]);
    }
    map_heads(m, ch->vh, &values, rows);
}

/* ---- over keys and values projected once ------------------------------------- */

/* f32: per head and row, scores = K_h·q over the head's [T][head_dim] keys,
 * softmax, out = V_hᵀ·p over its transposed [head_dim][T] values: two
 * gemvs, which read the head's keys and values once (a GEMM would re-pack
 * them every step). Heads shared among threads. */
static void image_attention_kv(const blip_model *m, int layer, int image, const float *q, size_t rows, float *out)
{
    const blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width, heads = (size_t)m->config.text_heads, hd = H / heads;
    size_t T = (size_t)m->config.image_tokens;
    float scale = (float)(1.0 / sqrt((double)hd));
    size_t at = cross_at(m, image, layer);
#pragma omp parallel for schedule(static) num_threads(m->threads) if (m->threads > 1)
    for (size_t h = 0; h < heads; h++) {
        float *p = s->head_scratch + (size_t)omp_get_thread_num() * rows * (2 * hd + T);
        for (size_t r = 0; r < rows; r++) {
            m->kt->linalg.gemv(p, s->cross_k + at + h * T * hd, q + r * H + h * hd, T, hd);
            m->kt->nn.softmax(p, 1, T, scale);
            m->kt->linalg.gemv(out + r * H + h * hd, s->cross_v + at + h * T * hd, p, hd, T);
        }
    }
}

/* bf16: per head, scores = Q_h K_hᵀ and out = P V_h as two bf16 GEMMs (the
 * rows of Q_h gathered). */
static void image_attention_bf16(const blip_model *m, int layer, int image, const float *q, size_t rows, float *out)
{
    const blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width, heads = (size_t)m->config.text_heads, hd = H / heads;
    size_t T = (size_t)m->config.image_tokens;
    float scale = (float)(1.0 / sqrt((double)hd));
    const uint16_t *kp = s->cross_kp + cross_at(m, image, layer);
    const uint16_t *vp = s->cross_vp + cross_at(m, image, layer);
#pragma omp parallel for schedule(static) num_threads(m->threads) if (m->threads > 1)
    for (size_t h = 0; h < heads; h++) {
        float *qh = s->head_scratch + (size_t)omp_get_thread_num() * rows * (2 * hd + T), *p = qh + rows * hd;
        float *oh = p + rows * T;
        for (size_t r = 0; r < rows; r++) memcpy(qh + r * hd, q + r * H + h * hd, hd * sizeof(float));
        weight_panel K = {.data = kp + h * s->kv_packed, .N = T, .K = hd, .elem_bytes = 2},
                     Vt = {.data = vp + h * s->kv_packed, .N = hd, .K = T, .elem_bytes = 2};
        m->kt->bf16.gemm_bf16(p, qh, &K, rows, NULL);
        m->kt->nn.softmax(p, rows, T, scale);
        m->kt->bf16.gemm_bf16(oh, p, &Vt, rows, NULL);
        for (size_t r = 0; r < rows; r++) memcpy(out + r * H + h * hd, oh + r * hd, hd * sizeof(float));
    }
}

void blip_image_attention(blip_model *m, int layer, size_t rows)
{
    blip_decode_state *s = &m->dec;
    size_t H = (size_t)m->config.text_width;
    if (!s->kv_projected) {
        image_attention_projected(m, layer, rows);
        return;
    }
    size_t n = image_runs(m, rows, s->runs);
    for (size_t i = 0; i < n; i++) {
        size_t r0 = s->runs[i], r1 = s->runs[i + 1];
        int image = s->row_image[r0];
        if (m->kv_bf16) image_attention_bf16(m, layer, image, s->q + r0 * H, r1 - r0, s->ctx + r0 * H);
        else image_attention_kv(m, layer, image, s->q + r0 * H, r1 - r0, s->ctx + r0 * H);
    }
}
