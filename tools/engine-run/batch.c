/* Sharding, resuming, progress and interruption; see batch.h. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/unprompt.h"
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

typedef struct {
    struct sigaction old_int, old_term;
    double t0;
} batch_session;

static void session_begin(batch_session *s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
    batch_stop = 0;
    s->t0 = now_s();
}

/* The exit status, after `done` of the inputs. */
static int session_end(batch_session *s, const batch_options *b, const input_list *inputs, size_t done, int status,
                       int failed)
{
    if (b->progress && inputs->count > 1) show(done, inputs->count, s->t0, 1);
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
    if (batch_stop) {
        fprintf(stderr, "engine-run: interrupted after %zu of %zu images; rerun with --resume to finish\n", done,
                inputs->count);
        return 130;
    }
    return status ? status : failed ? 1 : 0;
}

int batch_run(const batch_options *b, const input_list *inputs, int (*one)(void *user, const char *path), void *user)
{
    batch_session s;
    session_begin(&s);
    int failed = inputs->errors, status = 0;
    size_t i = 0;
    for (; i < inputs->count && !batch_stop && status != 2; i++) {
        int r = one(user, inputs->paths[i]);
        if (r == 2) status = 2;
        else failed += r;
        if (b->progress && inputs->count > 1) show(i + 1, inputs->count, s.t0, 0);
    }
    return session_end(&s, b, inputs, i, status, failed);
}

/* ---- groups, read ahead --------------------------------------------------------- */

typedef struct {
    batch_item *items;
    char *const *paths;
    size_t n;
    int decode;
} batch_load;

static void item_load(batch_item *it, const char *path, int decode)
{
    memset(it, 0, sizeof *it);
    it->path = path;
    if (input_open(path, &it->in, it->err, sizeof it->err)) {
        it->failed = 1;
        return;
    }
    if (decode && unprompt_decode_rgb(it->in.data, it->in.len, &it->rgb, &it->width, &it->height, it->err,
                                      sizeof it->err) != UNPROMPT_OK)
        it->undecodable = 1;
}

static void item_release(batch_item *it)
{
    input_close(&it->in);
    unprompt_rgb_free(it->rgb);
    memset(it, 0, sizeof *it);
}

static void *load_group(void *arg)
{
    batch_load *l = arg;
    for (size_t i = 0; i < l->n; i++) item_load(&l->items[i], l->paths[i], l->decode);
    return NULL;
}

/* Report the unreadable (or undecodable) items, move the others to the front. */
static size_t keep_good(batch_item *items, size_t n, int *failed, int undecodable)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (undecodable ? items[i].undecodable : items[i].failed) {
            fprintf(stderr, "engine-run: %s: %s\n", items[i].path, items[i].err);
            ++*failed;
            item_release(&items[i]);
            continue;
        }
        batch_item t = items[kept];
        items[kept++] = items[i];
        items[i] = t;
    }
    return kept;
}

static size_t keep_readable(batch_item *items, size_t n, int *failed) { return keep_good(items, n, failed, 0); }

size_t batch_keep_decoded(batch_item *items, size_t n, int *failed) { return keep_good(items, n, failed, 1); }

int batch_run_groups(const batch_options *b, const input_list *inputs, size_t group, int decode,
                     int (*run)(void *user, batch_item *items, size_t n), void *user)
{
    if (group < 1) group = 1;
    batch_item *slots = calloc(2 * group, sizeof *slots);
    if (!slots) {
        fprintf(stderr, "engine-run: out of memory\n");
        return 2;
    }
    batch_session s;
    session_begin(&s);
    int failed = inputs->errors, status = 0, cur = 0;
    size_t done = 0, count = inputs->count;
    batch_load next = {slots, inputs->paths, count < group ? count : group, decode};
    load_group(&next);
    while (done < count && !batch_stop && status != 2) {
        size_t n = next.n, ahead = done + n < count ? count - done - n : 0;
        batch_item *items = slots + (size_t)cur * group;
        pthread_t loader;
        next = (batch_load){slots + (size_t)(cur ^ 1) * group, inputs->paths + done + n, ahead < group ? ahead : group,
                            decode};
        int threaded = next.n && pthread_create(&loader, NULL, load_group, &next) == 0;
        size_t ok = keep_readable(items, n, &failed);
        int r = ok ? run(user, items, ok) : 0;
        if (r < 0) status = 2;
        else failed += r;
        for (size_t i = 0; i < ok; i++) item_release(&items[i]);
        if (threaded) pthread_join(loader, NULL);
        else if (next.n) load_group(&next);
        done += n, cur ^= 1;
        if (b->progress && count > 1) show(done, count, s.t0, 0);
    }
    for (size_t i = 0; i < 2 * group; i++) item_release(&slots[i]); /* a group read ahead of a stop */
    free(slots);
    return session_end(&s, b, inputs, done, status, failed);
}
