/* A whole file, read-only, memory-mapped (weights, checkpoints). */
#ifndef UNPROMPT_ENGINE_MAPPED_FILE_H
#define UNPROMPT_ENGINE_MAPPED_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "format/error.h"

typedef struct {
    const uint8_t *data;
    size_t len;
} mapped_file;

/* Map a regular, non-empty file. -1 with "PATH: reason". */
int mapped_file_open(mapped_file *m, const char *path, fmt_error *err);
void mapped_file_close(mapped_file *m);

#endif
