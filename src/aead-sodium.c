/* The AEADs by libsodium: the key (AES-GCM's expanded once) inside the
 * struct aead, so in the SA's guarded memory; nothing per lane, as
 * libsodium's calls keep no state between them. */
#include <string.h>

#include "aead.h"

/* sodium_init() is idempotent and must precede the AES-NI probe. */
static bool
sodium_available(enum aead_cipher cipher)
{
	if (sodium_init() < 0)
		return false;
	/* libsodium's AES-GCM needs AES-NI and PCLMUL. */
	return cipher == AEAD_CHACHA20_POLY1305 ||
	    crypto_aead_aes256gcm_is_available();
}

/* The SA ends on a page boundary and its size is a multiple of the AES
 * state's 16-byte alignment, so that state is aligned. */
static int
sodium_init_key(struct aead *a, const uint8_t key[AEAD_KEY_LEN])
{
	if (a->cipher == AEAD_AES256_GCM)
		crypto_aead_aes256gcm_beforenm(&a->k.aes, key);
	else
		memcpy(a->k.chacha, key, AEAD_KEY_LEN);
	return 0;
}

/* The key is wiped with the memory it lives in (sodium_free). */
static void
sodium_free_key(struct aead *a)
{
	(void)a;
}

static int
sodium_seal(struct aead *a, unsigned lane, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, uint8_t *b, size_t len, uint8_t *tag)
{
	(void)lane;
	if (a->cipher == AEAD_AES256_GCM)
		crypto_aead_aes256gcm_encrypt_detached_afternm(b, tag, NULL,
		    b, len, aad, aad_len, NULL, nonce, &a->k.aes);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(b, tag,
		    NULL, b, len, aad, aad_len, NULL, nonce, a->k.chacha);
	return 0;
}

/* libsodium wipes the output itself when the tag does not match. */
static int
sodium_open(struct aead *a, unsigned lane, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, uint8_t *b, size_t len,
    const uint8_t *tag)
{
	(void)lane;
	if (a->cipher == AEAD_AES256_GCM)
		return crypto_aead_aes256gcm_decrypt_detached_afternm(b, NULL,
		    b, len, tag, aad, aad_len, nonce, &a->k.aes);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(b, NULL,
	    b, len, tag, aad, aad_len, nonce, a->k.chacha);
}

const struct aead_ops aead_sodium_ops = {
	sodium_available, sodium_init_key, sodium_free_key, sodium_seal,
	sodium_open,
};
