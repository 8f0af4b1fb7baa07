/* JSON parser and writer on arbitrary bytes. */
#include <stdint.h>
#include <stddef.h>

#include "format/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fmt_error e;
    json_value *v = json_parse((const char *)data, size, NULL, &e);
    if (v) {
        buf b;
        buf_init(&b, 0);
        json_write_value(&b, v, &e);
        buf_free(&b);
        json_free(v);
    }
    return 0;
}
