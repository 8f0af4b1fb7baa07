/* Options every model command shares (booru, clip, all, …): input walking,
 * output destination, threads and where the weights are. */
#ifndef UNPROMPT_TOOLS_CLI_COMMON_H
#define UNPROMPT_TOOLS_CLI_COMMON_H

#include "tools/engine-run/args.h"
#include "tools/engine-run/batch.h"
#include "tools/engine-run/msg.h"
#include "tools/engine-run/inputs.h"
#include "tools/engine-run/output.h"

typedef struct {
    const char *command; /* "booru", for messages */
    int recursive, quiet, json, threads;
    const char *weights_dir; /* --weights, else the search of weights_dirs.h */
    const char *output_path; /* -o FILE: the results go there (atomically), not to stdout */
    output_options out;
    batch_options batch; /* --shard, --resume, the progress line */
    const char *from_list; /* --from-list FILE|-: more inputs, one path per line */
    char **files; /* the non-option arguments */
    int n_files;
} cli_common;

/* Parse one shared option at argv[*i]; returns 1 consumed, 0 not a shared
 * option, -1 usage error (reported). */
int cli_common_option(cli_common *c, int argc, char **argv, int *i);
/* Parse a command line (args.h) into c->files and the options through
 * `handler`; 0 ok, -1 --help was asked (print it), 2 usage error (reported).
 * Also checks the shared options' combinations (--overwrite needs
 * --sidecar; -o and --sidecar exclude each other) and that there is an
 * input (else 3: print the usage to stderr, exit 2). */
int cli_parse_command(cli_common *c, int argc, char **argv, cli_option_handler handler, void *user);
/* Run `run(user)` with the results going where they should: with -o FILE
 * into FILE, written by the one atomic writer (all of it, or FILE left as
 * it was) and never over an input; else stdout. Returns run's status, or 1
 * when FILE cannot be written (reported). */
int cli_with_output(cli_common *c, const input_list *inputs, int (*run)(void *user), void *user);
/* The value of an option that takes one (advances *i), or NULL (reported). */
const char *cli_option_value(const cli_common *c, int argc, char **argv, int *i);
/* Model file: `override` if given, else <weights dir>/<name> (malloc'd). */
char *cli_model_path(const cli_common *c, const char *override, const char *name);
/* A converted model of another kind than `kind` at path ("clip",
 * "blip", "deepdanbooru"): names both and the option (reported), 2; else 0
 * (also when it is no converted model: loading says why). */
int cli_check_model_kind(const char *path, const char *kind, const char *option);
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
/* After loading: --max-length within the BLIP model's positions; 0 or 2 (reported). */
int clip_cli_check_loaded(const clip_cli_options *o, int max_positions);
/* A progress bar on stderr when it is a terminal. */
void show_progress(void *user, const char *what, size_t done, size_t total);

/* The options of batch runs, for the commands' --help. */
#define CLI_BATCH_HELP                                                                        \
    "  --shard K/N           process the K-th of N disjoint parts of the inputs (by a hash of\n" \
    "                        the path): N processes or machines split a dataset\n"             \
    "  --resume              also remove temporaries a killed run left (images whose\n"      \
    "                        sidecar exists are skipped anyway, unless --overwrite)\n"       \
    "  --from-list FILE      also read input paths from FILE, one per line (- : stdin;\n"    \
    "                        blank lines are ignored)\n"                                    \
    "  --jsonl               the same as --json (one JSON object per line)\n"               \
    "  -o, --output FILE     write the results to FILE (atomically) instead of stdout\n"

/* What every command that reads files says about messages and the summary. */
#define CLI_CONVENTIONS_HELP                                                                    \
    "Options may be given as --opt VALUE or --opt=VALUE, short flags bundled (-rq);\n"         \
    "-- ends the options. Messages on stderr read \"engine-run CMD: FILE: reason\".\n"        \
    "A run over several files ends with one line on stderr (not with -q):\n"                 \
    "\"engine-run CMD: N done, N failed, N skipped\"; with --json a failed file has a\n"     \
    "record {\"file\": ..., \"error\": ...}.\n"

#endif
