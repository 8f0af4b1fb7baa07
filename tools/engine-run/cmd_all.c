/* engine-run all: one prompt per image = Interrogate CLIP (caption and
 * matches) followed by the DeepBooru tags, the combination users paste back
 * into the WebUI; or, with --prefer-metadata, the prompt stored in the file
 * when it has one (the models are then loaded only if some file has none).
 * The work is unprompt_all_*; this parses options, walks inputs, prints. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/cli_common.h"
#include "tools/engine-run/commands.h"

typedef struct {
    cli_common common;
    clip_cli_options clip;
    unprompt_all_run_params run; /* .clip copied from clip.run once parsed */
    const char *booru_model;
    char *booru_path;     /* resolved on first need */
    int setup_done, load_failed;
    pthread_mutex_t load_lock; /* workers load their models one at a time */
} all_options;

/* One worker's models, loaded on first need. */
typedef struct {
    all_options *o;
    unprompt_all *ctx;
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
            "options (those of `engine-run clip` and `engine-run booru`; defaults are the WebUI's):\n"
            "  --prefer-metadata     print the prompt stored in the file (PNG Info) when there\n"
            "                        is one, and interrogate only the files without\n"
            "  --json                {\"file\", \"prompt\", \"source\", \"clip\": {...}, \"booru\": {...}}\n"
            "                        per image; source is \"models\", or \"metadata\" (--prefer-metadata\n"
            "                        found a stored prompt; clip and booru are then null)\n"
            "  --ranks               print \"(match:0.123)\" and \"(tag:0.987)\"\n"
            "  --beams N             beam search with N beams (1: greedy)\n"
            "  --min-length N        caption length in tokens, prompt included (24)\n"
            "  --max-length N        (48; at most the BLIP model's positions)\n"
            "  --repetition-penalty P  (1: none)\n"
            "  --batch N             caption N images together (default 8; 1 to 64)\n"
            "  --workers N           run N groups at once, each with its own models (default 1)\n"
            "  --categories DIR      the *.txt lists (default: WEIGHTS/categories)\n"
            "  --dict-limit N        first N lines of each list (1500); 0 = all\n"
            "  --skip-categories a,b leave these lists out (each must name a list)\n"
            "  --threshold P         keep tags scoring at least P (0.5)\n"
            "  --sort alpha|score    order of the tags (alpha)\n"
            "  --underscores         keep underscores in tags\n"
            "  --no-escape           do not escape \\ ( ) in tags\n"
            "  --filter \"t1, t2\"     leave these tags out\n"
            "  --sidecar[=EXT]       write IMAGE.EXT (default .txt) next to each image; images\n"
            "                        whose sidecar exists are skipped\n"
            "  --overwrite           with --sidecar: redo and replace existing sidecars\n"
            "  -r, --recursive       descend into directories\n"
            CLI_BATCH_HELP
            "  --threads N           threads (default: all cores)\n"
            "  --weights DIR         model directory (see `engine-run weights`)\n"
            "  --clip-model FILE     (default DIR/clip.safetensors)\n"
            "  --blip-model FILE     (default DIR/blip.safetensors)\n"
            "  --booru-model FILE    (default DIR/deepdanbooru.safetensors)\n"
            "  -q, --quiet           no warnings, no summary line\n"
            "\n" CLI_CONVENTIONS_HELP
            "\n"
            "exit status: 0 all done, 1 some files failed, 2 usage or model missing.\n");
}

static int all_option(void *user, int argc, char **argv, int *i)
{
    all_options *o = user;
    const char *a = argv[*i];
    if (!strcmp(a, "--help")) return 2;
    int r = cli_common_option(&o->common, argc, argv, i);
    if (!r && !strcmp(a, "--ranks")) o->clip.run.include_ranks = o->run.booru.include_ranks = 1, r = 1;
    if (!r && !strcmp(a, "--prefer-metadata")) o->run.prefer_metadata = 1, r = 1;
    if (!r) r = clip_parse_option(&o->clip, &o->common, argc, argv, i);
    if (!r) r = booru_parse_option(&o->run.booru, &o->booru_model, &o->common, argc, argv, i);
    return r;
}

/* The set-up shared by the workers, once: model paths resolved and
 * checked; 0 or an exit status (reported). */
static int all_setup(all_options *o, int threads)
{
    int st = clip_cli_setup(&o->clip, &o->common, 1, 1, 1);
    if (!st && !(o->booru_path = cli_model_path(&o->common, o->booru_model, "deepdanbooru.safetensors"))) st = 2;
    if (!st) st = cli_check_model_kind(o->booru_path, "deepdanbooru", "--booru-model");
    o->clip.load.threads = threads;
    return st;
}

/* A worker's models, once; 0 or an exit status (reported once). */
static int all_load(all_worker *w)
{
    all_options *o = w->o;
    if (w->ctx) return 0;
    char err[512];
    int st = 0;
    pthread_mutex_lock(&o->load_lock);
    if (!o->setup_done) {
        o->setup_done = 1;
        o->load_failed = all_setup(o, cli_worker_threads(&o->common, o->clip.workers)) != 0;
    }
    st = o->load_failed ? 2 : 0;
    unprompt_all_params p = {.clip = o->clip.load, .booru_model = o->booru_path};
    if (!st && unprompt_all_load(&w->ctx, &p, err, sizeof err) != UNPROMPT_OK) {
        /* DeepBooru loads first: an unreadable file is its failure, with how to get it */
        if (access(o->booru_path, R_OK)) st = cli_model_missing(&o->common, o->booru_path, err);
        else msg("%s", err), st = 2;
        o->load_failed = 1;
    }
    if (!st && (st = clip_cli_check_loaded(&o->clip, unprompt_all_max_caption_length(w->ctx)))) o->load_failed = 1;
    pthread_mutex_unlock(&o->load_lock);
    return st;
}

/* What all prints for one result (malloc'd), NULL when out of memory. */
static char *result_text(const all_options *o, const unprompt_all_result *r, const char *path)
{
    return o->common.json ? unprompt_all_to_json(r, path) : strdup(r->prompt);
}

/* The read-ahead's look at a file: with --prefer-metadata, one that stores
 * a prompt is given it here (its metadata read only this once) and needs
 * no pixels. */
static int read_ahead(const void *ctx, batch_item *it)
{
    const all_options *o = ctx;
    unprompt_all_result r;
    char err[128];
    if (!o->run.prefer_metadata || unprompt_all_run_metadata(it->in.data, it->in.len, &r, err, sizeof err) != UNPROMPT_OK)
        return 1;
    if (!(it->text = result_text(o, &r, it->path))) batch_item_fail(it, "out of memory");
    unprompt_all_result_free(&r);
    return 0;
}

/* A group of decoded images: captioned together, then each one's tags; when
 * the group fails as a whole, image by image, so that only a bad image
 * fails. -1 when the models cannot be loaded. */
static int all_group(void *user, batch_item *items, size_t n)
{
    all_worker *w = user;
    if (!(n = batch_keep_decoded(items, n))) return 0; /* the rest, with pixels */
    if (all_load(w)) return -1;
    unprompt_rgb_image im[UNPROMPT_MAX_BATCH] = {{0}};
    unprompt_all_result res[UNPROMPT_MAX_BATCH];
    char err[256] = "";
    for (size_t i = 0; i < n; i++)
        im[i] = (unprompt_rgb_image){.rgb = items[i].rgb, .width = items[i].width, .height = items[i].height};
    if (unprompt_all_run_batch(w->ctx, im, n, &w->o->run, res, err, sizeof err) != UNPROMPT_OK) {
        if (n == 1) batch_item_fail(&items[0], err);
        for (size_t i = 0; n > 1 && i < n; i++) all_group(user, &items[i], 1);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(items[i].text = result_text(w->o, &res[i], items[i].path))) batch_item_fail(&items[i], "out of memory");
        unprompt_all_result_free(&res[i]);
    }
    return 0;
}

typedef struct {
    all_options *o;
    const input_list *inputs;
    batch_groups *g;
} all_job;

static int all_job_run(void *user)
{
    all_job *j = user;
    return batch_run_groups(&j->o->common.batch, j->inputs, j->g);
}

int cmd_all(int argc, char **argv)
{
    all_options o;
    memset(&o, 0, sizeof o);
    o.common.command = "all";
    clip_cli_init(&o.clip);
    o.run = unprompt_all_default_run_params();
    o.common.files = calloc((size_t)argc, sizeof *o.common.files);
    if (!o.common.files) return 2;
    pthread_mutex_init(&o.load_lock, NULL);
    int status = cli_parse_command(&o.common, argc, argv, all_option, &o);
    if (status < 0 || status == 3) all_usage(status < 0 ? stdout : stderr);
    if (status == 3) status = 2;
    o.common.out.json = o.common.json;
    o.run.clip = o.clip.run;
    if (!status && o.clip.run.max_length < o.clip.run.min_length) {
        msg("--max-length %d is below --min-length %d", o.clip.run.max_length, o.clip.run.min_length);
        status = 2;
    }
    all_worker workers[CLI_MAX_WORKERS];
    void *users[CLI_MAX_WORKERS];
    size_t n_workers = o.clip.workers;
    for (size_t k = 0; k < n_workers; k++) workers[k] = (all_worker){.o = &o, .ctx = NULL}, users[k] = &workers[k];
    for (size_t k = 0; !status && !o.run.prefer_metadata && k < n_workers; k++) status = all_load(&workers[k]);
    if (!status) {
        input_list inputs = {0};
        cli_collect_inputs(&o.common, &inputs);
        batch_groups g = {.group = o.clip.batch,
                          .workers = n_workers,
                          .decode = 1,
                          .read_ahead = read_ahead,
                          .read_ahead_ctx = &o,
                          .users = users,
                          .run = all_group,
                          .out = &o.common.out,
                          .json = o.common.json};
        all_job job = {&o, &inputs, &g};
        status = cli_with_output(&o.common, &inputs, all_job_run, &job);
        inputs_free(&inputs);
    }
    for (size_t k = 0; k < n_workers; k++) unprompt_all_free(workers[k].ctx);
    pthread_mutex_destroy(&o.load_lock);
    free(o.booru_path);
    clip_cli_free(&o.clip);
    free(o.common.files);
    return status < 0 ? 0 : status;
}
