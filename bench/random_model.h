/* Random-weight model files of the real architectures, built in memory, so
 * every model stage runs without a download. */
#ifndef UNPROMPT_BENCH_RANDOM_MODEL_H
#define UNPROMPT_BENCH_RANDOM_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *bytes; /* a complete safetensors file */
    size_t len;
} random_model;

/* DeepDanbooru of the real widths (width_div 1) and n_tags tags, He-scaled
 * so activations stay finite through the 57 blocks; dtype "F32" or "BF16". */
int random_deepdanbooru(random_model *m, int width_div, int n_tags, const char *dtype);
/* CLIP of a vision-transformer shape (heads = width / 64), random weights
 * scaled so the residual stream stays finite; dtype "F32" or "BF16". */
typedef struct {
    int embed_dim, image_size, patch, vision_width, vision_layers, vocab_size, text_width, text_layers;
} random_clip_config;
extern const random_clip_config random_clip_vit_l14;
int random_clip(random_model *m, const random_clip_config *c, const char *dtype);
/* BLIP base captioner (ViT-B/16 at 384 px, BERT base decoder with
 * cross-attention, vocabulary 30524): weights/FORMAT.md names and config;
 * dtype "F32" or "BF16" for the matrices. */
int random_blip(random_model *m, const char *dtype);
/* Write it to a file (for the stages that go through the public API). */
int random_model_save(const random_model *m, const char *path);
void random_model_free(random_model *m);

#endif
