/* engine-run clip | caption | embed | embed-text: Interrogate CLIP and its
 * building blocks from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/cli_common.h"
#include "tools/engine-run/commands.h"

typedef enum { MODE_CLIP, MODE_CAPTION, MODE_EMBED, MODE_EMBED_TEXT } clip_mode;

typedef struct {
    cli_common common;
    clip_mode mode;
    clip_cli_options clip;
} clip_options;

static void clip_usage(FILE *f, clip_mode mode)
{
    static const char *const heads[] = {
        "usage: engine-run clip [options] FILE|DIR|- ...\n\n"
        "Interrogate CLIP, as the WebUI does: a BLIP caption followed by the best\n"
        "matches of the image among the category lists (artists, flavors, mediums,\n"
        "movements), e.g. \"a painting of a castle, by Albert Bierstadt, matte painting\".\n"
        "The lists' text embeddings are computed once and cached beside the weights.\n",
        "usage: engine-run caption [options] FILE|DIR|- ...\n\n"
        "The BLIP caption alone (the first part of `clip`).\n",
        "usage: engine-run embed [options] FILE|DIR|- ...\n\n"
        "L2-normalised CLIP image embeddings, one JSON object per image:\n"
        "{\"file\", \"embedding\": [...]}.\n",
        "usage: engine-run embed-text [options] TEXT ...\n\n"
        "L2-normalised CLIP text embeddings: {\"text\", \"tokens\", \"embedding\"} per text.\n"};
    fputs(heads[mode], f);
    fprintf(f, "\noptions (defaults are the WebUI's):\n");
    if (mode == MODE_CLIP || mode == MODE_CAPTION)
        fprintf(f, "  --beams N             beam search with N beams (1: greedy)\n"
                   "  --min-length N        caption length in tokens, prompt included (24)\n"
                   "  --max-length N        (48; at most the BLIP model's positions)\n"
                   "  --repetition-penalty P  (1: none)\n"
                   "  --batch N             caption N images together (default 8; 1 to 64): greedy\n"
                   "                        decoding reads the decoder's weights once per step for\n"
                   "                        all N; each image costs ~12 MB more memory\n"
                   "  --workers N           run N groups at once, each with its own models and\n"
                   "                        threads/N threads (default 1); on 2 cores, 2 workers\n"
                   "                        are ~10%% faster but hold the models' buffers twice;\n"
                   "                        groups are made equal so the workers end together\n");
    if (mode == MODE_CLIP)
        fprintf(f, "  --categories DIR      the *.txt lists (default: WEIGHTS/categories);\n"
                   "                        a list named NAME.topN.txt contributes N matches\n"
                   "  --dict-limit N        first N lines of each list (1500); 0 = all\n"
                   "  --skip-categories a,b leave these lists out (each must name a list)\n"
                   "  --ranks               print \"(match:0.123)\"\n");
    if (mode == MODE_EMBED)
        fprintf(f, "  --batch N             read N images ahead per group (default 8; 1 to 64)\n"
                   "  --workers N           run N groups at once, each with its own model (default 1)\n");
    if (mode != MODE_EMBED_TEXT)
        fprintf(f, "  --json                one JSON object per image\n"
                   "  --sidecar[=EXT]       write IMAGE.EXT (default .txt) next to each image; images\n"
                   "                        whose sidecar exists are skipped\n"
                   "  --overwrite           with --sidecar: redo and replace existing sidecars\n"
                   "  -r, --recursive       descend into directories\n" CLI_BATCH_HELP);
    else
        fprintf(f, "  -o, --output FILE     write the results to FILE (atomically) instead of stdout\n"
                   "  A TEXT of - reads texts from standard input, one a line (blank lines ignored).\n"
                   "  A text longer than CLIP's 77 tokens is cut there, with a warning.\n");
    fprintf(f, "  --threads N           threads (default: all cores)\n"
               "  --weights DIR         model directory (see `engine-run weights` for the search)\n");
    if (mode != MODE_CAPTION) fprintf(f, "  --clip-model FILE     (default DIR/clip.safetensors)\n");
    if (mode == MODE_CLIP || mode == MODE_CAPTION) fprintf(f, "  --blip-model FILE     (default DIR/blip.safetensors)\n");
    fprintf(f, "  -q, --quiet           no warnings, no summary line\n\n" CLI_CONVENTIONS_HELP);
    fprintf(f, "\nexit status: 0 all done, 1 some files failed, 2 usage or model missing.\n");
}


static int int_option(const cli_common *c, int argc, char **argv, int *i, int lo, int hi, int *out)
{
    const char *name = argv[*i], *v = cli_option_value(c, argc, argv, i);
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || n < lo || n > hi) {
        msg("%s takes an integer in [%d, %d]", name, lo, hi);
        return -1;
    }
    *out = (int)n;
    return 1;
}

void clip_cli_init(clip_cli_options *o)
{
    memset(o, 0, sizeof *o);
    o->run = unprompt_clip_default_run_params();
    o->load = unprompt_clip_default_params();
    o->load.progress = show_progress;
    o->batch = CLI_DEFAULT_BATCH, o->workers = 1;
}

int clip_parse_option(clip_cli_options *o, const cli_common *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    int n = 0, r;
    if (!strcmp(a, "--beams")) return int_option(c, argc, argv, i, 1, 64, &o->run.beams);
    if (!strcmp(a, "--batch")) {
        r = int_option(c, argc, argv, i, 1, UNPROMPT_MAX_BATCH, &n);
        o->batch = (size_t)n;
        return r;
    }
    if (!strcmp(a, "--workers")) {
        r = int_option(c, argc, argv, i, 1, CLI_MAX_WORKERS, &n);
        o->workers = (size_t)n;
        return r;
    }
    if (!strcmp(a, "--min-length")) return int_option(c, argc, argv, i, 0, 512, &o->run.min_length);
    if (!strcmp(a, "--max-length")) return int_option(c, argc, argv, i, 1, 512, &o->run.max_length);
    if (!strcmp(a, "--dict-limit")) {
        r = int_option(c, argc, argv, i, 0, 1 << 30, &n);
        o->load.dict_limit = (size_t)n;
        return r;
    }
    if (!strcmp(a, "--repetition-penalty")) {
        const char *v = cli_option_value(c, argc, argv, i);
        char *end;
        double p = v ? strtod(v, &end) : 0;
        if (!v || *end || !(p > 0 && p <= 100)) {
            msg("--repetition-penalty takes a number in (0, 100]");
            return -1;
        }
        o->run.repetition_penalty = (float)p;
        return 1;
    }
    const char **target = !strcmp(a, "--categories")        ? &o->categories
                          : !strcmp(a, "--skip-categories") ? &o->load.skip_categories
                          : !strcmp(a, "--clip-model")      ? &o->clip_model
                          : !strcmp(a, "--blip-model")      ? &o->blip_model
                                                            : NULL;
    if (target) return (*target = cli_option_value(c, argc, argv, i)) ? 1 : -1;
    return 0;
}

static int is_one_of(const char *a, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(a, *names)) return 1;
    return 0;
}

/* Does the option belong to this command (as its --help lists them)? */
static int option_fits(clip_mode mode, const char *a)
{
    static const char *const caption[] = {"--beams", "--min-length", "--max-length", "--repetition-penalty", NULL};
    static const char *const lists[] = {"--categories", "--dict-limit", "--skip-categories", "--ranks", NULL};
    static const char *const files[] = {"--json", "--jsonl", "--sidecar", "--overwrite", "--recursive", "--shard",
                                        "--resume", "--from-list", "--batch", "--workers", NULL};
    if (is_one_of(a, caption) || !strcmp(a, "--blip-model")) return mode == MODE_CLIP || mode == MODE_CAPTION;
    if (is_one_of(a, lists)) return mode == MODE_CLIP;
    if (is_one_of(a, files) || !strncmp(a, "--sidecar=", 10)) return mode != MODE_EMBED_TEXT;
    if (!strcmp(a, "--clip-model")) return mode != MODE_CAPTION;
    return 1;
}

/* Returns 1 consumed, 0 not an option of the command, -1 usage error, 2 help. */
static int clip_option(void *user, int argc, char **argv, int *i)
{
    clip_options *o = user;
    const char *a = argv[*i];
    if (!strcmp(a, "--help")) return 2;
    if (!option_fits(o->mode, a)) return 0;
    int r = cli_common_option(&o->common, argc, argv, i);
    if (!r && !strcmp(a, "--ranks")) o->clip.run.include_ranks = 1, r = 1;
    if (!r) r = clip_parse_option(&o->clip, &o->common, argc, argv, i);
    return r;
}

/* A progress bar on a terminal while the lists' embeddings are computed. */
void show_progress(void *user, const char *what, size_t done, size_t total)
{
    (void)user;
    if (!isatty(2)) return;
    int width = 30, filled = total ? (int)(width * done / total) : width;
    char line[160];
    snprintf(line, sizeof line, "encoding list %-16.16s [%.*s%*s] %zu/%zu", what, filled,
             "##############################", width - filled, "", done, total);
    progress_draw(line);
    if (done == total) progress_clear();
}

/* An image's embedding as JSON (malloc'd); NULL with err set. */
static char *embed_image(unprompt_clip *ctx, const input_bytes *in, const char *path, char *err, size_t cap)
{
    size_t dim = unprompt_clip_dim(ctx);
    float *f = malloc(dim * sizeof *f);
    char *out = NULL;
    if (f && unprompt_clip_embed_image(ctx, in->data, in->len, f, err, cap) == UNPROMPT_OK) out = unprompt_embedding_to_json(f, dim, path);
    else if (!f) snprintf(err, cap, "out of memory");
    free(f);
    return out;
}

/* What clip or caption prints for one result (malloc'd), NULL when out of memory. */
static char *result_text(const clip_options *o, const unprompt_clip_result *res, const char *path)
{
    if (o->mode == MODE_CAPTION) return o->common.json ? unprompt_caption_to_json(res, path) : strdup(res->caption);
    return o->common.json ? unprompt_clip_to_json(res, path) : strdup(res->prompt);
}

typedef struct {
    const clip_options *o;
    unprompt_clip *ctx;
} clip_run;

/* A group of images: captioned together; when the group fails as a whole,
 * image by image, so that only a bad image fails. Fills each item's text. */
static int clip_group(void *user, batch_item *items, size_t n)
{
    const clip_options *o = ((clip_run *)user)->o;
    unprompt_clip *ctx = ((clip_run *)user)->ctx;
    if (o->mode == MODE_EMBED) {
        for (size_t i = 0; i < n; i++)
            if (!(items[i].text = embed_image(ctx, &items[i].in, items[i].path, items[i].err, sizeof items[i].err)))
                batch_item_fail(&items[i], items[i].err);
        return 0;
    }
    if (!(n = batch_keep_decoded(items, n))) return 0;
    unprompt_rgb_image im[UNPROMPT_MAX_BATCH] = {{0}};
    unprompt_clip_result res[UNPROMPT_MAX_BATCH];
    char err[256] = "";
    for (size_t i = 0; i < n; i++) im[i] = (unprompt_rgb_image){items[i].rgb, items[i].width, items[i].height};
    if (unprompt_clip_run_batch(ctx, im, n, &o->clip.run, res, err, sizeof err) != UNPROMPT_OK) {
        if (n == 1) batch_item_fail(&items[0], err);
        for (size_t i = 0; n > 1 && i < n; i++) clip_group(user, &items[i], 1);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(items[i].text = result_text(o, &res[i], items[i].path))) batch_item_fail(&items[i], "out of memory");
        unprompt_clip_result_free(&res[i]);
    }
    return 0;
}

/* A text as messages name it: quoted, cut to 40 bytes. */
static void text_label(const char *text, char *out, size_t cap)
{
    size_t n = strlen(text);
    snprintf(out, cap, "\"%.*s%s\"", n > 40 ? 40 : (int)n, text, n > 40 ? "..." : "");
}

static int embed_text_one(const cli_common *c, unprompt_clip *ctx, const char *text)
{
    size_t dim = unprompt_clip_dim(ctx), n = 0, full = unprompt_clip_text_tokens(ctx, text);
    float *f = malloc(dim * sizeof *f);
    int tokens[UNPROMPT_CLIP_CONTEXT];
    char err[256], label[64];
    text_label(text, label, sizeof label);
    if (!f || unprompt_clip_embed_text(ctx, text, tokens, &n, f, err, sizeof err) != UNPROMPT_OK) {
        msg_file(label, "%s", f ? err : "out of memory");
        free(f);
        return 1;
    }
    if (full > UNPROMPT_CLIP_CONTEXT && !c->quiet)
        msg_file(label, "warning: %s%zu tokens; CLIP reads the first %d (start and end included), the rest is "
                 "cut", full >= UNPROMPT_CLIP_COUNT_MAX ? "at least " : "", full, UNPROMPT_CLIP_CONTEXT);
    char *json = unprompt_text_embedding_to_json(text, tokens, n, f, dim);
    free(f);
    FILE *out = c->out.stream ? c->out.stream : stdout;
    if (json) fprintf(out, "%s\n", json);
    unprompt_string_free(json);
    return !json;
}

/* embed-text's texts: the arguments, and for "-" each non-blank line of
 * standard input (a line at most 64 KiB). Returns the failures. */
static int embed_texts(const cli_common *c, unprompt_clip *ctx)
{
    int failed = 0;
    for (int i = 0; i < c->n_files; i++) {
        if (strcmp(c->files[i], "-")) {
            failed += embed_text_one(c, ctx, c->files[i]);
            continue;
        }
        static char line[65536 + 2];
        while (fgets(line, sizeof line, stdin)) {
            size_t n = strlen(line);
            if (n == sizeof line - 1 && line[n - 1] != '\n') {
                msg("-: a line longer than 64 KiB; skipped");
                for (int ch; (ch = getchar()) != EOF && ch != '\n';) {}
                failed++;
                continue;
            }
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
            if (line[strspn(line, " \t\v\f")]) failed += embed_text_one(c, ctx, line);
        }
    }
    return failed;
}

int clip_cli_setup(clip_cli_options *o, const cli_common *c, int need_clip, int need_blip, int need_lists)
{
    o->clip_path = need_clip ? cli_model_path(c, o->clip_model, "clip.safetensors") : NULL;
    o->blip_path = need_blip ? cli_model_path(c, o->blip_model, "blip.safetensors") : NULL;
    o->lists_path = need_lists ? cli_model_path(c, o->categories, "categories") : NULL;
    if ((need_clip && !o->clip_path) || (need_blip && !o->blip_path) || (need_lists && !o->lists_path)) return 2;
    if (need_blip && o->run.max_length < o->run.min_length) {
        msg("--max-length %d is below --min-length %d", o->run.max_length, o->run.min_length);
        return 2;
    }
    const char *missing = need_clip && access(o->clip_path, R_OK) ? o->clip_path
                          : need_blip && access(o->blip_path, R_OK) ? o->blip_path
                                                                    : NULL;
    if (missing) return cli_model_missing(c, missing, "no such file");
    if ((need_clip && cli_check_model_kind(o->clip_path, "clip", "--clip-model")) ||
        (need_blip && cli_check_model_kind(o->blip_path, "blip", "--blip-model")))
        return 2;
    if (need_lists && access(o->lists_path, R_OK)) {
        msg("no category lists at %s", o->lists_path);
        msg_more("  'make weights' fetches the four default lists into weights/categories;\n"
                 "  or give a folder of *.txt lists with --categories DIR.\n");
        return 2;
    }
    char why[512];
    if (need_lists && unprompt_clip_check_skip_categories(o->lists_path, o->load.skip_categories, why, sizeof why)) {
        msg("--skip-categories: %s", why);
        return 2;
    }
    o->load.clip_model = o->clip_path, o->load.blip_model = o->blip_path, o->load.categories_dir = o->lists_path;
    o->load.threads = c->threads;
    return 0;
}

int clip_cli_check_loaded(const clip_cli_options *o, int max_positions)
{
    if (max_positions > 0 && o->run.max_length > max_positions) {
        msg("--max-length %d is beyond the BLIP model's %d positions (prompt included)", o->run.max_length,
            max_positions);
        return 2;
    }
    return 0;
}

void clip_cli_free(clip_cli_options *o)
{
    free(o->clip_path), free(o->blip_path), free(o->lists_path);
    o->clip_path = o->blip_path = o->lists_path = NULL;
}

typedef struct {
    clip_options *o;
    unprompt_clip **ctx;
    size_t workers;
    const input_list *inputs;
} clip_job;

static int clip_job_run(void *user)
{
    clip_job *j = user;
    clip_options *o = j->o;
    if (o->mode == MODE_EMBED_TEXT) return embed_texts(&o->common, j->ctx[0]) ? 1 : 0;
    clip_run run[CLI_MAX_WORKERS];
    void *users[CLI_MAX_WORKERS];
    for (size_t w = 0; w < j->workers; w++) run[w] = (clip_run){o, j->ctx[w]}, users[w] = &run[w];
    batch_groups g = {.group = o->clip.batch,
                      .workers = j->workers,
                      .decode = o->mode != MODE_EMBED,
                      .users = users,
                      .run = clip_group,
                      .out = &o->common.out,
                      .json = o->common.json || o->mode == MODE_EMBED};
    return batch_run_groups(&o->common.batch, j->inputs, &g);
}

/* Load a context per worker; 0 or the exit status (reported). */
static int clip_load_all(clip_options *o, unprompt_clip **ctx, size_t workers)
{
    char err[512];
    o->clip.load.threads = cli_worker_threads(&o->common, workers);
    for (size_t w = 0; w < workers; w++)
        if (unprompt_clip_load(&ctx[w], &o->clip.load, err, sizeof err) != UNPROMPT_OK) {
            msg("%s", err);
            return 2;
        }
    int need_blip = o->mode == MODE_CLIP || o->mode == MODE_CAPTION;
    return need_blip ? clip_cli_check_loaded(&o->clip, unprompt_clip_max_caption_length(ctx[0])) : 0;
}

static int cmd_clip_mode(int argc, char **argv, clip_mode mode, const char *name)
{
    clip_options o;
    memset(&o, 0, sizeof o);
    o.common.command = name, o.mode = mode;
    clip_cli_init(&o.clip);
    o.common.files = calloc((size_t)argc, sizeof *o.common.files);
    if (!o.common.files) return 2;
    int status = cli_parse_command(&o.common, argc, argv, clip_option, &o);
    if (status < 0 || status == 3) clip_usage(status < 0 ? stdout : stderr, mode);
    if (status == 3) status = 2;
    o.common.out.json = o.common.json || mode == MODE_EMBED;
    if (!status) status = clip_cli_setup(&o.clip, &o.common, mode != MODE_CAPTION, mode == MODE_CLIP || mode == MODE_CAPTION,
                                         mode == MODE_CLIP);
    size_t workers = mode == MODE_EMBED_TEXT ? 1 : o.clip.workers;
    unprompt_clip *ctx[CLI_MAX_WORKERS] = {NULL};
    if (!status) status = clip_load_all(&o, ctx, workers);
    if (!status) {
        input_list inputs = {0};
        if (mode != MODE_EMBED_TEXT) cli_collect_inputs(&o.common, &inputs);
        clip_job job = {&o, ctx, workers, &inputs};
        status = cli_with_output(&o.common, &inputs, clip_job_run, &job);
        inputs_free(&inputs);
    }
    for (size_t w = 0; w < workers; w++) unprompt_clip_free(ctx[w]);
    clip_cli_free(&o.clip);
    free(o.common.files);
    return status < 0 ? 0 : status;
}

int cmd_clip(int argc, char **argv) { return cmd_clip_mode(argc, argv, MODE_CLIP, "clip"); }
int cmd_caption(int argc, char **argv) { return cmd_clip_mode(argc, argv, MODE_CAPTION, "caption"); }
int cmd_embed(int argc, char **argv) { return cmd_clip_mode(argc, argv, MODE_EMBED, "embed"); }
int cmd_embed_text(int argc, char **argv) { return cmd_clip_mode(argc, argv, MODE_EMBED_TEXT, "embed-text"); }
