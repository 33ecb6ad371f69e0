#include <sodium.h>
#include <string.h>

#include "key.h"

int
key_from_base64(uint8_t out[KEY_LEN], const char *s, size_t len)
{
	size_t bin_len;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len != KEY_B64_LEN || memchr(s, '\0', len) != NULL)
		return -1;
	if (sodium_base642bin(out, KEY_LEN, s, len, NULL, &bin_len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || bin_len != KEY_LEN)
		return -1;
	return 0;
}

void
key_to_base64(char out[KEY_B64_LEN + 1], const uint8_t key[KEY_LEN])
{
	_Static_assert(KEY_B64_LEN + 1 ==
	    sodium_base64_ENCODED_LEN(KEY_LEN, sodium_base64_VARIANT_ORIGINAL),
	    "44 characters and a NUL");
	sodium_bin2base64(out, KEY_B64_LEN + 1, key, KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}

void
key_public(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN])
{
	crypto_scalarmult_base(pub, priv);
}

bool
key_low_order(const uint8_t pub[KEY_LEN])
{
	/* Any scalar will do: X25519 clamps it to a multiple of 8, which
	 * takes exactly the low-order points to zero, and libsodium fails
	 * on a zero result. */
	static const uint8_t scalar[KEY_LEN] = { 0x55, 0x55, 0x55, 0x55 };
	uint8_t shared[KEY_LEN];
	bool low = crypto_scalarmult(shared, scalar, pub) != 0;

	sodium_memzero(shared, sizeof(shared));
	return low;
}
