/* BLIP's image side: the WebUI's pre-processing and the ViT (models/vit.py,
 * timm's VisionTransformer):
 *
 *   x = [cls; conv_PxP/P(pixels) + b] + pos_embed
 *   per block:  x += proj(attention(qkv(LN1 x)))      LayerNorm eps 1e-6
 *               x += fc2(GELU(fc1(LN2 x)))            exact-erf GELU
 *   embeddings = LN(x)                                 every token, cls first */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blip_internal.h"
#include "kernels/attention.h"
#include "kernels/resample.h"

/* CLIP's normalisation, as torchvision's Normalize applies it (float32). */
static const float blip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
static const float blip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};

int blip_preprocess(const blip_model *m, const uint8_t *rgb, int width, int height, float *out, fmt_error *err)
{
    int S = m->config.image_size;
    if (width < 1 || height < 1 || width > 65535 || height > 65535)
        return fmt_fail(err, "blip: image of %d x %d pixels", width, height);
    size_t n = (size_t)S * (size_t)S * 3;
    uint8_t *resized = malloc(n);
    if (!resized) return fmt_fail(err, "blip: out of memory");
    image_view src = {rgb, width, height, 3};
    if (resample_u8(&src, resized, S, S, RESAMPLE_BICUBIC, NULL)) {
        free(resized);
        return fmt_fail(err, "blip: cannot resize %d x %d to %d x %d", width, height, S, S);
    }
    /* ToTensor: v / 255 in float32; Normalize: (x - mean) / std in float32. */
    for (size_t i = 0; i < n; i++) out[i] = ((float)resized[i] / 255.0f - blip_mean[i % 3]) / blip_std[i % 3];
    free(resized);
    return 0;
}

/* One block over the stacked tokens of n images (attention image by image). */
static void vit_block(blip_model *m, const blip_vit_block *b, size_t n)
{
    const blip_config *c = &m->config;
    blip_vision_state *s = &m->vis;
    const linalg_kernels *lk = &m->kt.linalg;
    const nn_kernels *nn = &m->kt.nn;
    size_t T = (size_t)c->image_tokens, R = n * T, W = (size_t)c->vision_width, hd = W / (size_t)c->vision_heads;
    float *t;

    nn->layernorm(s->h, s->x, b->norm1.gamma, b->norm1.beta, R, W, c->vision_eps);
    gemm_epilogue ep = {b->qkv.bias, NULL, 0, NULL, 0};
    linear_run(lk, s->qkv, s->h, &b->qkv.w, R, 3 * W, W, &ep);
    /* qkv rows are [q | k | v], heads side by side in each (timm's reshape). */
    for (size_t i = 0; i < n; i++) {
        float *q = s->qkv + i * T * 3 * W;
        attention_args a = {(size_t)c->vision_heads, hd, T, T, q, 3 * W, q + W, 3 * W, q + 2 * W, 3 * W,
                            s->ctx + i * T * W, W, (float)(1.0 / sqrt((double)hd)), 0, 0, m->threads};
        attention(nn, &a, s->attn_scratch);
    }
    ep = (gemm_epilogue){b->proj.bias, s->x, W, NULL, 0};
    linear_run(lk, s->x2, s->ctx, &b->proj.w, R, W, W, &ep);
    t = s->x, s->x = s->x2, s->x2 = t;

    nn->layernorm(s->h, s->x, b->norm2.gamma, b->norm2.beta, R, W, c->vision_eps);
    ep = (gemm_epilogue){b->fc1.bias, NULL, 0, nn->gelu, 0};
    linear_run(lk, s->mlp, s->h, &b->fc1.w, R, (size_t)c->vision_mlp, W, &ep);
    ep = (gemm_epilogue){b->fc2.bias, s->x, W, NULL, 0};
    linear_run(lk, s->x2, s->mlp, &b->fc2.w, R, W, (size_t)c->vision_mlp, &ep);
    t = s->x, s->x = s->x2, s->x2 = t;
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
        conv_geometry g = {0, 0, 0, 0, c->patch};
        gemm_epilogue ep = {w->patch.bias, NULL, 0, NULL, 0};
        conv2d(&m->kt.linalg, x + W, pixels[i], c->image_size, c->image_size, 3, &w->patch.w, c->vision_width,
               c->patch, &g, &ep, s->conv_scratch, m->threads);
        memcpy(x, w->cls, W * sizeof(float));
        m->kt.nn.add(x, w->pos, T * W);
    }
    for (int i = 0; i < c->vision_layers; i++) vit_block(m, &w->blocks[i], n);
    m->kt.nn.layernorm(embeds, s->x, w->norm.gamma, w->norm.beta, n * T, W, c->vision_eps);
    return 0;
}

int blip_encode_image(blip_model *m, const float *pixels, float *embeds, fmt_error *err)
{
    return blip_encode_images(m, &pixels, 1, embeds, err);
}
