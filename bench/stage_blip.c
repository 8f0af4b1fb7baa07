/* BLIP stages on random weights of the real sizes (model_base_caption_capfilt_large:
 * ViT-B/16 at 384 px, BERT base decoder, vocabulary 30524):
 *   blip_image         the image encoder on one 384×384 input
 *   blip_decode_token  one generated token (greedy): the difference between
 *                      a 48-id and a 5-id caption (prompt of 4, the same
 *                      image keys/values and prompt pass) over the 43 extra
 *                      tokens; GB/s = decoder weight bytes read per token
 *                      over that time, to compare with membw
 *   blip_decode_beam3  the same per step with 3 beams
 * each in f32 and with bf16 weights. */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "bench/random_model.h"
#include "engine/models/blip/blip.h"

typedef struct {
    blip_model *m;
    weights_file *wf;
    kernel_table kt;
    random_model rm;
    float *pixels, *embeds;
} blip_bench;

static int blip_bench_open(blip_bench *b, bench_ctx *ctx, const char *dtype)
{
    fmt_error err;
    b->m = NULL, b->wf = NULL, b->pixels = b->embeds = NULL;
    if (random_blip(&b->rm, dtype)) return -1;
    kernels_init(&b->kt);
    if (weights_open_memory(&b->wf, b->rm.bytes, b->rm.len, &err) || !(b->m = calloc(1, sizeof *b->m)) ||
        blip_load(b->m, b->wf, &b->kt, ctx->threads, &err)) {
        fprintf(stderr, "bench: blip: %s\n", err.msg);
        return -1;
    }
    const blip_config *c = blip_get_config(b->m);
    size_t n = (size_t)c->image_size * (size_t)c->image_size * 3;
    b->pixels = malloc(n * sizeof(float));
    b->embeds = malloc((size_t)c->image_tokens * (size_t)c->vision_width * sizeof(float));
    if (!b->pixels || !b->embeds) return -1;
    for (size_t i = 0; i < n; i++) b->pixels[i] = (float)((i * 2654435761u) >> 24) / 128.0f - 1.0f;
    return blip_encode_image(b->m, b->pixels, b->embeds, &err);
}

static void blip_bench_close(blip_bench *b)
{
    blip_free(b->m), free(b->m);
    weights_close(b->wf);
    random_model_free(&b->rm);
    free(b->pixels);
    free(b->embeds);
}

static void run_image(void *p)
{
    blip_bench *b = p;
    blip_encode_image(b->m, b->pixels, b->embeds, NULL);
}

static int stage_image(bench_ctx *ctx, bench_result *r, const char *dtype)
{
    blip_bench b;
    int rc = blip_bench_open(&b, ctx, dtype);
    if (!rc) {
        r->ms_median = bench_median_ms(ctx->iters, run_image, &b);
        r->gflops = blip_image_flops(b.m) / (r->ms_median * 1e6);
        r->note = "ViT-B/16 at 384 px, 577 tokens";
    }
    blip_bench_close(&b);
    return rc;
}

int stage_blip_image(bench_ctx *ctx, bench_result *r) { return stage_image(ctx, r, "F32"); }
int stage_blip_image_bf16(bench_ctx *ctx, bench_result *r) { return stage_image(ctx, r, "BF16"); }

typedef struct {
    blip_bench *b;
    blip_generate_params p;
    int batch; /* DECODE_BATCH images at once */
    int failed;
} decode_run;

#define DECODE_BATCH 4

static void run_decode(void *arg)
{
    decode_run *d = arg;
    static const int prompt[4] = {30522, 1037, 3861, 1997}; /* [DEC] a picture of */
    int ids[DECODE_BATCH * 64];
    size_t n[DECODE_BATCH];
    const float *embeds[DECODE_BATCH] = {d->b->embeds, d->b->embeds, d->b->embeds, d->b->embeds};
    size_t images = d->batch ? DECODE_BATCH : 1;
    if (blip_generate_batch(d->b->m, embeds, images, prompt, 4, &d->p, ids, 64, n, NULL)) d->failed = 1;
    for (size_t i = 0; i < images; i++) d->failed |= n[i] != (size_t)d->p.max_length;
}

/* Per token (per step with beams; per token and image with a batch). */
static int stage_decode(bench_ctx *ctx, bench_result *r, const char *dtype, int beams, int batch)
{
    blip_bench b;
    int rc = blip_bench_open(&b, ctx, dtype);
    if (!rc) {
        /* min_length = max_length: no early [SEP], every caption has max_length ids */
        decode_run shortr = {.b = &b,
                             .p = {.beams = beams, .min_length = 5, .max_length = 5, .repetition_penalty = 1.0f},
                             .batch = batch,
                             .failed = 0},
                   longr = {.b = &b,
                            .p = {.beams = beams, .min_length = 48, .max_length = 48, .repetition_penalty = 1.0f},
                            .batch = batch,
                            .failed = 0};
        int iters = ctx->iters < 3 ? ctx->iters : 3;
        double t_short = bench_median_ms(iters, run_decode, &shortr), t_long = bench_median_ms(iters, run_decode, &longr);
        rc = shortr.failed || longr.failed ? -1 : 0;
        r->ms_median = (t_long - t_short) / 43.0 / (batch ? DECODE_BATCH : 1);
        r->gb_per_s = blip_decode_weight_bytes(b.m) / (r->ms_median * 1e6);
        r->extra = t_short, r->extra_name = "ms_image_kv_and_prompt";
        r->note = beams > 1 ? "per step, 3 beams (weights read once for all)"
                  : batch   ? "per token and image, 4 images decoded together; GB/s = weights read per image-token"
                            : "per token, greedy; GB/s = weights read";
    }
    blip_bench_close(&b);
    return rc;
}

int stage_blip_decode_token(bench_ctx *ctx, bench_result *r) { return stage_decode(ctx, r, "F32", 1, 0); }
int stage_blip_decode_token_bf16(bench_ctx *ctx, bench_result *r) { return stage_decode(ctx, r, "BF16", 1, 0); }
int stage_blip_decode_beam3(bench_ctx *ctx, bench_result *r) { return stage_decode(ctx, r, "F32", 3, 0); }
int stage_blip_decode_beam3_bf16(bench_ctx *ctx, bench_result *r) { return stage_decode(ctx, r, "BF16", 3, 0); }
int stage_blip_decode_batch4(bench_ctx *ctx, bench_result *r) { return stage_decode(ctx, r, "F32", 1, 1); }
