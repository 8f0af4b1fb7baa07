/* The weights search path; see weights_dirs.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/engine-run/weights_dirs.h"

static void add(weights_dirs *d, const char *why, const char *a, const char *b)
{
    if (d->n == WEIGHTS_MAX_DIRS || !a || !*a) return;
    size_t n = strlen(a) + (b ? strlen(b) : 0) + 1;
    char *s = malloc(n);
    if (!s) return;
    snprintf(s, n, "%s%s", a, b ? b : "");
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->dir[i], s)) { /* the same folder twice: once */
            free(s);
            return;
        }
    d->dir[d->n] = s, d->why[d->n++] = why;
}

/* PREFIX of the running binary (PREFIX/bin/engine-run), or "". */
static void install_prefix(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    out[0] = 0;
    if (n <= 0) return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0; /* PREFIX/bin */
    slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0;
    snprintf(out, cap, "%s", exe[0] ? exe : "/");
}

void weights_dirs_get(weights_dirs *d, const char *given)
{
    memset(d, 0, sizeof *d);
    if (given) {
        add(d, "--weights", given, NULL);
        return;
    }
    add(d, "$UNPROMPT_WEIGHTS", getenv("UNPROMPT_WEIGHTS"), NULL);
    add(d, "./weights", "weights", NULL);
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/') add(d, "$XDG_DATA_HOME/unprompt", xdg, "/unprompt");
    else if (home && *home) add(d, "~/.local/share/unprompt", home, "/.local/share/unprompt");
    char prefix[PATH_MAX];
    install_prefix(prefix, sizeof prefix);
    if (prefix[0]) add(d, "PREFIX/share/unprompt", prefix, strcmp(prefix, "/") ? "/share/unprompt" : "share/unprompt");
}

void weights_dirs_free(weights_dirs *d)
{
    for (size_t i = 0; i < d->n; i++) free(d->dir[i]);
    memset(d, 0, sizeof *d);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *weights_dirs_find(const weights_dirs *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++) {
        char *p = join(d->dir[i], name);
        if (!p || access(p, F_OK) == 0) return p;
        free(p);
    }
    return join(d->n ? d->dir[0] : "weights", name);
}
