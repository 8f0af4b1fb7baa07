/* CLIP ViT-L/14 stages on random weights of the real size: the image tower
 * on one 224² image, and the text tower per phrase (a batch of phrases of
 * typical category-list length, stacked as the ranking cache encodes them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/random_model.h"
#include "engine/models/clip/categories.h"
#include "engine/models/clip/clip.h"
#include "engine/text/clip_tokenizer.h"
#include "engine/api/unprompt.h"
#include "base/buf.h"
#include "format/png.h"

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

/* ---- clip_lists: the one-off encoding of the four default category lists ---- */

/* The real lists and BPE merges from $UNPROMPT_SHARED/data (else
 * ../shared/data); -1 when they are absent. */
static int read_shared(const char *name, char **text, size_t *len)
{
    const char *dir = getenv("UNPROMPT_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/%s", dir ? dir : "../shared", name);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    buf b;
    buf_init(&b, 0);
    char chunk[65536];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(chunk, 1, sizeof chunk, f)) > 0) bad = buf_append(&b, chunk, n, NULL);
    fclose(f);
    if (bad) return buf_free(&b), -1;
    *len = b.len;
    *text = buf_take(&b);
    return *text ? 0 : -1;
}

static int real_tokenizer(clip_tokenizer **tok)
{
    char *gz = NULL, *text = NULL;
    size_t len = 0;
    fmt_error err;
    if (read_shared("bpe_simple_vocab_16e6.txt.gz", &gz, &len)) return -1;
    int rc = inflate_bounded((const uint8_t *)gz, len, 8u << 20, 1, &text, &len, &err);
    free(gz);
    const char *start;
    size_t n;
    if (!rc) rc = clip_bpe_merges_from_vocab(text, len, &start, &n, &err) || clip_tokenizer_load(tok, start, n, &err);
    free(text);
    return rc ? -1 : 0;
}

typedef struct {
    clip_model *m;
    clip_tokenizer *tok;
    category lists[4];
    size_t phrases, tokens;
} lists_run;

static void run_lists(void *p)
{
    lists_run *r = p;
    enum { CHUNK = 256 };
    static int ids[CHUNK][77];
    static const int *rows[CHUNK];
    static size_t lens[CHUNK];
    float *features = malloc((size_t)CHUNK * (size_t)r->m->config.embed_dim * sizeof *features);
    r->phrases = r->tokens = 0;
    for (int l = 0; features && l < 4; l++)
        for (size_t first = 0; first < r->lists[l].n_items; first += CHUNK) {
            size_t n = r->lists[l].n_items - first < CHUNK ? r->lists[l].n_items - first : CHUNK;
            for (size_t i = 0; i < n; i++) {
                rows[i] = ids[i];
                clip_tokenize(r->tok, r->lists[l].items[first + i], ids[i], 77, &lens[i]);
                r->tokens += lens[i];
            }
            clip_encode_text(r->m, rows, lens, n, features);
            r->phrases += n;
        }
    free(features);
}

int stage_clip_lists(bench_ctx *ctx, bench_result *r)
{
    static const char *const names[4] = {"artists.txt", "flavors.txt", "mediums.txt", "movements.txt"};
    lists_run run;
    memset(&run, 0, sizeof run);
    if (real_tokenizer(&run.tok)) {
        fprintf(stderr, "bench: clip_lists needs ../shared/data (the lists and BPE merges); skipped\n");
        return -1;
    }
    int rc = 0;
    for (int l = 0; l < 4 && !rc; l++) {
        char *text = NULL;
        size_t len = 0;
        fmt_error err;
        rc = read_shared(names[l], &text, &len) || categories_parse(&run.lists[l], text, len, 1500, &err);
        free(text);
    }
    clip_bench b;
    if (!rc && !clip_bench_open(&b, ctx, "F32")) {
        run.m = &b.m;
        int iters = ctx->iters < 3 ? ctx->iters : 3; /* each is ~10 s */
        r->ms_median = bench_median_ms(iters, run_lists, &run);
        double flops = 0;
        r->gflops = 0;
        static char note[128];
        flops = clip_text_flops(&b.m, run.tokens / (run.phrases ? run.phrases : 1)) * (double)run.phrases;
        r->gflops = flops / (r->ms_median * 1e6);
        snprintf(note, sizeof note, "%zu phrases, %.1f tokens each on average, %.2f ms/phrase", run.phrases,
                 (double)run.tokens / (double)(run.phrases ? run.phrases : 1), r->ms_median / (double)run.phrases);
        r->note = note;
        clip_bench_close(&b);
    } else {
        rc = -1;
    }
    for (int l = 0; l < 4; l++) free(run.lists[l].items), free(run.lists[l].text);
    clip_tokenizer_free(run.tok);
    return rc;
}

/* ---- e2e_clip: `engine-run clip` on one image through the public API ---- */

typedef struct {
    unprompt_clip *ctx;
    const uint8_t *png;
    size_t len;
    int failed;
} e2e_clip_run;

static void run_e2e_clip(void *p)
{
    e2e_clip_run *r = p;
    unprompt_clip_result res;
    char err[256];
    if (unprompt_clip_run(r->ctx, r->png, r->len, NULL, &res, err, sizeof err) != UNPROMPT_OK) r->failed = 1;
    else unprompt_clip_result_free(&res);
}

/* Four lists of 250 made-up phrases (the ranking itself is a few dot
 * products; the lists' embeddings are cached before timing). */
static int write_lists(const char *dir)
{
    static const char *const names[4] = {"artists", "flavors", "mediums", "movements"};
    for (int l = 0; l < 4; l++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.txt", dir, names[l]);
        FILE *f = fopen(path, "w");
        if (!f) return -1;
        for (int i = 0; i < 250; i++) fprintf(f, "%s %c%c phrase %d\n", names[l], 'a' + i % 26, 'a' + i / 26, i);
        fclose(f);
    }
    return 0;
}

int bench_write_models(const char *dir, int booru, const char *dtype)
{
    char clip_path[256], blip_path[256], dd_path[256], lists[256];
    snprintf(clip_path, sizeof clip_path, "%s/clip.safetensors", dir);
    snprintf(blip_path, sizeof blip_path, "%s/blip.safetensors", dir);
    snprintf(dd_path, sizeof dd_path, "%s/deepdanbooru.safetensors", dir);
    snprintf(lists, sizeof lists, "%s/categories", dir);
    random_model rc = {NULL, 0}, rb = {NULL, 0}, rd = {NULL, 0};
    int bad = mkdir(dir, 0700) || mkdir(lists, 0700) || write_lists(lists) ||
              random_clip(&rc, &random_clip_vit_l14, dtype) || random_model_save(&rc, clip_path) ||
              random_blip(&rb, dtype) || random_model_save(&rb, blip_path) ||
              (booru && (random_deepdanbooru(&rd, 1, 9176, dtype) || random_model_save(&rd, dd_path)));
    random_model_free(&rc), random_model_free(&rb), random_model_free(&rd);
    return bad ? -1 : 0;
}

typedef struct {
    e2e_clip_run clip;
    unprompt_booru *booru;
} e2e_all_run;

static void run_e2e_all(void *p)
{
    e2e_all_run *r = p;
    run_e2e_clip(&r->clip);
    unprompt_booru_result res;
    char err[256];
    if (unprompt_booru_run(r->booru, r->clip.png, r->clip.len, NULL, &res, err, sizeof err) != UNPROMPT_OK)
        r->clip.failed = 1;
    else unprompt_booru_result_free(&res);
}

/* e2e_clip, and with booru: e2e_all (what `engine-run all` does per image),
 * on models of dtype "F32" or "BF16". */
static int stage_e2e(bench_ctx *ctx, bench_result *r, int booru, const char *dtype, int jpeg)
{
    char dir[128], path[256], cmd[300], err[512];
    snprintf(dir, sizeof dir, "/tmp/unprompt-bench-e2e-%ld", (long)getpid());
    int rcode = bench_write_models(dir, booru, dtype);
    unprompt_clip_params p = unprompt_clip_default_params();
    char clip_path[256], blip_path[256], lists[256];
    snprintf(clip_path, sizeof clip_path, "%s/clip.safetensors", dir);
    snprintf(blip_path, sizeof blip_path, "%s/blip.safetensors", dir);
    snprintf(lists, sizeof lists, "%s/categories", dir);
    p.clip_model = clip_path, p.blip_model = blip_path, p.categories_dir = lists, p.threads = ctx->threads;
    e2e_all_run run = {{NULL, NULL, 0, 0}, NULL};
    buf png;
    buf_init(&png, 0);
    if (!rcode && unprompt_clip_load(&run.clip.ctx, &p, err, sizeof err) != UNPROMPT_OK) {
        fprintf(stderr, "bench: e2e: %s\n", err);
        rcode = -1;
    }
    snprintf(path, sizeof path, "%s/deepdanbooru.safetensors", dir);
    if (!rcode && booru && unprompt_booru_load(&run.booru, path, ctx->threads, err, sizeof err) != UNPROMPT_OK) {
        fprintf(stderr, "bench: e2e_all: %s\n", err);
        rcode = -1;
    }
    if (!rcode && !(jpeg ? bench_make_jpeg(&png, 768, 1152, 1) : bench_make_png(&png))) {
        run.clip.png = (const uint8_t *)png.data, run.clip.len = png.len;
        r->ms_median = bench_median_ms(ctx->iters, booru ? run_e2e_all : run_e2e_clip, booru ? (void *)&run : (void *)&run.clip);
        r->note = jpeg    ? "768x1152 JPEG: clip (48-token greedy caption, warm label cache) + booru"
                  : booru ? "768x1152 PNG: clip (48-token greedy caption, warm label cache) + booru"
                        : "768x1152 PNG, greedy caption of 48 tokens (min 24), 4 lists, label cache warm";
        rcode = run.clip.failed ? -1 : 0;
    } else {
        rcode = -1;
    }
    buf_free(&png);
    unprompt_clip_free(run.clip.ctx);
    unprompt_booru_free(run.booru);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "bench: could not remove %s\n", dir);
    return rcode;
}

int stage_e2e_clip(bench_ctx *ctx, bench_result *r) { return stage_e2e(ctx, r, 0, "F32", 0); }
int stage_e2e_all(bench_ctx *ctx, bench_result *r) { return stage_e2e(ctx, r, 1, "F32", 0); }
int stage_e2e_all_jpeg(bench_ctx *ctx, bench_result *r) { return stage_e2e(ctx, r, 1, "F32", 1); }
int stage_e2e_all_bf16(bench_ctx *ctx, bench_result *r) { return stage_e2e(ctx, r, 1, "BF16", 0); }
