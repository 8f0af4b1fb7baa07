/* The server's interrogation queue and its workers (serve_batch.h). */
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/engine-run/serve_batch.h"

#define SERVE_MAX_WORKERS 16
/* Workers run this much nicer than the HTTP threads (the threads a worker
 * starts, OpenMP's, inherit it), so png-info and ping are answered at once
 * even when interrogations keep every core busy. */
#define WORKER_NICE 5

typedef struct {
    serve_batch *queue;
    unprompt_clip *clip;   /* loaded on the first CLIP job */
    unprompt_booru *booru; /* loaded on the first DeepBooru job */
    pthread_t thread;
    int started;
} serve_worker;

struct serve_batch {
    serve_batch_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    serve_job *head, *tail;
    size_t queued, running;
    int stopping;
    serve_worker workers[SERVE_MAX_WORKERS];
};

/* One decoded job of a group. */
typedef struct {
    serve_job *job;
    uint8_t *rgb;
    int width, height;
} group_item;

static void job_fail(serve_job *job, int status, const char *what, const char *why)
{
    job->http_status = status;
    snprintf(job->err, sizeof job->err, "%s%s", what, why);
}

static void job_succeed(serve_job *job, const char *prompt)
{
    job->caption = strdup(prompt);
    if (job->caption) job->http_status = 200;
    else job_fail(job, 500, "out of memory", "");
}

/* The worker's CLIP context, loaded on first use; NULL with every item's
 * job failed when it cannot be loaded (the next job tries again). */
static unprompt_clip *worker_clip(serve_worker *w, group_item *items, size_t n)
{
    char err[256];
    if (!w->clip && unprompt_clip_load(&w->clip, &w->queue->cfg.clip, err, sizeof err) != UNPROMPT_OK) {
        w->clip = NULL;
        for (size_t i = 0; i < n; i++) job_fail(items[i].job, 503, "the CLIP models cannot be loaded: ", err);
    }
    return w->clip;
}

static unprompt_booru *worker_booru(serve_worker *w, serve_job *job)
{
    char err[256];
    if (!w->booru && unprompt_booru_load(&w->booru, w->queue->cfg.booru_model, w->queue->cfg.threads, err,
                                         sizeof err) != UNPROMPT_OK) {
        w->booru = NULL;
        job_fail(job, 503, "the DeepBooru model cannot be loaded: ", err);
    }
    return w->booru;
}

/* CLIP jobs captioned together; when the group fails as a whole, one by
 * one, so only a bad image fails. */
static void run_clip(serve_worker *w, group_item *items, size_t n)
{
    unprompt_clip *ctx = n ? worker_clip(w, items, n) : NULL;
    if (!ctx) return;
    unprompt_rgb_image im[UNPROMPT_MAX_BATCH];
    unprompt_clip_result res[UNPROMPT_MAX_BATCH];
    char err[256] = "";
    for (size_t i = 0; i < n; i++) im[i] = (unprompt_rgb_image){items[i].rgb, items[i].width, items[i].height};
    if (unprompt_clip_run_batch(ctx, im, n, &w->queue->cfg.clip_run, res, err, sizeof err) != UNPROMPT_OK) {
        if (n == 1) job_fail(items[0].job, 500, "interrogation failed: ", err);
        for (size_t i = 0; n > 1 && i < n; i++) run_clip(w, &items[i], 1);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        job_succeed(items[i].job, res[i].prompt);
        unprompt_clip_result_free(&res[i]);
    }
}

static void run_booru(serve_worker *w, group_item *it)
{
    unprompt_booru *model = worker_booru(w, it->job);
    unprompt_booru_result res;
    char err[256];
    if (!model) return;
    if (unprompt_booru_run_rgb(model, it->rgb, it->width, it->height, &w->queue->cfg.booru_run, &res, err,
                               sizeof err) != UNPROMPT_OK) {
        job_fail(it->job, 500, "tagging failed: ", err);
        return;
    }
    job_succeed(it->job, res.prompt);
    unprompt_booru_result_free(&res);
}

/* Decode the group's images; those that cannot be decoded fail with 400.
 * Returns how many CLIP items were put first in `clip` and DeepBooru
 * items in `booru`. */
static void decode_group(serve_job *jobs, group_item *clip, size_t *n_clip, group_item *booru, size_t *n_booru)
{
    *n_clip = *n_booru = 0;
    for (serve_job *j = jobs; j; j = j->next) {
        group_item it = {j, NULL, 0, 0};
        char err[256];
        if (unprompt_decode_rgb(j->bytes, j->len, &it.rgb, &it.width, &it.height, err, sizeof err) != UNPROMPT_OK) {
            job_fail(j, 400, "Invalid encoded image: ", err);
            continue;
        }
        if (j->model == SERVE_MODEL_CLIP) clip[(*n_clip)++] = it;
        else booru[(*n_booru)++] = it;
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void run_group(serve_worker *w, serve_job *jobs, size_t n)
{
    group_item clip[UNPROMPT_MAX_BATCH], booru[UNPROMPT_MAX_BATCH];
    size_t n_clip, n_booru;
    double t0 = now_ms();
    decode_group(jobs, clip, &n_clip, booru, &n_booru);
    run_clip(w, clip, n_clip);
    for (size_t i = 0; i < n_booru; i++) run_booru(w, &booru[i]);
    for (size_t i = 0; i < n_clip; i++) unprompt_rgb_free(clip[i].rgb);
    for (size_t i = 0; i < n_booru; i++) unprompt_rgb_free(booru[i].rgb);
    if (w->queue->cfg.verbose)
        fprintf(stderr, "engine-run serve: worker %d: group of %zu (%zu clip, %zu deepdanbooru) in %.0f ms\n",
                (int)(w - w->queue->workers), n, n_clip, n_booru, now_ms() - t0);
}

/* Take up to `batch` waiting jobs (the lock held); NULL when stopping and
 * nothing is left. */
/* Wait (the lock held) up to the config's gather time for the queue to
 * hold a whole group: requests of a burst seldom arrive together. */
static void gather(serve_batch *b)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long ns = until.tv_nsec + (long)b->cfg.gather_ms * 1000000L;
    until.tv_sec += ns / 1000000000L, until.tv_nsec = ns % 1000000000L;
    while (b->queued < b->cfg.batch && !b->stopping)
        if (pthread_cond_timedwait(&b->wake, &b->lock, &until)) break;
}

static serve_job *take_group(serve_batch *b, size_t *n)
{
    for (;;) { /* another worker may take the jobs while this one gathers */
        while (!b->head && !b->stopping) pthread_cond_wait(&b->wake, &b->lock);
        if (b->head && b->cfg.gather_ms > 0) gather(b);
        if (b->head || b->stopping) break;
    }
    serve_job *first = b->head, *last = NULL;
    *n = 0;
    for (serve_job *j = b->head; j && *n < b->cfg.batch; j = j->next) last = j, ++*n;
    if (!first) return NULL;
    b->head = last->next;
    if (!b->head) b->tail = NULL;
    last->next = NULL;
    b->queued -= *n, b->running += *n;
    return first;
}

/* Lower this thread's priority alone (Linux: a thread id names one thread). */
static void worker_be_nicer(void)
{
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int now = getpriority(PRIO_PROCESS, tid);
    if (now != -1 || !errno) setpriority(PRIO_PROCESS, tid, now + WORKER_NICE);
}

static void *worker_main(void *arg)
{
    serve_worker *w = arg;
    serve_batch *b = w->queue;
    worker_be_nicer();
    for (;;) {
        size_t n;
        pthread_mutex_lock(&b->lock);
        serve_job *jobs = take_group(b, &n);
        pthread_mutex_unlock(&b->lock);
        if (!jobs) break;
        run_group(w, jobs, n);
        pthread_mutex_lock(&b->lock);
        b->running -= n;
        pthread_mutex_unlock(&b->lock);
        for (serve_job *j = jobs, *next; j; j = next) {
            next = j->next; /* done() may free the job */
            j->next = NULL;
            j->done(j, j->user);
        }
    }
    return NULL;
}

int serve_batch_start(serve_batch **out, const serve_batch_config *cfg, char *err, size_t err_size)
{
    serve_batch *b = calloc(1, sizeof *b);
    *out = NULL;
    if (!b || cfg->batch < 1 || cfg->batch > UNPROMPT_MAX_BATCH || cfg->workers < 1 || cfg->workers > SERVE_MAX_WORKERS) {
        snprintf(err, err_size, b ? "batch or workers out of range" : "out of memory");
        free(b);
        return -1;
    }
    b->cfg = *cfg;
    b->cfg.clip.threads = cfg->threads;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->wake, NULL);
    for (size_t i = 0; i < cfg->workers; i++) {
        b->workers[i].queue = b;
        if (pthread_create(&b->workers[i].thread, NULL, worker_main, &b->workers[i])) {
            snprintf(err, err_size, "cannot start worker thread %zu", i);
            serve_batch_free(b);
            return -1;
        }
        b->workers[i].started = 1;
    }
    *out = b;
    return 0;
}

int serve_batch_submit(serve_batch *b, serve_job *job)
{
    pthread_mutex_lock(&b->lock);
    int refused = b->stopping;
    if (!refused) {
        job->next = NULL;
        if (b->tail) b->tail->next = job;
        else b->head = job;
        b->tail = job;
        b->queued++;
        pthread_cond_broadcast(&b->wake); /* idle workers, and one gathering a group */
    }
    pthread_mutex_unlock(&b->lock);
    return refused ? -1 : 0;
}

size_t serve_batch_pending(serve_batch *b)
{
    pthread_mutex_lock(&b->lock);
    size_t n = b->queued + b->running;
    pthread_mutex_unlock(&b->lock);
    return n;
}

void serve_batch_drain(serve_batch *b)
{
    pthread_mutex_lock(&b->lock);
    b->stopping = 1;
    pthread_cond_broadcast(&b->wake);
    pthread_mutex_unlock(&b->lock);
    for (size_t i = 0; i < SERVE_MAX_WORKERS; i++) {
        if (!b->workers[i].started) continue;
        pthread_join(b->workers[i].thread, NULL);
        unprompt_clip_free(b->workers[i].clip);
        unprompt_booru_free(b->workers[i].booru);
        b->workers[i] = (serve_worker){0};
    }
}

void serve_batch_free(serve_batch *b)
{
    if (!b) return;
    serve_batch_drain(b);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
    free(b);
}
