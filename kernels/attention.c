/* Head-blocked multi-head attention: two GEMMs and a row softmax per block. */
#include <cblas.h>
#include <omp.h>

#include "kernels/attention.h"

size_t attention_scratch(size_t lk, int threads)
{
    return (size_t)ATTN_BLOCK * (lk ? lk : 1) * (size_t)(threads > 1 ? threads : 1);
}

static int attention_args_valid(const attention_args *a)
{
    size_t width = a->heads * a->head_dim;
    if (a->heads == 0 || a->head_dim == 0 || a->lk == 0) return 0;
    if (a->ldq < width || a->ldk < width || a->ldv < width || a->ldo < width) return 0;
    /* With a causal mask, the last query may look further than lk only if
     * the keys are all there: query lq-1 sees lq-1+offset+1 keys. */
    if (a->causal && a->lq + a->causal_offset > a->lk) return 0;
    return 1;
}

/* One head, query rows [r0, r0+rows): S = Q Kᵀ (rows × lk), softmax, O = S V. */
static void attention_block(const nn_kernels *nn, const attention_args *a, size_t h, size_t r0, size_t rows,
                            float *s)
{
    size_t d = a->head_dim, col = h * d;
    /* Keys past the causal horizon of the block's last row are never seen. */
    size_t keys = a->causal ? r0 + rows + a->causal_offset : a->lk;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)keys, (int)d, 1.0f,
                a->q + r0 * a->ldq + col, (int)a->ldq, a->k + col, (int)a->ldk, 0.0f, s, (int)keys);
    if (a->causal)
        nn->softmax_causal(s, rows, keys, a->scale, r0 + a->causal_offset);
    else
        nn->softmax(s, rows, keys, a->scale);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)d, (int)keys, 1.0f, s, (int)keys,
                a->v + col, (int)a->ldv, 0.0f, a->out + r0 * a->ldo + col, (int)a->ldo);
}

int attention(const nn_kernels *nn, const attention_args *a, float *scratch)
{
    if (!attention_args_valid(a)) return -1;
    /* Blocks of equal size (257 rows: 2 of 129, not 256 and 1); with
     * per = ⌈lq / blocks⌉ the last block still starts before lq. */
    size_t blocks = (a->lq + ATTN_BLOCK - 1) / ATTN_BLOCK, jobs = a->heads * blocks;
    size_t per = blocks ? (a->lq + blocks - 1) / blocks : 0;
    int threads = a->threads > 1 ? a->threads : 1;
    if ((size_t)threads > jobs) threads = (int)jobs;
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (size_t j = 0; j < jobs; j++) {
        size_t h = j / blocks, r0 = j % blocks * per;
        size_t rows = a->lq - r0 < per ? a->lq - r0 : per;
        float *s = scratch + (size_t)omp_get_thread_num() * ATTN_BLOCK * a->lk;
        attention_block(nn, a, h, r0, rows, s);
    }
    return 0;
}
