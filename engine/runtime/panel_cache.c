/* Re-laid f32 weights and the panels file beside the model; see
 * panel_cache.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/big_alloc.h"
#include "engine/runtime/panel_cache.h"
#include "format/safetensors.h"

/* Bump when the packed layout or the order loaders add matrices in changes. */
#define PANELS_VERSION "f32 panels of 32, v3" /* v2: DeepDanbooru's Winograd matrices; v3: BLIP's cross-attention by head */
#define PANELS_KEY "unprompt.panels_key"

typedef struct {
    const float *data;
    float *owned; /* == data when packed here, else NULL (mapped) */
    size_t floats;
} panel_entry;

struct panel_set {
    const weights_file *wf;
    const kernel_table *kt;
    weights_file *file; /* the panels file, when it exists and is this model's */
    char *path;         /* "<model>.panels", NULL for models in memory */
    char key[640];
    panel_entry *e;
    size_t n, cap;
    int packed_here;
};

static void panels_key(const weights_file *wf, char *key, size_t cap)
{
    const char *sha = weights_meta(wf, "unprompt.source_sha256"), *dt = weights_meta(wf, "unprompt.dtype"),
               *cv = weights_meta(wf, "unprompt.converter");
    snprintf(key, cap, "%s; source %.80s; dtype %.16s; converter %.64s; %zu bytes", PANELS_VERSION, sha ? sha : "?",
             dt ? dt : "?", cv ? cv : "?", weights_size(wf));
}

/* The panels file, if it is there and belongs to this model. */
static void open_file(panel_set *s)
{
    fmt_error err;
    if (weights_open(&s->file, s->path, &err)) {
        s->file = NULL;
        return;
    }
    const char *key = weights_meta(s->file, PANELS_KEY);
    if (!key || strcmp(key, s->key)) {
        weights_close(s->file);
        s->file = NULL;
    }
}

panel_set *panel_set_begin(const weights_file *wf, const kernel_table *kt)
{
    panel_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->wf = wf, s->kt = kt;
    const char *model = weights_path(wf);
    if (model) {
        size_t len = strlen(model) + sizeof ".panels";
        if (!(s->path = malloc(len))) {
            free(s);
            return NULL;
        }
        snprintf(s->path, len, "%s.panels", model);
        panels_key(wf, s->key, sizeof s->key);
        open_file(s);
    }
    return s;
}

/* The idx-th matrix from the file: exactly `floats` f32 values, else NULL. */
static const float *from_file(const panel_set *s, size_t idx, size_t floats)
{
    if (!s->file) return NULL;
    char name[32];
    snprintf(name, sizeof name, "panel.%06zu", idx);
    tensor t;
    fmt_error err;
    if (weights_tensor(s->file, name, &t, &err) || t.type != DTYPE_F32 || tensor_numel(&t) != floats) return NULL;
    return t.data;
}

/* Packed here: from w, or from what src writes into a temporary. */
static float *pack_here(size_t N, size_t K, size_t floats, const float *w, panel_source_fn src, void *user)
{
    float *dst = big_alloc(floats * sizeof *dst), *tmp = NULL;
    if (!dst) return NULL;
    if (!w) {
        tmp = malloc(N * K * sizeof *tmp);
        if (!tmp || src(user, tmp)) {
            free(tmp), free(dst);
            return NULL;
        }
    }
    gemm_f32_pack(dst, w ? w : tmp, N, K);
    free(tmp);
    return dst;
}

int panel_set_add(panel_set *s, size_t N, size_t K, const float *w, panel_source_fn src, void *user,
                  weight_panel *panel, linear_weights *lw)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        panel_entry *e = realloc(s->e, cap * sizeof *e);
        if (!e) return -1;
        s->e = e, s->cap = cap;
    }
    size_t floats = gemm_f32_packed_size(N, K);
    if (!floats) return -1; /* empty or absurd: the loaders check shapes first */
    panel_entry *e = &s->e[s->n];
    e->floats = floats, e->owned = NULL;
    e->data = from_file(s, s->n, floats);
    if (!e->data) {
        if (!(e->owned = pack_here(N, K, floats, w, src, user))) return -1;
        e->data = e->owned;
        s->packed_here = 1;
    }
    s->n++;
    gemm_f32_use_panels(&s->kt->f32p, e->data, N, K, panel, lw);
    if (w) weights_release_floats(s->wf, w, N * K);
    return 0;
}

void panel_set_finish(panel_set *s)
{
    if (!s || !s->path || !s->packed_here) return;
    st_writer w;
    st_writer_init(&w);
    fmt_error err;
    int bad = st_writer_meta(&w, PANELS_KEY, s->key, &err);
    for (size_t i = 0; !bad && i < s->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "panel.%06zu", i);
        size_t shape[1] = {s->e[i].floats};
        bad = st_writer_add(&w, name, ST_F32, 1, shape, s->e[i].data, &err);
    }
    if (!bad) (void)st_write_file(&w, s->path, &err); /* a read-only directory only means packing next time */
    st_writer_free(&w);
}

void panel_set_free(panel_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->e[i].owned);
    free(s->e);
    weights_close(s->file);
    free(s->path);
    free(s);
}
