/* NFC (Unicode UAX #15): canonical decomposition, canonical ordering of
 * combining marks, canonical composition. Tables from unicodedata, through
 * tools/gen-unicode.py. */
#include <stdlib.h>
#include <string.h>

#include "engine/text/clean.h"
#include "engine/text/unicode.h"

/* Stable sort of v[0..n) by combining class (all non-zero). Short runs by
 * insertion; long ones (hostile input) by counting sort, O(n + 256). */
static int sort_marks(uint32_t *v, size_t n)
{
    if (n < 2) return 0;
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            uint32_t c = v[i];
            uint8_t k = uc_ccc(c);
            size_t j = i;
            while (j > 0 && uc_ccc(v[j - 1]) > k) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = c;
        }
        return 0;
    }
    uint32_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return -1;
    size_t start[257] = {0};
    for (size_t i = 0; i < n; i++) start[uc_ccc(v[i]) + 1]++;
    for (int k = 1; k <= 256; k++) start[k] += start[k - 1];
    for (size_t i = 0; i < n; i++) tmp[start[uc_ccc(v[i])]++] = v[i];
    memcpy(v, tmp, n * sizeof *tmp);
    free(tmp);
    return 0;
}

static int canonical_order(uint32_t *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (uc_ccc(v[i]) == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && uc_ccc(v[j]) != 0) j++;
        if (sort_marks(v + i, j - i)) return -1;
        i = j;
    }
    return 0;
}

/* Compose v[0..n) in place; returns the new length. A mark composes with the
 * last starter unless blocked: something in between with class 0 or with a
 * class >= its own. */
static size_t compose(uint32_t *v, size_t n)
{
    size_t out = 0, starter = SIZE_MAX;
    uint8_t last = 0; /* class of the last code point kept after the starter */
    for (size_t i = 0; i < n; i++) {
        uint32_t c = v[i];
        uint8_t k = uc_ccc(c);
        if (starter != SIZE_MAX) {
            int adjacent = out == starter + 1;
            if (adjacent || (last != 0 && last < k)) {
                uint32_t p = uc_compose(v[starter], c);
                if (p) {
                    v[starter] = p;
                    continue;
                }
            }
        }
        if (k == 0) starter = out;
        last = k;
        v[out++] = c;
    }
    return out;
}

int clip_nfc(cp_buf *t, cp_buf *scratch)
{
    size_t i = 0;
    while (i < t->n && t->v[i] < 0x300) i++;
    if (i == t->n) return 0; /* nothing below U+0300 decomposes, reorders or composes */
    if (t->n > SIZE_MAX / 4 || cp_buf_reserve(scratch, t->n * 4)) return -1;
    size_t n = 0;
    for (size_t j = 0; j < t->n; j++) {
        uint32_t d[4];
        size_t k = t->v[j] < 0xC0 ? (d[0] = t->v[j], 1) : uc_decompose(t->v[j], d);
        for (size_t m = 0; m < k; m++) scratch->v[n++] = d[m];
    }
    if (canonical_order(scratch->v, n)) return -1;
    scratch->n = compose(scratch->v, n);
    cp_buf_swap(t, scratch);
    return 0;
}
