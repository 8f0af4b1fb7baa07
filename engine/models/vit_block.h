/* The pre-norm transformer block of every ViT here — CLIP's image and text
 * towers, BLIP's image encoder:
 *
 *   x += proj(attention(qkv(LN1 x)))      qkv rows [q | k | v], heads side by side
 *   x += fc2(act(fc1(LN2 x)))
 *
 * The models differ only in what vit_params carries: the activation (CLIP's
 * QuickGELU, BLIP's exact GELU), the LayerNorm epsilon, the attention scale
 * (each model's own float arithmetic for 1/√d), causal masking (CLIP's
 * text). Several sequences go through the linear layers stacked as one
 * matrix; attention runs per sequence. */
#ifndef UNPROMPT_ENGINE_MODELS_VIT_BLOCK_H
#define UNPROMPT_ENGINE_MODELS_VIT_BLOCK_H

#include <stddef.h>

#include "engine/runtime/model_weights.h"

typedef struct {
    layer_norm norm1, norm2;
    layer_linear qkv, proj, fc1, fc2; /* qkv [3W][W], proj [W][W], fc1 [mlp][W], fc2 [W][mlp] */
} vit_block;

/* A block's tensor names after its prefix (e.g. "visual.transformer.resblocks.3."):
 * the norms and the proj/fc modules take ".weight" and ".bias"; the packed
 * qkv is named whole (CLIP stores it as a bare parameter pair). */
typedef struct {
    const char *norm1, *norm2, *qkv_weight, *qkv_bias, *proj, *fc1, *fc2;
} vit_block_names;

int vit_block_load(weight_pool *p, const char *prefix, const vit_block_names *names, size_t width, size_t mlp,
                   vit_block *b, fmt_error *err);
/* The four matrices into panels, in the fixed order qkv, proj, fc1, fc2. */
int vit_block_pack(struct panel_set *ps, vit_block *b);

typedef struct {
    size_t width, heads, mlp;
    float eps;                     /* both LayerNorms */
    float scale;                   /* of the attention scores */
    void (*act)(float *, size_t);  /* after fc1 */
    int causal;
    /* With several sequences, those no longer than this run one per thread,
     * each on its own attention_scratch(short_len, 1) of the scratch; 0:
     * every sequence with all threads. */
    size_t short_len;
    int threads;
} vit_params;

/* Rows [start, start + len) of the stacked activations form one sequence. */
typedef struct {
    size_t start, len;
} vit_segment;

/* The activations of one pass, each rows × its width: x and y [W] (the
 * block reads and leaves its result in x; y is a temporary), h [W], qkv
 * [3W], att [W], mlp [mlp]; scratch for attention (kernels/attention.h). */
typedef struct {
    float *x, *y, *h, *qkv, *att, *mlp, *scratch;
} vit_buffers;

void vit_block_forward(const kernel_table *kt, const vit_params *p, const vit_block *b, const vit_buffers *buf,
                       size_t rows, const vit_segment *segs, size_t n_segs);

#endif
