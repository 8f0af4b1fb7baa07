/* A whole file, read-only, memory-mapped (weights, checkpoints). */
#ifndef UNPROMPT_ENGINE_RUNTIME_MAPPED_FILE_H
#define UNPROMPT_ENGINE_RUNTIME_MAPPED_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct {
    const uint8_t *data;
    size_t len;
} mapped_file;

/* Map a regular, non-empty file (a FIFO or device is refused without
 * blocking). -1 with "PATH: reason". A mapped file truncated by another
 * process makes reads past its new end fault (SIGBUS): the CLI reads its
 * inputs instead and maps only models, caches and checkpoints. */
int mapped_file_open(mapped_file *m, const char *path, fmt_error *err);
void mapped_file_close(mapped_file *m);

#endif
