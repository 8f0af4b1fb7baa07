/* The BLIP captioner (salesforce/BLIP `blip_decoder`, as the WebUI's
 * "Interrogate CLIP" runs it): a ViT image encoder and a BERT decoder with
 * cross-attention over the image tokens, and its generation (greedy and beam
 * search with transformers' semantics).
 *
 *   blip_model m;
 *   blip_load(&m, weights, &kt, threads, &err);      converted file (weights/FORMAT.md)
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
#ifndef UNPROMPT_ENGINE_MODELS_BLIP_BLIP_H
#define UNPROMPT_ENGINE_MODELS_BLIP_BLIP_H

#include <stddef.h>
#include <stdint.h>

#include "engine/runtime/arena.h"
#include "engine/runtime/model_weights.h"
#include "engine/models/vit_block.h"
#include "engine/runtime/weights.h"
#include "base/error.h"
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

/* ---- the model (its fields are the engine's own; engine/blip*.c) ---------------
 * The weights (views into the mapping, or packed / converted copies the
 * pool owns), the image encoder's arena (sized at load) and the decoder's
 * (sized for the largest beams × length asked so far, reused between
 * captions). */

/* BertAttention: query/key/value, then output.dense and the post-norm. */
typedef struct {
    layer_linear q, k, v, o;
    layer_norm ln;
} blip_bert_attention;

/* f32 cross-attention through the projections (engine/models/blip/blip_cross.c), per
 * head h: kt[h], the head's key weights transposed, [Wv][head_dim] (a
 * product of head_dim inputs into Wv outputs); vh[h], its value weights
 * [head_dim][Wv] with their bias. */
typedef struct {
    layer_linear *kt, *vh; /* [heads] */
} blip_cross_heads;

typedef struct {
    blip_bert_attention self, cross; /* cross.k / cross.v are [H][Wv] */
    blip_cross_heads cross_heads;    /* f32 weights: cross.k / cross.v split by head */
    layer_linear inter, out;
    layer_norm ln_out;
} blip_bert_layer;

typedef struct {
    /* image encoder */
    layer_linear patch;  /* [Wv][P·P·3], input (ky, kx, channel) */
    const float *cls;   /* [Wv] */
    const float *pos;   /* [tokens][Wv] */
    vit_block *blocks;
    layer_norm norm;
    /* text decoder */
    dtype word_type;    /* word embeddings as stored (F32 or BF16; F16 converted to F32) */
    const void *word;   /* [V][H] */
    const float *position; /* [Pmax][H] */
    layer_norm emb_ln;
    blip_bert_layer *layers;
    layer_linear head_dense; /* cls.predictions.transform.dense */
    layer_norm head_ln;
    layer_linear decoder;    /* [V][H]: the word embeddings (tied) + cls.predictions.bias */
} blip_weights;

typedef struct {
    arena mem;
    size_t images; /* sized for this many images at once */
    float *x, *x2, *h, *qkv, *ctx, *mlp, *attn_scratch, *conv_scratch;
} blip_vision_state;

typedef struct {
    arena mem;
    int beams;       /* sized for this many beams, */
    size_t cap_len;  /* sequences this long, */
    size_t rows;     /* this many rows per forward, */
    int images;      /* and the keys/values of this many images */
    /* Row r of the next forward continues the sequence in cache slot
     * row_cache[r] and attends to image row_image[r]. Beams of one image:
     * r and 0; images decoded together, and each row of their prompts: both
     * the image's index. */
    int *row_cache, *row_image;
    int *ids; /* [rows]: the prompts of images decoded together, one after another */
    /* How this caption's cross-attention goes (engine/models/blip/blip_cross.c): 0,
     * through the projections; 1, over the image's keys and values,
     * projected once (beams, and bf16 weights). */
    int kv_projected;
    /* Through the projections: each image's encoder output E [tokens][Wv]
     * as the weights of two products, E (tokens outputs) and Eᵀ (Wv
     * outputs): panels where the level packs f32, else rows. */
    float *image_k, *image_v;    /* [images][image_k_floats], [images][image_v_floats] */
    size_t image_k_floats, image_v_floats;
    float *qimg, *uimg;          /* [rows][heads][Wv]: q' and u of each row and head */
    float *scores;               /* [rows][heads][tokens] */
    float *head_in, *head_out;   /* per thread: [rows][head_floats] */
    size_t head_floats;          /* max(Wv, head_dim) */
    size_t *runs;                /* [rows + 1]: runs of rows on one image */
    /* Projected: the image's keys and values per layer and head, f32
     * [tokens][head_dim] each (V_h transposed), or with bf16 weights packed
     * for the bf16 GEMM (K_h as [tokens] rows of head_dim, V_h transposed). */
    float *cross_k, *cross_v;      /* f32 (one image): [layers][heads][tokens][head_dim] */
    uint16_t *cross_kp, *cross_vp; /* bf16: [images][layers][heads][kv_packed] */
    size_t kv_packed;            /* elements per packed head (64-byte multiple) */
    float *kv_tmp;               /* [tokens][max(H, Wv)] */
    float *head_tmp;             /* [tokens][head_dim] */
    float *head_scratch;         /* per thread: [rows][head_dim + tokens + head_dim] */
    float *cache, *cache_tmp; /* [beams or images][layers][2][cap_len][H] self-attention K, V */
    float *x, *h, *q, *k, *v, *ctx, *ffn, *head; /* [rows][H or I] */
    float *attn_scratch;
    unsigned char *saved;     /* [beams] reorder: old beam copied aside */
} blip_decode_state;

struct blip_model {
    blip_config config;
    blip_weights weights;
    blip_vision_state vis;
    blip_decode_state dec;
    const kernel_table *kt;
    weight_pool pool;         /* what loading converted, packed or re-laid */
    struct panel_set *panels; /* f32 weights re-laid (engine/runtime/panel_cache.h), or NULL */
    int threads;
    int kv_bf16; /* the image's keys/values kept as bf16 (the model has bf16 weights) */
};

typedef struct blip_model blip_model;

/* Fill *m: read the config and every tensor the captioner uses, check
 * their shapes, pack bf16 matrices for the bf16 GEMM and size the image
 * encoder's arena; to run with the kernels *kt (kept alive by the caller)
 * on `threads` threads (less than 1: one). Changes no process-wide state.
 * -1 with a reason (m then holds nothing to free) on a missing tensor, a
 * shape that does not match the config, or a config out of range. */
int blip_load(blip_model *m, const weights_file *w, const kernel_table *kt, int threads, fmt_error *err);

/* Frees what *m holds (the struct itself is the caller's); safe after a
 * failed load. */
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
