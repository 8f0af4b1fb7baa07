/* Shared options of the model commands. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/engine-run/cli_common.h"

const char *cli_option_value(const cli_common *c, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "engine-run %s: %s needs a value\n", c->command, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_common_option(cli_common *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--json") || !strcmp(a, "--jsonl")) c->json = 1;
    else if (!strcmp(a, "--from-list")) {
        if (!(c->from_list = cli_option_value(c, argc, argv, i))) return -1;
    }
    else if (!strcmp(a, "-r") || !strcmp(a, "--recursive")) c->recursive = 1;
    else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) c->quiet = 1;
    else if (!strcmp(a, "--overwrite")) c->out.overwrite = 1;
    else if (!strcmp(a, "--shard") || !strcmp(a, "--resume")) return batch_option(&c->batch, c->command, argc, argv, i);
    else if (!strcmp(a, "--sidecar")) c->out.sidecar_ext = ".txt";
    else if (!strncmp(a, "--sidecar=", 10) && a[10]) {
        const char *why = sidecar_ext_problem(a + 10);
        if (why) {
            fprintf(stderr, "engine-run %s: --sidecar=%s: the extension %s\n", c->command, a + 10, why);
            return -1;
        }
        c->out.sidecar_ext = a + 10;
    }
    else if (!strcmp(a, "--weights")) {
        if (!(c->weights_dir = cli_option_value(c, argc, argv, i))) return -1;
    } else if (!strcmp(a, "--threads")) {
        const char *v = cli_option_value(c, argc, argv, i);
        char *end;
        long n = v ? strtol(v, &end, 10) : -1;
        if (!v || *end || n < 0 || n > 1024) {
            fprintf(stderr, "engine-run %s: --threads takes 0..1024 (0 = all cores)\n", c->command);
            return -1;
        }
        c->threads = (int)n;
    } else {
        return 0;
    }
    return 1;
}

char *cli_model_path(const cli_common *c, const char *override, const char *name)
{
    if (override) return strdup(override);
    const char *dir = c->weights_dir ? c->weights_dir : getenv("UNPROMPT_WEIGHTS");
    if (!dir || !*dir) dir = "weights";
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int cli_model_missing(const cli_common *c, const char *path, const char *why)
{
    fprintf(stderr, "engine-run %s: cannot load the model %s: %s\n", c->command, path, why);
    if (!ends_with(path, ".safetensors")) { /* a checkpoint given as the model: convert it to a new name */
        const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
        int stem = (int)(dot && dot > (slash ? slash + 1 : path) ? dot - path : (ptrdiff_t)strlen(path));
        fprintf(stderr,
                "  The engine loads converted models (.safetensors). If this is a checkpoint, convert it:\n"
                "  engine-run convert %s -o %.*s.safetensors\n"
                "  and give that file instead.\n",
                path, stem, path);
        return 2;
    }
    fprintf(stderr,
            "  Get the weights with 'make weights' (downloads and converts them into ./weights),\n"
            "  or convert a checkpoint you have: engine-run convert FILE -o %s\n"
            "  and point to it with --weights DIR or $UNPROMPT_WEIGHTS.\n",
            path);
    return 2;
}

void cli_collect_inputs(cli_common *c, input_list *inputs)
{
    for (int i = 0; i < c->n_files; i++) inputs_add(inputs, c->files[i], c->recursive);
    if (c->from_list) inputs_add_list(inputs, c->from_list, c->recursive);
    c->out.several = inputs->count + (size_t)inputs->errors > 1;
    c->out.named = &inputs->named;
    if (c->batch.resume && !c->out.sidecar_ext && !c->quiet)
        fprintf(stderr, "engine-run %s: --resume skips images whose sidecar exists; without --sidecar it "
                        "does nothing\n", c->command);
    if (c->batch.resume) batch_clean_orphans(&c->out, inputs);
    size_t done = batch_select(&c->batch, &c->out, inputs);
    if (done && !c->quiet) fprintf(stderr, "engine-run %s: %zu images already done (--resume)\n", c->command, done);
    c->batch.progress = !c->quiet && isatty(2);
}

int cli_worker_threads(const cli_common *c, size_t workers)
{
    size_t total = (size_t)(c->threads > 0 ? c->threads : unprompt_cpu_count());
    return workers > 1 ? (int)(total / workers > 0 ? total / workers : 1) : c->threads;
}
