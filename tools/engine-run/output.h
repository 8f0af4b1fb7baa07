/* Where results go: standard output (plain or JSON Lines) or sidecar files
 * written atomically next to each image (base/atomic.h). */
#ifndef UNPROMPT_TOOLS_OUTPUT_H
#define UNPROMPT_TOOLS_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "tools/engine-run/inputs.h"

/* "dir/img.png" + ".txt" → "dir/img.txt" (malloc'd). Standard input has none. */
char *sidecar_path(const char *image_path, const char *ext);

/* Can EXT ("txt" or ".txt") be a sidecar's? Not an image's extension (a
 * sidecar could then replace an image) and no '/'. NULL if so, else why not. */
const char *sidecar_ext_problem(const char *ext);

typedef struct {
    const char *sidecar_ext; /* NULL: print to stdout */
    int overwrite;           /* replace existing sidecars */
    int several;             /* more than one input: prefix plain lines with "path: " */
    const file_id_set *named; /* inputs a sidecar must never replace (input_list.named), or NULL */
    int headers;             /* several inputs: a "==> path <==" line before each plain
                                record and an empty line after it, not the prefix */
} output_options;

/* Deliver one result. For sidecars, an existing file is kept unless
 * overwrite (returns 1 "skipped"); a sidecar path that is the image itself
 * or one of the `named` inputs is never written (an error). Returns 0
 * written, 1 skipped, -1 error (already reported on stderr). */
int output_result(const output_options *o, const char *path, const char *text, int is_json);

/* Write s to f with the control characters a file's metadata may carry
 * escaped, so that none reaches a terminal: C0 (but tab and newline), DEL
 * and C1 (U+0080-U+009F) as \xHH per byte ("\x1b", "\x7f", "\xc2\x9b");
 * with json, as the JSON escapes \u00HH (valid inside JSON strings, where
 * the only such bytes are). Everything else as it is. Returns 0 or -1. */
int fput_escaped(FILE *f, const char *s, int json);

#endif
