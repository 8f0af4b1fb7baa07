/* A tensor is a typed view: dtype, shape, element strides and a pointer.
 * It owns nothing — data lives in the mmapped weights file or in a model's
 * arena — so slicing, transposing and reshaping are O(1) and never copy. */
#ifndef UNPROMPT_ENGINE_RUNTIME_TENSOR_H
#define UNPROMPT_ENGINE_RUNTIME_TENSOR_H

#include <stddef.h>

#define TENSOR_MAX_RANK 4

typedef enum { DTYPE_F32, DTYPE_F16, DTYPE_BF16 } dtype;

typedef struct {
    dtype type;
    int rank;
    size_t shape[TENSOR_MAX_RANK];
    size_t stride[TENSOR_MAX_RANK]; /* in elements */
    void *data;
} tensor;

size_t dtype_size(dtype t);
const char *dtype_name(dtype t);
/* "f32"/"F32", "f16"/"F16", "bf16"/"BF16" → 0 and *out; else -1. */
int dtype_parse(const char *name, dtype *out);

/* A contiguous (row-major) tensor over `data`. Returns -1 if rank is out of
 * range or the element count overflows. */
int tensor_init(tensor *t, void *data, dtype type, int rank, const size_t *shape);
size_t tensor_numel(const tensor *t);
size_t tensor_nbytes(const tensor *t); /* of a contiguous tensor */
int tensor_is_contiguous(const tensor *t);

/* Views (no copies). Each returns -1 on an out-of-range argument. */
int tensor_slice(tensor *out, const tensor *t, int axis, size_t start, size_t len);
int tensor_transpose(tensor *out, const tensor *t, int axis_a, int axis_b);
/* Same elements, new shape; only for contiguous tensors. */
int tensor_reshape(tensor *out, const tensor *t, int rank, const size_t *shape);
/* Pointer to element (i0, i1, …) (rank indices). */
void *tensor_at(const tensor *t, const size_t *index);

#endif
