/* DeepDanbooru stages on random weights of the real widths (9176 tags):
 * the network alone, and the whole `booru` path through the public API
 * (PNG decode, resize-and-fill, network, tag line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/random_model.h"
#include "engine/deepdanbooru.h"
#include "engine/unprompt.h"
#include "format/png_write.h"

#define DD_TAGS 9176

typedef struct {
    deepdanbooru *m;
    float *x, *probs;
} dd_run;

static void run_dd(void *p)
{
    dd_run *r = p;
    dd_forward(r->m, r->x, r->probs);
}

static int stage_dd_dtype(bench_ctx *ctx, bench_result *r, const char *dtype)
{
    random_model rm;
    if (random_deepdanbooru(&rm, 1, DD_TAGS, dtype)) return -1;
    weights_file *wf;
    fmt_error err;
    static kernel_table kt;
    kernels_init(&kt);
    deepdanbooru m;
    if (weights_open_memory(&wf, rm.bytes, rm.len, &err) || dd_load(&m, wf, &kt, ctx->threads, &err)) {
        fprintf(stderr, "bench: deepdanbooru: %s\n", err.msg);
        random_model_free(&rm);
        return -1;
    }
    size_t n = (size_t)DD_INPUT * DD_INPUT * 3;
    dd_run run = {&m, malloc(n * sizeof(float)), malloc(DD_TAGS * sizeof(float))};
    for (size_t i = 0; run.x && i < n; i++) run.x[i] = (float)((i * 2654435761u) >> 24) / 255.0f;
    r->ms_median = bench_median_ms(ctx->iters, run_dd, &run);
    r->gflops = dd_model_flops(&m) / (r->ms_median * 1e6);
    free(run.x), free(run.probs);
    dd_free(&m);
    weights_close(wf);
    random_model_free(&rm);
    return 0;
}

int stage_deepdanbooru(bench_ctx *ctx, bench_result *r) { return stage_dd_dtype(ctx, r, "F32"); }
int stage_deepdanbooru_bf16(bench_ctx *ctx, bench_result *r) { return stage_dd_dtype(ctx, r, "BF16"); }
