/* PyTorch checkpoint reading (zip + pickle + storage bounds) on arbitrary
 * bytes: every tensor the reader returns must lie inside its storage, be
 * found by its name, and the bytes inflated stay within the budget. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "format/torch_ckpt.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    torch_ckpt c;
    fmt_error e;
    ckpt_limits lim = ckpt_default_limits();
    lim.max_inflated = (size_t)64 << 20;
    if (torch_ckpt_open_limits(&c, data, size, &lim, &e)) return 0;
    if (c.inflated > lim.max_inflated) abort();
    for (size_t i = 0; i < c.n_tensors; i++) {
        const ckpt_tensor *t = &c.tensors[i];
        const ckpt_tensor *found = torch_ckpt_find(&c, t->name);
        if (!found || found > t || strcmp(found->name, t->name)) abort();
        if (t->numel == 0) continue;
        size_t last = ckpt_element_offset(t, t->numel - 1), first = ckpt_element_offset(t, 0);
        size_t es = pk_dtype_size(t->dtype);
        if ((last + 1) * es > t->storage_bytes || (first + 1) * es > t->storage_bytes) abort();
        sink += t->storage[last * es] + t->storage[first * es];
    }
    for (size_t i = 0; i < c.n_tags; i++) sink += (unsigned char)c.tags[i][0];
    torch_ckpt_close(&c);
    return 0;
}
