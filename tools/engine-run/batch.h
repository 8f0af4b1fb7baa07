/* Running a command over many images: a deterministic shard of the inputs
 * (--shard K/N), skipping images whose sidecar already exists (--resume), a
 * progress line on a terminal (count, images/s, ETA), and a clean stop on
 * SIGINT / SIGTERM: the image in hand is finished and written, then the run
 * ends with status 130; a second SIGINT / SIGTERM ends the process at once
 * (status 130). Sidecars are written atomically, so an interrupted or
 * killed run never leaves a half-written one; rerunning with --resume
 * completes the set. */
#ifndef UNPROMPT_TOOLS_BATCH_H
#define UNPROMPT_TOOLS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "tools/engine-run/inputs.h"
#include "tools/engine-run/output.h"

typedef struct {
    unsigned shard_k, shard_n; /* 1 ≤ k ≤ n; n = 0: every input */
    int resume;
    int progress;              /* show the progress line (stderr is a terminal, not -q) */
    int several, quiet;        /* more than one input: the summary line, unless quiet */
    size_t skipped;            /* inputs left out before the run (their sidecar exists) */
} batch_options;

/* The line a run over several files ends with, on stderr:
 * "engine-run CMD: 3 done, 1 failed, 2 skipped". done + failed + skipped
 * is every input of this shard (failed counts arguments that named nothing
 * readable); an interrupted run says so instead of counting the rest. */
void batch_summary(const batch_options *b, size_t done, size_t failed);

/* --shard K/N or --resume at argv[*i]: 1 consumed, 0 not one, -1 usage
 * error (reported with the command's name). */
int batch_option(batch_options *b, const char *command, int argc, char **argv, int *i);

/* Is this path in shard k of n? By a hash of the path as given, so every
 * process of a sharded run agrees without talking to the others. */
int batch_in_shard(const char *path, unsigned k, unsigned n);

/* Keep the inputs of this shard whose output is not done yet: with
 * sidecars, unless out->overwrite, an image whose sidecar exists is done.
 * Returns how many were skipped as done. */
size_t batch_select(const batch_options *b, const output_options *out, input_list *inputs);

/* With --resume: remove the temporaries a killed run's atomic writer left
 * in the inputs' folders (atomic_remove_orphans: its own names only, older
 * than ATOMIC_ORPHAN_AGE_S, writer gone). Returns the number of folders
 * looked at. */
size_t batch_clean_orphans(const output_options *out, const input_list *inputs);

/* Process every input with one(user, path) → 0 ok, 1 failed, 2 fatal (stop).
 * Returns the command's exit status: 0, 1 (some failed), 2 (fatal) or 130
 * (interrupted; the image in hand was finished). */
int batch_run(const batch_options *b, const input_list *inputs, int (*one)(void *user, const char *path), void *user);

/* An image of a group: read (and decoded) ahead of its turn, then given its
 * result by the command. */
typedef struct {
    const char *path;
    input_bytes in;
    uint8_t *rgb; /* with decode: 8-bit RGB pixels, else NULL */
    int width, height;
    char err[256];
    int failed;      /* unreadable, or the command failed on it: err says why */
    int undecodable; /* read, but the pixels could not be decoded: err says why */
    char *text;      /* the command's output for it (malloc'd), written in input order */
    size_t order;    /* its place in the group */
} batch_item;

/* Move the items still to do (neither failed nor given a text) to the
 * front; returns their count. The group is put back in input order before
 * it is written. */
size_t batch_pending_front(batch_item *items, size_t n);
/* Mark the undecodable images still to do failed, then batch_pending_front. */
size_t batch_keep_decoded(batch_item *items, size_t n);
/* Mark one item failed with a reason. */
void batch_item_fail(batch_item *it, const char *why);

typedef struct {
    size_t group;   /* images per run() call (--batch) */
    size_t workers; /* run() calls at once, each on its own thread (--workers) */
    int decode;     /* decode pixels when reading ahead, */
    /* unless this, given the file read (it->path, it->in), gives the item
     * its text or marks it failed and returns 0: no pixels needed (NULL:
     * every file needs them). Called on the reading thread. */
    int (*read_ahead)(const void *ctx, batch_item *it);
    const void *read_ahead_ctx;
    void **users;   /* per worker: run()'s context */
    /* Fill each item's text, or mark it failed; -1 when nothing more can be
     * done (the models cannot be loaded). Called on a worker's thread. */
    int (*run)(void *user, batch_item *items, size_t n);
    const output_options *out;
    int json;
} batch_groups;

/* How batch_run_groups cuts count inputs into groups of at most `group`
 * images for `workers` workers: as few groups as that allows, raised to a
 * multiple of the workers while each can still have an image, and sizes
 * that differ by at most one, so the workers finish together (20 images,
 * --batch 8, 2 workers: 5 + 5 + 5 + 5, not 8 + 8 + 4 with one worker idle
 * during the last group). batch_group_count is the number of groups;
 * batch_group_span sets *first to group k's first input and returns its
 * size. */
size_t batch_group_count(size_t count, size_t group, size_t workers);
size_t batch_group_span(size_t count, size_t n_groups, size_t k, size_t *first);

/* Process the inputs in groups: the calling thread reads (and decodes) the
 * groups ahead of the workers and writes the results in input order; each
 * worker runs whole groups. The same exit statuses as batch_run; an
 * interrupt lets the groups in hand finish and be written. */
int batch_run_groups(const batch_options *b, const input_list *inputs, const batch_groups *g);

#endif
