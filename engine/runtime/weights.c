/* Converted model files: mmap + the safetensors reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/runtime/mapped_file.h"
#include "engine/runtime/weights.h"
#include "format/safetensors.h"
#include "kernels/kernels.h"

struct weights_file {
    st_file st;
    mapped_file map; /* empty when the bytes belong to the caller */
    char *path;      /* NULL for bytes in memory */
};

int weights_open_memory(weights_file **out, const uint8_t *data, size_t len, fmt_error *err)
{
    weights_file *w = calloc(1, sizeof *w);
    if (!w) return fmt_fail(err, "out of memory");
    if (st_open(&w->st, data, len, NULL, err)) {
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

static int fail_path(fmt_error *err, const char *path)
{
    char prefix[FMT_ERROR_MAX / 2];
    snprintf(prefix, sizeof prefix, "%s: ", path);
    return fmt_prefix(err, prefix);
}

int weights_open(weights_file **out, const char *path, fmt_error *err)
{
    mapped_file m;
    if (mapped_file_open(&m, path, err)) return -1;
    weights_file *w = calloc(1, sizeof *w);
    if (!w) {
        mapped_file_close(&m);
        return fmt_fail(err, "out of memory");
    }
    w->map = m;
    if (!(w->path = strdup(path))) {
        mapped_file_close(&m);
        free(w);
        return fmt_fail(err, "out of memory");
    }
    if (st_open(&w->st, m.data, m.len, NULL, err)) {
        mapped_file_close(&m);
        free(w->path);
        free(w);
        return fail_path(err, path);
    }
    *out = w;
    return 0;
}

void weights_close(weights_file *w)
{
    if (!w) return;
    st_close(&w->st);
    mapped_file_close(&w->map);
    free(w->path);
    free(w);
}

const char *weights_meta(const weights_file *w, const char *key) { return st_meta(&w->st, key); }

int weights_has(const weights_file *w, const char *name) { return st_find(&w->st, name) != NULL; }

int weights_tensor(const weights_file *w, const char *name, tensor *out, fmt_error *err)
{
    const st_tensor *t = st_find(&w->st, name);
    if (!t) return fmt_fail(err, "tensor %s is missing", name);
    dtype type;
    switch (t->dtype) {
    case ST_F32: type = DTYPE_F32; break;
    case ST_F16: type = DTYPE_F16; break;
    case ST_BF16: type = DTYPE_BF16; break;
    default: return fmt_fail(err, "tensor %s is %s, not a float tensor", name, st_dtype_name(t->dtype));
    }
    if (t->rank > TENSOR_MAX_RANK) return fmt_fail(err, "tensor %s has rank %d", name, t->rank);
    if ((uintptr_t)t->data % dtype_size(type))
        return fmt_fail(err, "tensor %s is not aligned in the file", name);
    if (tensor_init(out, (void *)t->data, type, t->rank, t->shape))
        return fmt_fail(err, "tensor %s is too large", name);
    return 0;
}

int weights_bytes(const weights_file *w, const char *name, const uint8_t **data, size_t *len, fmt_error *err)
{
    const st_tensor *t = st_find(&w->st, name);
    if (!t) return fmt_fail(err, "tensor %s is missing", name);
    if (t->dtype != ST_U8 || t->rank != 1) return fmt_fail(err, "tensor %s is not a byte string", name);
    *data = t->data, *len = t->nbytes;
    return 0;
}

void weights_release_floats(const weights_file *w, const float *data, size_t n)
{
    const uint8_t *lo_map = w->map.data, *p = (const uint8_t *)data;
    if (!lo_map || p < lo_map || p > lo_map + w->map.len) return;
    if (n > (w->map.len - (size_t)(p - lo_map)) / sizeof *data) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) / page * page;
    uintptr_t hi = ((uintptr_t)p + n * sizeof *data) / page * page;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void weights_release(const weights_file *w, const tensor *t)
{
    /* whole pages inside the tensor only; counted in floats, rounded down */
    weights_release_floats(w, t->data, tensor_nbytes(t) / sizeof(float));
}

void weights_to_f32(float *dst, const tensor *t)
{
    size_t n = tensor_numel(t);
    if (t->type == DTYPE_F32) {
        memcpy(dst, t->data, n * sizeof *dst);
        return;
    }
    linalg_kernels lk;
    linalg_kernels_scalar(&lk);
    if (t->type == DTYPE_F16) lk.f16_to_f32(dst, t->data, n);
    else lk.bf16_to_f32(dst, t->data, n);
}

const char *weights_path(const weights_file *w) { return w->path; }

size_t weights_size(const weights_file *w) { return w->map.len; }
