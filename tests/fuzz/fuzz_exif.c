/* Exif/TIFF reader on arbitrary bytes. */
#include <stdint.h>
#include <stddef.h>

#include "format/exif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    meta_list m;
    fmt_error e;
    meta_list_init(&m);
    exif_read(data, size, &m, &e);
    meta_list_free(&m);
    return 0;
}
