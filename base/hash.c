/* SipHash (Aumasson & Bernstein) and an open-addressing hash index.
 * See hash.h for why the seed is random. */
#include "base/hash.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "base/buf.h"

static uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

typedef struct {
    uint64_t v0, v1, v2, v3;
} sip_state;

static void sip_round(sip_state *s)
{
    s->v0 += s->v1; s->v1 = rotl(s->v1, 13); s->v1 ^= s->v0; s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3; s->v3 = rotl(s->v3, 16); s->v3 ^= s->v2;
    s->v0 += s->v3; s->v3 = rotl(s->v3, 21); s->v3 ^= s->v0;
    s->v2 += s->v1; s->v1 = rotl(s->v1, 17); s->v1 ^= s->v2; s->v2 = rotl(s->v2, 32);
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void sip_block(sip_state *s, uint64_t m, int rounds)
{
    s->v3 ^= m;
    for (int r = 0; r < rounds; r++) sip_round(s);
    s->v0 ^= m;
}

/* SipHash-c-d; exported for the test against the paper's vectors (2-4). */
uint64_t siphash_cd(hash_seed seed, const void *data, size_t len, int c, int d);
uint64_t siphash_cd(hash_seed seed, const void *data, size_t len, int c, int d)
{
    sip_state s = {seed.k0 ^ 0x736f6d6570736575ULL, seed.k1 ^ 0x646f72616e646f6dULL,
                   seed.k0 ^ 0x6c7967656e657261ULL, seed.k1 ^ 0x7465646279746573ULL};
    const uint8_t *p = data;
    size_t words = len / 8;
    for (size_t i = 0; i < words; i++) sip_block(&s, load_le64(p + 8 * i), c);
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < len % 8; i++) last |= (uint64_t)p[8 * words + i] << (8 * i);
    sip_block(&s, last, c);
    s.v2 ^= 0xff;
    for (int r = 0; r < d; r++) sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t hash_bytes(hash_seed seed, const void *data, size_t len)
{
    return siphash_cd(seed, data, len, 1, 3);
}

uint64_t hash_u64(hash_seed seed, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    return siphash_cd(seed, b, 8, 1, 3);
}

hash_seed hash_seed_fixed(uint64_t k0, uint64_t k1)
{
    hash_seed s = {k0, k1};
    return s;
}

hash_seed hash_seed_random(void)
{
    hash_seed s;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s) return s;
    /* No entropy yet (early boot) or no syscall: mix what differs per call. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    hash_seed mix = {(uint64_t)ts.tv_nsec, (uint64_t)(uintptr_t)&s};
    uint64_t t = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&hash_seed_random;
    s.k0 = hash_u64(mix, t);
    s.k1 = hash_u64(mix, s.k0);
    return s;
}

#define HASH_MIN_CAP 16

static int alloc_slots(hash_index *h, size_t cap, fmt_error *err)
{
    size_t hb, vb;
    if (size_mul(cap, sizeof *h->hashes, &hb) || size_mul(cap, sizeof *h->values, &vb))
        return fmt_fail(err, "hash index of %zu slots is too large", cap);
    h->hashes = calloc(cap, sizeof *h->hashes);
    h->values = malloc(vb);
    if (!h->hashes || !h->values) {
        free(h->hashes);
        free(h->values);
        h->hashes = NULL;
        h->values = NULL;
        return fmt_fail(err, "out of memory (hash index of %zu slots)", cap);
    }
    h->mask = cap - 1;
    return 0;
}

int hash_index_init(hash_index *h, size_t expected, fmt_error *err)
{
    return hash_index_init_seeded(h, hash_seed_random(), expected, err);
}

int hash_index_init_seeded(hash_index *h, hash_seed seed, size_t expected, fmt_error *err)
{
    memset(h, 0, sizeof *h);
    h->seed = seed;
    size_t cap = HASH_MIN_CAP;
    while (cap / 2 < expected) {
        if (cap > SIZE_MAX / 4) return fmt_fail(err, "hash index for %zu entries is too large", expected);
        cap *= 2;
    }
    return alloc_slots(h, cap, err);
}

void hash_index_free(hash_index *h)
{
    free(h->hashes);
    free(h->values);
    memset(h, 0, sizeof *h);
}

static void place(hash_index *h, uint64_t hash, size_t value)
{
    size_t i = (size_t)hash & h->mask;
    while (h->hashes[i]) i = (i + 1) & h->mask;
    h->hashes[i] = hash;
    h->values[i] = value;
}

static int grow(hash_index *h, fmt_error *err)
{
    hash_index old = *h;
    size_t cap = (old.mask + 1) * 2;
    if (cap > SIZE_MAX / 4 || alloc_slots(h, cap, err)) {
        *h = old;
        return fmt_fail(err, "out of memory (hash index of %zu entries)", old.count);
    }
    for (size_t i = 0; i <= old.mask; i++)
        if (old.hashes[i]) place(h, old.hashes[i], old.values[i]);
    free(old.hashes);
    free(old.values);
    return 0;
}

/* 0 marks an empty slot, so a hash of 0 is stored as 1. */
static uint64_t stored(uint64_t hash) { return hash ? hash : 1; }

int hash_index_add(hash_index *h, uint64_t hash, size_t value, fmt_error *err)
{
    if (!h->hashes && alloc_slots(h, HASH_MIN_CAP, err)) return -1;
    if ((h->count + 1) * 2 > h->mask + 1 && grow(h, err)) return -1;
    place(h, stored(hash), value);
    h->count++;
    return 0;
}

hash_probe hash_index_probe(const hash_index *h, uint64_t hash)
{
    hash_probe p = {h, stored(hash), h->hashes ? (size_t)stored(hash) & h->mask : 0};
    return p;
}

int hash_probe_next(hash_probe *p, size_t *value)
{
    const hash_index *h = p->h;
    if (!h->hashes) return 0;
    while (h->hashes[p->slot]) {
        size_t i = p->slot;
        p->slot = (p->slot + 1) & h->mask;
        if (h->hashes[i] == p->hash) {
            *value = h->values[i];
            return 1;
        }
    }
    return 0;
}
