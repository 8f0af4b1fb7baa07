/* PNG chunk walk on arbitrary bytes. */
#include <stdint.h>
#include <stddef.h>

#include "format/png.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    meta_list m;
    fmt_error e;
    png_limits lim = png_default_limits();
    lim.max_inflate = 1 << 20;
    meta_list_init(&m);
    png_read_meta(data, size, &lim, &m, NULL, &e);
    meta_list_free(&m);
    return 0;
}
