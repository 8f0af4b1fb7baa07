/* Control characters written escaped; see escape.h. */
#include "tools/engine-run/escape.h"

#include <stdint.h>
#include <stdlib.h>

/* The length of the valid UTF-8 character at p (2 to 4), or 0. */
static size_t utf8_len(const unsigned char *p, uint32_t *cp)
{
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (!n) return 0;
    uint32_t c = p[0] & (0x7f >> n);
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
        c = c << 6 | (p[k] & 0x3f);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    *cp = c;
    return n;
}

/* Code points a terminal must not receive as they are: C0 but tab and
 * newline, DEL, C1, the line and paragraph separators, and the
 * bidirectional embeddings, overrides and isolates. */
static int is_control(uint32_t c)
{
    return (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* At p: how many bytes to escape (a control character, or a byte 0x80-0x9f
 * outside any UTF-8 character, which an 8-bit terminal reads as C1), 0 when
 * the next *keep bytes go out as they are. */
static size_t escape_len(const unsigned char *p, size_t *keep, uint32_t *cp)
{
    size_t n = p[0] < 0x80 ? 1 : utf8_len(p, cp);
    if (p[0] < 0x80) *cp = p[0];
    if (!n) {
        *cp = p[0];
        *keep = 1;
        return p[0] <= 0x9f ? 1 : 0;
    }
    *keep = n;
    return is_control(*cp) ? n : 0;
}

static int put_escape(FILE *f, const unsigned char *p, size_t n, uint32_t cp, int json)
{
    if (json) return fprintf(f, "\\u%04x", (unsigned)cp) < 0 ? -1 : 0;
    for (size_t k = 0; k < n; k++)
        if (fprintf(f, "\\x%02x", p[k]) < 0) return -1;
    return 0;
}

int fput_escaped(FILE *f, const char *s, int json)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t run = 0, keep = 0, n = 0;
        uint32_t cp = 0;
        while (p[run] && !(n = escape_len(p + run, &keep, &cp))) run += keep;
        if (run && fwrite(p, 1, run, f) != run) return -1;
        p += run;
        if (!*p) break;
        if (put_escape(f, p, n, cp, json)) return -1;
        p += n;
    }
    return 0;
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
