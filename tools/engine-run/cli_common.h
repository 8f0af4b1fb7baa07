/* Options every model command shares (booru, clip, all, …): input walking,
 * output destination, threads and where the weights are. */
#ifndef UNPROMPT_TOOLS_CLI_COMMON_H
#define UNPROMPT_TOOLS_CLI_COMMON_H

#include "tools/engine-run/batch.h"
#include "tools/engine-run/inputs.h"
#include "tools/engine-run/output.h"

typedef struct {
    const char *command; /* "booru", for messages */
    int recursive, quiet, json, threads;
    const char *weights_dir; /* --weights, else $UNPROMPT_WEIGHTS, else ./weights */
    output_options out;
    batch_options batch; /* --shard, --resume, the progress line */
    const char *from_list; /* --from-list FILE|-: more inputs, one path per line */
    char **files; /* the non-option arguments */
    int n_files;
} cli_common;

/* Parse one shared option at argv[*i]; returns 1 consumed, 0 not a shared
 * option, -1 usage error (reported). */
int cli_common_option(cli_common *c, int argc, char **argv, int *i);
/* The value of an option that takes one (advances *i), or NULL (reported). */
const char *cli_option_value(const cli_common *c, int argc, char **argv, int *i);
/* Model file: `override` if given, else <weights dir>/<name> (malloc'd). */
char *cli_model_path(const cli_common *c, const char *override, const char *name);
/* Set-up error for a missing model, with how to get it; returns 2. */
int cli_model_missing(const cli_common *c, const char *path, const char *why);
/* Expand the files into `inputs` (this shard's, less those already done
 * with --resume); sets out.several and whether to show progress. */
void cli_collect_inputs(cli_common *c, input_list *inputs);

/* The DeepBooru options (booru and all share them; --ranks is left to the
 * caller): 1 consumed, 0 not one of them, -1 usage error (reported). */
#include "engine/api/unprompt.h"
int booru_parse_option(unprompt_booru_params *p, const char **model, const cli_common *c, int argc, char **argv,
                       int *i);

/* The CLIP interrogation options (clip, caption, embed, all): models,
 * lists, caption settings; --ranks is left to the caller. */
typedef struct {
    unprompt_clip_run_params run;
    unprompt_clip_params load;
    const char *clip_model, *blip_model, *categories; /* as given */
    char *clip_path, *blip_path, *lists_path;         /* resolved by clip_cli_setup */
    size_t batch;                                     /* --batch: images captioned together */
    size_t workers;                                   /* --workers: groups run at once */
} clip_cli_options;

/* 8: on the 2-core test VM, `all` over 32 images with two workers took 6–8 %
 * less CPU time than with 4 (greedy decoding reads the decoder's weights
 * once per step for the group); a lone image costs nothing more. */
#define CLI_DEFAULT_BATCH 8
#define CLI_MAX_WORKERS 16

/* Threads for each of `workers` contexts: --threads (or every core) shared
 * out, at least 1 each. */
int cli_worker_threads(const cli_common *c, size_t workers);

void clip_cli_init(clip_cli_options *o);
int clip_parse_option(clip_cli_options *o, const cli_common *c, int argc, char **argv, int *i);
/* Resolve the model paths the command needs and check they exist; 0, or the
 * exit status of a set-up error (reported, with how to get the weights). */
int clip_cli_setup(clip_cli_options *o, const cli_common *c, int need_clip, int need_blip, int need_lists);
void clip_cli_free(clip_cli_options *o);
/* A progress bar on stderr when it is a terminal. */
void show_progress(void *user, const char *what, size_t done, size_t total);

/* The options of batch runs, for the commands' --help. */
#define CLI_BATCH_HELP                                                                        \
    "  --shard K/N           process the K-th of N disjoint parts of the inputs (by a hash of\n" \
    "                        the path): N processes or machines split a dataset\n"             \
    "  --resume              skip images whose sidecar already exists\n"                     \
    "  --from-list FILE      also read input paths from FILE, one per line (- : stdin)\n"    \
    "  --jsonl               the same as --json (one JSON object per line)\n"

#endif
