/* Keyed hashing and a hash index, for every reader that looks things up by
 * a key the input chooses (JSON members, graph node ids, metadata keys,
 * pickle memo and dict keys, duplicate checks).
 *
 * The hash is SipHash-1-3 under a 128-bit seed. A seed drawn at random per
 * table (hash_seed_random) means a crafted file cannot make its keys
 * collide, so every lookup costs O(1) expected whatever the input.
 *
 * The index maps a 64-bit hash to size_t values (the caller's ids or
 * offsets). It stores no keys: a lookup walks the candidates that share the
 * hash and the caller compares each with its own copy of the key. */
#ifndef UNPROMPT_BASE_HASH_H
#define UNPROMPT_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct {
    uint64_t k0, k1;
} hash_seed;

/* 128 random bits from the kernel (getrandom), else from the clock and
 * addresses: never fails. */
hash_seed hash_seed_random(void);
/* A fixed seed, for tests that need the same hashes every run. */
hash_seed hash_seed_fixed(uint64_t k0, uint64_t k1);

uint64_t hash_bytes(hash_seed seed, const void *data, size_t len);
uint64_t hash_u64(hash_seed seed, uint64_t v);

typedef struct {
    hash_seed seed;
    uint64_t *hashes; /* per slot; 0 = empty (stored hashes are never 0) */
    size_t *values;
    size_t mask;      /* capacity - 1; capacity is a power of two */
    size_t count;
} hash_index;

/* An empty index with a random seed; `expected` entries fit without growing
 * (0: a small default). Returns 0, or -1 with err set (out of memory). */
int hash_index_init(hash_index *h, size_t expected, fmt_error *err);
/* The same under a seed the caller drew with hash_seed_random: a reader
 * that builds many small indexes for one file (a JSON document's objects)
 * draws one seed for the file, not a system call per index. */
int hash_index_init_seeded(hash_index *h, hash_seed seed, size_t expected, fmt_error *err);
void hash_index_free(hash_index *h);

/* The hash of a key in this index (its seed). */
static inline uint64_t hash_index_key(const hash_index *h, const void *data, size_t len)
{
    return hash_bytes(h->seed, data, len);
}

/* Insert (hash, value); duplicates are kept (the caller checks first when
 * keys must be unique). Grows at half load. 0, or -1 when out of memory. */
int hash_index_add(hash_index *h, uint64_t hash, size_t value, fmt_error *err);

/* The candidates for one hash, in no particular order (growth re-places
 * entries; a caller that wants the first inserted compares values):
 *   hash_probe p = hash_index_probe(&h, hash);
 *   size_t v;
 *   while (hash_probe_next(&p, &v)) if (same_key(v)) ...; */
typedef struct {
    const hash_index *h;
    uint64_t hash;
    size_t slot;
} hash_probe;

hash_probe hash_index_probe(const hash_index *h, uint64_t hash);
int hash_probe_next(hash_probe *p, size_t *value);

#endif
