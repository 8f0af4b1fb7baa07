/* Sharding, resuming, progress and interruption; see batch.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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
