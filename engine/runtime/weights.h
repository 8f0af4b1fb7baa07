/* A converted model file: safetensors, memory-mapped read-only, so the
 * weights are shared between processes and paged in on use. Tensors are
 * views into the mapping; metadata strings carry the config. */
#ifndef UNPROMPT_ENGINE_RUNTIME_WEIGHTS_H
#define UNPROMPT_ENGINE_RUNTIME_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/runtime/tensor.h"
#include "base/error.h"

typedef struct weights_file weights_file;

int weights_open(weights_file **out, const char *path, fmt_error *err);
/* The same over bytes the caller keeps alive (tests, embedded models). */
int weights_open_memory(weights_file **out, const uint8_t *data, size_t len, fmt_error *err);
void weights_close(weights_file *w);
/* The path it was opened from and its size; NULL and 0 for bytes in memory. */
const char *weights_path(const weights_file *w);
size_t weights_size(const weights_file *w);

/* Metadata value or NULL. */
const char *weights_meta(const weights_file *w, const char *key);
/* Does the file hold this tensor? */
int weights_has(const weights_file *w, const char *name);
/* A float tensor (F32, F16 or BF16) as a view into the file; -1 with a
 * reason if it is missing, of another dtype, or of rank > 4. */
int weights_tensor(const weights_file *w, const char *name, tensor *out, fmt_error *err);
/* The bytes of a U8 tensor (tag lists, vocabularies). */
int weights_bytes(const weights_file *w, const char *name, const uint8_t **data, size_t *len, fmt_error *err);
/* The caller copied this tensor and will not read the mapping again: let
 * the kernel drop its pages from this process (they stay in the page cache).
 * Keeps RSS at one copy of re-laid weights. No-op for in-memory files. */
void weights_release(const weights_file *w, const tensor *t);
/* The same for n floats at data; nothing when they are not all inside the
 * mapping (copies made by the loaders, in-memory files). */
void weights_release_floats(const weights_file *w, const float *data, size_t n);
/* Copy any float tensor into dst as f32 (dst holds tensor_numel floats). */
void weights_to_f32(float *dst, const tensor *t);

#endif
