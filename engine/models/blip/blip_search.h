/* Greedy and beam search over any next-token model, with the semantics of
 * Hugging Face transformers' generate() (4.30) as BLIP calls it: see
 * engine/models/blip/blip_search.c. The network is a callback, so the search is tested
 * on its own with synthetic logits as well as through BLIP. */
#ifndef UNPROMPT_ENGINE_MODELS_BLIP_BLIP_SEARCH_H
#define UNPROMPT_ENGINE_MODELS_BLIP_BLIP_SEARCH_H

#include <stddef.h>

#include "engine/models/blip/blip.h"
#include "base/error.h"

/* The model being searched. Every call writes logits[rows][vocab]. */
typedef struct {
    void *ctx;
    size_t vocab;
    int eos;
    /* The prompt, positions 0 .. n-1 (the same for every beam): the logits
     * of the next token, one row. */
    void (*prefill)(void *ctx, const int *prompt, size_t n, float *logits);
    /* Row b: beam b's next id tokens[b] at position pos; beams rows. */
    void (*step)(void *ctx, const int *tokens, int beams, size_t pos, float *logits);
    /* Beams were re-selected: beam i now continues old beam src[i], whose
     * first len positions the model has seen. NULL when it keeps no state. */
    void (*reorder)(void *ctx, const int *src, int beams, size_t len);
} blip_search_model;

/* Several independent sequences (one per image) decoded together, so that a
 * step feeds them to the network as one batch of rows. */
typedef struct {
    void *ctx;
    size_t vocab;
    int eos;
    /* Every stream's prompt (the same ids), positions 0 .. n-1: stream i's
     * next-token logits in row i. */
    void (*prefill)(void *ctx, size_t n_streams, const int *prompt, size_t n, float *logits);
    /* Row r: stream streams[r]'s next id tokens[r] at position pos (every
     * stream still running is as long as the others). */
    void (*step)(void *ctx, const int *streams, const int *tokens, size_t rows, size_t pos, float *logits);
} blip_search_streams;

/* The longest sequence a search can produce: max(max_length, n_prompt + 1)
 * (one id is generated even when the prompt is as long as max_length). */
size_t blip_search_max_len(size_t n_prompt, const blip_generate_params *p);

/* Run greedy (beams == 1) or beam search from the prompt; out receives the
 * sequence (prompt included, final eos included when there is one), at most
 * cap ids. -1 with a reason on bad parameters, cap < blip_search_max_len or
 * out of memory (the search's own scratch is allocated per call). */
int blip_search(const blip_search_model *model, const int *prompt, size_t n_prompt, const blip_generate_params *p,
                int *out, size_t cap, size_t *n_out, fmt_error *err);

/* Greedy search (p->beams must be 1) of n_streams sequences from the same
 * prompt, each exactly what blip_search would give it alone: stream i's ids
 * go to out + i·cap, their count to n_out[i]. */
int blip_search_greedy_streams(const blip_search_streams *model, size_t n_streams, const int *prompt, size_t n_prompt,
                               const blip_generate_params *p, int *out, size_t cap, size_t *n_out, fmt_error *err);

#endif
