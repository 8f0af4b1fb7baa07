/* A zip reader over a memory buffer, for PyTorch checkpoints and TorchScript
 * archives (torch.save writes a zip: "<folder>/data.pkl", "<folder>/data/0",
 * ...; tensors stored uncompressed and 64-byte aligned).
 *
 * zip_open reads the End Of Central Directory (ZIP64 too), walks the central
 * directory and checks every local header, so afterwards every entry's bytes
 * are known to lie inside the buffer. Supported: methods 0 (stored) and 8
 * (deflated), one disk, no encryption. Duplicate names are refused (PyTorch
 * never writes them; a second entry of the same name could hide from one
 * reader and not another). No I/O: the caller mmaps the file. */
#ifndef UNPROMPT_FORMAT_ZIP_H
#define UNPROMPT_FORMAT_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define ZIP_STORED 0
#define ZIP_DEFLATED 8

typedef struct {
    const char *name;       /* NUL-terminated (names holding a NUL are refused) */
    size_t name_len;
    uint16_t method;        /* ZIP_STORED or ZIP_DEFLATED */
    uint16_t flags;         /* general purpose bit flags */
    uint32_t crc32;
    size_t comp_size;       /* bytes at data_offset */
    uint64_t size;          /* uncompressed size, as declared */
    size_t local_offset;    /* local file header */
    size_t data_offset;     /* first byte of the (compressed) data */
} zip_entry;

typedef struct {
    size_t max_entries;     /* default 1,048,576 */
    /* 1 (default): zip_entry_data checks the CRC-32 of stored entries as well
     * as deflated ones. Stored tensors are read in place and a checkpoint can
     * be gigabytes; a caller that maps it only to take a few tensors, or that
     * checks a SHA-256 of the whole file anyway, may set 0 to skip the pass.
     * Deflated entries are always checked. */
    int check_stored_crc;
} zip_limits;

typedef struct {
    const uint8_t *data;
    size_t len;
    zip_entry *entries;     /* in central directory order */
    size_t count;
    int zip64;              /* the archive has a ZIP64 end record */
    int check_stored_crc;
    /* private */
    const zip_entry **by_name;
    char *names;            /* every name, NUL-terminated, one block */
} zip_archive;

zip_limits zip_default_limits(void);

/* Returns 0, or -1 with err set ("zip: ...") and nothing to free (zip_close
 * is still safe). NULL lim = defaults. */
int zip_open(zip_archive *z, const uint8_t *data, size_t len, const zip_limits *lim, fmt_error *err);
void zip_close(zip_archive *z);
size_t zip_count(const zip_archive *z);
/* Entry i in central directory order, or NULL past the end. */
const zip_entry *zip_entry_at(const zip_archive *z, size_t i);
/* Exact name (binary search), or NULL. */
const zip_entry *zip_find(const zip_archive *z, const char *name);
/* The first entry (central directory order) whose name ends with `suffix`,
 * e.g. "/data.pkl" (PyTorch puts every entry under a folder named after the
 * archive). *matches (may be NULL) gets how many entries match, so a caller
 * can refuse an ambiguous archive. NULL if none. */
const zip_entry *zip_find_suffix(const zip_archive *z, const char *suffix, size_t *matches);

/* The uncompressed bytes of an entry, at most max_len of them.
 * Stored: *data points into the archive's buffer (no copy) and *owned = NULL.
 * Deflated: inflated (raw deflate) into a fresh buffer; *data == *owned,
 * which the caller frees. The result must have exactly the declared size and
 * CRC-32 (for stored entries the CRC is checked unless check_stored_crc is 0).
 * Returns 0, or -1 with err set and *data = *owned = NULL, *len = 0. */
int zip_entry_data(const zip_archive *z, const zip_entry *e, const uint8_t **data, uint8_t **owned,
                   size_t *len, size_t max_len, fmt_error *err);

/* CRC-32 (the zip/PNG/zlib polynomial) of any length. */
uint32_t zip_crc32(const uint8_t *p, size_t n);

#endif
