/* Stealth info on arbitrary pixels: the first byte picks the height, the
 * rest are RGBA pixels. */
#include <stdint.h>
#include <stddef.h>

#include "format/stealth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    uint32_t h = 1u + data[0] % 64;
    size_t px = (size - 1) / 4;
    uint32_t w = (uint32_t)(px / h);
    if (w == 0) return 0;
    meta_list m;
    fmt_error e;
    meta_list_init(&m);
    stealth_read(data + 1, w, h, 4, 1 << 20, &m, &e);
    meta_list_free(&m);
    return 0;
}
