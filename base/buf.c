#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *buf_take(buf *b)
{
    char *p = b->data;
    if (!p) {
        p = malloc(1);
        if (p) p[0] = '\0';
    }
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int size_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b) return -1;
    *out = a + b;
    return 0;
}

int size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

int buf_reserve(buf *b, size_t extra, fmt_error *err)
{
    size_t need;
    if (size_add(b->len, extra, &need) || size_add(need, 1, &need))
        return fmt_fail(err, "buffer size overflow");
    if (b->limit && need - 1 > b->limit)
        return fmt_fail(err, "output exceeds the limit of %zu bytes", b->limit);
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return fmt_fail(err, "out of memory (%zu bytes)", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(buf *b, const void *p, size_t n, fmt_error *err)
{
    if (buf_reserve(b, n, err)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_str(buf *b, const char *s, fmt_error *err)
{
    return buf_append(b, s, strlen(s), err);
}

int buf_append_char(buf *b, char c, fmt_error *err)
{
    return buf_append(b, &c, 1, err);
}

int buf_printf(buf *b, fmt_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return fmt_fail(err, "formatting failed");
    if (buf_reserve(b, (size_t)n, err)) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *str_ndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
