/* Kernel stages: the GEMM, convolution and attention shapes the models run,
 * and the memory-bound nn kernels against memcpy. These measure kernels/
 * directly, below the engine's public API: they are what the model stages
 * are made of, and a regression shows here first. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kernels/winograd.h"

static float *random_floats(size_t n, float scale)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    uint32_t s = 2463534242u;
    for (size_t i = 0; p && i < n; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        p[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * scale;
    }
    return p;
}

/* ---- GEMM ----------------------------------------------------------------- */

/* The weights as the engine's loaders leave them: packed into panels where
 * the level prefers its own f32 GEMM (gemm_f32.h), else row-major for
 * `linear`. `packed` is the caller's to free; the note names the path. */
static int engine_weights(const kernel_table *kt, const float *w, size_t n, size_t k, weight_panel *panel,
                          linear_weights *lw, float **packed, bench_result *r)
{
    *packed = NULL;
    *lw = (linear_weights){w, NULL, NULL};
    r->note = "OpenBLAS sgemm";
    if (!kt->f32p.preferred) return 0;
    size_t floats = gemm_f32_packed_size(n, k);
    *packed = floats ? aligned_alloc(64, (floats * sizeof **packed + 63) / 64 * 64) : NULL;
    if (!*packed) return -1;
    gemm_f32_use_packed(&kt->f32p, *packed, w, n, k, panel, lw);
    r->note = "packed f32 panels";
    return 0;
}

typedef struct {
    const kernel_table *kt;
    const bench_gemm_shape *s;
    float *a, *w, *c, *bias, *res;
    linear_weights lw;
    gemm_epilogue ep;
} gemm_run;

static void run_gemm(void *p)
{
    gemm_run *g = p;
    linear_run(&g->kt->linalg, g->c, g->a, &g->lw, (size_t)g->s->m, (size_t)g->s->n, (size_t)g->s->k, &g->ep);
}

int stage_gemm(bench_ctx *ctx, bench_result *r)
{
    static kernel_table kt;
    kernels_init(&kt);
    const bench_gemm_shape *s = ctx->param;
    size_t m = (size_t)s->m, n = (size_t)s->n, k = (size_t)s->k;
    gemm_run g = {.kt = &kt,
                  .s = s,
                  .a = random_floats(m * k, 1),
                  .w = random_floats(n * k, 0.1f),
                  .c = random_floats(m * n, 1),
                  .bias = random_floats(n, 1),
                  .res = random_floats(m * n, 1),
                  .lw = {0},
                  .ep = {0}};
    weight_panel panel;
    float *packed = NULL;
    int ok = g.a && g.w && g.c && g.bias && g.res && !engine_weights(&kt, g.w, n, k, &panel, &g.lw, &packed, r);
    if (ok) {
        g.ep.bias = g.bias;
        if (s->ep == BENCH_EP_BIAS_GELU) g.ep.act = kt.nn.gelu;
        if (s->ep == BENCH_EP_BIAS_RESIDUAL) g.ep.residual = g.res, g.ep.ldr = n;
        r->ms_median = bench_median_ms(ctx->iters, run_gemm, &g);
        r->gflops = 2.0 * (double)m * n * k / (r->ms_median * 1e6);
    }
    free(g.a), free(g.w), free(g.c), free(g.bias), free(g.res), free(packed);
    return ok ? 0 : -1;
}

/* ---- convolution ---------------------------------------------------------- */

typedef struct {
    const kernel_table *kt;
    const bench_conv_shape *s;
    conv_geometry geo;
    float *x, *w, *y, *bias, *scratch;
    linear_weights lw, wino[WINOGRAD_POSITIONS];
    gemm_epilogue ep;
    int threads;
} conv_run;

static void run_conv(void *p)
{
    conv_run *c = p;
    if (c->s->winograd)
        conv2d_winograd(&c->kt->linalg, c->y, c->x, c->s->h, c->s->w, c->s->cin, c->wino, c->s->cout, &c->geo, &c->ep,
                        c->scratch, c->threads);
    else
        conv2d(&c->kt->linalg, c->y, c->x, c->s->h, c->s->w, c->s->cin, &c->lw, c->s->cout, c->s->k, &c->geo, &c->ep,
               c->scratch, c->threads);
}

/* The 16 transformed matrices of c->w, as the engine's loaders leave them;
 * `planes` and `packed` (16 of them) are the caller's to free. */
static int winograd_operands(conv_run *c, float **planes, float *packed[WINOGRAD_POSITIONS],
                             weight_panel panel[WINOGRAD_POSITIONS], bench_result *r)
{
    size_t n = (size_t)c->s->cout, k = (size_t)c->s->cin;
    *planes = malloc(WINOGRAD_POSITIONS * n * k * sizeof **planes);
    if (!*planes) return -1;
    winograd_weights(*planes, c->w, n, k);
    for (int xi = 0; xi < WINOGRAD_POSITIONS; xi++)
        if (engine_weights(c->kt, *planes + xi * n * k, n, k, &panel[xi], &c->wino[xi], &packed[xi], r)) return -1;
    return 0;
}

int stage_conv(bench_ctx *ctx, bench_result *r)
{
    static kernel_table kt;
    kernels_init(&kt);
    const bench_conv_shape *s = ctx->param;
    conv_geometry geo = {.pad_top = s->pad_lo,
                         .pad_bottom = s->pad_hi,
                         .pad_left = s->pad_lo,
                         .pad_right = s->pad_hi,
                         .stride = s->stride};
    int oh = conv_out_size(s->h, s->k, s->pad_lo, s->pad_hi, s->stride);
    int ow = conv_out_size(s->w, s->k, s->pad_lo, s->pad_hi, s->stride);
    size_t in = (size_t)s->h * s->w * s->cin, out = (size_t)oh * ow * s->cout;
    size_t wk = (size_t)s->k * s->k * s->cin, wn = (size_t)s->cout * wk;
    size_t scratch = s->winograd ? winograd_scratch(s->cin, s->cout, ctx->threads)
                                 : conv2d_scratch(s->cin, s->k, ctx->threads);
    conv_run c = {.kt = &kt,
                  .s = s,
                  .geo = geo,
                  .x = random_floats(in, 1),
                  .w = random_floats(wn, 0.1f),
                  .y = random_floats(out, 1),
                  .bias = random_floats((size_t)s->cout, 0.1f),
                  .scratch = random_floats(scratch, 0),
                  .lw = {0},
                  .wino = {{0}},
                  .ep = {0},
                  .threads = ctx->threads};
    weight_panel panel, wpanel[WINOGRAD_POSITIONS];
    float *packed = NULL, *planes = NULL, *wpacked[WINOGRAD_POSITIONS] = {0};
    int ok = c.x && c.w && c.y && c.bias && c.scratch &&
             (s->winograd ? !winograd_operands(&c, &planes, wpacked, wpanel, r)
                          : !engine_weights(&kt, c.w, (size_t)s->cout, wk, &panel, &c.lw, &packed, r));
    if (ok) {
        c.ep.bias = c.bias;
        if (s->k == 1) c.ep.act = kt.nn.relu;
        if (s->winograd) c.ep.act = kt.nn.relu, c.ep.act_is_relu = 1; /* as in the network */
        r->ms_median = bench_median_ms(ctx->iters, run_conv, &c);
        r->gflops = 2.0 * (double)out * s->k * s->k * s->cin / (r->ms_median * 1e6);
    }
    free(c.x), free(c.w), free(c.y), free(c.bias), free(c.scratch), free(packed), free(planes);
    for (int xi = 0; xi < WINOGRAD_POSITIONS; xi++) free(wpacked[xi]);
    return ok ? 0 : -1;
}

/* ---- attention ------------------------------------------------------------ */

typedef struct {
    const kernel_table *kt;
    attention_args a;
    float *scratch;
} attn_run;

static void run_attention(void *p)
{
    attn_run *t = p;
    attention(&t->kt->nn, &t->a, t->scratch);
}

int stage_attention(bench_ctx *ctx, bench_result *r)
{
    static kernel_table kt;
    kernels_init(&kt);
    const bench_gemm_shape *s = ctx->param; /* m tokens, n = width */
    size_t l = (size_t)s->m, w = (size_t)s->n, d = 64;
    float *qkv = random_floats(l * 3 * w, 1), *out = random_floats(l * w, 0);
    attn_run t = {&kt,
                  {w / d, d, l, l, qkv, 3 * w, qkv + w, 3 * w, qkv + 2 * w, 3 * w, out, w, 0.125f, 0, 0, ctx->threads},
                  random_floats(attention_scratch(l, ctx->threads), 0)};
    int ok = qkv && out && t.scratch;
    if (ok) {
        r->ms_median = bench_median_ms(ctx->iters, run_attention, &t);
        r->gflops = 4.0 * (double)l * l * w / (r->ms_median * 1e6);
    }
    free(qkv), free(out), free(t.scratch);
    return ok ? 0 : -1;
}

/* ---- memory-bound nn kernels ---------------------------------------------- */

#define NN_ROWS 16384
#define NN_COLS 1024

typedef struct {
    const kernel_table *kt;
    bench_nn_kind kind;
    float *x, *y, *gamma, *beta;
} nn_run;

static void run_nn(void *p)
{
    nn_run *t = p;
    size_t n = (size_t)NN_ROWS * NN_COLS;
    switch (t->kind) {
    case BENCH_NN_MEMCPY: memcpy(t->y, t->x, n * sizeof(float)); break;
    case BENCH_NN_LAYERNORM: t->kt->nn.layernorm(t->x, t->x, t->gamma, t->beta, NN_ROWS, NN_COLS, 1e-5f); break;
    case BENCH_NN_SOFTMAX: t->kt->nn.softmax(t->x, NN_ROWS, NN_COLS, 1.0f); break;
    case BENCH_NN_GELU: t->kt->nn.gelu(t->x, n); break;
    case BENCH_NN_QUICK_GELU: t->kt->nn.quick_gelu(t->x, n); break;
    }
}

/* Bandwidth = bytes read + written per call (memcpy: n read + n written; the
 * in-place kernels the same), so each kernel is compared on equal terms. */
int stage_nn(bench_ctx *ctx, bench_result *r)
{
    static kernel_table kt;
    kernels_init(&kt);
    size_t n = (size_t)NN_ROWS * NN_COLS;
    nn_run t = {.kt = &kt,
                .kind = *(const bench_nn_kind *)ctx->param,
                .x = random_floats(n, 4),
                .y = random_floats(n, 0),
                .gamma = random_floats(NN_COLS, 1),
                .beta = random_floats(NN_COLS, 1)};
    int ok = t.x && t.y && t.gamma && t.beta;
    if (ok) {
        r->ms_median = bench_median_ms(ctx->iters, run_nn, &t);
        r->gb_per_s = 2.0 * (double)n * sizeof(float) / (r->ms_median * 1e6);
    }
    free(t.x), free(t.y), free(t.gamma), free(t.beta);
    return ok ? 0 : -1;
}
