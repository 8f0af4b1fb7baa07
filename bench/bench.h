/* bench: stages measured by the `bench` program. Each stage fills one
 * bench_result; bench.c runs them, takes medians and prints. */
#ifndef UNPROMPT_BENCH_H
#define UNPROMPT_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

typedef struct {
    int iters;          /* timed iterations (after one warm-up) */
    int threads;
    double peak_gflops; /* measured sgemm peak, 0 until sgemm_peak ran */
    const void *param;  /* the running stage's bench_stage.param */
} bench_ctx;

typedef struct {
    double ms_median;
    double gflops;      /* 0 when the stage is not about arithmetic */
    double gb_per_s;    /* bandwidth stages; 0 otherwise */
    double extra;       /* stage-specific (e.g. images/s); 0 if none */
    const char *extra_name;
    const char *note;   /* shown in the table, not in JSON */
    double rss_mb;      /* peak RSS of the program measured when it is not bench
                           itself (batch_all: engine-run); 0: bench's own */
} bench_result;

typedef int (*bench_fn)(bench_ctx *ctx, bench_result *r);

typedef struct {
    const char *name;
    bench_fn run;
    const char *what;
    int needs_peak; /* reports GFLOP/s: sgemm_peak is measured before it */
    const void *param; /* shape or kernel for parametrised stages */
} bench_stage;

/* Shapes of the kernel stages (bench/stage_kernels.c). */
typedef enum { BENCH_EP_BIAS, BENCH_EP_BIAS_GELU, BENCH_EP_BIAS_RESIDUAL } bench_epilogue;
typedef struct {
    int m, n, k; /* C[m][n] = A[m][k] · W[n][k]ᵀ, then the epilogue */
    bench_epilogue ep;
} bench_gemm_shape;
typedef struct {
    int h, w, cin, cout, k, stride, pad_lo, pad_hi;
    int winograd; /* 1: by conv2d_winograd (3×3 stride 1), as DeepDanbooru runs it */
} bench_conv_shape;
typedef enum { BENCH_NN_MEMCPY, BENCH_NN_LAYERNORM, BENCH_NN_SOFTMAX, BENCH_NN_GELU, BENCH_NN_QUICK_GELU } bench_nn_kind;

/* Time `fn(arg)` iters times after a warm-up; returns the median in ms. */
double bench_median_ms(int iters, void (*fn)(void *), void *arg);
/* A 768×1152 RGB PNG of smooth colour (a typical SD output size). */
int bench_make_png(buf *out);
/* A w×h RGB JPEG (4:2:0, quality 90) of smooth colour with a little noise,
 * or with same_as_png of bench_make_png's picture. */
int bench_make_jpeg(buf *out, uint32_t w, uint32_t h, int same_as_png);
double bench_now_ms(void);
/* Random CLIP, BLIP (and with booru, DeepDanbooru) files of the real sizes
 * and four category lists of 250 phrases in a new folder dir, laid out as
 * engine-run's --weights expects. */
int bench_write_models(const char *dir, int booru, const char *dtype);

/* Stage implementations (bench/stage_*.c). */
int stage_sgemm_peak(bench_ctx *ctx, bench_result *r);
int stage_membw(bench_ctx *ctx, bench_result *r);
int stage_pnginfo(bench_ctx *ctx, bench_result *r);
int stage_gemm(bench_ctx *ctx, bench_result *r);
int stage_conv(bench_ctx *ctx, bench_result *r);
int stage_attention(bench_ctx *ctx, bench_result *r);
int stage_nn(bench_ctx *ctx, bench_result *r);
int stage_deepdanbooru(bench_ctx *ctx, bench_result *r);
int stage_deepdanbooru_bf16(bench_ctx *ctx, bench_result *r);
int stage_clip_image(bench_ctx *ctx, bench_result *r);
int stage_clip_image_bf16(bench_ctx *ctx, bench_result *r);
int stage_clip_text(bench_ctx *ctx, bench_result *r);
int stage_clip_lists(bench_ctx *ctx, bench_result *r);
int stage_e2e_clip(bench_ctx *ctx, bench_result *r);
int stage_e2e_all(bench_ctx *ctx, bench_result *r);
int stage_e2e_all_jpeg(bench_ctx *ctx, bench_result *r);
int stage_decode_jpeg(bench_ctx *ctx, bench_result *r);
int stage_e2e_all_bf16(bench_ctx *ctx, bench_result *r);
int stage_batch_all(bench_ctx *ctx, bench_result *r);
int stage_batch_all_bf16(bench_ctx *ctx, bench_result *r);
int stage_e2e_booru(bench_ctx *ctx, bench_result *r);
int stage_gemm_bf16(bench_ctx *ctx, bench_result *r);
int stage_blip_image(bench_ctx *ctx, bench_result *r);
int stage_blip_image_bf16(bench_ctx *ctx, bench_result *r);
int stage_blip_decode_token(bench_ctx *ctx, bench_result *r);
int stage_blip_decode_token_bf16(bench_ctx *ctx, bench_result *r);
int stage_blip_decode_beam3(bench_ctx *ctx, bench_result *r);
int stage_blip_decode_beam3_bf16(bench_ctx *ctx, bench_result *r);
int stage_blip_decode_batch4(bench_ctx *ctx, bench_result *r);

#endif
