/* Converted model files: mmap + the safetensors reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/weights.h"
#include "format/safetensors.h"
#include "kernels/kernels.h"

struct weights_file {
    st_file st;
    void *map; /* NULL when the bytes belong to the caller */
    size_t map_len;
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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fmt_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 8) {
        close(fd);
        return fmt_fail(err, "%s: not a model file (too small or not a regular file)", path);
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return fmt_fail(err, "%s: cannot map: %s", path, strerror(errno));
    weights_file *w = calloc(1, sizeof *w);
    if (!w) {
        munmap(map, len);
        return fmt_fail(err, "out of memory");
    }
    w->map = map, w->map_len = len;
    if (st_open(&w->st, map, len, NULL, err)) {
        munmap(map, len);
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
    if (w->map) munmap(w->map, w->map_len);
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
