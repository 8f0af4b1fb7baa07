/* bench: stages measured by the `bench` program. Each stage fills one
 * bench_result; bench.c runs them, takes medians and prints. */
#ifndef UNPROMPT_BENCH_H
#define UNPROMPT_BENCH_H

#include <stddef.h>

typedef struct {
    int iters;          /* timed iterations (after one warm-up) */
    int threads;
    double peak_gflops; /* measured sgemm peak, 0 until sgemm_peak ran */
} bench_ctx;

typedef struct {
    double ms_median;
    double gflops;      /* 0 when the stage is not about arithmetic */
    double gb_per_s;    /* bandwidth stages; 0 otherwise */
    double extra;       /* stage-specific (e.g. images/s); 0 if none */
    const char *extra_name;
    const char *note;   /* shown in the table, not in JSON */
} bench_result;

typedef int (*bench_fn)(bench_ctx *ctx, bench_result *r);

typedef struct {
    const char *name;
    bench_fn run;
    const char *what;
    int needs_peak; /* reports GFLOP/s: sgemm_peak is measured before it */
} bench_stage;

/* Time `fn(arg)` iters times after a warm-up; returns the median in ms. */
double bench_median_ms(int iters, void (*fn)(void *), void *arg);
double bench_now_ms(void);

/* Stage implementations (bench/stage_*.c). */
int stage_sgemm_peak(bench_ctx *ctx, bench_result *r);
int stage_membw(bench_ctx *ctx, bench_result *r);
int stage_pnginfo(bench_ctx *ctx, bench_result *r);
int stage_gemm_bf16(bench_ctx *ctx, bench_result *r);

#endif
