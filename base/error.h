/* Error reporting for readers: a reason string, never a bare failure.
 * Functions that can fail take a `fmt_error *` (may be NULL) and return
 * a negative value; fmt_fail() fills the message and returns -1. */
#ifndef UNPROMPT_BASE_ERROR_H
#define UNPROMPT_BASE_ERROR_H

#include <stddef.h>

#define FMT_ERROR_MAX 256

typedef struct {
    char msg[FMT_ERROR_MAX];
} fmt_error;

#if defined(__GNUC__)
#define FMT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FMT_PRINTF(a, b)
#endif

/* Set the message (printf-style) and return -1. `e` may be NULL. */
int fmt_fail(fmt_error *e, const char *fmt, ...) FMT_PRINTF(2, 3);

/* Prefix an existing message: "png: " + old message. Returns -1. */
int fmt_prefix(fmt_error *e, const char *prefix);

#endif
