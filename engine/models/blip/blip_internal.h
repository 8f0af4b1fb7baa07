/* The steps of BLIP's forward passes, shared by engine/blip*.c (not part
 * of the API; the structures are in engine/models/blip/blip.h). */
#ifndef UNPROMPT_ENGINE_MODELS_BLIP_BLIP_INTERNAL_H
#define UNPROMPT_ENGINE_MODELS_BLIP_BLIP_INTERNAL_H

#include "engine/models/blip/blip.h"

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
