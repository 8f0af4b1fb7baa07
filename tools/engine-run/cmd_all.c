/* engine-run all: one prompt per image = Interrogate CLIP (caption and
 * matches) followed by the DeepBooru tags, the combination users paste back
 * into the WebUI; or, with --prefer-metadata, the prompt stored in the file
 * when it has one (the models are then loaded only if some file has none). */
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
    /* loaded on first need */
    unprompt_clip *clip_ctx;
    unprompt_booru *booru_ctx;
    int load_failed;
} all_options;

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

/* Both models, once; 0 or an exit status (reported). */
static int all_load(all_options *o)
{
    if (o->clip_ctx) return 0;
    if (o->load_failed) return 2;
    char err[512];
    int st = clip_cli_setup(&o->clip, &o->common, 1, 1, 1);
    char *booru_path = st ? NULL : cli_model_path(&o->common, o->booru_model, "deepdanbooru.safetensors");
    if (!st && !booru_path) st = 2;
    if (!st && unprompt_booru_load(&o->booru_ctx, booru_path, o->common.threads, err, sizeof err) != UNPROMPT_OK)
        st = cli_model_missing(&o->common, booru_path, err);
    if (!st && unprompt_clip_load(&o->clip_ctx, &o->clip.load, err, sizeof err) != UNPROMPT_OK) {
        fprintf(stderr, "engine-run all: %s\n", err);
        st = 2;
    }
    free(booru_path);
    o->load_failed = st != 0;
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
static char *with_tags(all_options *o, const batch_item *it, const unprompt_clip_result *cr, char *err, size_t cap)
{
    unprompt_booru_result br;
    if (unprompt_booru_run_rgb(o->booru_ctx, it->rgb, it->width, it->height, &o->booru, &br, err, cap) != UNPROMPT_OK)
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

/* Print or write one image's text; 0, or 1 (reported). */
static int emit(const all_options *o, const char *path, char *text, const char *err)
{
    if (!text) {
        fprintf(stderr, "engine-run: %s: %s\n", path, err);
        return 1;
    }
    int status = output_result(&o->common.out, path, text, o->common.json) < 0;
    free(text);
    return status;
}

/* With --prefer-metadata, print the images that carry a prompt and move the
 * others to the front; returns how many are left to interrogate. */
static size_t take_stored(all_options *o, batch_item *items, size_t n, int *failed)
{
    size_t rest = 0;
    for (size_t i = 0; i < n; i++) {
        char *stored = o->prefer_metadata ? stored_prompt(items[i].in.data, items[i].in.len) : NULL;
        if (!stored) {
            batch_item t = items[rest];
            items[rest++] = items[i], items[i] = t;
            continue;
        }
        char *text = o->common.json ? join_json(items[i].path, stored, NULL, NULL) : stored;
        if (text != stored) free(stored);
        *failed += emit(o, items[i].path, text, "out of memory");
    }
    return rest;
}

/* A group: stored prompts first, then CLIP on the rest together, then each
 * one's tags. Returns the failures, or -1 when the models cannot be loaded. */
static int all_group(void *user, batch_item *items, size_t n)
{
    all_options *o = user;
    int failed = 0;
    n = take_stored(o, items, n, &failed);
    if (!(n = batch_keep_decoded(items, n, &failed))) return failed;
    if (all_load(o)) return -1;
    unprompt_rgb_image im[UNPROMPT_MAX_BATCH] = {{0}};
    unprompt_clip_result cr[UNPROMPT_MAX_BATCH];
    char err[256] = "";
    for (size_t i = 0; i < n; i++) im[i] = (unprompt_rgb_image){items[i].rgb, items[i].width, items[i].height};
    if (unprompt_clip_run_batch(o->clip_ctx, im, n, &o->clip.run, cr, err, sizeof err) != UNPROMPT_OK) {
        if (n == 1) return failed + emit(o, items[0].path, NULL, err);
        for (size_t i = 0; i < n; i++) failed += all_group(user, &items[i], 1); /* only a bad image fails */
        return failed;
    }
    for (size_t i = 0; i < n; i++) {
        char *text = with_tags(o, &items[i], &cr[i], err, sizeof err);
        failed += emit(o, items[i].path, text, err);
        unprompt_clip_result_free(&cr[i]);
    }
    return failed;
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
    int status = 0;
    for (int i = 1; i < argc && !status; i++) {
        int r = all_option(&o, argc, argv, &i);
        if (r == 2) all_usage(stdout), status = -1;
        else if (r < 0) status = 2;
        else if (r == 0) o.common.files[o.common.n_files++] = argv[i];
    }
    if (!status && o.common.n_files == 0 && !o.common.from_list) all_usage(stderr), status = 2;
    if (!status && !o.prefer_metadata) status = all_load(&o);
    if (!status) {
        input_list inputs = {0};
        cli_collect_inputs(&o.common, &inputs);
        status = batch_run_groups(&o.common.batch, &inputs, o.clip.batch, 1, all_group, &o);
        inputs_free(&inputs);
    }
    unprompt_clip_free(o.clip_ctx);
    unprompt_booru_free(o.booru_ctx);
    clip_cli_free(&o.clip);
    free(o.common.files);
    return status < 0 ? 0 : status;
}
