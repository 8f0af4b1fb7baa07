/* BLIP's structures, shared by engine/blip*.c (not part of the API):
 * the weights (views into the mapping, or packed / converted copies), the
 * image encoder's arena (sized at load) and the decoder's (sized for the
 * largest beams × length asked so far, reused between captions). */
#ifndef UNPROMPT_ENGINE_BLIP_INTERNAL_H
#define UNPROMPT_ENGINE_BLIP_INTERNAL_H

#include "engine/arena.h"
#include "engine/blip.h"
#include "engine/tensor.h"
#include "engine/weights.h"
#include "kernels/gemm_bf16.h"

/* y = x·Wᵀ + bias, W [out][in]: f32 (in the mapping or converted) or bf16 panels. */
typedef struct {
    linear_weights w;
    weight_panel panel;
    const float *bias; /* [out] */
    size_t out, in;
} blip_linear;

typedef struct {
    const float *gamma, *beta;
} blip_norm;

/* ViT block (pre-norm): x += proj(attn(norm1 x)); x += fc2(gelu(fc1(norm2 x))). */
typedef struct {
    blip_norm norm1, norm2;
    blip_linear qkv, proj, fc1, fc2;
} blip_vit_block;

/* BertAttention: query/key/value, then output.dense and the post-norm. */
typedef struct {
    blip_linear q, k, v, o;
    blip_norm ln;
} blip_bert_attention;

/* f32 cross-attention through the projections (engine/blip_cross.c), per
 * head h: kt[h], the head's key weights transposed, [Wv][head_dim] (a
 * product of head_dim inputs into Wv outputs); vh[h], its value weights
 * [head_dim][Wv] with their bias. */
typedef struct {
    blip_linear *kt, *vh; /* [heads] */
} blip_cross_heads;

typedef struct {
    blip_bert_attention self, cross; /* cross.k / cross.v are [H][Wv] */
    blip_cross_heads cross_heads;    /* f32 weights: cross.k / cross.v split by head */
    blip_linear inter, out;
    blip_norm ln_out;
} blip_bert_layer;

typedef struct {
    /* image encoder */
    blip_linear patch;  /* [Wv][P·P·3], input (ky, kx, channel) */
    const float *cls;   /* [Wv] */
    const float *pos;   /* [tokens][Wv] */
    blip_vit_block *blocks;
    blip_norm norm;
    /* text decoder */
    dtype word_type;    /* word embeddings as stored (F32 or BF16; F16 converted to F32) */
    const void *word;   /* [V][H] */
    const float *position; /* [Pmax][H] */
    blip_norm emb_ln;
    blip_bert_layer *layers;
    blip_linear head_dense; /* cls.predictions.transform.dense */
    blip_norm head_ln;
    blip_linear decoder;    /* [V][H]: the word embeddings (tied) + cls.predictions.bias */
    /* what the loader allocated */
    void **owned;
    size_t n_owned, cap_owned;
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
    /* How this caption's cross-attention goes (engine/blip_cross.c): 0,
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
    kernel_table kt;
    struct panel_set *panels; /* f32 weights re-laid (engine/panel_cache.h), or NULL */
    int threads;
    int kv_bf16; /* the image's keys/values kept as bf16 (the model has bf16 weights) */
};

/* blip.c: the image encoder's arena, grown to `images` at once. */
int blip_vision_alloc(blip_model *m, size_t images, fmt_error *err);

/* blip_decoder.c */
/* Room for `slots` cached sequences (beams, or images decoded together) of
 * cap_len ids, forwards of `rows` rows, and the keys/values of `images`. */
int blip_decode_reserve(blip_model *m, int slots, size_t cap_len, size_t rows, int images, fmt_error *err);
void blip_decode_release(blip_model *m);
/* Rows 0 .. rows-1 are the beams of image 0 (cache slots 0 .. rows-1). */
void blip_rows_beams(blip_model *m, size_t rows);
/* Row r is image streams[r] with its own cache slot of the same index. */
void blip_rows_streams(blip_model *m, const int *streams, size_t rows);
/* Rows in n_slots blocks of `prompt`: block b is cache slot and image b. */
void blip_rows_prompts(blip_model *m, size_t n_slots, size_t prompt);
/* Decoder layers over `rows` rows, mapped by row_cache / row_image. With
 * prompt = 0, row r is its sequence's next id at position pos. With prompt
 * > 0, rows come in blocks of `prompt` rows of one sequence: ids[r] at
 * position pos + r % prompt (causal within the block). The final hidden
 * states are in m->dec.x. */
void blip_decode_rows(blip_model *m, const int *ids, size_t rows, size_t pos, size_t prompt);
/* logits[rows][V] of the hidden rows x (LM head). */
void blip_lm_head(blip_model *m, const float *x, size_t rows, float *logits);
/* Beam i continues old beam src[i]: reorder the first `len` cached positions. */
void blip_cache_reorder(blip_model *m, const int *src, int beams, size_t len);
/* Give beams 1.. the prompt's cache of beam 0. */
void blip_cache_broadcast(blip_model *m, int beams, size_t len);

/* blip_cross.c */
/* Image slot `image` ready for cross-attention: its two forms of E (f32),
 * or its keys and values of every layer (bf16). */
void blip_cross_image(blip_model *m, const float *image_embeds, int image);
/* ctx = the cross-attention of rows' q (m->dec.q) in `layer`, mapped to
 * images by row_image, before the output dense. */
void blip_image_attention(blip_model *m, int layer, size_t rows);
/* Floats of one image's f32 form: E (values = 0) or Eᵀ (values = 1); 0 on
 * overflow. */
size_t blip_image_form_floats(const blip_model *m, int values);

#endif
