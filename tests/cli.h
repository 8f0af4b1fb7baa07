/* Helpers for tests that run the built engine-run binary. */
#ifndef UNPROMPT_TESTS_CLI_H
#define UNPROMPT_TESTS_CLI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int status;    /* exit status, or -1 if it did not exit normally */
    char *out;     /* captured stdout (malloc'd, NUL-terminated) */
    char *err;     /* captured stderr */
} cli_result;

static inline const char *cli_build_dir(void)
{
    const char *b = getenv("UNPROMPT_BUILD");
    return b && *b ? b : "build";
}

static inline char *cli_slurp(const char *path)
{
    size_t n = 0;
    unsigned char *p = test_read_file(path, &n);
    if (!p) return NULL;
    char *s = realloc(p, n + 1);
    if (!s) {
        free(p);
        return NULL;
    }
    s[n] = '\0';
    return s;
}

/* Run `engine-run ARGS` through the shell (ARGS is shell syntax; may contain
 * redirections of stdin). */
static inline cli_result cli_run(const char *args)
{
    static int counter;
    cli_result r = {-1, NULL, NULL};
    char out[256], err[256], cmd[8192];
    snprintf(out, sizeof out, "/tmp/unprompt-cli-%ld-%d.out", (long)getpid(), counter);
    snprintf(err, sizeof err, "/tmp/unprompt-cli-%ld-%d.err", (long)getpid(), counter++);
    const char *runner = getenv("UNPROMPT_RUNNER"); /* e.g. qemu-aarch64 for cross builds */
    snprintf(cmd, sizeof cmd, "%s %s/engine-run %s >%s 2>%s", runner ? runner : "", cli_build_dir(), args, out, err);
    int st = system(cmd);
    if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
    r.out = cli_slurp(out);
    r.err = cli_slurp(err);
    if (!r.out) r.out = calloc(1, 1);
    if (!r.err) r.err = calloc(1, 1);
    unlink(out);
    unlink(err);
    return r;
}

static inline void cli_free(cli_result *r)
{
    free(r->out);
    free(r->err);
}

/* A fresh temporary directory (caller removes it with cli_rmrf). */
static inline char *cli_tmpdir(void)
{
    char *d = strdup("/tmp/unprompt-test-XXXXXX");
    if (d && !mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

static inline void cli_rmrf(char *dir)
{
    if (!dir) return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}

static inline int cli_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
