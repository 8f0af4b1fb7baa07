/* engine-run weights: the models the other commands would load, what they
 * are (kind, dtype, size, SHA-256, the panels file beside each), and the
 * folders looked in, in order. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/api/unprompt.h"
#include "tools/engine-run/args.h"
#include "tools/engine-run/commands.h"
#include "tools/engine-run/msg.h"
#include "tools/engine-run/weights_dirs.h"

typedef struct {
    const char *weights;
    int no_sha256;
} weights_options;

static void weights_usage(FILE *f)
{
    fprintf(f,
            "usage: engine-run weights [options]\n"
            "\n"
            "List the models the commands would load (kind, dtype, size, SHA-256, the\n"
            ".panels file beside each) and the folders looked in. The first folder that\n"
            "has a file wins, in this order: --weights DIR (then only there),\n"
            "$UNPROMPT_WEIGHTS, ./weights, $XDG_DATA_HOME/unprompt (~/.local/share/unprompt),\n"
            "PREFIX/share/unprompt (PREFIX: where engine-run is installed).\n"
            "\n"
            "options:\n"
            "  --weights DIR         look only in DIR\n"
            "  --no-sha256           do not read the models to hash them\n"
            "\n"
            "exit status: 0 every model found, 1 some missing, 2 usage.\n");
}

static int weights_option(void *user, int argc, char **argv, int *i)
{
    weights_options *o = user;
    const char *a = argv[*i];
    if (!strcmp(a, "--help")) return 2;
    if (!strcmp(a, "--no-sha256")) return o->no_sha256 = 1, 1;
    if (strcmp(a, "--weights")) return 0;
    if (*i + 1 >= argc) {
        msg("--weights needs a value");
        return -1;
    }
    o->weights = argv[++*i];
    return 1;
}

static void show_panels(const char *model)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s.panels", model);
    if (stat(path, &st) == 0) printf("  panels: %s (%.1f MB)\n", path, (double)st.st_size / 1e6);
    else printf("  panels: none yet (written on first load where packed panels are used)\n");
}

/* One model file; 0 found, 1 missing or unreadable. */
static int show_model(const weights_dirs *d, const char *name, const char *kind, int sha)
{
    char *path = weights_dirs_find(d, name);
    unprompt_model_info info;
    char err[256];
    int rc = 0;
    if (!path) return 1;
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("%s: not found (expected %s)\n", name, path);
        rc = 1;
    } else if (unprompt_model_info_read(path, sha, &info, err, sizeof err) != UNPROMPT_OK) {
        printf("%s: %s: not a converted model (%s)\n", name, path, err);
        rc = 1;
    } else {
        printf("%s: %s\n  model %s%s, dtype %s, %.1f MB, converter %s, from %s\n", name, path,
               unprompt_model_kind_name(info.kind), strcmp(info.kind, kind) ? " (the wrong kind for this name)" : "",
               info.dtype, (double)info.size / 1e6, info.converter, info.source[0] ? info.source : "?");
        if (sha) printf("  sha256 %s\n", info.sha256);
        show_panels(path);
    }
    free(path);
    return rc;
}

static int show_lists(const weights_dirs *d)
{
    char *path = weights_dirs_find(d, "categories");
    DIR *dir = path ? opendir(path) : NULL;
    size_t n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        size_t l = strlen(e->d_name);
        n += l > 4 && e->d_name[0] != '.' && !strcmp(e->d_name + l - 4, ".txt");
    }
    if (dir) closedir(dir);
    if (dir) printf("categories: %s (%zu lists)\n", path, n);
    else printf("categories: not found (expected %s)\n", path ? path : "?");
    free(path);
    return dir ? 0 : 1;
}

int cmd_weights(int argc, char **argv)
{
    weights_options o = {NULL, 0};
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int n_files = 0;
    if (!files) return 2;
    int st = cli_parse(argc, argv, weights_option, &o, files, &n_files);
    free(files);
    if (st == 1) return weights_usage(stdout), 0;
    if (st || n_files) {
        if (!st) msg("takes no files (see --help)");
        return 2;
    }
    weights_dirs d;
    weights_dirs_get(&d, o.weights);
    printf("looked in, in order (the first that has a file wins):\n");
    for (size_t i = 0; i < d.n; i++) {
        struct stat s;
        printf("  %-24s %s%s\n", d.why[i], d.dir[i], stat(d.dir[i], &s) == 0 ? "" : "  (no such folder)");
    }
    int missing = show_model(&d, "clip.safetensors", "clip", !o.no_sha256);
    missing |= show_model(&d, "blip.safetensors", "blip", !o.no_sha256);
    missing |= show_model(&d, "deepdanbooru.safetensors", "deepdanbooru", !o.no_sha256);
    missing |= show_lists(&d);
    weights_dirs_free(&d);
    if (fflush(stdout)) return 1;
    return missing ? 1 : 0;
}
