/* bench: measures each stage on this machine and prints a table, or one
 * JSON object per stage with --json:
 *   {"stage", "ms_median", "gflops", "peak_pct", "rss_mb"}
 * GFLOP/s are compared with this machine's own sgemm peak, measured first. */
#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const bench_stage stages[] = {
    {"sgemm_peak", stage_sgemm_peak, "OpenBLAS sgemm 2048^3, median", 0},
    {"membw", stage_membw, "read bandwidth, 512 MiB buffer", 0},
    {"gemm_bf16", stage_gemm_bf16, "bf16-weight GEMM vs sgemm, ViT-L/14 linear shapes", 1},
    {"pnginfo", stage_pnginfo, "info on a 100 MB PNG, text after the image data", 0},
};
#define N_STAGES (sizeof stages / sizeof stages[0])

double bench_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median_ms(int iters, void (*fn)(void *), void *arg)
{
    if (iters < 1) iters = 1;
    double *t = malloc((size_t)iters * sizeof *t);
    if (!t) return -1;
    fn(arg); /* warm-up */
    for (int i = 0; i < iters; i++) {
        double t0 = bench_now_ms();
        fn(arg);
        t[i] = bench_now_ms() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    double m = iters % 2 ? t[iters / 2] : (t[iters / 2 - 1] + t[iters / 2]) / 2;
    free(t);
    return m;
}

static double rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench [--json] [--iters N] [--threads N] [STAGE...]\n\nstages:\n");
    for (size_t i = 0; i < N_STAGES; i++) fprintf(f, "  %-14s %s\n", stages[i].name, stages[i].what);
}

static void print_result(const bench_stage *s, const bench_ctx *ctx, const bench_result *r, int json)
{
    double pct = ctx->peak_gflops > 0 && r->gflops > 0 ? 100.0 * r->gflops / ctx->peak_gflops : 0;
    if (json) {
        printf("{\"stage\": \"%s\", \"ms_median\": %.3f, \"gflops\": %.2f, \"peak_pct\": %.1f, \"rss_mb\": %.1f",
               s->name, r->ms_median, r->gflops, pct, rss_mb());
        if (r->gb_per_s > 0) printf(", \"gb_per_s\": %.2f", r->gb_per_s);
        if (r->extra_name) printf(", \"%s\": %.3f", r->extra_name, r->extra);
        printf("}\n");
    } else {
        printf("%-14s %10.3f ms %9.2f GFLOP/s %6.1f %% peak %8.2f GB/s %8.1f MB RSS  %s\n", s->name,
               r->ms_median, r->gflops, pct, r->gb_per_s, rss_mb(), r->note ? r->note : "");
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    bench_ctx ctx = {9, 0, 0};
    int json = 0;
    const char *wanted[64];
    int n_wanted = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) ctx.iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) ctx.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout), 0;
        else if (argv[i][0] == '-') return usage(stderr), 2;
        else if (n_wanted < 64) wanted[n_wanted++] = argv[i];
    }
    for (int k = 0; k < n_wanted; k++) {
        size_t i = 0;
        while (i < N_STAGES && strcmp(stages[i].name, wanted[k])) i++;
        if (i == N_STAGES) {
            fprintf(stderr, "bench: unknown stage '%s'\n", wanted[k]);
            return 2;
        }
    }
    int failed = 0, peak_needed = 0;
    for (size_t i = 0; i < N_STAGES; i++)
        for (int k = 0; k < n_wanted; k++) peak_needed |= stages[i].needs_peak && !strcmp(stages[i].name, wanted[k]);
    for (size_t i = 0; i < N_STAGES; i++) {
        int selected = n_wanted == 0;
        for (int k = 0; k < n_wanted; k++) selected |= !strcmp(stages[i].name, wanted[k]);
        /* GFLOP/s mean little without the peak: stage 0 (sgemm_peak) runs
         * first whenever an arithmetic stage is asked for. */
        if (!selected && !(i == 0 && peak_needed)) continue;
        bench_result r;
        memset(&r, 0, sizeof r);
        if (stages[i].run(&ctx, &r)) {
            fprintf(stderr, "bench: stage %s failed\n", stages[i].name);
            failed = 1;
            continue;
        }
        if (selected) print_result(&stages[i], &ctx, &r, json);
    }
    return failed;
}
