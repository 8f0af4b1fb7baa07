/* The BLIP captioner (salesforce/BLIP `blip_decoder`, as the WebUI's
 * "Interrogate CLIP" runs it): a ViT image encoder and a BERT decoder with
 * cross-attention over the image tokens, and its generation (greedy and beam
 * search with transformers' semantics).
 *
 *   blip_model *m;
 *   blip_load(&m, weights, NULL, threads, &err);     converted file (weights/FORMAT.md)
 *   blip_preprocess(m, rgb, w, h, pixels);           Pillow bicubic S×S, CLIP mean/std
 *   blip_encode_image(m, pixels, embeds, &err);      [tokens][vision_width]
 *   blip_generate(m, embeds, prompt, n, &params, ids, cap, &n_ids, &err);
 *
 * Token ids go in and out; the WordPiece tokenizer is engine/bert_tokenizer.
 * The prompt is BLIP's: 'a picture of ' tokenized, [CLS] replaced by [DEC]
 * (bos_id) and the trailing [SEP] dropped. The output holds the prompt, the
 * generated ids and the final [SEP] when there is one, as BLIP's generate
 * returns them (the caller strips the prompt and special tokens).
 *
 * The weights file must stay open while the model lives (f32 matrices are
 * used in place from the mapping). One model serves one thread at a time. */
#ifndef UNPROMPT_ENGINE_BLIP_H
#define UNPROMPT_ENGINE_BLIP_H

#include <stddef.h>
#include <stdint.h>

#include "engine/weights.h"
#include "format/error.h"
#include "kernels/kernels.h"

/* The model's shape, from the file's unprompt.config (weights/FORMAT.md). */
typedef struct {
    int image_size, patch, vision_width, vision_layers, vision_heads, vision_mlp;
    float vision_eps;
    int text_width, text_layers, text_heads, text_intermediate, vocab_size, max_positions;
    float text_eps;
    int bos_id, sep_id, pad_id;
    int image_tokens; /* (image_size / patch)^2 + 1 */
} blip_config;

typedef struct blip_model blip_model;

/* Read the config and every tensor the captioner uses, check their shapes,
 * pack bf16 matrices for the bf16 GEMM and size the image encoder's arena.
 * kt: the kernels to run with (NULL: detect this CPU's). threads ≤ 0: all
 * available. -1 with a reason on a missing tensor, a shape that does not
 * match the config, or a config out of range. */
int blip_load(blip_model **out, const weights_file *w, const kernel_table *kt, int threads, fmt_error *err);

void blip_free(blip_model *m);
const blip_config *blip_get_config(const blip_model *m);

/* The WebUI's pre-processing (interrogate.py: transforms.Resize((S, S),
 * BICUBIC) on the PIL image, ToTensor, Normalize with CLIP's mean/std):
 * Pillow-exact bicubic resize of 8-bit RGB to S×S (no crop), then
 * (v / 255 - mean) / std per channel in float32. out holds S*S*3 floats,
 * NHWC. -1 on bad sizes or out of memory. */
int blip_preprocess(const blip_model *m, const uint8_t *rgb, int width, int height, float *out, fmt_error *err);

/* Image embeddings [image_tokens][vision_width] of pixels [S][S][3]
 * (normalised, NHWC): the ViT's output after its final LayerNorm. */
int blip_encode_image(blip_model *m, const float *pixels, float *embeds, fmt_error *err);

#define BLIP_MAX_BATCH 64

/* The same for n images (≤ BLIP_MAX_BATCH) in one pass: their tokens are
 * stacked, so each linear layer is one GEMM of n·tokens rows; attention
 * stays per image. embeds holds n × tokens × vision_width. The encoder's
 * arena grows to n images on first use. */
int blip_encode_images(blip_model *m, const float *const *pixels, size_t n, float *embeds, fmt_error *err);

typedef struct {
    int beams;                /* 1: greedy search; > 1: beam search */
    int min_length;           /* [SEP] forbidden while the sequence (prompt included) is shorter */
    int max_length;           /* stop when the sequence (prompt included) has this many ids */
    float repetition_penalty; /* 1: none */
} blip_generate_params;

/* The WebUI's defaults: 1 beam, min 24, max 48, no repetition penalty. */
blip_generate_params blip_generate_default_params(void);

#define BLIP_MAX_BEAMS 64

/* Caption ids for one image. out_ids receives at most `cap` ids (the
 * sequence never exceeds max(max_length, n_prompt + 1) ids). Computes the
 * cross-attention keys/values of the image once, then decodes with a
 * self-attention KV cache per beam. -1 with a reason on bad arguments (ids
 * out of range, max_length beyond max_positions, beams > BLIP_MAX_BEAMS,
 * cap too small) or out of memory. */
int blip_generate(blip_model *m, const float *image_embeds, const int *prompt_ids, size_t n_prompt,
                  const blip_generate_params *p, int *out_ids, size_t cap, size_t *n_out, fmt_error *err);

/* Captions of n images (≤ BLIP_MAX_BATCH), each the ids blip_generate gives
 * it: image i's into out_ids + i·cap, their count into n_out[i]. Greedy
 * search decodes the images together, one row each, so every step reads the
 * decoder's weights once for all of them (what bounds decoding); with beams
 * the images are searched one after another. The decoder keeps each
 * image's encoder output in two forms (≈ 3.5 MB for the base model in f32;
 * with bf16 weights, the image's projected keys and values: ≈ 21 MB). */
int blip_generate_batch(blip_model *m, const float *const *image_embeds, size_t n, const int *prompt_ids,
                        size_t n_prompt, const blip_generate_params *p, int *out_ids, size_t cap, size_t *n_out,
                        fmt_error *err);

/* The decoder's logits [n][vocab_size] for ids[0..n) attending to the image
 * (one causal pass, as the model's forward): for tests and tools. */
int blip_decoder_logits(blip_model *m, const float *image_embeds, const int *ids, size_t n, float *logits,
                        fmt_error *err);

/* Floating-point operations of one blip_encode_image (2 per multiply-add). */
double blip_image_flops(const blip_model *m);
/* Weight bytes the decoder reads per generated token (every beam at once):
 * the self-attention, cross-attention query/output, FFN and LM head matrices
 * as stored in memory (bf16 or f32); the image's keys/values are not. */
double blip_decode_weight_bytes(const blip_model *m);

#endif
