/* Atomic file output: write to a temporary name beside the target, then
 * rename, so no reader ever sees a half-written file. */
#ifndef UNPROMPT_FORMAT_ATOMIC_H
#define UNPROMPT_FORMAT_ATOMIC_H

#include <stdio.h>

#include "format/error.h"

/* Writes the file's content to `out`; returns 0, or -1 with err set. */
typedef int (*atomic_write_fn)(FILE *out, void *user, fmt_error *err);

/* Open "path.tmp.PID", call write(out, user, err), flush, fsync, close and
 * rename over `path`. On any failure the temporary is removed, `path` is left
 * as it was, and -1 is returned with err set ("path: ..."). */
int atomic_write_file(const char *path, atomic_write_fn write, void *user, fmt_error *err);

#endif
