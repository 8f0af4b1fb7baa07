/* Transformer layers from a converted file; see model_weights.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/runtime/big_alloc.h"
#include "engine/runtime/model_weights.h"
#include "engine/runtime/panel_cache.h"

void weight_pool_init(weight_pool *p, const weights_file *file, const kernel_table *kt)
{
    memset(p, 0, sizeof *p);
    p->file = file, p->kt = kt;
}

void weight_pool_free(weight_pool *p)
{
    for (size_t i = 0; i < p->n_owned; i++) free(p->owned[i]);
    free(p->owned);
    memset(p, 0, sizeof *p);
}

static void *wp_own(weight_pool *p, size_t bytes)
{
    if (p->n_owned == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        void **grown = realloc(p->owned, cap * sizeof *grown);
        if (!grown) return NULL;
        p->owned = grown, p->cap = cap;
    }
    void *mem = big_alloc(bytes);
    if (mem) p->owned[p->n_owned++] = mem;
    return mem;
}

void *wp_alloc(weight_pool *p, size_t bytes)
{
    if (bytes > SIZE_MAX - 63) return NULL;
    size_t rounded = (bytes + 63) / 64 * 64;
    if (!rounded || rounded > p->spare_left) return wp_own(p, bytes);
    void *mem = p->spare;
    p->spare += rounded, p->spare_left -= rounded;
    return mem;
}

int wp_reserve(weight_pool *p, size_t bytes)
{
    unsigned char *block = bytes ? wp_own(p, bytes) : NULL;
    if (bytes && !block) return -1;
    p->spare = block, p->spare_left = bytes;
    return 0;
}

static int check_shape(const tensor *t, const char *name, int rank, const size_t *shape, fmt_error *err)
{
    int ok = t->rank == rank;
    for (int d = 0; ok && d < rank; d++) ok = t->shape[d] == shape[d];
    if (ok) return 0;
    char want[96] = "", got[96] = "";
    for (int d = 0; d < rank; d++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%zu", d ? ", " : "", shape[d]);
    for (int d = 0; d < t->rank; d++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", d ? ", " : "", t->shape[d]);
    return fmt_fail(err, "%s is [%s], expected [%s]", name, got, want);
}

int wp_tensor(weight_pool *p, const char *name, int rank, const size_t *shape, tensor *t, fmt_error *err)
{
    if (weights_tensor(p->file, name, t, err)) return -1;
    return shape ? check_shape(t, name, rank, shape, err) : 0;
}

int wp_f32(weight_pool *p, const char *name, int rank, const size_t *shape, const float **out, fmt_error *err)
{
    tensor t;
    if (wp_tensor(p, name, rank, shape, &t, err)) return -1;
    if (t.type == DTYPE_F32) {
        *out = t.data;
        return 0;
    }
    float *f = wp_alloc(p, tensor_numel(&t) * sizeof *f);
    if (!f) return fmt_fail(err, "out of memory converting %s", name);
    weights_to_f32(f, &t);
    weights_release(p->file, &t);
    *out = f;
    return 0;
}

int wp_matrix(weight_pool *p, const char *name, const tensor *t, const void *data, layer_linear *l, fmt_error *err)
{
    if (t->type == DTYPE_F32 && data == t->data) {
        l->w = (linear_weights){.f32 = data};
        return 0;
    }
    if (t->type == DTYPE_BF16) {
        size_t n = gemm_bf16_packed_size(l->out, l->in);
        uint16_t *packed = n ? wp_alloc(p, n * sizeof *packed) : NULL;
        if (!packed) return fmt_fail(err, "out of memory packing %s", name);
        gemm_bf16_pack(packed, data, l->out, l->in);
        l->panel = (weight_panel){.data = packed, .N = l->out, .K = l->in, .elem_bytes = sizeof *packed};
        l->w = (linear_weights){.panel = &l->panel, .panel_gemm = p->kt->bf16.gemm_bf16};
        return 0;
    }
    float *f = wp_alloc(p, l->out * l->in * sizeof *f);
    if (!f) return fmt_fail(err, "out of memory converting %s", name);
    tensor view = *t;
    view.data = (void *)data;
    weights_to_f32(f, &view);
    l->w = (linear_weights){.f32 = f};
    return 0;
}

/* The matrix t [l->out][l->in] as stored: in place (f32), else packed or
 * converted and its mapped pages released. */
static int set_matrix(weight_pool *p, const char *name, const tensor *t, layer_linear *l, fmt_error *err)
{
    if (wp_matrix(p, name, t, t->data, l, err)) return -1;
    if (l->w.f32 != t->data) weights_release(p->file, t);
    return 0;
}

int wp_linear_named(weight_pool *p, const char *weight, const char *bias, size_t out, size_t in, layer_linear *l,
                    fmt_error *err)
{
    memset(l, 0, sizeof *l);
    l->out = out, l->in = in;
    size_t shape[2] = {out, in};
    tensor t;
    if (wp_tensor(p, weight, 2, shape, &t, err) || set_matrix(p, weight, &t, l, err)) return -1;
    return bias ? wp_f32(p, bias, 1, &out, &l->bias, err) : 0;
}

int wp_linear(weight_pool *p, const char *name, size_t out, size_t in, int bias, layer_linear *l, fmt_error *err)
{
    char wname[256], bname[256];
    snprintf(wname, sizeof wname, "%s.weight", name);
    snprintf(bname, sizeof bname, "%s.bias", name);
    return wp_linear_named(p, wname, bias ? bname : NULL, out, in, l, err);
}

int wp_norm(weight_pool *p, const char *name, size_t n, layer_norm *l, fmt_error *err)
{
    char key[256];
    l->n = n;
    snprintf(key, sizeof key, "%s.weight", name);
    if (wp_f32(p, key, 1, &n, &l->gamma, err)) return -1;
    snprintf(key, sizeof key, "%s.bias", name);
    return wp_f32(p, key, 1, &n, &l->beta, err);
}

int wp_linear_transposed(weight_pool *p, const char *name, size_t in, size_t out, layer_linear *l, fmt_error *err)
{
    memset(l, 0, sizeof *l);
    l->out = out, l->in = in;
    size_t shape[2] = {in, out};
    tensor t;
    if (wp_tensor(p, name, 2, shape, &t, err)) return -1;
    float *src = malloc(in * out * sizeof *src), *dst = wp_alloc(p, in * out * sizeof *dst);
    if (!src || !dst) {
        free(src);
        return fmt_fail(err, "out of memory transposing %s", name);
    }
    weights_to_f32(src, &t);
    for (size_t i = 0; i < in; i++)
        for (size_t o = 0; o < out; o++) dst[o * in + i] = src[i * out + o];
    free(src);
    l->w = (linear_weights){.f32 = dst};
    return 0;
}

/* [cout][cin][k][k] → [cout][k][k][cin], elements of `es` bytes. */
static void conv_permute(void *dst, const void *src, size_t cout, size_t cin, size_t k, size_t es)
{
    for (size_t o = 0; o < cout; o++)
        for (size_t i = 0; i < cin; i++)
            for (size_t y = 0; y < k; y++)
                for (size_t x = 0; x < k; x++)
                    memcpy((char *)dst + (((o * k + y) * k + x) * cin + i) * es,
                           (const char *)src + (((o * cin + i) * k + y) * k + x) * es, es);
}

int wp_conv(weight_pool *p, const char *name, const tensor *w, layer_linear *l, fmt_error *err)
{
    size_t cout = w->shape[0], k = w->shape[2], n = tensor_numel(w), es = dtype_size(w->type);
    memset(l, 0, sizeof *l);
    l->out = cout, l->in = n / cout;
    if (k == 1) return set_matrix(p, name, w, l, err); /* the layout is the same */
    void *relaid = malloc(n * es);
    if (!relaid) return fmt_fail(err, "out of memory re-laying %s", name);
    conv_permute(relaid, w->data, cout, w->shape[1], k, es);
    int rc = wp_matrix(p, name, w, relaid, l, err);
    free(relaid);
    if (!rc) weights_release(p->file, w);
    return rc;
}

int conv_weights_f32(float *dst, const tensor *w)
{
    size_t k = w->shape[2], n = tensor_numel(w);
    if (k == 1) { /* same layout, only the dtype changes */
        weights_to_f32(dst, w);
        return 0;
    }
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return -1;
    weights_to_f32(tmp, w);
    conv_permute(dst, tmp, w->shape[0], w->shape[1], k, sizeof *tmp);
    free(tmp);
    return 0;
}

int wp_embedding(weight_pool *p, const char *name, size_t rows, size_t width, tensor *out, fmt_error *err)
{
    size_t shape[2] = {rows, width};
    return wp_tensor(p, name, 2, shape, out, err);
}

void wp_embedding_row(const kernel_table *kt, const tensor *table, size_t row, float *dst)
{
    size_t w = table->shape[1];
    const char *src = (const char *)table->data + row * w * dtype_size(table->type);
    if (table->type == DTYPE_F32) memcpy(dst, src, w * sizeof *dst);
    else if (table->type == DTYPE_F16) kt->linalg.f16_to_f32(dst, (const uint16_t *)(const void *)src, w);
    else kt->linalg.bf16_to_f32(dst, (const uint16_t *)(const void *)src, w);
}

void layer_linear_run(const kernel_table *kt, const layer_linear *l, float *y, const float *x, size_t m,
                      const float *residual, void (*act)(float *, size_t))
{
    gemm_epilogue ep = {.bias = l->bias, .residual = residual, .ldr = l->out, .act = act};
    linear_run(&kt->linalg, y, x, &l->w, m, l->out, l->in, &ep);
}

int layer_linear_pack(struct panel_set *ps, layer_linear *l)
{
    return l->w.f32 ? panel_set_add(ps, l->out, l->in, l->w.f32, NULL, NULL, &l->panel, &l->w) : 0;
}
