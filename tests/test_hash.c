/* format/hash: SipHash against the paper's reference vectors, and the index
 * (lookups by candidates, growth, duplicates, many keys in linear time). */
#include <stdint.h>
#include <time.h>

#include "base/hash.h"
#include "tests/test.h"

uint64_t siphash_cd(hash_seed seed, const void *data, size_t len, int c, int d);

/* SipHash-2-4, key 00 01 .. 0f, messages 00 01 .. (len-1): the first
 * entries of the reference implementation's vectors.h, as 64-bit LE words. */
static void test_siphash_reference_vectors(void)
{
    static const uint64_t want[] = {0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
                                    0x85676696d7fb7e2dULL};
    hash_seed key = hash_seed_fixed(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL);
    uint8_t msg[16];
    for (int i = 0; i < 16; i++) msg[i] = (uint8_t)i;
    for (size_t len = 0; len < sizeof want / sizeof *want; len++)
        CHECK(siphash_cd(key, msg, len, 2, 4) == want[len]);
    /* hash_bytes is SipHash-1-3 under the same key: a different function, same
     * key sensitivity. */
    hash_seed other = hash_seed_fixed(1, 2);
    CHECK(hash_bytes(key, msg, 8) != hash_bytes(other, msg, 8));
    CHECK(hash_bytes(key, msg, 8) == hash_bytes(key, msg, 8));
    CHECK(hash_bytes(key, msg, 7) != hash_bytes(key, msg, 8));
}

static void test_seeds_differ(void)
{
    hash_seed a = hash_seed_random(), b = hash_seed_random();
    CHECK(a.k0 != b.k0 || a.k1 != b.k1);
}

static void test_index_find_and_grow(void)
{
    hash_index h;
    fmt_error e;
    CHECK(hash_index_init(&h, 0, &e) == 0);
    enum { N = 10000 };
    for (size_t i = 0; i < N; i++) CHECK(hash_index_add(&h, hash_u64(h.seed, i), i, &e) == 0);
    CHECK(h.count == N);
    size_t found = 0, wrong = 0;
    for (size_t i = 0; i < 2 * N; i++) {
        hash_probe p = hash_index_probe(&h, hash_u64(h.seed, i));
        size_t v;
        int hit = 0;
        while (hash_probe_next(&p, &v)) {
            if (v == i) hit = 1;
            else if (hash_u64(h.seed, v) == hash_u64(h.seed, i)) wrong++;
        }
        found += (size_t)hit;
        if (i >= N) CHECK(!hit);
    }
    CHECK(found == N);
    CHECK(wrong == 0);
    hash_index_free(&h);
}

static void test_index_keeps_duplicates_and_zero_hash(void)
{
    hash_index h;
    CHECK(hash_index_init(&h, 4, NULL) == 0);
    CHECK(hash_index_add(&h, 0, 7, NULL) == 0);
    CHECK(hash_index_add(&h, 0, 8, NULL) == 0);
    CHECK(hash_index_add(&h, 1, 9, NULL) == 0); /* 0 is stored as 1: a shared candidate list */
    hash_probe p = hash_index_probe(&h, 0);
    size_t v, seen = 0;
    while (hash_probe_next(&p, &v)) seen |= (size_t)1 << v;
    CHECK(seen == ((1u << 7) | (1u << 8) | (1u << 9)));
    hash_index_free(&h);
    /* An index never initialised (zeroed) answers "none". */
    hash_index z = {0};
    p = hash_index_probe(&z, 5);
    CHECK(!hash_probe_next(&p, &v));
}

/* Keys that share their low bits (what a crafted file would pick against a
 * plain modulo hash) still spread: a million inserts stay linear. */
static void test_index_adversarial_keys_linear(void)
{
    hash_index h;
    CHECK(hash_index_init(&h, 0, NULL) == 0);
    clock_t t0 = clock();
    enum { N = 1000000 };
    for (uint64_t i = 0; i < N; i++) CHECK(hash_index_add(&h, hash_u64(h.seed, i << 32), (size_t)i, NULL) == 0);
    size_t v, hits = 0;
    for (uint64_t i = 0; i < N; i += 1000) {
        hash_probe p = hash_index_probe(&h, hash_u64(h.seed, i << 32));
        while (hash_probe_next(&p, &v)) hits += v == i;
    }
    CHECK(hits == N / 1000);
    /* A generous limit only a quadratic walk could exceed (~0.2 s here). */
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0);
    hash_index_free(&h);
}

int main(void)
{
    RUN(test_siphash_reference_vectors);
    RUN(test_seeds_differ);
    RUN(test_index_find_and_grow);
    RUN(test_index_keeps_duplicates_and_zero_hash);
    RUN(test_index_adversarial_keys_linear);
    return test_summary("hash");
}
