/* Random safetensors models: header from the writer, data filled in place. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/random_model.h"
#include "engine/deepdanbooru.h"
#include "format/safetensors.h"

typedef struct {
    char name[64];
    st_dtype dtype;
    int rank;
    size_t shape[4];
    float scale; /* uniform in [-scale, scale] */
    const char *text; /* U8 tensors: their bytes */
} spec;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static uint16_t to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

static void fill(const st_tensor *t, const spec *s)
{
    uint8_t *p = (uint8_t *)t->data; /* our own buffer */
    if (s->text) {
        memcpy(p, s->text, t->nbytes);
        return;
    }
    for (size_t i = 0; i < t->numel; i++) {
        float v = uniform() * s->scale;
        if (t->dtype == ST_F32) memcpy(p + 4 * i, &v, 4);
        else {
            uint16_t h = to_bf16(v);
            memcpy(p + 2 * i, &h, 2);
        }
    }
}

/* Only the header is written through the writer; the bytes are filled in
 * place afterwards, so this is never called. */
static int no_fill(void *user, size_t offset, uint8_t *dst, size_t n, fmt_error *err)
{
    (void)user, (void)offset, (void)dst, (void)n;
    return fmt_fail(err, "unused");
}

static int build(random_model *m, const spec *specs, size_t n)
{
    st_writer w;
    st_writer_init(&w);
    fmt_error err;
    buf header;
    buf_init(&header, 0);
    size_t data = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = st_writer_add_fill(&w, specs[i].name, specs[i].dtype, specs[i].rank, specs[i].shape, no_fill, NULL, &err);
        size_t numel = 1;
        for (int d = 0; d < specs[i].rank; d++) numel *= specs[i].shape[d];
        data += numel * st_dtype_size(specs[i].dtype);
    }
    rc = rc || st_writer_header(&w, &header, &err);
    st_writer_free(&w);
    m->len = header.len + data;
    m->bytes = rc ? NULL : malloc(m->len);
    if (!m->bytes) {
        buf_free(&header);
        return -1;
    }
    memcpy(m->bytes, header.data, header.len);
    buf_free(&header);
    st_file f;
    if (st_open(&f, m->bytes, m->len, NULL, &err)) {
        fprintf(stderr, "bench: random model: %s\n", err.msg);
        random_model_free(m);
        return -1;
    }
    for (size_t i = 0; i < n; i++) fill(st_find(&f, specs[i].name), &specs[i]);
    st_close(&f);
    return 0;
}

int random_deepdanbooru(random_model *m, int width_div, int n_tags, const char *dtype)
{
    dd_layer_shape shapes[DD_CONVS];
    if (dd_layer_shapes(width_div, n_tags, shapes)) return -1;
    st_dtype wt = strcmp(dtype, "BF16") ? ST_F32 : ST_BF16;
    spec *specs = calloc(2 * DD_CONVS + 1, sizeof *specs);
    if (!specs) return -1;
    size_t n = 0, text_len = 0;
    for (int i = 0; i < DD_CONVS; i++) {
        const dd_layer_shape *l = &shapes[i];
        spec *s = &specs[n++];
        snprintf(s->name, sizeof s->name, "n_Conv_%d.weight", i);
        s->dtype = wt, s->rank = 4;
        s->shape[0] = (size_t)l->cout, s->shape[1] = (size_t)l->cin, s->shape[2] = s->shape[3] = (size_t)l->k;
        /* uniform with variance 2/fan_in (He), residual branches damped */
        s->scale = sqrtf(6.0f / (float)(l->cin * l->k * l->k)) * 0.5f;
        if (l->has_bias) {
            spec *b = &specs[n++];
            snprintf(b->name, sizeof b->name, "n_Conv_%d.bias", i);
            b->dtype = ST_F32, b->rank = 1, b->shape[0] = (size_t)l->cout, b->scale = 0.01f;
        }
    }
    char *tags = malloc((size_t)n_tags * 16);
    if (!tags) return free(specs), -1;
    for (int i = 0; i < n_tags; i++) text_len += (size_t)sprintf(tags + text_len, i ? "\ntag_%d" : "tag_%d", i);
    spec *t = &specs[n++];
    snprintf(t->name, sizeof t->name, "tags");
    t->dtype = ST_U8, t->rank = 1, t->shape[0] = text_len, t->text = tags;
    int rc = build(m, specs, n);
    free(tags);
    free(specs);
    return rc;
}

int random_model_save(const random_model *m, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int rc = fwrite(m->bytes, 1, m->len, f) == m->len ? 0 : -1;
    return fclose(f) || rc ? -1 : 0;
}

void random_model_free(random_model *m)
{
    free(m->bytes);
    m->bytes = NULL, m->len = 0;
}
