#ifndef CAPOS_BASE_CRC32C_H
#define CAPOS_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c_update(0, ...) starts a new checksum; feed the result back to continue. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);
uint32_t crc32c(const void *data, size_t len);

#endif
