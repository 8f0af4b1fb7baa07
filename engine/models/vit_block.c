/* The ViT block of CLIP and BLIP; see vit_block.h. */
#include <omp.h>
#include <stdio.h>

#include "engine/models/vit_block.h"
#include "kernels/attention.h"

int vit_block_load(weight_pool *p, const char *prefix, const vit_block_names *names, size_t width, size_t mlp,
                   vit_block *b, fmt_error *err)
{
    char name[192], bias[192];
#define VIT_NAME(part) (snprintf(name, sizeof name, "%s%s", prefix, part), name)
    if (wp_norm(p, VIT_NAME(names->norm1), width, &b->norm1, err) ||
        wp_norm(p, VIT_NAME(names->norm2), width, &b->norm2, err))
        return -1;
    snprintf(bias, sizeof bias, "%s%s", prefix, names->qkv_bias);
    if (wp_linear_named(p, VIT_NAME(names->qkv_weight), bias, 3 * width, width, &b->qkv, err) ||
        wp_linear(p, VIT_NAME(names->proj), width, width, 1, &b->proj, err) ||
        wp_linear(p, VIT_NAME(names->fc1), mlp, width, 1, &b->fc1, err) ||
        wp_linear(p, VIT_NAME(names->fc2), width, mlp, 1, &b->fc2, err))
        return -1;
#undef VIT_NAME
    return 0;
}

int vit_block_pack(struct panel_set *ps, vit_block *b)
{
    layer_linear *l[4] = {&b->qkv, &b->proj, &b->fc1, &b->fc2};
    for (int j = 0; j < 4; j++)
        if (layer_linear_pack(ps, l[j])) return -1;
    return 0;
}

static void vit_attention(const kernel_table *kt, const vit_params *p, const vit_buffers *b, const vit_segment *segs,
                          size_t n_segs)
{
    size_t w = p->width, hd = w / p->heads;
    attention_args a = {.heads = p->heads, .head_dim = hd, .ldq = 3 * w, .ldk = 3 * w, .ldv = 3 * w, .ldo = w,
                        .scale = p->scale, .causal = p->causal, .threads = p->threads};
    if (n_segs == 1 || segs[0].len > p->short_len) {
        for (size_t s = 0; s < n_segs; s++) { /* long sequences (images): each with every thread */
            a.lq = a.lk = segs[s].len;
            a.q = b->qkv + segs[s].start * 3 * w, a.k = a.q + w, a.v = a.q + 2 * w;
            a.out = b->att + segs[s].start * w;
            attention(&kt->nn, &a, b->scratch);
        }
        return;
    }
    /* Many short sequences: one per thread, each with its own scratch. */
    size_t per_thread = attention_scratch(p->short_len, 1);
#pragma omp parallel for schedule(dynamic) num_threads(p->threads)
    for (size_t s = 0; s < n_segs; s++) {
        attention_args x = a;
        x.threads = 1;
        x.lq = x.lk = segs[s].len;
        x.q = b->qkv + segs[s].start * 3 * w, x.k = x.q + w, x.v = x.q + 2 * w;
        x.out = b->att + segs[s].start * w;
        attention(&kt->nn, &x, b->scratch + (size_t)omp_get_thread_num() * per_thread);
    }
}

void vit_block_forward(const kernel_table *kt, const vit_params *p, const vit_block *b, const vit_buffers *buf,
                       size_t rows, const vit_segment *segs, size_t n_segs)
{
    const nn_kernels *nn = &kt->nn;
    nn->layernorm(buf->h, buf->x, b->norm1.gamma, b->norm1.beta, rows, p->width, p->eps);
    layer_linear_run(kt, &b->qkv, buf->qkv, buf->h, rows, NULL, NULL);
    vit_attention(kt, p, buf, segs, n_segs);
    layer_linear_run(kt, &b->proj, buf->y, buf->att, rows, buf->x, NULL);
    nn->layernorm(buf->h, buf->y, b->norm2.gamma, b->norm2.beta, rows, p->width, p->eps);
    layer_linear_run(kt, &b->fc1, buf->mlp, buf->h, rows, NULL, p->act);
    layer_linear_run(kt, &b->fc2, buf->x, buf->mlp, rows, buf->y, NULL);
}
