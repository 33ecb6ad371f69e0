/* The Internet checksum (RFC 1071), for GRE's optional checksum and the
 * UDP header the encrypted path builds itself. */
#ifndef OVT_CSUM_H
#define OVT_CSUM_H

#include <stddef.h>
#include <stdint.h>

#include "byteorder.h"

/* Adds b's 16-bit big-endian words to sum; an odd last byte is padded
 * with zero. Chain calls only on even-length pieces. */
static inline uint64_t
csum_partial(const uint8_t *b, size_t len, uint64_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += be16_get(b + i);
	if (i < len)
		sum += (uint32_t)b[i] << 8;
	return sum;
}

static inline uint16_t
csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#endif
