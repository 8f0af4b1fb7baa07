/* Sharding, resuming, progress and interruption; see batch.h. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/api/unprompt.h"
#include "base/atomic.h"
#include "tools/engine-run/batch.h"
#include "tools/engine-run/msg.h"

/* Set by the signal handler: the only state a handler may touch. */
static volatile sig_atomic_t batch_stop;
static void say(const char *msg, size_t len)
{
    ssize_t w = write(2, msg, len);
    (void)w;
}

/* The first SIGINT / SIGTERM asks the run to stop after the images in hand
 * (said at once, since one image can take a while); a second ends the
 * process there and then with status 130. Only async-signal-safe calls. */
static void on_signal(int sig)
{
    static const char first[] = "interrupt: finishing the images in hand (interrupt again to stop at once)\n";
    static const char again[] = "interrupted again: stopping now\n";
    size_t plen;
    const char *prefix = msg_prefix(&plen);
    (void)sig;
    if (progress_on_screen()) say("\r\033[K", 4); /* erased, as before any other line */
    say(prefix, plen);
    if (batch_stop) {
        say(again, sizeof again - 1);
        _exit(130);
    }
    batch_stop = 1;
    say(first, sizeof first - 1);
}

int batch_option(batch_options *b, const char *command, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--resume")) return b->resume = 1, 1;
    if (strcmp(a, "--shard")) return 0;
    unsigned k = 0, n = 0;
    char tail;
    (void)command;
    if (*i + 1 >= argc || sscanf(argv[*i + 1], "%u/%u%c", &k, &n, &tail) != 2 || n == 0 || k == 0 || k > n ||
        n > 1000000) {
        msg("--shard takes K/N with 1 <= K <= N (e.g. --shard 3/8)");
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
    int done = side && strcmp(side, path) && stat(side, &st) == 0; /* a "sidecar" that is the image is not one */
    free(side);
    return done;
}

size_t batch_select(const batch_options *b, const output_options *out, input_list *inputs)
{
    size_t kept = 0, skipped = 0;
    for (size_t i = 0; i < inputs->count; i++) {
        char *p = inputs->paths[i];
        int mine = batch_in_shard(p, b->shard_k, b->shard_n), done = mine && !out->overwrite && output_done(out, p);
        if (mine && !done) inputs->paths[kept++] = p;
        else free(p);
        skipped += (size_t)done;
    }
    inputs->count = kept;
    return skipped;
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
        atomic_remove_orphans(dir, ATOMIC_ORPHAN_AGE_S);
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

static void show(size_t done, size_t total, double t0)
{
    double dt = now_s() - t0, rate = dt > 0 ? (double)done / dt : 0;
    long eta = rate > 0 ? (long)((double)(total - done) / rate) : 0;
    char line[160];
    snprintf(line, sizeof line, "%zu/%zu images, %.2f images/s, ETA %ld:%02ld:%02ld", done, total, rate, eta / 3600,
             eta / 60 % 60, eta % 60);
    progress_draw(line);
}

void batch_summary(const batch_options *b, size_t done, size_t failed)
{
    progress_clear();
    if (b->several && !b->quiet) msg("%zu done, %zu failed, %zu skipped", done, failed, b->skipped);
}

typedef struct {
    struct sigaction old_int, old_term;
    double t0;
    /* A test hook (UNPROMPT_TEST_SIGNAL_AFTER=N:SIG): raise SIG once N images
     * are written, so tests interrupt a run at a known point instead of
     * racing a timer against the machine's speed. */
    size_t signal_after;
    int signal;
} batch_session;

static void test_hook_read(batch_session *s)
{
    const char *v = getenv("UNPROMPT_TEST_SIGNAL_AFTER");
    unsigned long n;
    int sig;
    s->signal = 0;
    if (v && sscanf(v, "%lu:%d", &n, &sig) == 2 && sig > 0 && sig < 32) s->signal_after = n, s->signal = sig;
}

/* After `done` images are written: the test hook's signal, once. */
static void test_hook_check(batch_session *s, size_t done)
{
    if (s->signal && done >= s->signal_after) {
        int sig = s->signal;
        s->signal = 0;
        raise(sig);
    }
}

static void session_begin(batch_session *s, const batch_options *b, size_t count)
{
    (void)b, (void)count;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
    batch_stop = 0;
    s->t0 = now_s();
    test_hook_read(s);
}

/* The exit status, after `done` of the inputs (`failed` of them failed,
 * with the arguments that named nothing readable). */
static int session_end(batch_session *s, const batch_options *b, const input_list *inputs, size_t done, int status,
                       int failed)
{
    progress_clear();
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
    if (batch_stop) {
        msg("interrupted after %zu of %zu images (with --sidecar the same command again does the rest)", done,
            inputs->count);
        return 130;
    }
    size_t in_run = (size_t)inputs->errors + done, bad = (size_t)failed;
    batch_summary(b, in_run >= bad ? in_run - bad : 0, bad);
    return status ? status : failed ? 1 : 0;
}

int batch_run(const batch_options *b, const input_list *inputs, int (*one)(void *user, const char *path), void *user)
{
    batch_session s;
    session_begin(&s, b, inputs->count);
    int failed = inputs->errors, status = 0;
    size_t i = 0;
    for (; i < inputs->count && !batch_stop && status != 2; i++) {
        int r = one(user, inputs->paths[i]);
        if (r == 2) status = 2;
        else failed += r;
        if (b->progress && inputs->count > 1) show(i + 1, inputs->count, s.t0);
        test_hook_check(&s, i + 1);
    }
    return session_end(&s, b, inputs, i, status, failed);
}

/* ---- groups: read ahead, run by workers, written in order ------------------------ */

static void item_load(batch_item *it, const char *path, const batch_groups *g)
{
    memset(it, 0, sizeof *it);
    it->path = path;
    if (input_open(path, &it->in, it->err, sizeof it->err)) {
        it->failed = 1;
        return;
    }
    if (batch_stop) return; /* between stages: the group is dropped, not run */
    int decode = g->decode && (!g->read_ahead || g->read_ahead(g->read_ahead_ctx, it));
    if (decode && unprompt_decode_rgb(it->in.data, it->in.len, &it->rgb, &it->width, &it->height, it->err,
                                      sizeof it->err) != UNPROMPT_OK)
        it->undecodable = 1;
}

static void item_release(batch_item *it)
{
    input_close(&it->in);
    unprompt_rgb_free(it->rgb);
    free(it->text);
    memset(it, 0, sizeof *it);
}

void batch_item_fail(batch_item *it, const char *why)
{
    it->failed = 1;
    if (why != it->err) snprintf(it->err, sizeof it->err, "%s", why);
}

size_t batch_pending_front(batch_item *items, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].failed || items[i].text) continue;
        batch_item t = items[kept];
        items[kept++] = items[i];
        items[i] = t;
    }
    return kept;
}

size_t batch_keep_decoded(batch_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].undecodable && !items[i].text) batch_item_fail(&items[i], items[i].err);
    return batch_pending_front(items, n);
}

typedef enum { SLOT_FREE, SLOT_LOADING, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE } slot_state;

typedef struct {
    batch_item *items;
    size_t n, index; /* the group's size and its place in the run */
    slot_state state;
    int fatal;
} batch_slot;

typedef struct {
    const batch_groups *g;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    batch_slot *slots;
    size_t n_slots, next_start; /* the next group a worker takes */
    int quit;
} batch_pool;

typedef struct {
    batch_pool *pool;
    size_t index;
} batch_worker;

/* The queued slot of the lowest group index, or NULL. */
static batch_slot *first_queued(batch_pool *p)
{
    for (size_t i = 0; i < p->n_slots; i++)
        if (p->slots[i].state == SLOT_QUEUED && p->slots[i].index == p->next_start) return &p->slots[i];
    return NULL;
}

static void *worker_main(void *arg)
{
    batch_worker *w = arg;
    batch_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        batch_slot *s;
        while (!(s = first_queued(p)) && !p->quit) pthread_cond_wait(&p->work, &p->lock);
        if (!s) break;
        s->state = SLOT_RUNNING, p->next_start++;
        pthread_mutex_unlock(&p->lock);
        size_t ok = batch_pending_front(s->items, s->n); /* the readable ones */
        int fatal = ok && p->g->run(p->g->users[w->index], s->items, ok) < 0;
        pthread_mutex_lock(&p->lock);
        s->state = SLOT_DONE, s->fatal = fatal;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Write a finished group in input order; returns its failures. After a
 * fatal error (reported by run) the images without a result are left. */
static int emit_group(const batch_groups *g, batch_slot *s)
{
    int failed = 0;
    for (size_t i = 0; i < s->n; i++) {
        batch_item *it = &s->items[i];
        if (s->fatal && !it->text && !it->failed) {
            item_release(it);
            continue;
        }
        if (it->failed || !it->text) {
            output_error(g->out, it->path, it->failed ? it->err : "no result");
            failed++;
        } else if (output_result(g->out, it->path, it->text, g->json) < 0) {
            failed++;
        }
        item_release(it);
    }
    return failed;
}

static batch_slot *slot_in(batch_pool *p, slot_state st, size_t index)
{
    for (size_t i = 0; i < p->n_slots; i++)
        if (p->slots[i].state == st && (st == SLOT_FREE || p->slots[i].index == index)) return &p->slots[i];
    return NULL;
}

static size_t count_state(const batch_pool *p, slot_state st)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_slots; i++) n += p->slots[i].state == st;
    return n;
}

/* Items back in input order (run() may have moved them). */
static int by_order(const void *a, const void *b)
{
    const batch_item *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

typedef struct {
    batch_pool pool;
    batch_worker *workers;
    pthread_t *threads;
    size_t started;
    batch_item *items;
} batch_run_state;

static int pool_start(batch_run_state *r, const batch_groups *g)
{
    batch_pool *p = &r->pool;
    memset(r, 0, sizeof *r);
    p->g = g;
    p->n_slots = 2 * g->workers + 1;
    p->slots = calloc(p->n_slots, sizeof *p->slots);
    r->items = calloc(p->n_slots * g->group, sizeof *r->items);
    r->workers = calloc(g->workers, sizeof *r->workers);
    r->threads = calloc(g->workers, sizeof *r->threads);
    if (!p->slots || !r->items || !r->workers || !r->threads) return -1;
    for (size_t i = 0; i < p->n_slots; i++) p->slots[i].items = r->items + i * g->group;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (; r->started < g->workers; r->started++) {
        r->workers[r->started] = (batch_worker){p, r->started};
        if (pthread_create(&r->threads[r->started], NULL, worker_main, &r->workers[r->started])) break;
    }
    return r->started ? 0 : -1;
}

static void pool_stop(batch_run_state *r)
{
    batch_pool *p = &r->pool;
    if (r->started) {
        pthread_mutex_lock(&p->lock);
        p->quit = 1;
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < r->started; i++) pthread_join(r->threads[i], NULL);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->work);
        pthread_cond_destroy(&p->done);
    }
    for (size_t i = 0; r->items && i < p->n_slots * p->g->group; i++) item_release(&r->items[i]);
    free(p->slots), free(r->items), free(r->workers), free(r->threads);
}

/* Wait for a worker to finish something, or 0.1 s (to notice a signal). */
static void wait_done(batch_pool *p)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 100000000;
    if (t.tv_nsec >= 1000000000) t.tv_sec++, t.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&p->done, &p->lock, &t);
}

size_t batch_group_count(size_t count, size_t group, size_t workers)
{
    if (count == 0) return 0;
    if (group == 0) group = 1;
    if (workers == 0) workers = 1;
    size_t n = count / group + (count % group != 0);
    if (n % workers) n += workers - n % workers;
    return n < count ? n : count;
}

size_t batch_group_span(size_t count, size_t n_groups, size_t k, size_t *first)
{
    *first = count;
    if (k >= n_groups) return 0;
    size_t base = count / n_groups, extra = count % n_groups; /* the first `extra` groups take one more */
    *first = k * base + (k < extra ? k : extra);
    return base + (k < extra);
}

int batch_run_groups(const batch_options *b, const input_list *inputs, const batch_groups *g)
{
    batch_run_state r;
    if (pool_start(&r, g)) {
        pool_stop(&r);
        msg("cannot start the workers");
        return 2;
    }
    batch_pool *p = &r.pool;
    batch_session s;
    session_begin(&s, b, inputs->count);
    int failed = inputs->errors, fatal = 0;
    size_t count = inputs->count, n_groups = batch_group_count(count, g->group, g->workers);
    size_t next_load = 0, next_emit = 0, done = 0;
    pthread_mutex_lock(&p->lock);
    while (next_emit < n_groups) {
        batch_slot *sl = slot_in(p, SLOT_DONE, next_emit);
        if (sl) { /* write the next group in order */
            pthread_mutex_unlock(&p->lock);
            fatal |= sl->fatal;
            qsort(sl->items, sl->n, sizeof *sl->items, by_order);
            failed += emit_group(g, sl);
            done += sl->n;
            if (b->progress && count > 1) show(done, count, s.t0);
            test_hook_check(&s, done);
            pthread_mutex_lock(&p->lock);
            sl->state = SLOT_FREE, next_emit++;
            continue;
        }
        int stopping = batch_stop || fatal;
        if (stopping) { /* groups not started are dropped; those running finish */
            for (size_t i = 0; i < p->n_slots; i++)
                if (p->slots[i].state == SLOT_QUEUED) {
                    for (size_t j = 0; j < p->slots[i].n; j++) item_release(&p->slots[i].items[j]);
                    p->slots[i].state = SLOT_FREE;
                }
            if (!count_state(p, SLOT_RUNNING) && !count_state(p, SLOT_DONE)) break;
        }
        batch_slot *fr = slot_in(p, SLOT_FREE, 0);
        if (!stopping && next_load < n_groups && fr && count_state(p, SLOT_QUEUED) < g->workers) {
            size_t first, n = batch_group_span(count, n_groups, next_load, &first);
            fr->state = SLOT_LOADING;
            pthread_mutex_unlock(&p->lock);
            for (size_t i = 0; i < n && !batch_stop; i++) {
                item_load(&fr->items[i], inputs->paths[first + i], g);
                fr->items[i].order = i;
            }
            pthread_mutex_lock(&p->lock);
            if (batch_stop) { /* interrupted while reading ahead: never run */
                for (size_t i = 0; i < n; i++) item_release(&fr->items[i]);
                fr->state = SLOT_FREE;
                continue;
            }
            fr->n = n, fr->index = next_load++, fr->fatal = 0, fr->state = SLOT_QUEUED;
            pthread_cond_broadcast(&p->work);
            continue;
        }
        wait_done(p);
    }
    pthread_mutex_unlock(&p->lock);
    pool_stop(&r);
    return session_end(&s, b, inputs, done, fatal ? 2 : 0, failed);
}
