/* Large allocations in huge pages where possible; see big_alloc.h. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "engine/runtime/big_alloc.h"

#define HUGE_PAGE ((size_t)2 << 20)

void *big_alloc(size_t bytes)
{
    size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : 64;
    if (bytes > SIZE_MAX - align) return NULL;
    size_t size = bytes ? (bytes + align - 1) / align * align : align;
    void *p = aligned_alloc(align, size);
#ifdef MADV_HUGEPAGE
    if (p && align == HUGE_PAGE) madvise(p, size, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
    return p;
}
