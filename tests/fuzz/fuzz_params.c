/* Generator detection over arbitrary text entries: the input is split at
 * NUL bytes into keyword, text, keyword, text, ... */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "format/gen_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    meta_list m;
    meta_list_init(&m);
    const char *s = (const char *)data, *end = s + size;
    while (s < end && m.count < 16) {
        const char *k_end = memchr(s, 0, (size_t)(end - s));
        if (!k_end) break;
        const char *t = k_end + 1;
        const char *t_end = memchr(t, 0, (size_t)(end - t));
        if (!t_end) t_end = end;
        meta_list_add(&m, s, (size_t)(k_end - s), t, (size_t)(t_end - t), META_PNG_TEXT, NULL);
        s = t_end + 1;
    }
    gen_params p;
    fmt_error e;
    gen_params_detect(&m, &p, &e);
    gen_params_free(&p);
    meta_list_free(&m);
    return 0;
}
