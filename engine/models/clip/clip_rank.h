/* Ranking phrases against an image, as modules/interrogate.py does:
 * features L2-normalised; probabilities = softmax(100 · image · textᵀ)
 * over the whole list; the top k (k ≤ n), best first, ties to the earlier
 * phrase. */
#ifndef UNPROMPT_ENGINE_MODELS_CLIP_CLIP_RANK_H
#define UNPROMPT_ENGINE_MODELS_CLIP_CLIP_RANK_H

#include <stddef.h>

/* x[0..dim) /= ‖x‖ (left as is when the norm is 0). */
void clip_l2_normalize(float *x, size_t dim);

/* image[dim] and text[n][dim] already normalised. Writes the k best
 * indices and their probabilities (in [0, 1]); returns k = min(top, n).
 * probs_scratch holds n floats. */
size_t clip_rank(const float *image, const float *text, size_t n, size_t dim, size_t top, size_t *index,
                 float *prob, float *probs_scratch);

#endif
