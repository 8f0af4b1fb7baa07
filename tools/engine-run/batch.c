/* Sharding, resuming, progress and interruption; see batch.h. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/engine-run/batch.h"

/* Set by the signal handler: the only state a handler may touch. */
static volatile sig_atomic_t batch_stop;

static void on_signal(int sig)
{
    (void)sig;
    batch_stop = 1;
}

int batch_option(batch_options *b, const char *command, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--resume")) return b->resume = 1, 1;
    if (strcmp(a, "--shard")) return 0;
    unsigned k = 0, n = 0;
    char tail;
    if (*i + 1 >= argc || sscanf(argv[*i + 1], "%u/%u%c", &k, &n, &tail) != 2 || n == 0 || k == 0 || k > n ||
        n > 1000000) {
        fprintf(stderr, "engine-run %s: --shard takes K/N with 1 <= K <= N (e.g. --shard 3/8)\n", command);
        return -1;
    }
    ++*i;
    b->shard_k = k, b->shard_n = n;
    return 1;
}

int batch_in_shard(const char *path, unsigned k, unsigned n)
{
    if (n == 0) return 1;
    unsigned long long h = 14695981039346656037ull; /* FNV-1a, 64 bits */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) h = (h ^ *p) * 1099511628211ull;
    return h % n == (unsigned long long)(k - 1);
}

static int output_done(const output_options *out, const char *path)
{
    if (!out->sidecar_ext || !strcmp(path, "-")) return 0;
    char *side = sidecar_path(path, out->sidecar_ext);
    struct stat st;
    int done = side && stat(side, &st) == 0;
    free(side);
    return done;
}

size_t batch_select(const batch_options *b, const output_options *out, input_list *inputs)
{
    size_t kept = 0, skipped = 0;
    for (size_t i = 0; i < inputs->count; i++) {
        char *p = inputs->paths[i];
        int mine = batch_in_shard(p, b->shard_k, b->shard_n), done = mine && b->resume && output_done(out, p);
        if (mine && !done) inputs->paths[kept++] = p;
        else free(p);
        skipped += (size_t)done;
    }
    inputs->count = kept;
    return skipped;
}

/* "NAME.EXT.PID.tmp" left by a killed writer (write_file_atomic's temporary):
 * the PID is not running any more. */
static int orphan_tmp(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    if (n < 5 || strcmp(name + n - 4, ".tmp")) return 0;
    const char *p = name + n - 4;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p == name + n - 4 || p == name || p[-1] != '.' || (size_t)(p - 1 - name) < e ||
        strncmp(p - 1 - e, ext, e))
        return 0;
    long pid = strtol(p, NULL, 10);
    return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void clean_dir(const char *dir, const char *ext)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!orphan_tmp(e->d_name, ext)) continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path) unlink(path);
    }
    closedir(d);
}

size_t batch_clean_orphans(const output_options *out, const input_list *inputs)
{
    if (!out->sidecar_ext) return 0;
    size_t dirs = 0;
    char last[4096] = "";
    for (size_t i = 0; i < inputs->count; i++) { /* inputs of one folder are adjacent */
        const char *p = inputs->paths[i], *slash = strrchr(p, '/');
        char dir[4096];
        if (!strcmp(p, "-")) continue;
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - p) : 1, slash ? p : ".");
        if (slash == p) snprintf(dir, sizeof dir, "/");
        if (!strcmp(dir, last)) continue;
        snprintf(last, sizeof last, "%s", dir);
        clean_dir(dir, out->sidecar_ext);
        dirs++;
    }
    return dirs;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void show(size_t done, size_t total, double t0, int last)
{
    double dt = now_s() - t0, rate = dt > 0 ? (double)done / dt : 0;
    long eta = rate > 0 ? (long)((double)(total - done) / rate) : 0;
    fprintf(stderr, "\r%zu/%zu images, %.2f images/s, ETA %ld:%02ld:%02ld ", done, total, rate, eta / 3600,
            eta / 60 % 60, eta % 60);
    if (last) fputc('\n', stderr);
    fflush(stderr);
}

int batch_run(const batch_options *b, const input_list *inputs, int (*one)(void *user, const char *path), void *user)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    batch_stop = 0;
    int failed = inputs->errors, status = 0;
    double t0 = now_s();
    size_t i = 0;
    for (; i < inputs->count && !batch_stop && status != 2; i++) {
        int r = one(user, inputs->paths[i]);
        if (r == 2) status = 2;
        else failed += r;
        if (b->progress && inputs->count > 1) show(i + 1, inputs->count, t0, 0);
    }
    if (b->progress && inputs->count > 1) show(i, inputs->count, t0, 1);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (batch_stop) {
        fprintf(stderr, "engine-run: interrupted after %zu of %zu images; rerun with --resume to finish\n", i,
                inputs->count);
        return 130;
    }
    return status ? status : failed ? 1 : 0;
}
