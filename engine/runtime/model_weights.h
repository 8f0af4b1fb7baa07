/* The layers of a transformer as its kernels take them, read from a
 * converted file (weights/FORMAT.md).
 *
 * A linear layer (nn.Linear: weight [out][in], bias [out]) becomes a
 * linear_weights: f32 weights are used in place from the mapping, f16 ones
 * are widened to f32 once, bf16 ones are packed into panels for the bf16
 * GEMM. Where the level prefers it, a model then re-lays its f32 layers
 * into panels (engine/runtime/panel_cache.h). Vectors (biases, norms) become f32. Whatever had to be converted is
 * owned by a weight_pool and freed with it; the mapped pages of converted
 * tensors are released so RSS holds one copy. Convolutions (wp_conv) are
 * linear layers over image patches. */
#ifndef UNPROMPT_ENGINE_RUNTIME_MODEL_WEIGHTS_H
#define UNPROMPT_ENGINE_RUNTIME_MODEL_WEIGHTS_H

#include <stddef.h>

#include "engine/runtime/weights.h"
#include "kernels/kernels.h"

typedef struct {
    linear_weights w;
    weight_panel panel; /* what w.bf16 points at, when bf16 */
    const float *bias; /* [out] or NULL */
    size_t out, in;
} layer_linear;

typedef struct {
    const float *gamma, *beta;
    size_t n;
} layer_norm;

typedef struct {
    const weights_file *file;
    const kernel_table *kt;
    void **owned;
    size_t n_owned, cap;
    unsigned char *spare; /* what is left of the block wp_reserve made */
    size_t spare_left;
} weight_pool;

void weight_pool_init(weight_pool *p, const weights_file *file, const kernel_table *kt);
void weight_pool_free(weight_pool *p);

/* Memory the pool frees with the rest (64-byte aligned), for what a model
 * derives from its weights; NULL when out of memory. */
void *wp_alloc(weight_pool *p, size_t bytes);
/* One block for the next `bytes` of wp_alloc calls (each rounded up to 64),
 * for a model that knows its total: one large allocation in huge pages
 * rather than many each rounded up to one. What does not fit is allocated
 * on its own. -1 when out of memory. */
int wp_reserve(weight_pool *p, size_t bytes);
/* The tensor `name` as stored, checked to be [shape] (rank ≤ 4) when shape
 * is not NULL. */
int wp_tensor(weight_pool *p, const char *name, int rank, const size_t *shape, tensor *t, fmt_error *err);
/* A matrix [l->out][l->in] (both set by the caller) of t's dtype whose
 * elements are at `data`: t->data itself, or a copy the caller re-laid (and
 * frees). Used in place when f32 and data is t->data; else packed (bf16) or
 * converted to f32 into the pool. t's mapped pages are left as they are. */
int wp_matrix(weight_pool *p, const char *name, const tensor *t, const void *data, layer_linear *l, fmt_error *err);
/* `name`.weight [out][in] and, if bias, `name`.bias [out]. -1 with a reason
 * if missing or of another shape. */
int wp_linear(weight_pool *p, const char *name, size_t out, size_t in, int bias, layer_linear *l, fmt_error *err);
/* The same with the two tensor names given whole (bias NULL: none). */
int wp_linear_named(weight_pool *p, const char *weight, const char *bias, size_t out, size_t in, layer_linear *l,
                    fmt_error *err);
/* `name`.weight and `name`.bias, both [n]. */
int wp_norm(weight_pool *p, const char *name, size_t n, layer_norm *l, fmt_error *err);
/* Any float tensor whose elements number `numel` (its shape checked by the
 * caller through `shape`, rank ≤ 4, when shape is not NULL), as f32. */
int wp_f32(weight_pool *p, const char *name, int rank, const size_t *shape, const float **out, fmt_error *err);
/* A matrix stored [in][out] (x·M, as CLIP's proj), as a linear layer [out][in]
 * (transposed once, f32). */
int wp_linear_transposed(weight_pool *p, const char *name, size_t in, size_t out, layer_linear *l, fmt_error *err);
/* An embedding table [rows][width], kept as a view into the file (any float
 * dtype); rows are fetched with wp_embedding_row. */
int wp_embedding(weight_pool *p, const char *name, size_t rows, size_t width, tensor *out, fmt_error *err);
void wp_embedding_row(const kernel_table *kt, const tensor *table, size_t row, float *dst);

/* A convolution's `name`.weight, stored [cout][cin][k][k] (PyTorch's
 * layout, k×k square), as the linear layer over NHWC patches that conv2d
 * takes (kernels/kernels.h): l->out = cout, l->in = k·k·cin, the weight
 * re-laid [cout][k][k][cin]. In place when f32 and 1×1, else re-laid and
 * packed (bf16) or converted to f32 into the pool (wp_matrix); the mapped
 * pages are released then. The bias is left to the caller (NULL). */
int wp_conv(weight_pool *p, const char *name, const tensor *w, layer_linear *l, fmt_error *err);
/* The same re-laid weight as f32 into dst (tensor_numel(w) floats): for
 * panel sources and transforms. -1 when out of memory. */
int conv_weights_f32(float *dst, const tensor *w);

struct panel_set;
/* l's f32 weights re-laid into the next panels of `ps` (engine/runtime/panel_cache.h);
 * nothing for bf16 ones. -1 when out of memory. */
int layer_linear_pack(struct panel_set *ps, layer_linear *l);

/* y = act(x·Wᵀ + b + residual) over m rows. */
void layer_linear_run(const kernel_table *kt, const layer_linear *l, float *y, const float *x, size_t m,
                      const float *residual, void (*act)(float *, size_t));

#endif
