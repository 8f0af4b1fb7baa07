/* safetensors: a reader over a memory buffer (the caller mmaps the file) and
 * a streaming writer.
 *
 * Layout: 8-byte little-endian header size N, N bytes of JSON header, then
 * the data section. The header is an object: an optional "__metadata__"
 * (string -> string) and, per tensor, {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]} with offsets relative to the data section.
 *
 * The reader does no I/O and copies no tensor bytes: st_tensor.data points
 * into the caller's buffer, which must outlive the st_file. */
#ifndef UNPROMPT_FORMAT_SAFETENSORS_H
#define UNPROMPT_FORMAT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "base/hash.h"
#include "format/json.h"

#define ST_MAX_RANK 8

typedef enum {
    ST_F64,
    ST_F32,
    ST_F16,
    ST_BF16,
    ST_I64,
    ST_I32,
    ST_I16,
    ST_I8,
    ST_U8,
    ST_BOOL,
    ST_DTYPE_COUNT
} st_dtype;

/* "F32" etc., or NULL for a value outside the enum. */
const char *st_dtype_name(st_dtype t);
/* Element size in bytes, or 0 for a value outside the enum. */
size_t st_dtype_size(st_dtype t);
/* Parse a dtype name (exact, case-sensitive). Returns 0, or -1 if unknown. */
int st_dtype_from_name(const char *s, size_t len, st_dtype *out);

typedef struct {
    const char *name;              /* NUL-terminated, owned by the st_file */
    st_dtype dtype;
    int rank;                      /* 0 (a scalar) .. ST_MAX_RANK */
    size_t shape[ST_MAX_RANK];     /* shape[rank..] are 0 */
    size_t numel;                  /* product of shape (1 for rank 0) */
    size_t offset;                 /* begin, relative to the data section */
    size_t nbytes;                 /* numel * element size == end - begin */
    const uint8_t *data;           /* into the caller's buffer */
} st_tensor;

typedef struct {
    const char *key;
    const char *value;             /* NUL-terminated; may hold NULs, see value_len */
    size_t value_len;
} st_meta_entry;

typedef struct {
    size_t max_header;   /* JSON header bytes; default 100 MiB */
    size_t max_tensors;  /* default 262,144 (also bounds the JSON nodes: 16 each) */
} st_limits;

typedef struct {
    const uint8_t *base;           /* the whole file */
    size_t len;
    size_t header_len;             /* N */
    const uint8_t *data_section;   /* base + 8 + N */
    size_t data_len;
    st_tensor *tensors;            /* in data-section order (by offset, then name) */
    size_t n_tensors;
    st_meta_entry *meta;           /* in header order */
    size_t n_meta;
    /* Not errors: uncovered bytes in the data section, tensors not aligned to
     * their element size (relative to the start of the file). The count of
     * such findings and the first one's text. */
    size_t n_warnings;
    char warning[FMT_ERROR_MAX];
    /* private */
    const st_tensor **by_name;     /* sorted by name */
    hash_index meta_index;         /* metadata key -> meta[] */
    json_value *json;
} st_file;

st_limits st_default_limits(void);

/* Parse and validate the header: size within limits and the file, JSON, every
 * tensor's dtype, shape (rank <= 8, element count overflow-checked) and
 * offsets (inside the data section, end - begin == numel * element size, no two
 * tensors overlapping), unique names and metadata keys, metadata values all
 * strings. Cost: linear in the header (names sorted, keys hashed with a
 * random seed). NULL lim = defaults. Returns 0, or -1 with `err` set ("safetensors: ...");
 * on failure `f` holds nothing to free (st_close is still safe). */
int st_open(st_file *f, const uint8_t *data, size_t len, const st_limits *lim, fmt_error *err);
/* Tensor by exact name (binary search), or NULL. */
const st_tensor *st_find(const st_file *f, const char *name);
/* Metadata value by key, or NULL; O(1). */
const char *st_meta(const st_file *f, const char *key);
void st_close(st_file *f);

/* ---- writer ----
 * Collects tensors and metadata, then writes the file in one pass. Tensor
 * bytes come from a pointer (not copied: it must stay valid until the write)
 * or from a fill callback that is asked for successive chunks, so a converter
 * can stream a tensor it decodes on the fly.
 *
 * Order: tensors are sorted by element size, largest first, then by name
 * (bytewise) — the order the safetensors crate uses — so that, with the header
 * padded with spaces to a multiple of 8 bytes, every tensor's data starts at a
 * multiple of its element size and the data section is contiguous (no gaps,
 * as the crate's reader requires). The header lists "__metadata__" first, in
 * the order keys were added, then the tensors in data order. */

/* Write bytes [offset, offset + n) of the tensor into dst; 0 or -1 with err. */
typedef int (*st_fill_fn)(void *user, size_t offset, uint8_t *dst, size_t n, fmt_error *err);

typedef struct {
    char *name;
    st_dtype dtype;
    int rank;
    size_t shape[ST_MAX_RANK];
    size_t nbytes;
    const void *data;
    st_fill_fn fill;
    void *user;
} st_writer_tensor;

typedef struct {
    st_writer_tensor *tensors;
    size_t n_tensors, cap_tensors;
    char **meta_keys;
    char **meta_values;
    size_t n_meta, cap_meta;
    /* private: names and keys by hash, for the duplicate checks */
    hash_index names_, keys_;
} st_writer;

void st_writer_init(st_writer *w);
void st_writer_free(st_writer *w);
/* Add a tensor whose bytes are at `data` (numel * element size of them). The
 * name is copied. Refuses a duplicate name, "__metadata__", an empty name,
 * rank > 8 and an element count that overflows. */
int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int rank, const size_t *shape,
                  const void *data, fmt_error *err);
/* The same, with bytes produced by `fill(user, ...)` at write time. */
int st_writer_add_fill(st_writer *w, const char *name, st_dtype dtype, int rank,
                       const size_t *shape, st_fill_fn fill, void *user, fmt_error *err);
/* Add a metadata entry (both strings copied; a duplicate key is refused). */
int st_writer_meta(st_writer *w, const char *key, const char *value, fmt_error *err);
/* The header alone: 8-byte size + JSON + padding, appended to `out`. */
int st_writer_header(const st_writer *w, buf *out, fmt_error *err);
/* Header + data to an open stream (not flushed or closed). */
int st_writer_write(const st_writer *w, FILE *out, fmt_error *err);
/* Atomically: written to "path.tmp.PID", flushed, fsync'ed, then renamed over
 * `path`; the temporary is removed on any error, so `path` is never left
 * half-written. */
int st_write_file(const st_writer *w, const char *path, fmt_error *err);

#endif
