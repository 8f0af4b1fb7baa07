/* What engine-run prints that came from a file or its name goes through
 * here, so that no control character a file carries reaches a terminal. */
#ifndef UNPROMPT_TOOLS_ESCAPE_H
#define UNPROMPT_TOOLS_ESCAPE_H

#include <stdarg.h>
#include <stdio.h>

/* Write s to f with C0 (but tab and newline), DEL, C1 (U+0080-U+009F), the
 * line and paragraph separators (U+2028, U+2029) and the bidirectional
 * controls (U+202A-U+202E, U+2066-U+2069) escaped as \xHH per byte ("\x1b",
 * "\x7f", "\xc2\x9b", "\xe2\x80\xae"), and so is a byte 0x80-0x9f outside
 * any valid UTF-8 character (an 8-bit terminal's C1); with json, as the
 * JSON escape \uHHHH of the code point (of the byte, for a stray one).
 * Everything else as it is. Returns 0 or -1. */
int fput_escaped(FILE *f, const char *s, int json);

/* vfprintf, then the text through fput_escaped. Returns 0 or -1. */
int vfprintf_escaped(FILE *f, const char *fmt, va_list ap);

#endif
