/* BLIP's image side: the WebUI's pre-processing and the ViT (models/vit.py,
 * timm's VisionTransformer):
 *
 *   x = [cls; conv_PxP/P(pixels) + b] + pos_embed
 *   blocks:     engine/models/vit_block.h, LayerNorm eps 1e-6 (the config's),
 *               exact-erf GELU, attention scaled by 1/sqrt(d) in double
 *   embeddings = LN(x)                                 every token, cls first */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/models/blip/blip_internal.h"
#include "engine/preprocess/model_input.h"

int blip_preprocess(const blip_model *m, const uint8_t *rgb, int width, int height, float *out, fmt_error *err)
{
    return model_input_blip(rgb, width, height, m->config.image_size, out, err);
}

/* The blocks over the stacked tokens of n images (attention image by image). */
static void blip_vision_blocks(blip_model *m, size_t n)
{
    const blip_config *c = &m->config;
    blip_vision_state *s = &m->vis;
    size_t T = (size_t)c->image_tokens, hd = (size_t)(c->vision_width / c->vision_heads);
    vit_params p = {.width = (size_t)c->vision_width, .heads = (size_t)c->vision_heads, .mlp = (size_t)c->vision_mlp,
                    .eps = c->vision_eps, .scale = (float)(1.0 / sqrt((double)hd)), .act = m->kt->nn.gelu,
                    .causal = 0, .short_len = 0, .threads = m->threads};
    vit_buffers b = {.x = s->x, .y = s->x2, .h = s->h, .qkv = s->qkv, .att = s->ctx, .mlp = s->mlp, .scratch = s->attn_scratch};
    vit_segment segs[BLIP_MAX_BATCH];
    for (size_t i = 0; i < n; i++) segs[i] = (vit_segment){.start = i * T, .len = T};
    for (int i = 0; i < c->vision_layers; i++) vit_block_forward(m->kt, &p, &m->weights.blocks[i], &b, n * T, segs, n);
}

int blip_encode_images(blip_model *m, const float *const *pixels, size_t n, float *embeds, fmt_error *err)
{
    if (!pixels || !embeds) return fmt_fail(err, "blip: no pixels or no output buffer");
    if (n < 1 || n > BLIP_MAX_BATCH) return fmt_fail(err, "blip: %zu images at once (1 to %d)", n, BLIP_MAX_BATCH);
    for (size_t i = 0; i < n; i++)
        if (!pixels[i]) return fmt_fail(err, "blip: no pixels for image %zu", i);
    if (blip_vision_alloc(m, n, err)) return -1;
    const blip_config *c = &m->config;
    const blip_weights *w = &m->weights;
    blip_vision_state *s = &m->vis;
    size_t T = (size_t)c->image_tokens, W = (size_t)c->vision_width;

    for (size_t i = 0; i < n; i++) { /* patches (conv P×P, stride P) fill rows 1.., row-major patch order */
        float *x = s->x + i * T * W;
        conv_geometry g = {.pad_top = 0, .pad_bottom = 0, .pad_left = 0, .pad_right = 0, .stride = c->patch};
        gemm_epilogue ep = {.bias = w->patch.bias};
        conv2d(&m->kt->linalg, x + W, pixels[i], c->image_size, c->image_size, 3, &w->patch.w, c->vision_width,
               c->patch, &g, &ep, s->conv_scratch, m->threads);
        memcpy(x, w->cls, W * sizeof(float));
        m->kt->nn.add(x, w->pos, T * W);
    }
    blip_vision_blocks(m, n);
    m->kt->nn.layernorm(embeds, s->x, w->norm.gamma, w->norm.beta, n * T, W, c->vision_eps);
    return 0;
}

int blip_encode_image(blip_model *m, const float *pixels, float *embeds, fmt_error *err)
{
    return blip_encode_images(m, &pixels, 1, embeds, err);
}
