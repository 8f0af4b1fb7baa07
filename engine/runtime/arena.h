/* One block of activation memory per model, sized at load time.
 *
 * A model computes how much it needs for its largest input, allocates the
 * arena once, and carves buffers from it with arena_alloc; forward passes
 * take a mark and reset to it, so the hot path never calls malloc. Blocks
 * are 64-byte aligned (a cache line, an AVX-512 vector). */
#ifndef UNPROMPT_ENGINE_RUNTIME_ARENA_H
#define UNPROMPT_ENGINE_RUNTIME_ARENA_H

#include <stddef.h>

#define ARENA_ALIGN 64

typedef struct {
    unsigned char *base;
    size_t cap, used, peak;
} arena;

/* Reserve `bytes` (rounded up to the alignment). -1 on allocation failure. */
int arena_init(arena *a, size_t bytes);
void arena_free(arena *a);
/* An aligned block, or NULL when the arena is exhausted (a sizing bug the
 * caller reports; never a crash). */
void *arena_alloc(arena *a, size_t bytes);
float *arena_floats(arena *a, size_t count);
size_t arena_mark(const arena *a);
void arena_reset(arena *a, size_t mark);

/* Bytes arena_alloc consumes for a block of `bytes` (to size arenas); 
 * SIZE_MAX on overflow. */
size_t arena_block_size(size_t bytes);

#endif
