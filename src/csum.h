/* The Internet checksum (RFC 1071), for GRE's optional checksum and the
 * UDP header the encrypted path builds itself. */
#ifndef OVT_CSUM_H
#define OVT_CSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>


static inline uint16_t
csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Adds b's 16-bit big-endian words to sum; an odd last byte is padded
 * with zero. Chain calls only on even-length pieces. It runs on every
 * segment of every superframe, so it sums eight bytes at a time in host
 * order and swaps once at the end: the one's complement sum does not
 * care about byte order but for that swap (RFC 1071, 2(B)). */
static inline uint64_t
csum_partial(const uint8_t *b, size_t len, uint64_t sum)
{
	uint64_t acc = 0, w;
	uint16_t half, host;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, b + i, sizeof(w));
		acc += (w & 0xffffffffu) + (w >> 32);
	}
	for (; i + 2 <= len; i += 2) {
		memcpy(&half, b + i, sizeof(half));
		acc += half;
	}
	host = csum_fold(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	host = __builtin_bswap16(host);
#endif
	sum += host;
	if (i < len)
		sum += (uint32_t)b[i] << 8;
	return sum;
}

#endif
