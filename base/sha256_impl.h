/* Inside SHA-256: the round constants and the accelerated block function
 * (base/sha256_x86.c), shared with base/sha256.c. */
#ifndef UNPROMPT_BASE_SHA256_IMPL_H
#define UNPROMPT_BASE_SHA256_IMPL_H

#include <stddef.h>
#include <stdint.h>

extern const uint32_t sha256_k[64];

/* Does this CPU have the SHA extensions (and SSSE3, SSE4.1)? 0 off x86-64. */
int sha256_x86_available(void);
/* `blocks` 64-byte blocks into the state h; only when available. */
void sha256_blocks_x86(uint32_t h[8], const uint8_t *p, size_t blocks);

#endif
