/* Bump allocation inside one aligned block. */
#include <stdint.h>
#include <stdlib.h>

#include "engine/runtime/arena.h"
#include "engine/runtime/big_alloc.h"
#include "base/buf.h"

size_t arena_block_size(size_t bytes)
{
    size_t r;
    if (size_add(bytes, ARENA_ALIGN - 1, &r)) return SIZE_MAX;
    return r / ARENA_ALIGN * ARENA_ALIGN;
}

int arena_init(arena *a, size_t bytes)
{
    a->base = NULL;
    a->cap = a->used = a->peak = 0;
    size_t cap = arena_block_size(bytes ? bytes : 1);
    if (cap == SIZE_MAX) return -1;
    a->base = big_alloc(cap);
    if (!a->base) return -1;
    a->cap = cap;
    return 0;
}

void arena_free(arena *a)
{
    free(a->base);
    a->base = NULL;
    a->cap = a->used = a->peak = 0;
}

void *arena_alloc(arena *a, size_t bytes)
{
    size_t need = arena_block_size(bytes ? bytes : 1);
    if (need == SIZE_MAX || need > a->cap - a->used) return NULL;
    void *p = a->base + a->used;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

float *arena_floats(arena *a, size_t count)
{
    size_t bytes;
    if (size_mul(count, sizeof(float), &bytes)) return NULL;
    return arena_alloc(a, bytes);
}

size_t arena_mark(const arena *a) { return a->used; }

void arena_reset(arena *a, size_t mark)
{
    if (mark <= a->used) a->used = mark;
}
