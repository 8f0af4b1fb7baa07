/* The image decoders (PNG, JPEG, WebP, GIF, BMP, TIFF) on arbitrary bytes,
 * with limits small enough that no input allocates much: every one decodes
 * or fails with a reason. */
#include <stddef.h>
#include <stdint.h>

#include "format/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    image_limits lim = {4096, 4096, (size_t)1 << 22};
    image_u8 img;
    fmt_error e;
    if (image_decode(data, size, &lim, &img, &e) == 0) image_free(&img);
    return 0;
}
