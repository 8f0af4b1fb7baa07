/* CRC-32 over zlib, in pieces zlib's length type can hold. */
#include <zlib.h>

#include "format/crc.h"

uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) {
        uInt k = n > 1u << 30 ? 1u << 30 : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}
