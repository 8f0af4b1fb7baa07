/* Pickle interpreter on arbitrary bytes: parse, walk the state dict, and
 * visit every node checking the invariants the header promises. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "format/pickle.h"

static size_t visits;

static void check_tensor(const pk_tensor *t)
{
    if (t->rank < 0 || t->rank > PK_MAX_RANK || t->offset < 0 || t->numel < 0 ||
        t->storage.numel < 0 || pk_dtype_size(t->storage.dtype) == 0 || !t->storage.key ||
        !t->storage.location)
        abort();
    int64_t last = t->offset;
    for (int i = 0; i < t->rank; i++) {
        if (t->shape[i] < 0 || t->strides[i] < 0) abort();
        if (t->numel > 0) last += (t->shape[i] - 1) * t->strides[i];
    }
    if (t->numel > 0 && last >= t->storage.numel) abort();
}

/* The result is promised to be acyclic and at most max_depth deep; the
 * visit budget bounds walks over shared subtrees. */
static void visit(const pk_value *v, int depth)
{
    if (!v || depth > 300) abort();
    if (++visits > 200000) return;
    switch (v->type) {
    case PK_TUPLE:
    case PK_LIST:
    case PK_SET:
        for (size_t i = 0; i < v->count; i++) visit(v->items[i], depth + 1);
        break;
    case PK_DICT:
        for (size_t i = 0; i < v->count; i++) {
            visit(v->keys[i], depth + 1);
            visit(v->items[i], depth + 1);
        }
        if (v->state) visit(v->state, depth + 1);
        break;
    case PK_OBJECT:
        if (!v->module || !v->name) abort();
        if (v->state) visit(v->state, depth + 1);
        break;
    case PK_TENSOR: check_tensor(v->tensor); break;
    case PK_STR:
    case PK_BYTES:
        if (!v->str || v->str[v->len] != '\0') abort();
        break;
    default: break;
    }
}

static int on_tensor(void *ctx, const char *name, const pk_tensor *t)
{
    (void)ctx;
    if (!name) abort();
    check_tensor(t);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fmt_error e;
    pk_limits lim = pk_default_limits();
    lim.max_bytes = (size_t)64 << 20;
    pk_doc *d = pk_parse(data, size, &lim, &e);
    if (d) {
        const pk_value *root = pk_root(d);
        visits = 0;
        visit(root, 0);
        pk_walk_tensors(d, on_tensor, NULL, &e);
        pk_str(pk_get(pk_find_state_dict(root), "tags"));
        pk_at(root, 0);
        pk_free(d);
    }
    return 0;
}
