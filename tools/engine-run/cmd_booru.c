/* engine-run booru: Interrogate DeepBooru from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/unprompt.h"
#include "tools/engine-run/cli_common.h"
#include "tools/engine-run/commands.h"

typedef struct {
    cli_common common;
    unprompt_booru_params params;
    const char *model;
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
            "  --sidecar[=EXT]       write IMAGE.EXT (default .txt) next to each image\n"
            "  --overwrite           replace existing sidecar files\n"
            "  -r, --recursive       descend into directories\n" CLI_BATCH_HELP
            "  --threads N           threads (default: all cores)\n"
            "  --weights DIR         model directory (default $UNPROMPT_WEIGHTS, then ./weights)\n"
            "  --booru-model FILE    the converted model (default DIR/deepdanbooru.safetensors)\n"
            "  -q, --quiet           no warnings\n"
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
            fprintf(stderr, "engine-run %s: --threshold takes a number in [0, 1]\n", c->command);
            return -1;
        }
        p->threshold = (float)t;
    } else if (!strcmp(a, "--sort")) {
        if (!(v = cli_option_value(c, argc, argv, i))) return -1;
        if (!strcmp(v, "alpha")) p->sort_by_score = 0;
        else if (!strcmp(v, "score")) p->sort_by_score = 1;
        else {
            fprintf(stderr, "engine-run %s: --sort takes alpha or score\n", c->command);
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

/* Returns 1 consumed, 0 file, -1 usage error, 2 help. */
static int booru_option(booru_options *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 2;
    int r = cli_common_option(&o->common, argc, argv, i);
    if (!r && !strcmp(a, "--ranks")) o->params.include_ranks = 1, r = 1;
    if (!r) r = booru_parse_option(&o->params, &o->model, &o->common, argc, argv, i);
    if (r) return r;
    if (a[0] == '-' && a[1]) {
        fprintf(stderr, "engine-run booru: unknown option '%s' (see --help)\n", a);
        return -1;
    }
    return 0;
}

typedef struct {
    const booru_options *o;
    unprompt_booru *model;
} booru_run;

static int booru_one(void *user, const char *path)
{
    const booru_options *o = ((booru_run *)user)->o;
    unprompt_booru *model = ((booru_run *)user)->model;
    input_bytes in;
    char err[256];
    if (input_open(path, &in, err, sizeof err)) {
        fprintf(stderr, "engine-run: %s: %s\n", path, err);
        return 1;
    }
    unprompt_booru_result res;
    int rc = unprompt_booru_run(model, in.data, in.len, &o->params, &res, err, sizeof err);
    input_close(&in);
    if (rc != UNPROMPT_OK) {
        fprintf(stderr, "engine-run: %s: %s\n", path, err);
        return 1;
    }
    char *json = o->common.json ? unprompt_booru_to_json(&res, path) : NULL;
    const char *text = o->common.json ? json : res.prompt;
    int status = 0;
    if (!text) {
        fprintf(stderr, "engine-run: %s: out of memory\n", path);
        status = 1;
    } else if (output_result(&o->common.out, path, text, o->common.json) < 0) {
        status = 1;
    }
    unprompt_string_free(json);
    unprompt_booru_result_free(&res);
    return status;
}

int cmd_booru(int argc, char **argv)
{
    booru_options o;
    memset(&o, 0, sizeof o);
    o.common.command = "booru";
    o.params = unprompt_booru_default_params();
    o.common.files = calloc((size_t)argc, sizeof *o.common.files);
    if (!o.common.files) return 2;
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        int r = booru_option(&o, argc, argv, &i);
        if (r == 2) booru_usage(stdout), status = -1;
        else if (r < 0) status = 2;
        else if (r == 0) o.common.files[o.common.n_files++] = argv[i];
    }
    if (!status && o.common.n_files == 0 && !o.common.from_list) booru_usage(stderr), status = 2;
    if (status) {
        free(o.common.files);
        return status < 0 ? 0 : status;
    }
    char *path = cli_model_path(&o.common, o.model, "deepdanbooru.safetensors");
    unprompt_booru *model = NULL;
    char err[256];
    if (!path || unprompt_booru_load(&model, path, o.common.threads, err, sizeof err) != UNPROMPT_OK) {
        status = cli_model_missing(&o.common, path ? path : "?", path ? err : "out of memory");
        free(path);
        free(o.common.files);
        return status;
    }
    free(path);
    input_list inputs = {0};
    cli_collect_inputs(&o.common, &inputs);
    booru_run run = {&o, model};
    status = batch_run(&o.common.batch, &inputs, booru_one, &run);
    inputs_free(&inputs);
    unprompt_booru_free(model);
    free(o.common.files);
    return status;
}
