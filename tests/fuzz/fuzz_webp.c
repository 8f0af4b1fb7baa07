/* WebP RIFF walk on arbitrary bytes. */
#include <stdint.h>
#include <stddef.h>

#include "format/webp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    meta_list m;
    fmt_error e;
    meta_list_init(&m);
    webp_read_meta(data, size, &m, &e);
    meta_list_free(&m);
    return 0;
}
