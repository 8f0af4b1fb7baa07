/* batch_all: what a dataset run costs per image. engine-run itself (the
 * binary beside bench) runs `all` over a folder of 64 PNGs with the
 * real-size random models, --batch 8 (the default), --workers 2 (each with half the
 * threads) and the read-ahead of the next groups; one warm-up run on one
 * image fills the label cache first. One timed run: at ~2 s per
 * image it is long enough to be steady. Its peak RSS is engine-run's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "base/buf.h"

#define BATCH_IMAGES 64
#define BATCH_SIZE 8

/* engine-run beside this program, or NULL. */
static char *engine_run_path(void)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return NULL;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash) return NULL;
    *slash = 0;
    size_t len = strlen(self) + sizeof "/engine-run";
    char *path = malloc(len);
    if (path) snprintf(path, len, "%s/engine-run", self);
    if (path && access(path, X_OK)) free(path), path = NULL;
    return path;
}

static int write_images(const char *dir, const buf *png)
{
    if (mkdir(dir, 0700)) return -1;
    for (int i = 0; i < BATCH_IMAGES; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/image%02d.png", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f) return -1;
        int bad = fwrite(png->data, 1, png->len, f) != png->len;
        if (fclose(f) || bad) return -1;
    }
    return 0;
}

/* batch_all on models of dtype "F32" or "BF16". */
static int batch_all(bench_ctx *ctx, bench_result *r, const char *dtype)
{
    char dir[128], images[160], cmd[1024];
    snprintf(dir, sizeof dir, "/tmp/unprompt-bench-batch-%ld", (long)getpid());
    snprintf(images, sizeof images, "%s/images", dir);
    char *exe = engine_run_path();
    buf png;
    buf_init(&png, 0);
    int rc = exe ? 0 : -1;
    if (!exe) fprintf(stderr, "bench: batch_all needs engine-run beside bench\n");
    if (!rc) rc = bench_write_models(dir, 1, dtype) || bench_make_png(&png) || write_images(images, &png) ? -1 : 0;
    if (!rc) { /* warm-up: label cache, page cache */
        snprintf(cmd, sizeof cmd, "%s all -q --weights %s --threads %d %s/image00.png > /dev/null", exe, dir, ctx->threads,
                 images);
        rc = system(cmd) ? -1 : 0;
    }
    if (!rc) {
        int workers = ctx->threads >= 2 ? 2 : 1; /* two groups at once, threads shared out */
        snprintf(cmd, sizeof cmd, "%s all -q --jsonl --batch %d --workers %d --weights %s --threads %d %s > /dev/null",
                 exe, BATCH_SIZE, workers, dir, ctx->threads, images);
        double t0 = bench_now_ms();
        rc = system(cmd) ? -1 : 0;
        double ms = bench_now_ms() - t0;
        struct rusage ru; /* the largest engine-run this program waited for: the batch run */
        if (!getrusage(RUSAGE_CHILDREN, &ru)) r->rss_mb = ru.ru_maxrss / 1024.0;
        r->ms_median = ms / BATCH_IMAGES;
        r->extra = BATCH_IMAGES * 1000.0 / ms, r->extra_name = "images_per_s";
        r->note = strcmp(dtype, "F32") ? "per image (model loading included), --batch 8 --workers 2; compare e2e_all_bf16"
                                       : "per image (model loading included), --batch 8 --workers 2; compare e2e_all";
    }
    if (rc) fprintf(stderr, "bench: batch_all failed\n");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "bench: could not remove %s\n", dir);
    buf_free(&png);
    free(exe);
    return rc;
}

int stage_batch_all(bench_ctx *ctx, bench_result *r) { return batch_all(ctx, r, "F32"); }
int stage_batch_all_bf16(bench_ctx *ctx, bench_result *r) { return batch_all(ctx, r, "BF16"); }
