/* engine-run all: one prompt per image = Interrogate CLIP (caption and
 * matches) followed by the DeepBooru tags, the combination users paste back
 * into the WebUI; or, with --prefer-metadata, the prompt stored in the file
 * when it has one (the models are then loaded only if some file has none). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/unprompt.h"
#include "format/buf.h"
#include "format/json.h"
#include "tools/engine-run/cli_common.h"
#include "tools/engine-run/commands.h"

typedef struct {
    cli_common common;
    clip_cli_options clip;
    unprompt_booru_params booru;
    const char *booru_model;
    int prefer_metadata;
    char *booru_path;     /* resolved on first need */
    int setup_done, load_failed;
    pthread_mutex_t load_lock; /* workers load their models one at a time */
} all_options;

/* One worker's models, loaded on first need. */
typedef struct {
    all_options *o;
    unprompt_clip *clip_ctx;
    unprompt_booru *booru_ctx;
} all_worker;

static void all_usage(FILE *f)
{
    fprintf(f,
            "usage: engine-run all [options] FILE|DIR|- ...\n"
            "\n"
            "One prompt per image: the CLIP interrogation (BLIP caption, then the best\n"
            "artist / flavor / medium / movement matches) followed by the DeepBooru tags,\n"
            "e.g. \"a girl with long hair, by Artgerm, anime, 1girl, long hair, smile\".\n"
            "\n"
            "options: every option of `engine-run clip` and `engine-run booru` (see their\n"
            "--help; --ranks applies to both), and\n"
            "  --prefer-metadata     print the prompt stored in the file (PNG Info) when there\n"
            "                        is one, and interrogate only the files without\n"
            "  --json                {\"file\", \"prompt\", \"clip\": {...}, \"booru\": {...}} per image\n"
            "                        (with --prefer-metadata and a stored prompt:\n"
            "                        {\"file\", \"prompt\", \"source\": \"metadata\"})\n"
            CLI_BATCH_HELP
            "  --sidecar[=EXT], --overwrite, -r, --threads N, --weights DIR,\n"
            "  --clip-model, --blip-model, --booru-model FILE, --categories DIR\n"
            "\n"
            "exit status: 0 all done, 1 some files failed, 2 usage or model missing.\n");
}

static int all_option(all_options *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 2;
    int r = cli_common_option(&o->common, argc, argv, i);
    if (!r && !strcmp(a, "--ranks")) o->clip.run.include_ranks = o->booru.include_ranks = 1, r = 1;
    if (!r && !strcmp(a, "--prefer-metadata")) o->prefer_metadata = 1, r = 1;
    if (!r) r = clip_parse_option(&o->clip, &o->common, argc, argv, i);
    if (!r) r = booru_parse_option(&o->booru, &o->booru_model, &o->common, argc, argv, i);
    if (r) return r;
    if (a[0] == '-' && a[1]) {
        fprintf(stderr, "engine-run all: unknown option '%s' (see --help)\n", a);
        return -1;
    }
    return 0;
}

/* A worker's two models, once; 0 or an exit status (reported once). */
static int all_load(all_worker *w)
{
    all_options *o = w->o;
    if (w->clip_ctx) return 0;
    char err[512];
    int threads = cli_worker_threads(&o->common, o->clip.workers), st = 0;
    pthread_mutex_lock(&o->load_lock);
    if (!o->setup_done) {
        o->setup_done = 1;
        st = clip_cli_setup(&o->clip, &o->common, 1, 1, 1);
        if (!st && !(o->booru_path = cli_model_path(&o->common, o->booru_model, "deepdanbooru.safetensors"))) st = 2;
        o->clip.load.threads = threads;
        o->load_failed = st != 0;
    }
    st = o->load_failed ? 2 : 0;
    if (!st && unprompt_booru_load(&w->booru_ctx, o->booru_path, threads, err, sizeof err) != UNPROMPT_OK)
        st = cli_model_missing(&o->common, o->booru_path, err);
    if (!st && unprompt_clip_load(&w->clip_ctx, &o->clip.load, err, sizeof err) != UNPROMPT_OK) {
        fprintf(stderr, "engine-run all: %s\n", err);
        st = 2;
    }
    if (st) {
        unprompt_booru_free(w->booru_ctx), unprompt_clip_free(w->clip_ctx);
        w->booru_ctx = NULL, w->clip_ctx = NULL;
        o->load_failed = 1;
    }
    pthread_mutex_unlock(&o->load_lock);
    return st;
}

/* The stored prompt, if the file has one (malloc'd), else NULL. */
static char *stored_prompt(const uint8_t *data, size_t len)
{
    unprompt_info info;
    char err[128];
    unprompt_info_params p = unprompt_info_default_params();
    if (unprompt_info_read(data, len, &p, &info, err, sizeof err) != UNPROMPT_OK) return NULL;
    char *prompt = info.prompt && info.prompt[0] ? strdup(info.prompt) : NULL;
    unprompt_info_free(&info);
    return prompt;
}

/* "{"file": null, REST" → "{REST": an object to nest. */
static const char *nested(const char *json)
{
    static const char head[] = "{\"file\": null, ";
    return json && !strncmp(json, head, sizeof head - 1) ? json + sizeof head - 2 : json;
}

static char *join_json(const char *file, const char *prompt, const char *clip_json, const char *booru_json)
{
    buf b;
    buf_init(&b, 0);
    int bad = buf_append_str(&b, "{\"file\": ", NULL) | json_write_string(&b, file, strlen(file), NULL) |
              buf_append_str(&b, ", \"prompt\": ", NULL) | json_write_string(&b, prompt, strlen(prompt), NULL);
    if (clip_json) {
        const char *c = nested(clip_json), *t = nested(booru_json);
        bad |= buf_append_str(&b, ", \"clip\": {", NULL) | buf_append_str(&b, c + 1, NULL) |
               buf_append_str(&b, ", \"booru\": {", NULL) | buf_append_str(&b, t + 1, NULL);
    } else {
        bad |= buf_append_str(&b, ", \"source\": \"metadata\"", NULL);
    }
    bad |= buf_append_str(&b, "}", NULL);
    if (bad) return buf_free(&b), NULL;
    return buf_take(&b);
}

/* The image's DeepBooru tags joined to its CLIP result: its output text
 * (malloc'd), NULL with err set. */
static char *with_tags(const all_worker *w, const batch_item *it, const unprompt_clip_result *cr, char *err, size_t cap)
{
    const all_options *o = w->o;
    unprompt_booru_result br;
    if (unprompt_booru_run_rgb(w->booru_ctx, it->rgb, it->width, it->height, &o->booru, &br, err, cap) != UNPROMPT_OK)
        return NULL;
    buf p;
    buf_init(&p, 0);
    int bad = buf_append_str(&p, cr->prompt, NULL);
    if (br.prompt && br.prompt[0]) bad |= buf_append_str(&p, ", ", NULL) | buf_append_str(&p, br.prompt, NULL);
    char *prompt = bad ? NULL : buf_take(&p), *out = NULL;
    if (bad) buf_free(&p);
    if (prompt && o->common.json) {
        char *cj = unprompt_clip_to_json(cr, NULL), *bj = unprompt_booru_to_json(&br, NULL);
        out = cj && bj ? join_json(it->path, prompt, cj, bj) : NULL;
        unprompt_string_free(cj), unprompt_string_free(bj);
        free(prompt);
    } else {
        out = prompt;
    }
    if (!out) snprintf(err, cap, "out of memory");
    unprompt_booru_result_free(&br);
    return out;
}

/* The read-ahead's question: with --prefer-metadata, a file with a stored
 * prompt needs no pixels. */
static int needs_pixels(const void *ctx, const uint8_t *data, size_t len)
{
    const all_options *o = ctx;
    char *stored = o->prefer_metadata ? stored_prompt(data, len) : NULL;
    free(stored);
    return stored == NULL;
}

/* With --prefer-metadata, give the images that carry a prompt their text. */
static void take_stored(const all_options *o, batch_item *items, size_t n)
{
    for (size_t i = 0; o->prefer_metadata && i < n; i++) {
        char *stored = stored_prompt(items[i].in.data, items[i].in.len);
        if (!stored) continue;
        items[i].text = o->common.json ? join_json(items[i].path, stored, NULL, NULL) : stored;
        if (items[i].text != stored) free(stored);
        if (!items[i].text) batch_item_fail(&items[i], "out of memory");
    }
}

/* A group: stored prompts first, then CLIP on the rest together, then each
 * one's tags. -1 when the models cannot be loaded. */
static int all_group(void *user, batch_item *items, size_t n)
{
    all_worker *w = user;
    take_stored(w->o, items, n);
    if (!(n = batch_keep_decoded(items, n))) return 0; /* the rest, with pixels */
    if (all_load(w)) return -1;
    unprompt_rgb_image im[UNPROMPT_MAX_BATCH] = {{0}};
    unprompt_clip_result cr[UNPROMPT_MAX_BATCH];
    char err[256] = "";
    for (size_t i = 0; i < n; i++) im[i] = (unprompt_rgb_image){items[i].rgb, items[i].width, items[i].height};
    if (unprompt_clip_run_batch(w->clip_ctx, im, n, &w->o->clip.run, cr, err, sizeof err) != UNPROMPT_OK) {
        if (n == 1) batch_item_fail(&items[0], err);
        for (size_t i = 0; n > 1 && i < n; i++) all_group(user, &items[i], 1); /* only a bad image fails */
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(items[i].text = with_tags(w, &items[i], &cr[i], items[i].err, sizeof items[i].err)))
            batch_item_fail(&items[i], items[i].err);
        unprompt_clip_result_free(&cr[i]);
    }
    return 0;
}

int cmd_all(int argc, char **argv)
{
    all_options o;
    memset(&o, 0, sizeof o);
    o.common.command = "all";
    clip_cli_init(&o.clip);
    o.booru = unprompt_booru_default_params();
    o.common.files = calloc((size_t)argc, sizeof *o.common.files);
    if (!o.common.files) return 2;
    pthread_mutex_init(&o.load_lock, NULL);
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        int r = all_option(&o, argc, argv, &i);
        if (r == 2) all_usage(stdout), status = -1;
        else if (r < 0) status = 2;
        else if (r == 0) o.common.files[o.common.n_files++] = argv[i];
    }
    if (!status && o.common.n_files == 0 && !o.common.from_list) all_usage(stderr), status = 2;
    all_worker workers[CLI_MAX_WORKERS];
    void *users[CLI_MAX_WORKERS];
    size_t n_workers = o.clip.workers;
    for (size_t k = 0; k < n_workers; k++) workers[k] = (all_worker){&o, NULL, NULL}, users[k] = &workers[k];
    for (size_t k = 0; !status && !o.prefer_metadata && k < n_workers; k++) status = all_load(&workers[k]);
    if (!status) {
        input_list inputs = {0};
        cli_collect_inputs(&o.common, &inputs);
        batch_groups g = {o.clip.batch, n_workers, 1, needs_pixels, &o, users, all_group, &o.common.out, o.common.json};
        status = batch_run_groups(&o.common.batch, &inputs, &g);
        inputs_free(&inputs);
    }
    for (size_t k = 0; k < n_workers; k++) unprompt_clip_free(workers[k].clip_ctx), unprompt_booru_free(workers[k].booru_ctx);
    pthread_mutex_destroy(&o.load_lock);
    free(o.booru_path);
    clip_cli_free(&o.clip);
    free(o.common.files);
    return status < 0 ? 0 : status;
}
