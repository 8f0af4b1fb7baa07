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
    FILE *stream;            /* results that are not sidecars: -o FILE's temporary, NULL: stdout */
    int json;                /* --json: a failed file also gets {"file", "error"} among the results */
    int headers;             /* several inputs: a "==> path <==" line before each plain
                                record and an empty line after it, not the prefix */
} output_options;

/* A file that failed: "engine-run CMD: FILE: why" on stderr and, with
 * json, the record {"file": FILE, "error": why} where results go (stdout or
 * -o FILE; never a sidecar). */
void output_error(const output_options *o, const char *path, const char *why);
/* The JSON record alone (the failure was reported already); nothing without json. */
void output_json_error(const output_options *o, const char *path, const char *why);

/* Deliver one result. For sidecars, an existing file is kept unless
 * overwrite (returns 1 "skipped"); a sidecar path that is the image itself
 * or one of the `named` inputs is never written (an error). Returns 0
 * written, 1 skipped, -1 error (already reported on stderr). */
int output_result(const output_options *o, const char *path, const char *text, int is_json);

#endif
