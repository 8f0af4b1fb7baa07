/* The server's interrogation queue: worker threads, each with its own
 * models (loaded on its first job of a kind, then kept), take the jobs
 * waiting when they come free, up to --batch at a time, and run them as
 * one group (having waited a moment for a whole group: a burst's requests
 * seldom arrive together): the CLIP jobs captioned together (unprompt_clip_run_batch),
 * the DeepBooru jobs one after the other. Jobs that arrive while a group
 * runs wait for the next group. Completion is reported through each job's
 * callback, from the worker thread. */
#ifndef UNPROMPT_TOOLS_SERVE_BATCH_H
#define UNPROMPT_TOOLS_SERVE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "engine/api/unprompt.h"

typedef enum { SERVE_MODEL_CLIP, SERVE_MODEL_BOORU } serve_model;

typedef struct serve_job serve_job;
struct serve_job {
    serve_model model;
    uint8_t *bytes; /* the encoded image (owned by the submitter) */
    size_t len;
    /* Filled before done() is called: */
    int http_status; /* 200, 400 (undecodable image), 500 / 503 (model) */
    char *caption;   /* on 200: malloc'd prompt text */
    char err[320];   /* otherwise: why */
    void (*done)(serve_job *job, void *user);
    void *user;
    serve_job *next; /* queue link (the queue's) */
};

typedef struct {
    unprompt_clip_params clip;        /* models and lists; threads set per worker */
    const char *booru_model;          /* deepdanbooru.safetensors */
    unprompt_clip_run_params clip_run; /* the WebUI's defaults */
    unprompt_booru_params booru_run;
    size_t batch;   /* 1..UNPROMPT_MAX_BATCH */
    size_t workers; /* 1..16 */
    int gather_ms;  /* a worker finding fewer than `batch` jobs waits this long for more */
    int threads;    /* per worker (≤ 0: every core) */
    int verbose;    /* one stderr line per group */
} serve_batch_config;

typedef struct serve_batch serve_batch;

/* Start the workers (no model is loaded yet). The config's strings must
 * outlive the queue. */
int serve_batch_start(serve_batch **out, const serve_batch_config *cfg, char *err, size_t err_size);
/* Queue a job: 0, or -1 when the queue is stopping (the job is not taken). */
int serve_batch_submit(serve_batch *b, serve_job *job);
/* Jobs waiting or running. */
size_t serve_batch_pending(serve_batch *b);
/* Refuse new jobs (submit fails from now on), finish every queued one,
 * join the workers and free their models. */
void serve_batch_drain(serve_batch *b);
/* Free the queue (drained first if it was not). */
void serve_batch_free(serve_batch *b);

#endif
