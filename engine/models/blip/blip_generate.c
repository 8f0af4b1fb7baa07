/* BLIP_Decoder.generate(image, sample=False, num_beams, min_length,
 * max_length, repetition_penalty): the decoder as the search's model.
 *
 * The image is made ready for cross-attention once per caption (BLIP's own
 * code re-projects its keys/values for every token and beam), the prompt is
 * run once for all beams, and each step feeds only the new ids through the
 * decoder with a self-attention KV cache per beam, reordered when beams are
 * re-selected. transformers 4.30 no longer hands BLIP its cache at all (the
 * kwarg became past_key_values), so upstream re-runs the whole sequence at
 * every step; the numbers are the same up to float rounding. */
#include <string.h>

#include "engine/models/blip/blip_internal.h"
#include "engine/models/blip/blip_search.h"

typedef struct {
    blip_model *m;
    const float *image_embeds;
    int beams;
} blip_source;

/* Called once, after the search checked its arguments. */
static void source_prefill(void *ctx, const int *prompt, size_t n, float *logits)
{
    blip_source *s = ctx;
    blip_cross_image(s->m, s->image_embeds, 0);
    blip_rows_prompts(s->m, 1, n);
    blip_decode_rows(s->m, prompt, n, 0, n);
    blip_lm_head(s->m, s->m->dec.x + (n - 1) * (size_t)s->m->config.text_width, 1, logits);
    blip_cache_broadcast(s->m, s->beams, n);
}

static void source_step(void *ctx, const int *tokens, int beams, size_t pos, float *logits)
{
    blip_source *s = ctx;
    blip_rows_beams(s->m, (size_t)beams);
    blip_decode_rows(s->m, tokens, (size_t)beams, pos, 0);
    blip_lm_head(s->m, s->m->dec.x, (size_t)beams, logits);
}

static void source_reorder(void *ctx, const int *src, int beams, size_t len)
{
    blip_source *s = ctx;
    blip_cache_reorder(s->m, src, beams, len);
}

/* The caption's longest length, checked against the model's positions. */
static int caption_len(const blip_model *m, size_t n_prompt, const blip_generate_params *p, size_t *total,
                       fmt_error *err)
{
    *total = blip_search_max_len(n_prompt, p);
    /* positions 0 .. total - 2 are fed to the decoder */
    if (*total - 1 > (size_t)m->config.max_positions)
        return fmt_fail(err, "blip: a caption of %zu ids needs more than the model's %d positions", *total,
                        m->config.max_positions);
    return 0;
}

int blip_generate(blip_model *m, const float *image_embeds, const int *prompt_ids, size_t n_prompt,
                  const blip_generate_params *p, int *out_ids, size_t cap, size_t *n_out, fmt_error *err)
{
    const blip_config *c = &m->config;
    size_t total;
    *n_out = 0;
    if (!image_embeds || !out_ids || !p) return fmt_fail(err, "blip: missing argument");
    if (p->beams < 1 || p->beams > BLIP_MAX_BEAMS) return fmt_fail(err, "blip: %d beams (1 to %d)", p->beams, BLIP_MAX_BEAMS);
    if (caption_len(m, n_prompt, p, &total, err)) return -1;
    size_t rows = n_prompt > (size_t)p->beams ? n_prompt : (size_t)p->beams;
    if (blip_decode_reserve(m, p->beams, total, rows, 1, err)) return -1;
    /* beams share the image: its keys and values once, not per row and step */
    m->dec.kv_projected = m->kv_bf16 || p->beams > 1;
    blip_source src = {m, image_embeds, p->beams};
    blip_search_model model = {.ctx = &src,
                               .vocab = (size_t)c->vocab_size,
                               .eos = c->sep_id,
                               .prefill = source_prefill,
                               .step = source_step,
                               .reorder = source_reorder};
    return blip_search(&model, prompt_ids, n_prompt, p, out_ids, cap, n_out, err);
}

/* ---- several images at once -------------------------------------------------- */

typedef struct {
    blip_model *m;
    const float *const *image_embeds;
} blip_streams_source;

/* Stream i: its image into image slot i, its prompt into cache slot i; the
 * prompts of all streams go through the decoder as one block of rows each
 * (every weight read once for all), then the last row of each block through
 * the LM head. */
static void streams_prefill(void *ctx, size_t n_streams, const int *prompt, size_t n, float *logits)
{
    blip_streams_source *s = ctx;
    blip_decode_state *d = &s->m->dec;
    size_t H = (size_t)s->m->config.text_width;
    for (size_t i = 0; i < n_streams; i++) {
        blip_cross_image(s->m, s->image_embeds[i], (int)i);
        memcpy(d->ids + i * n, prompt, n * sizeof *prompt);
    }
    blip_rows_prompts(s->m, n_streams, n);
    blip_decode_rows(s->m, d->ids, n_streams * n, 0, n);
    for (size_t i = 0; i < n_streams; i++) memcpy(d->h + i * H, d->x + (i * n + n - 1) * H, H * sizeof *d->h);
    blip_lm_head(s->m, d->h, n_streams, logits);
}

static void streams_step(void *ctx, const int *streams, const int *tokens, size_t rows, size_t pos, float *logits)
{
    blip_streams_source *s = ctx;
    blip_rows_streams(s->m, streams, rows);
    blip_decode_rows(s->m, tokens, rows, pos, 0);
    blip_lm_head(s->m, s->m->dec.x, rows, logits);
}

int blip_generate_batch(blip_model *m, const float *const *image_embeds, size_t n, const int *prompt_ids,
                        size_t n_prompt, const blip_generate_params *p, int *out_ids, size_t cap, size_t *n_out,
                        fmt_error *err)
{
    size_t total;
    for (size_t i = 0; i < n; i++) n_out[i] = 0;
    if (!image_embeds || !out_ids || !p) return fmt_fail(err, "blip: missing argument");
    if (n > BLIP_MAX_BATCH) return fmt_fail(err, "blip: %zu images at once (1 to %d)", n, BLIP_MAX_BATCH);
    if (p->beams != 1 || n == 1) { /* beams: each image's search on its own */
        for (size_t i = 0; i < n; i++)
            if (blip_generate(m, image_embeds[i], prompt_ids, n_prompt, p, out_ids + i * cap, cap, &n_out[i], err))
                return -1;
        return 0;
    }
    if (caption_len(m, n_prompt, p, &total, err)) return -1;
    /* rows: every image's prompt at once (n_prompt ≤ max_positions, n ≤ 64) */
    if (blip_decode_reserve(m, (int)n, total, n * (n_prompt > 0 ? n_prompt : 1), (int)n, err)) return -1;
    m->dec.kv_projected = m->kv_bf16;
    blip_streams_source src = {m, image_embeds};
    blip_search_streams model = {.ctx = &src,
                                 .vocab = (size_t)m->config.vocab_size,
                                 .eos = m->config.sep_id,
                                 .prefill = streams_prefill,
                                 .step = streams_step};
    return blip_search_greedy_streams(&model, n, prompt_ids, n_prompt, p, out_ids, cap, n_out, err);
}
