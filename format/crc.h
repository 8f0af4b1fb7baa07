/* CRC-32 (zlib's polynomial) of any length: zlib takes uInt lengths, so
 * long inputs go in 1 GiB pieces. Used by the PNG and zip readers. */
#ifndef UNPROMPT_FORMAT_CRC_H
#define UNPROMPT_FORMAT_CRC_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32_of(const uint8_t *p, size_t n);

#endif
