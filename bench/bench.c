/* bench: measures each stage on this machine and prints a table, or one
 * JSON object per stage with --json:
 *   {"stage", "ms_median", "gflops", "peak_pct", "rss_mb"}
 * GFLOP/s are compared with this machine's own sgemm peak, measured first. */
#include "bench/bench.h"

#include <fnmatch.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine/runtime/threads.h"
#include "engine/api/unprompt.h"

/* The GEMM shapes of the models: ViT-L/14 at 224 px (257 tokens, width
 * 1024, MLP 4096), ViT-B/16 at 384 px (577 tokens, width 768, MLP 3072). */
static const bench_gemm_shape vit_l14_qkv = {257, 3072, 1024, BENCH_EP_BIAS},
                              vit_l14_out = {257, 1024, 1024, BENCH_EP_BIAS_RESIDUAL},
                              vit_l14_fc1 = {257, 4096, 1024, BENCH_EP_BIAS_GELU},
                              vit_l14_fc2 = {257, 1024, 4096, BENCH_EP_BIAS_RESIDUAL},
                              vit_b16_qkv = {577, 2304, 768, BENCH_EP_BIAS},
                              vit_b16_out = {577, 768, 768, BENCH_EP_BIAS_RESIDUAL},
                              vit_b16_fc1 = {577, 3072, 768, BENCH_EP_BIAS_GELU},
                              vit_b16_fc2 = {577, 768, 3072, BENCH_EP_BIAS_RESIDUAL};
/* DeepDanbooru at 512 px: the stem, and per stage the bottleneck's 1×1
 * reduce, 3×3 and 1×1 expand (NHWC; stride-2 3×3 pads 0 before, 1 after). */
static const bench_conv_shape dd_stem = {512, 512, 3, 64, 7, 2, 2, 3, 0},
                              dd_s1_3x3 = {128, 128, 64, 64, 3, 1, 1, 1, 0}, dd_s1_1x1 = {128, 128, 256, 64, 1, 1, 0, 0, 0},
                              dd_s2_3x3 = {64, 64, 128, 128, 3, 1, 1, 1, 0}, dd_s2_1x1 = {64, 64, 128, 512, 1, 1, 0, 0, 0},
                              dd_s3_3x3 = {32, 32, 256, 256, 3, 1, 1, 1, 0}, dd_s3_1x1 = {32, 32, 1024, 256, 1, 1, 0, 0, 0},
                              dd_s3_down = {64, 64, 256, 256, 3, 2, 0, 1, 0}, dd_s5_1x1 = {8, 8, 1024, 4096, 1, 1, 0, 0, 0},
                              dd_s1_wino = {128, 128, 64, 64, 3, 1, 1, 1, 1}, dd_s2_wino = {64, 64, 128, 128, 3, 1, 1, 1, 1},
                              dd_s3_wino = {32, 32, 256, 256, 3, 1, 1, 1, 1}, dd_s4_wino = {16, 16, 256, 256, 3, 1, 1, 1, 1};
static const bench_nn_kind nn_memcpy = BENCH_NN_MEMCPY, nn_layernorm = BENCH_NN_LAYERNORM,
                           nn_softmax = BENCH_NN_SOFTMAX, nn_gelu = BENCH_NN_GELU, nn_quick_gelu = BENCH_NN_QUICK_GELU;

static const bench_stage stages[] = {
    {"sgemm_peak", stage_sgemm_peak, "OpenBLAS sgemm 2048^3, median", 0, NULL},
    {"membw", stage_membw, "read bandwidth, 512 MiB buffer", 0, NULL},
    {"pnginfo", stage_pnginfo, "info on a 100 MB PNG, text after the image data", 0, NULL},
    {"decode_jpeg", stage_decode_jpeg, "a 2048x3072 JPEG to RGB (libjpeg-turbo), stb_image on the same bytes", 0, NULL},
    {"gemm_bf16", stage_gemm_bf16, "bf16-weight GEMM vs sgemm, ViT-L/14 linear shapes", 1, NULL},
    {"deepdanbooru", stage_deepdanbooru, "DeepDanbooru 512^2, random weights of the real widths, 9176 tags", 1, NULL},
    {"deepdanbooru_bf16", stage_deepdanbooru_bf16, "the same with bf16 weights", 1, NULL},
    {"clip_image", stage_clip_image, "CLIP ViT-L/14 image tower, 224^2, random weights of the real size", 1, NULL},
    {"clip_image_bf16", stage_clip_image_bf16, "the same with bf16 weights", 1, NULL},
    {"clip_text", stage_clip_text, "CLIP ViT-L/14 text tower, ms per phrase (128 phrases of 12 tokens stacked)", 1, NULL},
    {"clip_lists", stage_clip_lists, "one-off encoding of the 4 default category lists (dict limit 1500), ViT-L/14 text tower", 1, NULL},
    {"e2e_clip", stage_e2e_clip, "engine-run clip on one 768x1152 PNG, real-size random CLIP + BLIP", 0, NULL},
    {"e2e_all", stage_e2e_all, "engine-run all on one 768x1152 PNG (clip + booru), real-size random models", 0, NULL},
    {"e2e_all_jpeg", stage_e2e_all_jpeg, "e2e_all on the same picture as a 768x1152 JPEG (4:2:0, q90)", 0, NULL},
    {"batch_all", stage_batch_all, "engine-run all --batch 8 --workers 2 over 64 768x1152 PNGs, ms per image (one run)", 0, NULL},
    {"e2e_all_bf16", stage_e2e_all_bf16, "e2e_all with bf16 weights", 0, NULL},
    {"batch_all_bf16", stage_batch_all_bf16, "batch_all with bf16 weights", 0, NULL},
    {"e2e_booru", stage_e2e_booru, "engine-run booru on one 768x1152 PNG, real-size random model", 0, NULL},
    {"blip_image", stage_blip_image, "BLIP ViT-B/16 at 384 px, random weights of the real sizes", 1, NULL},
    {"blip_image_bf16", stage_blip_image_bf16, "the same with bf16 weights", 1, NULL},
    {"blip_decode_token", stage_blip_decode_token, "BLIP decoder, ms per greedy token (BERT base, vocab 30524)", 0, NULL},
    {"blip_decode_token_bf16", stage_blip_decode_token_bf16, "the same with bf16 weights", 0, NULL},
    {"blip_decode_batch4", stage_blip_decode_batch4, "BLIP decoder, ms per greedy token and image, 4 images at once", 0, NULL},
    {"blip_decode_beam3", stage_blip_decode_beam3, "BLIP decoder, ms per step with 3 beams", 0, NULL},
    {"blip_decode_beam3_bf16", stage_blip_decode_beam3_bf16, "the same with bf16 weights", 0, NULL},
    {"gemm_vit_l14_qkv", stage_gemm, "linear 257x1024 -> 3072 (CLIP ViT-L/14 in-projection)", 1, &vit_l14_qkv},
    {"gemm_vit_l14_out", stage_gemm, "linear 257x1024 -> 1024 + residual (attention out)", 1, &vit_l14_out},
    {"gemm_vit_l14_fc1", stage_gemm, "linear 257x1024 -> 4096 + GELU (MLP up)", 1, &vit_l14_fc1},
    {"gemm_vit_l14_fc2", stage_gemm, "linear 257x4096 -> 1024 + residual (MLP down)", 1, &vit_l14_fc2},
    {"gemm_vit_b16_qkv", stage_gemm, "linear 577x768 -> 2304 (BLIP ViT-B/16@384 qkv)", 1, &vit_b16_qkv},
    {"gemm_vit_b16_out", stage_gemm, "linear 577x768 -> 768 + residual", 1, &vit_b16_out},
    {"gemm_vit_b16_fc1", stage_gemm, "linear 577x768 -> 3072 + GELU", 1, &vit_b16_fc1},
    {"gemm_vit_b16_fc2", stage_gemm, "linear 577x3072 -> 768 + residual", 1, &vit_b16_fc2},
    {"attn_vit_l14", stage_attention, "attention 16 heads x 64, 257 tokens", 1, &vit_l14_out},
    {"attn_vit_b16", stage_attention, "attention 12 heads x 64, 577 tokens", 1, &vit_b16_out},
    {"conv_dd_stem", stage_conv, "DeepDanbooru stem 7x7/2 3 -> 64 at 512^2", 1, &dd_stem},
    {"conv_dd_s1_3x3", stage_conv, "3x3 64 -> 64 at 128^2", 1, &dd_s1_3x3},
    {"conv_dd_s1_1x1", stage_conv, "1x1 256 -> 64 at 128^2 + ReLU", 1, &dd_s1_1x1},
    {"conv_dd_s2_3x3", stage_conv, "3x3 128 -> 128 at 64^2", 1, &dd_s2_3x3},
    {"conv_dd_s2_1x1", stage_conv, "1x1 128 -> 512 at 64^2 + ReLU", 1, &dd_s2_1x1},
    {"conv_dd_s3_3x3", stage_conv, "3x3 256 -> 256 at 32^2", 1, &dd_s3_3x3},
    {"conv_dd_s3_1x1", stage_conv, "1x1 1024 -> 256 at 32^2 + ReLU", 1, &dd_s3_1x1},
    {"conv_dd_s3_down", stage_conv, "3x3/2 256 -> 256 from 64^2, pad (0,1)", 1, &dd_s3_down},
    {"conv_dd_s5_1x1", stage_conv, "1x1 1024 -> 4096 at 8^2 + ReLU", 1, &dd_s5_1x1},
    {"wino_dd_s1_3x3", stage_conv, "3x3 64 -> 64 at 128^2 by Winograd F(2x2,3x3), direct-conv FLOPs", 1, &dd_s1_wino},
    {"wino_dd_s2_3x3", stage_conv, "3x3 128 -> 128 at 64^2 by Winograd", 1, &dd_s2_wino},
    {"wino_dd_s3_3x3", stage_conv, "3x3 256 -> 256 at 32^2 by Winograd", 1, &dd_s3_wino},
    {"wino_dd_s4_3x3", stage_conv, "3x3 256 -> 256 at 16^2 by Winograd", 1, &dd_s4_wino},
    {"nn_memcpy", stage_nn, "memcpy 64 MiB (the bandwidth yardstick for the nn stages)", 0, &nn_memcpy},
    {"nn_layernorm", stage_nn, "LayerNorm 16384 rows x 1024, in place", 0, &nn_layernorm},
    {"nn_softmax", stage_nn, "softmax 16384 rows x 1024, in place", 0, &nn_softmax},
    {"nn_gelu", stage_nn, "exact-erf GELU over 16M floats, in place", 0, &nn_gelu},
    {"nn_quick_gelu", stage_nn, "QuickGELU over 16M floats, in place", 0, &nn_quick_gelu},
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
    fprintf(f, "usage: bench [--json] [--iters N] [--threads N] [STAGE...]\n"
               "  STAGE may be a shell pattern: bench 'gemm_*' 'conv_*'\n\nstages:\n");
    for (size_t i = 0; i < N_STAGES; i++) fprintf(f, "  %-18s %s\n", stages[i].name, stages[i].what);
}

static void print_result(const bench_stage *s, const bench_ctx *ctx, const bench_result *r, int json)
{
    double pct = ctx->peak_gflops > 0 && r->gflops > 0 ? 100.0 * r->gflops / ctx->peak_gflops : 0;
    double rss = r->rss_mb > 0 ? r->rss_mb : rss_mb();
    if (json) {
        printf("{\"stage\": \"%s\", \"ms_median\": %.3f, \"gflops\": %.2f, \"peak_pct\": %.1f, \"rss_mb\": %.1f",
               s->name, r->ms_median, r->gflops, pct, rss);
        if (r->gb_per_s > 0) printf(", \"gb_per_s\": %.2f", r->gb_per_s);
        if (r->extra_name) printf(", \"%s\": %.3f", r->extra_name, r->extra);
        printf("}\n");
    } else {
        printf("%-18s %10.3f ms %9.2f GFLOP/s %6.1f %% peak %8.2f GB/s %8.1f MB RSS  %s\n", s->name,
               r->ms_median, r->gflops, pct, r->gb_per_s, rss, r->note ? r->note : "");
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    unprompt_blas_reexec(argv);
    bench_ctx ctx = {9, 0, 0, NULL};
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
        while (i < N_STAGES && fnmatch(wanted[k], stages[i].name, 0)) i++;
        if (i == N_STAGES) {
            fprintf(stderr, "bench: unknown stage '%s'\n", wanted[k]);
            return 2;
        }
    }
    ctx.threads = threads_set(ctx.threads);
    const char *better = unprompt_blas_core_forced_slow();
    if (better)
        fprintf(stderr, "bench: warning: OPENBLAS_CORETYPE=%s from the environment keeps OpenBLAS on kernels weaker "
                        "than this CPU runs (%s): sgemm_peak measures those, a fraction of the machine's peak, and "
                        "every %% of peak reads high. Unset it for the real peak.\n",
                getenv("OPENBLAS_CORETYPE"), better);
    int failed = 0, peak_needed = 0;
    for (size_t i = 0; i < N_STAGES; i++)
        for (int k = 0; k < n_wanted; k++) peak_needed |= stages[i].needs_peak && !fnmatch(wanted[k], stages[i].name, 0);
    for (size_t i = 0; i < N_STAGES; i++) {
        int selected = n_wanted == 0;
        for (int k = 0; k < n_wanted; k++) selected |= !fnmatch(wanted[k], stages[i].name, 0);
        /* GFLOP/s mean little without the peak: stage 0 (sgemm_peak) runs
         * first whenever an arithmetic stage is asked for. */
        if (!selected && !(i == 0 && peak_needed)) continue;
        bench_result r;
        memset(&r, 0, sizeof r);
        ctx.param = stages[i].param;
        if (stages[i].run(&ctx, &r)) {
            fprintf(stderr, "bench: stage %s failed\n", stages[i].name);
            failed = 1;
            continue;
        }
        if (selected) print_result(&stages[i], &ctx, &r, json);
    }
    return failed;
}
