/* What engine-run prints that came from a file or its name goes through
 * here, so that no control character a file carries reaches a terminal. */
#ifndef UNPROMPT_TOOLS_ESCAPE_H
#define UNPROMPT_TOOLS_ESCAPE_H

#include <stdarg.h>
#include <stdio.h>

/* Write s to f with C0 (but tab and newline), DEL and C1 (U+0080-U+009F)
 * escaped as \xHH per byte ("\x1b", "\x7f", "\xc2\x9b"); with json, as the
 * JSON escapes \u00HH (valid inside JSON strings, where the only such bytes
 * are). Everything else as it is. Returns 0 or -1. */
int fput_escaped(FILE *f, const char *s, int json);

/* vfprintf, then the text through fput_escaped. Returns 0 or -1. */
int vfprintf_escaped(FILE *f, const char *fmt, va_list ap);

#endif
