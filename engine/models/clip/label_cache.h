/* Label embeddings of a category list, computed once and kept.
 *
 * The text features of a list depend only on the text tower and the list,
 * so they are stored in a safetensors file in the cache folder, named by
 * the list's stem and keyed by SHA-256(model key, list SHA-256, phrase
 * count): a changed list, a different dict limit or another model gets its
 * own file, the others stay valid. The first computation goes in chunks;
 * after each chunk the rows done so far are written (atomically), so an
 * interrupted run resumes where it stopped. Features are L2-normalised. */
#ifndef UNPROMPT_ENGINE_MODELS_CLIP_LABEL_CACHE_H
#define UNPROMPT_ENGINE_MODELS_CLIP_LABEL_CACHE_H

#include <stddef.h>

#include "engine/models/clip/categories.h"

/* Text features of n phrases into features[n][dim] (not yet normalised). */
typedef int (*label_encode_fn)(void *user, const char *const *phrases, size_t n, float *features, fmt_error *err);
/* Called after each chunk and once at the start. */
typedef void (*label_progress_fn)(void *user, const char *list, size_t done, size_t total);

typedef struct {
    const char *dir;       /* cache folder (created if its parent exists); NULL: keep nothing */
    const char *model_key; /* identifies the text tower, e.g. its source SHA-256 + dtype */
    size_t dim;
    size_t chunk;          /* phrases per saved step; 0: 256 */
    label_encode_fn encode;
    void *encode_user;
    label_progress_fn progress; /* may be NULL */
    void *progress_user;
} label_cache_params;

/* *features = malloc'd [c->n_items][dim] normalised embeddings. *saved
 * (if not NULL) tells whether they are in the cache folder now (0 when it
 * cannot be written: the work is then redone next time). */
int label_cache_get(const label_cache_params *p, const category *c, float **features, int *saved, fmt_error *err);

/* The cache file's path for this list (for tests and messages). */
int label_cache_path(const label_cache_params *p, const category *c, char *path, size_t cap);

#endif
