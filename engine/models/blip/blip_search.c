/* Caption search with the semantics of Hugging Face transformers' generate()
 * as BLIP_Decoder.generate calls it (sample=False, eos = [SEP], pad =
 * [PAD]), following transformers 4.30 (the WebUI's pin):
 *
 * Logits processors, in transformers' order (generation/logits_process.py):
 *   RepetitionPenaltyLogitsProcessor, only when the penalty is not 1: for
 *     every id already in the sequence (prompt included, each id once),
 *     score < 0 ? score * penalty : score / penalty — on the raw logits in
 *     greedy search, on the log-softmax in beam search;
 *   MinLengthLogitsProcessor: score[eos] = -inf while cur_len < min_length,
 *     cur_len = input_ids.shape[-1], the length *including* the prompt.
 *
 * Greedy (generation/utils.py greedy_search): argmax (the first maximum),
 * append; stop after eos or when the length reaches max_length.
 *
 * Beam search (beam_search + generation/beam_search.py BeamSearchScorer,
 * length_penalty 1.0, early_stopping False, num_beam_hyps_to_keep 1):
 *   beam scores start [0, -1e9, ...] (float32); per step,
 *   cand = log_softmax(logits) → processors → + beam score (float32);
 *   the best 2·beams of beams × vocab (sorted, descending);
 *   walk them in rank order: an eos candidate ranked < beams becomes a
 *   finished hypothesis — the beam's ids *without* the eos, scored
 *   sum_logprobs / len**1.0 with len counting the prompt (4.30 divides by
 *   hyp.shape[-1]; releases from 4.33 on count only generated tokens, which
 *   changes which hypothesis wins) — an eos ranked ≥ beams is dropped, any
 *   other candidate extends its beam, until `beams` beams are found;
 *   the search is done once `beams` hypotheses exist and the worst of them
 *   scores ≥ best candidate score / cur_len, cur_len being the length before
 *   this step's token (Python floats: doubles);
 *   stop when done or the length reaches max_length; then, unless done,
 *   every open beam is offered as a hypothesis with its beam score; the best
 *   hypothesis (the last of the maxima in list order, as sorted() + pop()
 *   pick it) is returned with eos appended when shorter than max_length.
 *   Hypotheses keep at most `beams` entries: a new one enters when there is
 *   room or it beats the worst; when over, the worst (first of equal scores)
 *   is deleted and the next worst becomes the bar.
 *
 * Note: with transformers 4.27–4.30 BLIP's own beam path crashes (generate()
 * expands the image embeddings BLIP already repeated per beam: "The size of
 * tensor a (3) must match the size of tensor b (9)"); earlier releases run
 * it with this same scorer, each beam attending to the same image. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/models/blip/blip_search.h"

typedef struct {
    double score; /* sum of log-probabilities / length */
    size_t len;
    int *ids;
} search_hyp;

/* The search's scratch, one allocation per call. */
typedef struct {
    const blip_search_model *model;
    const blip_generate_params *p;
    int beams;
    size_t cap_len, vocab;
    float *logits;        /* [beams][vocab] */
    int *seqs, *seqs_next; /* [beams][cap_len] */
    float *beam_scores;   /* [beams] */
    float *cand_score;    /* [2·beams] this step's best candidates, */
    int *cand_index;      /* as beam·vocab + token */
    int *src, *next_token; /* [beams] */
    float *gathered;      /* [cap_len] */
    search_hyp *hyps;     /* [beams + 1]: one over while the worst is replaced */
    size_t n_hyps;
    double worst;
    void *block;
} search;

static int search_alloc(search *s, fmt_error *err)
{
    size_t B = (size_t)s->beams, L = s->cap_len, V = s->vocab;
    size_t floats = B * V + B + 2 * B + L, ints = 2 * B * L + 2 * B + 2 * B + (B + 1) * L;
    if (V > SIZE_MAX / 8 / B) return fmt_fail(err, "blip: vocabulary too large");
    s->block = malloc(floats * sizeof(float) + ints * sizeof(int) + (B + 1) * sizeof(search_hyp));
    if (!s->block) return fmt_fail(err, "blip: out of memory for the search");
    s->hyps = s->block;
    float *f = (float *)(s->hyps + B + 1);
    s->logits = f, f += B * V;
    s->beam_scores = f, f += B;
    s->cand_score = f, f += 2 * B;
    s->gathered = f, f += L;
    int *i = (int *)f;
    s->seqs = i, i += B * L;
    s->seqs_next = i, i += B * L;
    s->cand_index = i, i += 2 * B;
    s->src = i, i += B;
    s->next_token = i, i += B;
    for (size_t h = 0; h <= B; h++) s->hyps[h].ids = i, i += L;
    return 0;
}

/* ---- logits processors --------------------------------------------------------- */

static void repetition_penalty(search *s, float *scores, const int *seq, size_t len)
{
    float penalty = s->p->repetition_penalty;
    if (penalty == 1.0f) return;
    /* gather every position's score first, then scatter: an id seen twice is
     * penalised once, as torch.gather + scatter_ do it */
    for (size_t i = 0; i < len; i++) {
        float v = scores[seq[i]];
        s->gathered[i] = v < 0 ? v * penalty : v / penalty;
    }
    for (size_t i = 0; i < len; i++) scores[seq[i]] = s->gathered[i];
}

static void process_scores(search *s, float *scores, const int *seq, size_t len)
{
    repetition_penalty(s, scores, seq, len);
    if ((long)len < (long)s->p->min_length) scores[s->model->eos] = -INFINITY;
}

/* The first maximum, as torch.argmax picks it. */
static size_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* log_softmax of one row, in place (float32, as torch computes it). */
static void log_softmax(float *x, size_t n)
{
    float mx = x[0];
    for (size_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += exp((double)(x[i] - mx));
    float lse = (float)log(sum);
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - mx) - lse;
}

/* ---- greedy ------------------------------------------------------------------- */

static size_t greedy(search *s, const int *prompt, size_t n_prompt)
{
    const blip_search_model *m = s->model;
    size_t len = n_prompt;
    int *seq = s->seqs;
    memcpy(seq, prompt, n_prompt * sizeof *seq);
    m->prefill(m->ctx, prompt, n_prompt, s->logits);
    for (;;) {
        process_scores(s, s->logits, seq, len);
        size_t best = argmax(s->logits, s->vocab);
        seq[len++] = (int)best;
        if ((int)best == m->eos || len >= (size_t)s->p->max_length) return len;
        m->step(m->ctx, &seq[len - 1], 1, len - 1, s->logits);
    }
}

/* ---- beam search --------------------------------------------------------------- */

/* Insert candidate (v, idx) into the sorted best-k list (descending; on equal
 * scores the lower index ranks first). */
static void topk_insert(float *score, int *index, size_t *n, size_t k, float v, int idx)
{
    if (*n == k && !(v > score[k - 1])) return;
    size_t i = *n < k ? (*n)++ : k - 1;
    while (i > 0 && v > score[i - 1]) {
        score[i] = score[i - 1], index[i] = index[i - 1];
        i--;
    }
    score[i] = v, index[i] = idx;
}

/* BeamHypotheses.add */
static void hyp_add(search *s, const int *ids, size_t len, double sum_logprobs)
{
    double score = sum_logprobs / pow((double)len, 1.0);
    if (!((int)s->n_hyps < s->beams || score > s->worst)) return;
    search_hyp *h = &s->hyps[s->n_hyps++];
    h->score = score, h->len = len;
    memcpy(h->ids, ids, len * sizeof *ids);
    if ((int)s->n_hyps > s->beams) {
        /* sorted((score, index)): delete the first, the second is the new worst */
        size_t lo = 0, second = SIZE_MAX;
        for (size_t i = 1; i < s->n_hyps; i++)
            if (s->hyps[i].score < s->hyps[lo].score) lo = i;
        for (size_t i = 0; i < s->n_hyps; i++)
            if (i != lo && (second == SIZE_MAX || s->hyps[i].score < s->hyps[second].score)) second = i;
        s->worst = s->hyps[second].score;
        int *spare = s->hyps[lo].ids; /* shift the list down, recycling the id buffer */
        memmove(&s->hyps[lo], &s->hyps[lo + 1], (s->n_hyps - lo - 1) * sizeof *s->hyps);
        s->n_hyps--;
        s->hyps[s->n_hyps].ids = spare;
    } else {
        s->worst = score < s->worst ? score : s->worst;
    }
}

/* BeamSearchScorer.process over this step's logits: fills src, next_token
 * and beam_scores; returns whether the search is done. */
static int beam_step(search *s, size_t len)
{
    size_t V = s->vocab, n = 0, k = 2 * (size_t)s->beams;
    for (int b = 0; b < s->beams; b++) {
        float *row = s->logits + (size_t)b * V;
        log_softmax(row, V);
        process_scores(s, row, s->seqs + (size_t)b * s->cap_len, len);
        for (size_t t = 0; t < V; t++)
            topk_insert(s->cand_score, s->cand_index, &n, k, row[t] + s->beam_scores[b], (int)((size_t)b * V + t));
    }
    int found = 0;
    for (size_t r = 0; r < n && found < s->beams; r++) {
        int b = (int)((size_t)s->cand_index[r] / V), tok = (int)((size_t)s->cand_index[r] % V);
        if (tok == s->model->eos) {
            if ((int)r < s->beams) hyp_add(s, s->seqs + (size_t)b * s->cap_len, len, s->cand_score[r]);
            continue;
        }
        s->src[found] = b, s->next_token[found] = tok, s->beam_scores[found] = s->cand_score[r];
        found++;
    }
    /* found == beams: each beam offers at most one eos among the 2·beams */
    return (int)s->n_hyps >= s->beams && s->worst >= (double)s->cand_score[0] / pow((double)len, 1.0);
}

static size_t beam_search(search *s, const int *prompt, size_t n_prompt, int *out)
{
    const blip_search_model *m = s->model;
    size_t V = s->vocab, len = n_prompt, cap = s->cap_len;
    int done = 0, beams = s->beams;
    s->n_hyps = 0, s->worst = 1e9;
    for (int b = 0; b < beams; b++) {
        memcpy(s->seqs + (size_t)b * cap, prompt, n_prompt * sizeof(int));
        s->beam_scores[b] = b ? -1e9f : 0.0f;
    }
    /* The prompt is the same for every beam: its logits are computed once. */
    m->prefill(m->ctx, prompt, n_prompt, s->logits);
    for (int b = 1; b < beams; b++) memcpy(s->logits + (size_t)b * V, s->logits, V * sizeof(float));
    for (;;) {
        done = beam_step(s, len);
        for (int b = 0; b < beams; b++) {
            int *dst = s->seqs_next + (size_t)b * cap;
            memcpy(dst, s->seqs + (size_t)s->src[b] * cap, len * sizeof(int));
            dst[len] = s->next_token[b];
        }
        int *t = s->seqs;
        s->seqs = s->seqs_next, s->seqs_next = t;
        if (m->reorder) m->reorder(m->ctx, s->src, beams, len);
        len++;
        if (done || len >= (size_t)s->p->max_length) break;
        m->step(m->ctx, s->next_token, beams, len - 1, s->logits);
    }
    if (!done)
        for (int b = 0; b < beams; b++) hyp_add(s, s->seqs + (size_t)b * cap, len, s->beam_scores[b]);
    size_t best = 0;
    for (size_t i = 1; i < s->n_hyps; i++)
        if (s->hyps[i].score >= s->hyps[best].score) best = i;
    size_t n = s->hyps[best].len;
    memcpy(out, s->hyps[best].ids, n * sizeof *out);
    if (n < (size_t)s->p->max_length) out[n++] = m->eos;
    return n;
}

/* ---- entry ------------------------------------------------------------------------ */

size_t blip_search_max_len(size_t n_prompt, const blip_generate_params *p)
{
    return p->max_length > 0 && (size_t)p->max_length > n_prompt + 1 ? (size_t)p->max_length : n_prompt + 1;
}

/* The arguments every search checks; 0 or -1 with a reason. */
static int check_args(size_t vocab, int eos, const int *prompt, size_t n_prompt, const blip_generate_params *p,
                      size_t cap, fmt_error *err)
{
    if (p->beams < 1 || p->beams > BLIP_MAX_BEAMS) return fmt_fail(err, "blip: %d beams (1 to %d)", p->beams, BLIP_MAX_BEAMS);
    if (p->min_length < 0) return fmt_fail(err, "blip: min_length %d is negative", p->min_length);
    if (p->max_length < 0) return fmt_fail(err, "blip: max_length %d is negative", p->max_length);
    if (!(p->repetition_penalty > 0) || !isfinite(p->repetition_penalty))
        return fmt_fail(err, "blip: the repetition penalty must be a positive number");
    if (!prompt || n_prompt < 1) return fmt_fail(err, "blip: an empty prompt");
    if (vocab < 2 || eos < 0 || (size_t)eos >= vocab || vocab > INT32_MAX / BLIP_MAX_BEAMS)
        return fmt_fail(err, "blip: a vocabulary of %zu with eos %d", vocab, eos);
    for (size_t i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || (size_t)prompt[i] >= vocab)
            return fmt_fail(err, "blip: prompt id %d is outside the vocabulary", prompt[i]);
    size_t need = blip_search_max_len(n_prompt, p);
    if (cap < need) return fmt_fail(err, "blip: the output holds %zu ids, the caption may have %zu", cap, need);
    return 0;
}

int blip_search(const blip_search_model *model, const int *prompt, size_t n_prompt, const blip_generate_params *p,
                int *out, size_t cap, size_t *n_out, fmt_error *err)
{
    *n_out = 0;
    if (check_args(model->vocab, model->eos, prompt, n_prompt, p, cap, err)) return -1;
    search s = {.model = model, .p = p, .beams = p->beams, .cap_len = blip_search_max_len(n_prompt, p), .vocab = model->vocab};
    if (search_alloc(&s, err)) return -1;
    if (p->beams == 1) {
        *n_out = greedy(&s, prompt, n_prompt);
        memcpy(out, s.seqs, *n_out * sizeof *out);
    } else {
        *n_out = beam_search(&s, prompt, n_prompt, out);
    }
    free(s.block);
    return 0;
}

/* ---- greedy over several streams ------------------------------------------------ */

/* Greedy search of every stream in lockstep: the same steps as greedy(),
 * each stream's logits processed on their own; a stream that ends drops out
 * of the rows fed to the model. */
int blip_search_greedy_streams(const blip_search_streams *model, size_t n_streams, const int *prompt, size_t n_prompt,
                               const blip_generate_params *p, int *out, size_t cap, size_t *n_out, fmt_error *err)
{
    for (size_t i = 0; i < n_streams; i++) n_out[i] = 0;
    if (p->beams != 1) return fmt_fail(err, "blip: streams are searched greedily (1 beam, not %d)", p->beams);
    if (check_args(model->vocab, model->eos, prompt, n_prompt, p, cap, err)) return -1;
    if (n_streams == 0) return 0;
    size_t V = model->vocab;
    if (n_streams > SIZE_MAX / sizeof(float) / V) return fmt_fail(err, "blip: too many streams");
    search s = {.p = p, .beams = 1, .cap_len = blip_search_max_len(n_prompt, p), .vocab = V};
    blip_search_model eos_only = {.vocab = V, .eos = model->eos};
    s.model = &eos_only;
    float *logits = malloc(n_streams * V * sizeof *logits);
    int *rows = malloc(n_streams * 2 * sizeof *rows), *tokens = rows + n_streams;
    s.gathered = malloc(s.cap_len * sizeof *s.gathered);
    if (!logits || !rows || !s.gathered) {
        free(logits), free(rows), free(s.gathered);
        return fmt_fail(err, "blip: out of memory for the search");
    }
    for (size_t i = 0; i < n_streams; i++) {
        memcpy(out + i * cap, prompt, n_prompt * sizeof *out);
        rows[i] = (int)i;
    }
    model->prefill(model->ctx, n_streams, prompt, n_prompt, logits);
    size_t len = n_prompt, active = n_streams;
    while (active) {
        size_t next = 0;
        for (size_t r = 0; r < active; r++) {
            float *row = logits + r * V;
            int *seq = out + (size_t)rows[r] * cap;
            process_scores(&s, row, seq, len);
            int best = (int)argmax(row, V);
            seq[len] = best;
            n_out[rows[r]] = len + 1;
            if (best != model->eos && len + 1 < (size_t)p->max_length) rows[next] = rows[r], tokens[next++] = best;
        }
        len++, active = next;
        if (active) model->step(model->ctx, rows, tokens, active, len - 1, logits);
    }
    free(logits), free(rows), free(s.gathered);
    return 0;
}
