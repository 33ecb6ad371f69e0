#include <sodium.h>
#include <string.h>

#include "hkdf.h"

void
hkdf_sha256_extract(uint8_t prk[HKDF_SHA256_LEN], const uint8_t *salt,
    size_t salt_len, const uint8_t *ikm, size_t ikm_len)
{
	static const uint8_t zero[HKDF_SHA256_LEN];
	crypto_auth_hmacsha256_state st;

	if (salt_len == 0) {
		salt = zero;
		salt_len = sizeof(zero);
	}
	crypto_auth_hmacsha256_init(&st, salt, salt_len);
	crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);
	sodium_memzero(&st, sizeof(st));
}

int
hkdf_sha256_expand(uint8_t *out, size_t len, const uint8_t prk[HKDF_SHA256_LEN],
    const uint8_t *info, size_t info_len)
{
	crypto_auth_hmacsha256_state st;
	uint8_t t[HKDF_SHA256_LEN];
	uint8_t ctr;
	size_t n;

	if (len > HKDF_SHA256_MAX)
		return -1;
	/* T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty. */
	for (ctr = 1; len > 0; ctr++) {
		crypto_auth_hmacsha256_init(&st, prk, HKDF_SHA256_LEN);
		if (ctr > 1)
			crypto_auth_hmacsha256_update(&st, t, sizeof(t));
		crypto_auth_hmacsha256_update(&st, info, info_len);
		crypto_auth_hmacsha256_update(&st, &ctr, 1);
		crypto_auth_hmacsha256_final(&st, t);
		n = len < sizeof(t) ? len : sizeof(t);
		memcpy(out, t, n);
		out += n;
		len -= n;
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(t, sizeof(t));
	return 0;
}

int
hkdf_sha256(uint8_t *out, size_t len, const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len)
{
	uint8_t prk[HKDF_SHA256_LEN];
	int rc;

	hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len);
	rc = hkdf_sha256_expand(out, len, prk, info, info_len);
	sodium_memzero(prk, sizeof(prk));
	return rc;
}
