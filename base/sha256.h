/* SHA-256 (FIPS 180-4), streaming. Used to record and check where weights
 * came from. */
#ifndef UNPROMPT_BASE_SHA256_H
#define UNPROMPT_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t used;
    int accel; /* the CPU's SHA instructions are used (set by sha256_init; 0 forces the portable code) */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t digest[32]);
/* One call: hex digest (64 chars + NUL). */
void sha256_hex(const void *data, size_t len, char hex[65]);
void sha256_to_hex(const uint8_t digest[32], char hex[65]);

#endif
