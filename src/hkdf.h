/* HKDF-SHA256 (RFC 5869) on libsodium's HMAC-SHA256: libsodium 1.0.18 has
 * no crypto_kdf_hkdf_*, and the handshake's Noise HKDF is exactly this. */
#ifndef OVT_HKDF_H
#define OVT_HKDF_H

#include <stddef.h>
#include <stdint.h>

#define HKDF_SHA256_LEN		32
#define HKDF_SHA256_MAX		(255 * HKDF_SHA256_LEN)

/* An empty salt (salt_len 0) stands for 32 zero bytes, as in RFC 5869. */
void	hkdf_sha256_extract(uint8_t prk[HKDF_SHA256_LEN], const uint8_t *salt,
	    size_t salt_len, const uint8_t *ikm, size_t ikm_len);
/* -1 when len exceeds HKDF_SHA256_MAX. */
int	hkdf_sha256_expand(uint8_t *out, size_t len,
	    const uint8_t prk[HKDF_SHA256_LEN], const uint8_t *info,
	    size_t info_len);
int	hkdf_sha256(uint8_t *out, size_t len, const uint8_t *salt,
	    size_t salt_len, const uint8_t *ikm, size_t ikm_len,
	    const uint8_t *info, size_t info_len);

#endif
