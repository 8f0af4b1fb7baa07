/* The table-driven option parser; see args.h. */
#include <stdlib.h>
#include <string.h>

#include "tools/engine-run/args.h"
#include "tools/engine-run/msg.h"

/* Alphabetical. One row per option, whichever commands take it. */
const cli_option cli_options[] = {
    {"--all-chunks", 0, ARG_NONE},
    {"--api-auth", 0, ARG_REQUIRED},
    {"--batch", 0, ARG_REQUIRED},
    {"--batch-wait", 0, ARG_REQUIRED},
    {"--beams", 0, ARG_REQUIRED},
    {"--blip-model", 0, ARG_REQUIRED},
    {"--booru-model", 0, ARG_REQUIRED},
    {"--categories", 0, ARG_REQUIRED},
    {"--clip-model", 0, ARG_REQUIRED},
    {"--config", 0, ARG_REQUIRED},
    {"--dict-limit", 0, ARG_REQUIRED},
    {"--dtype", 0, ARG_REQUIRED},
    {"--filter", 0, ARG_REQUIRED},
    {"--format", 0, ARG_REQUIRED},
    {"--from-list", 0, ARG_REQUIRED},
    {"--help", 'h', ARG_NONE},
    {"--json", 0, ARG_NONE},
    {"--jsonl", 0, ARG_NONE},
    {"--kind", 0, ARG_REQUIRED},
    {"--listen", 0, ARG_NONE},
    {"--max-body", 0, ARG_REQUIRED},
    {"--max-inflate", 0, ARG_REQUIRED},
    {"--max-length", 0, ARG_REQUIRED},
    {"--max-text", 0, ARG_REQUIRED},
    {"--min-length", 0, ARG_REQUIRED},
    {"--no-escape", 0, ARG_NONE},
    {"--no-sha256", 0, ARG_NONE},
    {"--no-stealth", 0, ARG_NONE},
    {"--output", 'o', ARG_REQUIRED},
    {"--overwrite", 0, ARG_NONE},
    {"--port", 0, ARG_REQUIRED},
    {"--prefer-metadata", 0, ARG_NONE},
    {"--quiet", 'q', ARG_NONE},
    {"--ranks", 0, ARG_NONE},
    {"--recursive", 'r', ARG_NONE},
    {"--repetition-penalty", 0, ARG_REQUIRED},
    {"--resume", 0, ARG_NONE},
    {"--shard", 0, ARG_REQUIRED},
    {"--sidecar", 0, ARG_OPTIONAL},
    {"--skip-categories", 0, ARG_REQUIRED},
    {"--sort", 0, ARG_REQUIRED},
    {"--tags", 0, ARG_REQUIRED},
    {"--threads", 0, ARG_REQUIRED},
    {"--threshold", 0, ARG_REQUIRED},
    {"--underscores", 0, ARG_NONE},
    {"--verbose", 'v', ARG_NONE},
    {"--vocab", 0, ARG_REQUIRED},
    {"--vocab-json", 0, ARG_REQUIRED},
    {"--weights", 0, ARG_REQUIRED},
    {"--workers", 0, ARG_REQUIRED},
    {NULL, 0, ARG_NONE},
};

const cli_option *cli_option_find(const char *arg)
{
    for (const cli_option *o = cli_options; o->name; o++)
        if (!strcmp(arg, o->name) || (arg[0] == '-' && arg[1] == o->letter && o->letter && !arg[2])) return o;
    return NULL;
}

/* The canonical argument list being built: options first, files after. */
typedef struct {
    char **opts, **files;
    int n_opts, n_files;
} canon;

static char *letter_name(char letter)
{
    for (const cli_option *o = cli_options; o->name; o++)
        if (o->letter == letter) return (char *)o->name;
    return NULL;
}

/* A value the option needs: the rest of the word, else the next word. */
static int take_value(canon *c, const char *name, const char *rest, int argc, char **argv, int *i)
{
    if (rest && *rest) {
        c->opts[c->n_opts++] = (char *)rest;
        return 0;
    }
    if (*i + 1 >= argc) {
        msg("%s needs a value (see --help)", name);
        return 2;
    }
    c->opts[c->n_opts++] = argv[++*i];
    return 0;
}

static int long_option(canon *c, int argc, char **argv, int *i)
{
    char *a = argv[*i], *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    const cli_option *o;
    for (o = cli_options; o->name; o++)
        if (strlen(o->name) == len && !strncmp(a, o->name, len)) break;
    if (!o->name) {
        msg("unknown option '%.*s' (see --help)", (int)len, a);
        return 2;
    }
    if (o->arg == ARG_NONE && eq) {
        msg("%s takes no value", o->name);
        return 2;
    }
    if (o->arg == ARG_OPTIONAL) { /* kept whole: the command reads "--name=value" */
        c->opts[c->n_opts++] = a;
        return 0;
    }
    c->opts[c->n_opts++] = (char *)o->name;
    if (o->arg == ARG_NONE) return 0;
    if (eq && !eq[1]) {
        msg("%s= needs a value", o->name);
        return 2;
    }
    return take_value(c, o->name, eq ? eq + 1 : NULL, argc, argv, i);
}

/* "-rq", "-o FILE", "-oFILE", "-rqo FILE". */
static int short_options(canon *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    for (size_t k = 1; a[k]; k++) {
        char *name = letter_name(a[k]);
        const cli_option *o = name ? cli_option_find(name) : NULL;
        if (!o) {
            msg("unknown option '-%c' (see --help)", a[k]);
            return 2;
        }
        c->opts[c->n_opts++] = name;
        if (o->arg == ARG_REQUIRED) return take_value(c, name, a + k + 1, argc, argv, i);
    }
    return 0;
}

static int split(canon *c, int argc, char **argv)
{
    int rest = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        int st = 0;
        if (rest || a[0] != '-' || !a[1]) c->files[c->n_files++] = a;
        else if (!strcmp(a, "--")) rest = 1;
        else if (a[1] == '-') st = long_option(c, argc, argv, &i);
        else st = short_options(c, argc, argv, &i);
        if (st) return st;
    }
    return 0;
}

int cli_parse(int argc, char **argv, cli_option_handler handler, void *user, char **files, int *n_files)
{
    canon c = {0};
    /* every word can become at most (its length) options: -rq… */
    size_t cap = 1;
    for (int i = 1; i < argc; i++) cap += strlen(argv[i]) + 1;
    c.opts = calloc(cap + 1, sizeof *c.opts);
    c.files = files;
    if (!c.opts) {
        msg("out of memory");
        return 2;
    }
    int st = split(&c, argc, argv);
    c.opts[c.n_opts] = NULL;
    for (int i = 0; !st && i < c.n_opts; i++) {
        int r = handler(user, c.n_opts, c.opts, &i);
        if (r == 2) st = 1;
        else if (r < 0) st = 2;
        else if (r == 0) msg("%s is not an option of this command (see --help)", c.opts[i]), st = 2;
    }
    *n_files = c.n_files;
    free(c.opts);
    return st;
}
