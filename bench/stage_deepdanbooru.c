/* DeepDanbooru stages on random weights of the real widths (9176 tags):
 * the network alone, and the whole `booru` path through the public API
 * (PNG decode, resize-and-fill, network, tag line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/random_model.h"
#include "engine/models/deepdanbooru/deepdanbooru.h"
#include "engine/api/unprompt.h"
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

/* ---- e2e_booru: the public API on an encoded image ----------------------- */

typedef struct {
    unprompt_booru *model;
    const uint8_t *png;
    size_t len;
    int failed;
} e2e_run;

static void run_e2e(void *p)
{
    e2e_run *r = p;
    unprompt_booru_result res;
    char err[256];
    if (unprompt_booru_run(r->model, r->png, r->len, NULL, &res, err, sizeof err) != UNPROMPT_OK) r->failed = 1;
    else unprompt_booru_result_free(&res);
}

int bench_make_png(buf *out)
{
    const uint32_t w = 768, h = 1152;
    uint8_t *px = malloc((size_t)w * h * 3);
    if (!px) return -1;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 255 / w), p[1] = (uint8_t)(y * 255 / h), p[2] = (uint8_t)((x ^ y) & 255);
        }
    fmt_error err;
    buf_init(out, 0);
    int rc = png_write_begin(out, w, h, 2, &err) || png_write_pixels(out, px, w, h, 3, &err) ||
             png_write_end(out, &err);
    free(px);
    return rc ? -1 : 0;
}

int stage_e2e_booru(bench_ctx *ctx, bench_result *r)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/unprompt-bench-dd-%ld.safetensors", (long)getpid());
    random_model rm;
    buf png;
    if (random_deepdanbooru(&rm, 1, DD_TAGS, "F32")) return -1;
    int rc = random_model_save(&rm, path);
    random_model_free(&rm);
    if (rc || bench_make_png(&png)) return unlink(path), -1;
    char err[256];
    e2e_run run = {.model = NULL, .png = (const uint8_t *)png.data, .len = png.len, .failed = 0};
    if (unprompt_booru_load(&run.model, path, ctx->threads, err, sizeof err) != UNPROMPT_OK) {
        fprintf(stderr, "bench: e2e_booru: %s\n", err);
        rc = -1;
    } else {
        r->ms_median = bench_median_ms(ctx->iters, run_e2e, &run);
        r->note = "768x1152 PNG: decode, resize-and-fill, network, tag line";
        rc = run.failed ? -1 : 0;
        unprompt_booru_free(run.model);
    }
    buf_free(&png);
    unlink(path);
    char panels[300]; /* written beside the model on AVX-512 (engine/runtime/panel_cache.h) */
    snprintf(panels, sizeof panels, "%s.panels", path);
    unlink(panels);
    return rc;
}
