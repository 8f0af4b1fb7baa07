/* Control characters written escaped; see escape.h. */
#include "tools/engine-run/escape.h"

#include <stdlib.h>

/* Bytes that must not reach a terminal as they are: 1 for one byte (C0
 * but tab and newline, DEL), 2 for a C1 character's UTF-8 pair, else 0. */
static size_t control_len(const unsigned char *p)
{
    if ((p[0] < 0x20 && p[0] != '\t' && p[0] != '\n') || p[0] == 0x7f) return 1;
    return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f ? 2 : 0;
}

int fput_escaped(FILE *f, const char *s, int json)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;
    while (*p && rc >= 0) {
        size_t run = 0, n;
        while (p[run] && !control_len(p + run)) run++;
        if (run && fwrite(p, 1, run, f) != run) return -1;
        p += run;
        if (!*p) break;
        n = control_len(p);
        if (json) rc = fprintf(f, "\\u00%02x", n == 2 ? p[1] : p[0]);
        else if (n == 2) rc = fprintf(f, "\\x%02x\\x%02x", p[0], p[1]);
        else rc = fprintf(f, "\\x%02x", p[0]);
        p += n;
    }
    return rc < 0 ? -1 : 0;
}

int vfprintf_escaped(FILE *f, const char *fmt, va_list ap)
{
    char small[1024];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    int rc = -1;
    if (n >= 0 && (size_t)n < sizeof small) {
        rc = fput_escaped(f, small, 0);
    } else if (n >= 0) {
        char *big = malloc((size_t)n + 1);
        if (big && vsnprintf(big, (size_t)n + 1, fmt, again) == n) rc = fput_escaped(f, big, 0);
        free(big);
    }
    va_end(again);
    return rc;
}
