/* CLIP ViT-L/14 stages on random weights of the real size: the image tower
 * on one 224² image, and the text tower per phrase (a batch of phrases of
 * typical category-list length, stacked as the ranking cache encodes them). */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "bench/random_model.h"
#include "engine/clip.h"

#define TEXT_PHRASES 128
#define TEXT_TOKENS 12 /* SOT + 10 + EOT: a typical artist / flavor line */

typedef struct {
    random_model rm;
    weights_file *wf;
    clip_model m;
    kernel_table kt;
} clip_bench;

static int clip_bench_open(clip_bench *b, bench_ctx *ctx, const char *dtype)
{
    fmt_error err;
    kernels_init(&b->kt);
    if (random_clip(&b->rm, &random_clip_vit_l14, dtype)) return -1;
    if (weights_open_memory(&b->wf, b->rm.bytes, b->rm.len, &err)) {
        fprintf(stderr, "bench: clip: %s\n", err.msg);
        random_model_free(&b->rm);
        return -1;
    }
    if (clip_load(&b->m, b->wf, &b->kt, ctx->threads, &err)) {
        fprintf(stderr, "bench: clip: %s\n", err.msg);
        weights_close(b->wf);
        random_model_free(&b->rm);
        return -1;
    }
    return 0;
}

static void clip_bench_close(clip_bench *b)
{
    clip_free(&b->m);
    weights_close(b->wf);
    random_model_free(&b->rm);
}

typedef struct {
    clip_model *m;
    float *x, *features;
    const int *const *ids;
    const size_t *lens;
} clip_run;

static void run_image(void *p)
{
    clip_run *r = p;
    clip_encode_image(r->m, r->x, r->features);
}

static int stage_clip_image_dtype(bench_ctx *ctx, bench_result *r, const char *dtype)
{
    clip_bench b;
    if (clip_bench_open(&b, ctx, dtype)) return -1;
    size_t n = (size_t)b.m.config.image_size * (size_t)b.m.config.image_size * 3;
    clip_run run = {&b.m, malloc(n * sizeof(float)), malloc((size_t)b.m.config.embed_dim * sizeof(float)), NULL, NULL};
    int rc = -1;
    if (run.x && run.features) {
        for (size_t i = 0; i < n; i++) run.x[i] = (float)((i * 2654435761u) >> 24) / 128.0f - 1.0f;
        r->ms_median = bench_median_ms(ctx->iters, run_image, &run);
        r->gflops = clip_image_flops(&b.m) / (r->ms_median * 1e6);
        rc = 0;
    }
    free(run.x), free(run.features);
    clip_bench_close(&b);
    return rc;
}

int stage_clip_image(bench_ctx *ctx, bench_result *r) { return stage_clip_image_dtype(ctx, r, "F32"); }
int stage_clip_image_bf16(bench_ctx *ctx, bench_result *r) { return stage_clip_image_dtype(ctx, r, "BF16"); }

static void run_text(void *p)
{
    clip_run *r = p;
    clip_encode_text(r->m, r->ids, r->lens, TEXT_PHRASES, r->features);
}

int stage_clip_text(bench_ctx *ctx, bench_result *r)
{
    clip_bench b;
    if (clip_bench_open(&b, ctx, "F32")) return -1;
    static int ids[TEXT_PHRASES][TEXT_TOKENS];
    static const int *rows[TEXT_PHRASES];
    static size_t lens[TEXT_PHRASES];
    for (int i = 0; i < TEXT_PHRASES; i++) {
        ids[i][0] = 49406, ids[i][TEXT_TOKENS - 1] = 49407;
        for (int t = 1; t < TEXT_TOKENS - 1; t++) ids[i][t] = (int)(((unsigned)(i * 131 + t * 7919) * 2654435761u) % 49000u);
        rows[i] = ids[i], lens[i] = TEXT_TOKENS;
    }
    clip_run run = {&b.m, NULL, malloc((size_t)TEXT_PHRASES * (size_t)b.m.config.embed_dim * sizeof(float)), rows, lens};
    int rc = -1;
    if (run.features) {
        double ms = bench_median_ms(ctx->iters, run_text, &run);
        r->ms_median = ms / TEXT_PHRASES; /* per phrase */
        r->gflops = clip_text_flops(&b.m, TEXT_TOKENS) / (r->ms_median * 1e6);
        r->note = "per phrase of 12 tokens, 128 phrases per call";
        rc = 0;
    }
    free(run.features);
    clip_bench_close(&b);
    return rc;
}
