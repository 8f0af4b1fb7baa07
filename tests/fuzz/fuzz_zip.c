/* Zip central directory walk and entry extraction on arbitrary bytes. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "format/zip.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zip_archive z;
    fmt_error e;
    zip_limits lim = zip_default_limits();
    lim.max_entries = 4096;
    if (zip_open(&z, data, size, &lim, &e)) return 0;
    for (size_t i = 0; i < zip_count(&z); i++) {
        const zip_entry *en = zip_entry_at(&z, i);
        if (zip_find(&z, en->name) != en) abort();
        const uint8_t *d;
        uint8_t *owned;
        size_t len;
        if (zip_entry_data(&z, en, &d, &owned, &len, 1 << 20, &e) == 0) {
            if (len) sink += d[0] + d[len - 1];
            free(owned);
        }
    }
    zip_find_suffix(&z, "/data.pkl", NULL);
    zip_close(&z);
    return 0;
}
