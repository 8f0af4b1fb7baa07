/* engine-run booru: Interrogate DeepBooru from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/cli_common.h"
#include "tools/engine-run/commands.h"

typedef struct {
    cli_common common;
    unprompt_booru_params params;
    const char *model;
    size_t workers; /* models run at once, each on its own thread (--workers) */
} booru_options;

static void booru_usage(FILE *f)
{
    fprintf(f,
            "usage: engine-run booru [options] FILE|DIR|- ...\n"
            "\n"
            "Tag images with DeepDanbooru, as the WebUI's \"Interrogate DeepBooru\" does:\n"
            "one line of Danbooru tags per image, e.g. \"1girl, long hair, smile, solo\".\n"
            "\n"
            "options (defaults are the WebUI's):\n"
            "  --threshold P         keep tags scoring at least P (0.5); 0 lists every tag\n"
            "  --sort alpha|score    order of the tags (alpha)\n"
            "  --underscores         keep underscores (\"short_hair\"); default: spaces\n"
            "  --no-escape           do not escape \\ ( ) with a backslash\n"
            "  --filter \"t1, t2\"     leave these tags out\n"
            "  --ranks               print \"(tag:0.987)\"\n"
            "  --json                one JSON object per image: file, prompt, tags [{tag, score}]\n"
            "  --sidecar[=EXT]       write IMAGE.EXT (default .txt) next to each image; images\n"
            "                        whose sidecar exists are skipped\n"
            "  --overwrite           with --sidecar: redo and replace existing sidecars\n"
            "  -r, --recursive       descend into directories\n" CLI_BATCH_HELP
            "  --threads N           threads (default: all cores)\n"
            "  --workers N           tag N images at once, each with its own model and threads/N\n"
            "                        threads (default 1); the next images are read and decoded\n"
            "                        while the current ones are tagged either way\n"
            "  --weights DIR         model directory (see `engine-run weights` for the search)\n"
            "  --booru-model FILE    the converted model (default DIR/deepdanbooru.safetensors)\n"
            "  -q, --quiet           no warnings, no summary line\n"
            "\n" CLI_CONVENTIONS_HELP
            "\n"
            "exit status: 0 all tagged, 1 some files failed, 2 usage or model missing.\n"
            "\n"
            "examples:\n"
            "  engine-run booru picture.png\n"
            "  engine-run booru --sidecar -r dataset/        # dataset/img.png -> dataset/img.txt\n");
}

int booru_parse_option(unprompt_booru_params *p, const char **model, const cli_common *c, int argc, char **argv,
                       int *i)
{
    const char *a = argv[*i], *v;
    if (!strcmp(a, "--underscores")) p->use_spaces = 0;
    else if (!strcmp(a, "--no-escape")) p->use_escape = 0;
    else if (!strcmp(a, "--threshold")) {
        char *end;
        if (!(v = cli_option_value(c, argc, argv, i))) return -1;
        double t = strtod(v, &end);
        if (*end || !(t >= 0 && t <= 1)) {
            msg("--threshold takes a number in [0, 1]");
            return -1;
        }
        p->threshold = (float)t;
    } else if (!strcmp(a, "--sort")) {
        if (!(v = cli_option_value(c, argc, argv, i))) return -1;
        if (!strcmp(v, "alpha")) p->sort_by_score = 0;
        else if (!strcmp(v, "score")) p->sort_by_score = 1;
        else {
            msg("--sort takes alpha or score");
            return -1;
        }
    } else if (!strcmp(a, "--filter")) {
        if (!(p->filter = cli_option_value(c, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--booru-model")) {
        if (!(*model = cli_option_value(c, argc, argv, i))) return -1;
    } else {
        return 0;
    }
    return 1;
}

/* Returns 1 consumed, 0 not an option of booru, -1 usage error, 2 help. */
static int booru_option(void *user, int argc, char **argv, int *i)
{
    booru_options *o = user;
    const char *a = argv[*i];
    if (!strcmp(a, "--help")) return 2;
    int r = cli_common_option(&o->common, argc, argv, i);
    if (!r && !strcmp(a, "--ranks")) o->params.include_ranks = 1, r = 1;
    if (!r && !strcmp(a, "--workers")) {
        const char *v = cli_option_value(&o->common, argc, argv, i);
        char *end = NULL;
        long n = v ? strtol(v, &end, 10) : 0;
        if (!v || *end || n < 1 || n > CLI_MAX_WORKERS) {
            if (v) msg("--workers takes 1 to %d", CLI_MAX_WORKERS);
            return -1;
        }
        o->workers = (size_t)n;
        return 1;
    }
    if (!r) r = booru_parse_option(&o->params, &o->model, &o->common, argc, argv, i);
    return r;
}

typedef struct {
    const booru_options *o;
    unprompt_booru *model;
} booru_run;

/* A group of decoded images, one after the other on this worker's model. */
static int booru_group(void *user, batch_item *items, size_t n)
{
    const booru_options *o = ((booru_run *)user)->o;
    unprompt_booru *model = ((booru_run *)user)->model;
    n = batch_keep_decoded(items, n);
    for (size_t i = 0; i < n; i++) {
        batch_item *it = &items[i];
        unprompt_booru_result res;
        if (unprompt_booru_run_rgb(model, it->rgb, it->width, it->height, &o->params, &res, it->err, sizeof it->err) !=
            UNPROMPT_OK) {
            batch_item_fail(it, it->err);
            continue;
        }
        it->text = o->common.json ? unprompt_booru_to_json(&res, it->path) : strdup(res.prompt);
        if (!it->text) batch_item_fail(it, "out of memory");
        unprompt_booru_result_free(&res);
    }
    return 0;
}

typedef struct {
    booru_options *o;
    const input_list *inputs;
    batch_groups *g;
} booru_job;

static int booru_job_run(void *user)
{
    booru_job *j = user;
    return batch_run_groups(&j->o->common.batch, j->inputs, j->g);
}

/* Load a model per worker; 0 or the exit status (reported). */
static int booru_load(booru_options *o, unprompt_booru **model)
{
    char *path = cli_model_path(&o->common, o->model, "deepdanbooru.safetensors");
    char err[256];
    int status = cli_check_model_kind(path, "deepdanbooru", "--booru-model");
    int threads = cli_worker_threads(&o->common, o->workers);
    for (size_t w = 0; !status && w < o->workers; w++)
        if (!path || unprompt_booru_load(&model[w], path, threads, err, sizeof err) != UNPROMPT_OK)
            status = cli_model_missing(&o->common, path ? path : "?", path ? err : "out of memory");
    free(path);
    return status;
}

int cmd_booru(int argc, char **argv)
{
    booru_options o;
    memset(&o, 0, sizeof o);
    o.common.command = "booru";
    o.params = unprompt_booru_default_params();
    o.workers = 1;
    o.common.files = calloc((size_t)argc, sizeof *o.common.files);
    if (!o.common.files) return 2;
    int status = cli_parse_command(&o.common, argc, argv, booru_option, &o);
    if (status < 0 || status == 3) booru_usage(status < 0 ? stdout : stderr);
    o.common.out.json = o.common.json;
    unprompt_booru *model[CLI_MAX_WORKERS] = {NULL};
    if (!status) status = booru_load(&o, model);
    if (status) {
        for (size_t w = 0; w < o.workers; w++) unprompt_booru_free(model[w]);
        free(o.common.files);
        return status < 0 ? 0 : status == 3 ? 2 : status;
    }
    input_list inputs = {0};
    cli_collect_inputs(&o.common, &inputs);
    booru_run run[CLI_MAX_WORKERS];
    void *users[CLI_MAX_WORKERS];
    for (size_t w = 0; w < o.workers; w++) run[w] = (booru_run){&o, model[w]}, users[w] = &run[w];
    /* groups of one: DeepDanbooru takes one image at a time; the runner
     * still reads and decodes ahead of the workers */
    batch_groups g = {.group = 1,
                      .workers = o.workers,
                      .decode = 1,
                      .users = users,
                      .run = booru_group,
                      .out = &o.common.out,
                      .json = o.common.json};
    booru_job job = {&o, &inputs, &g};
    status = cli_with_output(&o.common, &inputs, booru_job_run, &job);
    inputs_free(&inputs);
    for (size_t w = 0; w < o.workers; w++) unprompt_booru_free(model[w]);
    free(o.common.files);
    return status;
}
