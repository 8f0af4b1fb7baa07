#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fmt_fail(fmt_error *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int fmt_prefix(fmt_error *e, const char *prefix)
{
    if (e) {
        char old[FMT_ERROR_MAX];
        memcpy(old, e->msg, sizeof old);
        old[sizeof old - 1] = '\0';
        snprintf(e->msg, sizeof e->msg, "%s%s", prefix, old);
    }
    return -1;
}
