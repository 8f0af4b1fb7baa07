/* Shared options of the model commands. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/atomic.h"

#include "tools/engine-run/cli_common.h"
#include "tools/engine-run/weights_dirs.h"

const char *cli_option_value(const cli_common *c, int argc, char **argv, int *i)
{
    (void)c;
    if (*i + 1 >= argc) {
        msg("%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int sidecar_option(cli_common *c, const char *a)
{
    if (!strcmp(a, "--sidecar")) {
        c->out.sidecar_ext = ".txt";
        return 1;
    }
    if (strncmp(a, "--sidecar=", 10)) return 0;
    const char *why = a[10] ? sidecar_ext_problem(a + 10) : "is empty";
    if (why) {
        msg("%s: the extension %s", a, why);
        return -1;
    }
    c->out.sidecar_ext = a + 10;
    return 1;
}

int cli_common_option(cli_common *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    int r = sidecar_option(c, a);
    if (r) return r;
    if (!strcmp(a, "--json") || !strcmp(a, "--jsonl")) c->json = 1;
    else if (!strcmp(a, "--from-list")) {
        if (!(c->from_list = cli_option_value(c, argc, argv, i))) return -1;
    }
    else if (!strcmp(a, "--recursive")) c->recursive = 1;
    else if (!strcmp(a, "--quiet")) c->quiet = 1;
    else if (!strcmp(a, "--overwrite")) c->out.overwrite = 1;
    else if (!strcmp(a, "--shard") || !strcmp(a, "--resume")) return batch_option(&c->batch, c->command, argc, argv, i);
    else if (!strcmp(a, "--output")) {
        if (!(c->output_path = cli_option_value(c, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--weights")) {
        if (!(c->weights_dir = cli_option_value(c, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--threads")) {
        const char *v = cli_option_value(c, argc, argv, i);
        char *end;
        long n = v ? strtol(v, &end, 10) : -1;
        if (!v || *end || n < 0 || n > 1024) {
            msg("--threads takes 0..1024 (0 = all cores)");
            return -1;
        }
        c->threads = (int)n;
    } else {
        return 0;
    }
    return 1;
}

/* Combinations of the shared options that cannot be meant. */
static int check_combinations(const cli_common *c)
{
    const char *why = NULL;
    if (c->out.overwrite && !c->out.sidecar_ext)
        why = "--overwrite replaces sidecar files; it needs --sidecar (-o FILE is always replaced)";
    else if (c->output_path && c->out.sidecar_ext)
        why = "-o FILE and --sidecar both say where results go; give one";
    else if (c->out.overwrite && c->batch.resume)
        why = "--resume skips finished images and --overwrite redoes them; give one";
    if (why) msg("%s", why);
    return why ? 2 : 0;
}

int cli_parse_command(cli_common *c, int argc, char **argv, cli_option_handler handler, void *user)
{
    msg_set_command(c->command);
    int st = cli_parse(argc, argv, handler, user, c->files, &c->n_files);
    if (st == 1) return -1;
    if (st) return 2;
    if (c->n_files == 0 && !c->from_list) return 3;
    return check_combinations(c);
}

typedef struct {
    cli_common *c;
    const input_list *inputs;
    int (*run)(void *user);
    void *user;
    int status;
} output_job;

/* With --json, the records of the arguments that named nothing readable
 * (already reported on stderr), first among the results. */
static void input_failure_records(cli_common *c, const input_list *inputs)
{
    if (!c->out.json || !inputs) return;
    for (size_t i = 0; i < inputs->n_failures; i++)
        output_json_error(&c->out, inputs->failures[2 * i], inputs->failures[2 * i + 1]);
}

static int run_job(output_job *j)
{
    input_failure_records(j->c, j->inputs);
    return j->run(j->user);
}

static int write_results(FILE *out, void *user, fmt_error *err)
{
    output_job *j = user;
    j->c->out.stream = out;
    j->status = run_job(j);
    j->c->out.stream = NULL;
    if (ferror(out)) return fmt_fail(err, "write failed");
    return 0;
}

/* Is FILE one of the inputs (same file, by identity)? */
static int output_is_input(const char *path, const input_list *inputs)
{
    struct stat o, st;
    if (stat(path, &o) != 0) return 0;
    for (size_t i = 0; i < inputs->count; i++)
        if (strcmp(inputs->paths[i], "-") && stat(inputs->paths[i], &st) == 0 && st.st_dev == o.st_dev &&
            st.st_ino == o.st_ino)
            return 1;
    return file_id_set_has(&inputs->named, &o);
}

int cli_with_output(cli_common *c, const input_list *inputs, int (*run)(void *user), void *user)
{
    output_job j = {c, inputs, run, user, 0};
    if (!c->output_path) return run_job(&j);
    if (inputs && output_is_input(c->output_path, inputs)) {
        msg_file(c->output_path, "is one of the inputs; -o never replaces an input");
        return 2;
    }
    fmt_error err;
    if (atomic_write_file(c->output_path, write_results, &j, &err) != 0) {
        msg("-o %s", err.msg);
        return j.status ? j.status : 1;
    }
    return j.status;
}

char *cli_model_path(const cli_common *c, const char *override, const char *name)
{
    if (override) return strdup(override);
    weights_dirs d;
    weights_dirs_get(&d, c->weights_dir);
    char *p = weights_dirs_find(&d, name);
    weights_dirs_free(&d);
    return p;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* The path to suggest for converting `path`: its stem + .safetensors, or
 * stem-converted.safetensors when that is the path itself (malloc'd). */
static char *converted_name(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t stem = dot && dot > (slash ? slash + 1 : path) ? (size_t)(dot - path) : strlen(path);
    size_t n = stem + sizeof "-converted.safetensors";
    char *s = malloc(n);
    if (!s) return NULL;
    snprintf(s, n, "%.*s.safetensors", (int)stem, path);
    if (!strcmp(s, path)) snprintf(s, n, "%.*s-converted.safetensors", (int)stem, path);
    return s;
}

/* Does the file start as a PyTorch checkpoint (zip or pickle)? */
static int looks_like_checkpoint(const char *path)
{
    unsigned char head[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return (n == 4 && !memcmp(head, "PK\3\4", 4)) || (n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5);
}

int cli_check_model_kind(const char *path, const char *kind, const char *option)
{
    unprompt_model_info info;
    if (!path || unprompt_model_info_read(path, 0, &info, NULL, 0) != UNPROMPT_OK || !info.kind[0] ||
        !strcmp(info.kind, kind))
        return 0; /* not readable as a converted model: the loader says why */
    msg_file(path, "this is a %s model (unprompt.kind %s), not a %s model: %s wants the %s one", 
             unprompt_model_kind_name(info.kind), info.kind, unprompt_model_kind_name(kind), option,
             unprompt_model_kind_name(kind));
    return 2;
}

int cli_model_missing(const cli_common *c, const char *path, const char *why)
{
    (void)c;
    size_t n = strlen(path);
    if (!strncmp(why, path, n) && !strncmp(why + n, ": ", 2)) why += n + 2; /* the path is said once */
    msg_file(path, "cannot load the model: %s", why);
    if (!ends_with(path, ".safetensors") || looks_like_checkpoint(path)) { /* convert it to a new name */
        char *to = converted_name(path);
        msg_more("  The engine loads converted models (.safetensors). If this is a PyTorch checkpoint\n"
                 "  (.pt, .pth), it needs converting once:\n"
                 "  engine-run convert %s -o %s\n"
                 "  and give that file instead.\n",
                 path, to ? to : "OUT.safetensors");
        free(to);
        return 2;
    }
    msg_more("  Get the weights with 'make weights' (downloads and converts them into ./weights),\n"
             "  or convert a checkpoint you have: engine-run convert FILE -o %s\n"
             "  ('engine-run weights' shows where models are looked for).\n",
             path);
    return 2;
}

void cli_collect_inputs(cli_common *c, input_list *inputs)
{
    for (int i = 0; i < c->n_files; i++) inputs_add(inputs, c->files[i], c->recursive);
    if (c->from_list) inputs_add_list(inputs, c->from_list, c->recursive);
    c->out.several = inputs->count + (size_t)inputs->errors > 1;
    c->out.named = &inputs->named;
    c->batch.several = c->out.several;
    c->batch.quiet = c->quiet;
    if (c->batch.resume && !c->out.sidecar_ext && !c->quiet)
        msg("--resume skips images whose sidecar exists; without --sidecar it does nothing");
    if (c->batch.resume) batch_clean_orphans(&c->out, inputs);
    size_t done = batch_select(&c->batch, &c->out, inputs);
    c->batch.skipped = done;
    if (done && !c->quiet)
        msg("%zu images already done: their sidecar exists (skipped; --overwrite redoes them)", done);
    c->batch.progress = !c->quiet && isatty(2);
}

int cli_worker_threads(const cli_common *c, size_t workers)
{
    size_t total = (size_t)(c->threads > 0 ? c->threads : unprompt_cpu_count());
    return workers > 1 ? (int)(total / workers > 0 ? total / workers : 1) : c->threads;
}
