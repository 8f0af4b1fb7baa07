/* The ComfyUI graph walker: the input is used as the `prompt` graph and,
 * from its first NUL on, as the `workflow`. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "format/gen_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nul = memchr(s, 0, size);
    size_t first = nul ? (size_t)(nul - s) : size;
    gen_params p;
    fmt_error e;
    gen_params_init(&p);
    params_parse_comfyui(s, first, nul ? nul + 1 : NULL, nul ? size - first - 1 : 0, &p, &e);
    gen_params_free(&p);
    return 0;
}
