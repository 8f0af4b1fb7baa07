/* Label-embedding cache files; see label_cache.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/models/clip/clip_rank.h"
#include "engine/models/clip/label_cache.h"
#include "engine/runtime/weights.h"
#include "format/safetensors.h"
#include "base/sha256.h"

#define LABEL_CACHE_VERSION "1"

static void cache_key(const label_cache_params *p, const category *c, char key[65])
{
    char text[512];
    int n = snprintf(text, sizeof text, "unprompt label cache %s\n%s\n%s\n%zu\n%zu", LABEL_CACHE_VERSION,
                     p->model_key ? p->model_key : "", c->sha256, c->n_items, p->dim);
    sha256_hex((const uint8_t *)text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1, key);
}

int label_cache_path(const label_cache_params *p, const category *c, char *path, size_t cap)
{
    if (!p->dir) return -1;
    char key[65], stem[64];
    cache_key(p, c, key);
    size_t i = 0;
    for (const char *s = c->name; *s && i + 1 < sizeof stem; s++) /* a safe file name */
        stem[i++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
                            *s == '-' || *s == '_'
                        ? *s
                        : '_';
    stem[i] = 0;
    int n = snprintf(path, cap, "%s/%s-%.16s.safetensors", p->dir, stem, key);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Rows already computed by an earlier (possibly interrupted) run: 0 when
 * there is no usable file. */
static size_t cache_read(const char *path, const label_cache_params *p, const category *c, float *features)
{
    weights_file *wf;
    fmt_error err;
    if (weights_open(&wf, path, &err)) return 0;
    char key[65];
    cache_key(p, c, key);
    const char *k = weights_meta(wf, "unprompt.label_key");
    tensor t;
    size_t rows = 0;
    if (k && !strcmp(k, key) && !weights_tensor(wf, "features", &t, &err) && t.type == DTYPE_F32 && t.rank == 2 &&
        t.shape[1] == p->dim && t.shape[0] <= c->n_items) {
        rows = t.shape[0];
        memcpy(features, t.data, rows * p->dim * sizeof *features);
    }
    weights_close(wf);
    return rows;
}

static int cache_write(const char *path, const label_cache_params *p, const category *c, const float *features,
                       size_t rows, fmt_error *err)
{
    st_writer w;
    st_writer_init(&w);
    char key[65], total[32];
    cache_key(p, c, key);
    snprintf(total, sizeof total, "%zu", c->n_items);
    size_t shape[2] = {rows, p->dim};
    int rc = st_writer_meta(&w, "unprompt.kind", "label_cache", err) ||
             st_writer_meta(&w, "unprompt.label_key", key, err) ||
             st_writer_meta(&w, "unprompt.list", c->name, err) ||
             st_writer_meta(&w, "unprompt.list_sha256", c->sha256, err) ||
             st_writer_meta(&w, "unprompt.model", p->model_key ? p->model_key : "", err) ||
             st_writer_meta(&w, "unprompt.phrases", total, err) ||
             st_writer_add(&w, "features", ST_F32, 2, shape, features, err) || st_write_file(&w, path, err);
    st_writer_free(&w);
    return rc ? -1 : 0;
}

static int ensure_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return 0;
    return -1;
}

static int encode_rows(const label_cache_params *p, const category *c, float *features, size_t from, size_t n,
                       fmt_error *err)
{
    if (p->encode(p->encode_user, (const char *const *)c->items + from, n, features + from * p->dim, err)) return -1;
    for (size_t i = from; i < from + n; i++) clip_l2_normalize(features + i * p->dim, p->dim);
    return 0;
}

int label_cache_get(const label_cache_params *p, const category *c, float **features, int *saved, fmt_error *err)
{
    size_t n = c->n_items, chunk = p->chunk ? p->chunk : 256;
    *features = malloc((n ? n : 1) * p->dim * sizeof **features);
    if (!*features) return fmt_fail(err, "label cache: out of memory for %zu phrases", n);
    char path[4096];
    int persist = p->dir && !ensure_dir(p->dir) && !label_cache_path(p, c, path, sizeof path);
    size_t done = persist ? cache_read(path, p, c, *features) : 0;
    if (saved) *saved = persist && done == n;
    if (done == n && persist) return 0;
    if (p->progress) p->progress(p->progress_user, c->name, done, n);
    while (done < n) {
        size_t m = n - done < chunk ? n - done : chunk;
        if (encode_rows(p, c, *features, done, m, err)) {
            free(*features);
            *features = NULL;
            return fmt_prefix(err, "label cache: ");
        }
        done += m;
        fmt_error werr;
        if (persist && cache_write(path, p, c, *features, done, &werr)) persist = 0; /* read-only: go on */
        if (p->progress) p->progress(p->progress_user, c->name, done, n);
    }
    if (saved) *saved = persist;
    return 0;
}
