/* A growable byte buffer and overflow-checked size arithmetic.
 * The buffer is always NUL-terminated (data[len] == 0) once anything has been
 * appended, so text can be used as a C string directly. */
#ifndef UNPROMPT_BASE_BUF_H
#define UNPROMPT_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0 = no limit; appends past it fail */
} buf;

void buf_init(buf *b, size_t limit);
void buf_free(buf *b);
/* Hand the storage to the caller (NUL-terminated, never NULL); buf is reset. */
char *buf_take(buf *b);
int buf_reserve(buf *b, size_t extra, fmt_error *err);
int buf_append(buf *b, const void *p, size_t n, fmt_error *err);
int buf_append_str(buf *b, const char *s, fmt_error *err);
int buf_append_char(buf *b, char c, fmt_error *err);
int buf_printf(buf *b, fmt_error *err, const char *fmt, ...) FMT_PRINTF(3, 4);

/* Overflow-checked arithmetic: return 0 and store, or -1 on overflow. */
int size_add(size_t a, size_t b, size_t *out);
int size_mul(size_t a, size_t b, size_t *out);

/* Copy n bytes into a fresh NUL-terminated string (NULL on allocation failure). */
char *str_ndup(const char *s, size_t n);

/* Big/little-endian loads. */
static inline uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint16_t load_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t load_le32(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static inline uint16_t load_le16(const uint8_t *p) { return (uint16_t)((p[1] << 8) | p[0]); }

#endif
