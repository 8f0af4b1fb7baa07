/* The WebUI infotext parser on arbitrary text. */
#include <stdint.h>
#include <stddef.h>

#include "format/gen_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gen_params p;
    fmt_error e;
    gen_params_init(&p);
    params_parse_a1111((const char *)data, size, &p, &e);
    gen_params_free(&p);
    return 0;
}
