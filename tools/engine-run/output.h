/* Where results go: standard output (plain or JSON Lines) or sidecar files
 * written atomically next to each image. */
#ifndef UNPROMPT_TOOLS_OUTPUT_H
#define UNPROMPT_TOOLS_OUTPUT_H

#include <stddef.h>

/* Write `len` bytes to `path` via a temporary file in the same directory,
 * fsync, then rename: a reader never sees a half-written file. */
int write_file_atomic(const char *path, const char *data, size_t len, char *err, size_t err_size);

/* "dir/img.png" + ".txt" → "dir/img.txt" (malloc'd). Standard input has none. */
char *sidecar_path(const char *image_path, const char *ext);

typedef struct {
    const char *sidecar_ext; /* NULL: print to stdout */
    int overwrite;           /* replace existing sidecars */
    int several;             /* more than one input: prefix plain lines with "path: " */
} output_options;

/* Deliver one result. For sidecars, an existing file is kept unless
 * overwrite (returns 1 "skipped"). Returns 0 written, 1 skipped, -1 error
 * (already reported on stderr). */
int output_result(const output_options *o, const char *path, const char *text, int is_json);

#endif
