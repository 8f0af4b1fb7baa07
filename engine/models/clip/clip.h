/* CLIP (OpenAI clip/model.py, vision transformer variants: ViT-B/32,
 * ViT-B/16, ViT-L/14, ViT-L/14@336): the image tower and the text tower,
 * config-driven from a converted file (weights/FORMAT.md, kind "clip").
 *
 *   image: patch conv (no bias) → [class; patches] + positions → ln_pre →
 *          blocks → ln_post of the class token → · proj
 *   text:  token + position embeddings → blocks with a causal mask →
 *          ln_final at the EOT position → · text_projection
 *   block: engine/models/vit_block.h (ln_1, packed in_proj, out_proj; ln_2,
 *          c_fc, QuickGELU, c_proj), eps from the config
 *
 * Because of the causal mask nothing after EOT can change the EOT row, so
 * the text tower runs only up to EOT; and several phrases go through the
 * linear layers as one matrix (their rows stacked), attention running per
 * phrase. Activations live in one arena sized at load time. */
#ifndef UNPROMPT_ENGINE_MODELS_CLIP_CLIP_H
#define UNPROMPT_ENGINE_MODELS_CLIP_CLIP_H

#include <stddef.h>

#include "engine/runtime/arena.h"
#include "engine/runtime/model_weights.h"
#include "engine/models/vit_block.h"

typedef struct {
    int embed_dim, image_size, patch;
    int vision_width, vision_layers, vision_heads;
    int context_length, vocab_size;
    int text_width, text_layers, text_heads;
    float eps;
} clip_config;

typedef struct {
    int width, layers, heads;
    vit_block *blocks;
} clip_tower;

/* Rows of stacked phrases the text tower takes in one pass. */
#define CLIP_TEXT_BATCH_ROWS 512

typedef struct {
    clip_config config;
    const kernel_table *kt;
    weight_pool pool;
    struct panel_set *panels; /* the image tower re-laid (engine/runtime/panel_cache.h), or NULL */
    /* image tower */
    clip_tower vision;
    layer_linear patch;           /* conv1 as a linear over (c, y, x) patches */
    const float *class_embedding; /* [Wv] */
    const float *vision_positions; /* [tokens][Wv] */
    layer_norm ln_pre, ln_post;
    layer_linear visual_proj;     /* [E][Wv] */
    /* text tower */
    clip_tower text;
    tensor token_embedding;       /* [V][Wt], any float dtype */
    const float *text_positions;  /* [C][Wt] */
    layer_norm ln_final;
    layer_linear text_proj;       /* [E][Wt] */
    float logit_scale;
    const char *bpe_merges;       /* tokenizer.bpe_merges bytes (not NUL-terminated) */
    size_t bpe_merges_len;
    /* activations */
    arena mem;
    size_t rows_max;              /* rows one pass may hold */
    int threads;
} clip_model;

/* Fill *m from an open converted file (kept open by the caller while the
 * model lives), to run with the kernels *kt (kept alive by the caller) on
 * `threads` threads (less than 1: one). Changes no process-wide state.
 * -1 with a reason (m then holds nothing to free). */
int clip_load(clip_model *m, const weights_file *wf, const kernel_table *kt, int threads, fmt_error *err);

void clip_free(clip_model *m);

/* Floating-point operations of one image / one text row. */
double clip_image_flops(const clip_model *m);
double clip_text_flops(const clip_model *m, size_t tokens);

/* features[E] = image tower of x, an NHWC [S][S][3] image already
 * normalised (clip_preprocess). Not L2-normalised. */
void clip_encode_image(clip_model *m, const float *x, float *features);

#define CLIP_MAX_IMAGES 64

/* The same for n images (≤ CLIP_MAX_IMAGES) in one pass: their tokens are
 * stacked, so each linear layer is one GEMM of n·tokens rows (the weights
 * are packed once for all), attention stays per image. features holds
 * n × embed_dim. The activation arena grows to n images on first use;
 * -1 when it cannot. */
int clip_encode_images(clip_model *m, const float *const *x, size_t n, float *features);

/* n phrases of token ids: ids[i] points at lens[i] ids, SOT first, EOT last
 * (1 ≤ lens[i] ≤ context_length). features[i*E…] = text tower at EOT.
 * -1 (features untouched) on bad lengths. */
int clip_encode_text(clip_model *m, const int *const *ids, const size_t *lens, size_t n, float *features);

/* 8-bit RGB w×h → the tower's input: bicubic short side to S, centre crop,
 * /255, CLIP mean/std. x holds S*S*3 floats. -1 on bad sizes / no memory. */
int clip_preprocess(const clip_model *m, const uint8_t *rgb, int w, int h, float *x);

#endif
