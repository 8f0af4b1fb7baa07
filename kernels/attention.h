/* Multi-head scaled dot-product attention over row-major activations.
 *
 * Q, K and V hold all heads side by side: head h of row i is the head_dim
 * floats starting at q + i*ldq + h*head_dim (the layout a packed in-projection
 * produces). Self-, causal self- and cross-attention are the same call with
 * different lengths and masks.
 *
 * Head-blocked: for each head, query rows go in equal blocks of at most
 * ATTN_BLOCK; each block's scores (≤ ATTN_BLOCK × lk) live in scratch, so
 * memory grows linearly with the key length, never with lq × lk × heads. The
 * two products per block are GEMMs (OpenBLAS, single-threaded); the (head,
 * block) pairs are shared among OpenMP threads, each with its own slice of
 * scratch. */
#ifndef UNPROMPT_KERNELS_ATTENTION_H
#define UNPROMPT_KERNELS_ATTENTION_H

#include <stddef.h>

#include "kernels/nn.h"

#define ATTN_BLOCK 256

typedef struct {
    size_t heads, head_dim;
    size_t lq, lk; /* query rows, key/value rows */
    const float *q;
    size_t ldq;
    const float *k;
    size_t ldk;
    const float *v;
    size_t ldv;
    float *out; /* [lq][ldo], head h written at h*head_dim */
    size_t ldo;
    float scale; /* usually 1/sqrt(head_dim) */
    /* causal: query i sees keys j <= i + causal_offset (offset = number of
     * cached positions before the first query, as in incremental decoding). */
    int causal;
    size_t causal_offset;
    int threads; /* ≤ the count the scratch was sized for; 0 = 1 */
} attention_args;

/* Floats of scratch attention() needs when run on `threads` threads. */
size_t attention_scratch(size_t lk, int threads);

/* out = softmax(scale · Q Kᵀ [+ mask]) V, per head. Returns -1 (and writes
 * nothing) if the arguments are inconsistent (zero heads, strides narrower
 * than heads × head_dim, a causal offset that leaves a row with no key). */
int attention(const nn_kernels *nn, const attention_args *a, float *scratch);

#endif
