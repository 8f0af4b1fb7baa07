/* safetensors header validation on arbitrary bytes; every accepted tensor's
 * bytes are touched (ASan sees any pointer outside the input) and every
 * accepted file is written back through the writer's header path. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "format/safetensors.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file f;
    fmt_error e;
    st_limits lim = st_default_limits();
    lim.max_header = 1 << 20;
    lim.max_tensors = 4096;
    if (st_open(&f, data, size, &lim, &e)) return 0;
    st_writer w;
    st_writer_init(&w);
    for (size_t i = 0; i < f.n_tensors; i++) {
        const st_tensor *t = &f.tensors[i];
        if (st_find(&f, t->name) != t) abort();
        if (t->nbytes) sink += t->data[0] + t->data[t->nbytes - 1];
        st_writer_add(&w, t->name, t->dtype, t->rank, t->shape, t->data, &e);
    }
    for (size_t i = 0; i < f.n_meta; i++) {
        if (!st_meta(&f, f.meta[i].key)) abort();
        st_writer_meta(&w, f.meta[i].key, f.meta[i].value, &e);
    }
    buf h;
    buf_init(&h, 0);
    if (st_writer_header(&w, &h, &e) == 0 && h.len % 8 != 0) abort();
    buf_free(&h);
    st_writer_free(&w);
    st_close(&f);
    return 0;
}
