/* Tensor views: shape and stride bookkeeping only. */
#include <string.h>

#include "engine/runtime/tensor.h"
#include "base/buf.h"

size_t dtype_size(dtype t) { return t == DTYPE_F32 ? 4 : 2; }

const char *dtype_name(dtype t)
{
    switch (t) {
    case DTYPE_F32: return "f32";
    case DTYPE_F16: return "f16";
    case DTYPE_BF16: return "bf16";
    }
    return "?";
}

int dtype_parse(const char *name, dtype *out)
{
    static const struct {
        const char *lo, *up;
        dtype t;
    } names[] = {{"f32", "F32", DTYPE_F32}, {"f16", "F16", DTYPE_F16}, {"bf16", "BF16", DTYPE_BF16}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].lo) || !strcmp(name, names[i].up)) {
            *out = names[i].t;
            return 0;
        }
    return -1;
}

int tensor_init(tensor *t, void *data, dtype type, int rank, const size_t *shape)
{
    if (rank < 0 || rank > TENSOR_MAX_RANK) return -1;
    memset(t, 0, sizeof *t);
    t->type = type, t->rank = rank, t->data = data;
    size_t n = 1;
    for (int i = rank - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->stride[i] = n;
        if (size_mul(n, shape[i], &n)) return -1;
    }
    if (size_mul(n, dtype_size(type), &n)) return -1;
    return 0;
}

size_t tensor_numel(const tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->shape[i]; /* bounded by tensor_init */
    return n;
}

size_t tensor_nbytes(const tensor *t) { return tensor_numel(t) * dtype_size(t->type); }

int tensor_is_contiguous(const tensor *t)
{
    size_t expect = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) return 0;
        expect *= t->shape[i];
    }
    return 1;
}

int tensor_slice(tensor *out, const tensor *t, int axis, size_t start, size_t len)
{
    if (axis < 0 || axis >= t->rank || start > t->shape[axis] || len > t->shape[axis] - start) return -1;
    *out = *t;
    out->shape[axis] = len;
    out->data = (char *)t->data + start * t->stride[axis] * dtype_size(t->type);
    return 0;
}

int tensor_transpose(tensor *out, const tensor *t, int a, int b)
{
    if (a < 0 || b < 0 || a >= t->rank || b >= t->rank) return -1;
    *out = *t;
    out->shape[a] = t->shape[b], out->shape[b] = t->shape[a];
    out->stride[a] = t->stride[b], out->stride[b] = t->stride[a];
    return 0;
}

int tensor_reshape(tensor *out, const tensor *t, int rank, const size_t *shape)
{
    if (!tensor_is_contiguous(t)) return -1;
    tensor r;
    if (tensor_init(&r, t->data, t->type, rank, shape)) return -1;
    if (tensor_numel(&r) != tensor_numel(t)) return -1;
    *out = r;
    return 0;
}

void *tensor_at(const tensor *t, const size_t *index)
{
    size_t off = 0;
    for (int i = 0; i < t->rank; i++) {
        if (index[i] >= t->shape[i]) return NULL;
        off += index[i] * t->stride[i];
    }
    return (char *)t->data + off * dtype_size(t->type);
}
