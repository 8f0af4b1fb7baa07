/* The one way unprompt writes a file (sidecars, converted models, caches):
 * into a new temporary file beside the target, then renamed over it, so no
 * reader ever sees a half-written file and nothing but the target changes.
 *
 * The temporary is ".BASE.unprompt-PID-RANDOM.tmp" in the target's folder
 * (BASE: the target's name, cut to 200 bytes; RANDOM: 16 hex digits from
 * the kernel's random source), created with O_CREAT|O_EXCL|O_NOFOLLOW: a
 * file or symlink planted at any name, guessed or not, is never opened or
 * followed, only a new name is tried. The rename replaces the target's
 * directory entry: a symlink at the target is replaced, not followed. */
#ifndef UNPROMPT_BASE_ATOMIC_H
#define UNPROMPT_BASE_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"

/* Writes the file's content to `out`; returns 0, or -1 with err set. */
typedef int (*atomic_write_fn)(FILE *out, void *user, fmt_error *err);

/* Create the temporary (mode 0666 less the umask), call write(out, user,
 * err), flush, fsync, close and rename it over `path`. On any failure the
 * temporary is removed (that name only), `path` is left as it was, and -1
 * is returned with err set ("path: ..."). */
int atomic_write_file(const char *path, atomic_write_fn write, void *user, fmt_error *err);

/* The same for `len` bytes in memory. */
int atomic_write_bytes(const char *path, const void *data, size_t len, fmt_error *err);

/* Is `name` (one directory entry, no folder) a temporary this writer makes?
 * If so and `pid` is not NULL, *pid is the writer's process id. */
int atomic_is_temp_name(const char *name, long *pid);

/* Remove from `dir` the temporaries this writer left behind: names it
 * makes, regular files, last modified at least `min_age_s` seconds ago and
 * whose writer's process is not running on this machine (both tests, so a
 * live writer on another machine sharing the folder keeps its file). Other
 * files are never touched. Returns the number removed. */
size_t atomic_remove_orphans(const char *dir, double min_age_s);

/* The age atomic_remove_orphans' callers use: far longer than any write
 * takes, and than clock differences between machines sharing a folder. */
#define ATOMIC_ORPHAN_AGE_S (15.0 * 60.0)

#endif
