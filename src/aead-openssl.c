/* The AEADs by OpenSSL libcrypto's EVP interface. Setting a key up costs
 * more than sealing a packet (a provider fetch, AES's key schedule and
 * GHASH table), so each lane gets one context, keyed once; a packet only
 * sets its nonce and direction (EVP_CipherInit_ex2 without a key keeps
 * the key). The contexts hold OpenSSL's copies of the key:
 * EVP_CIPHER_CTX_free cleanses them. */
#include <errno.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/crypto.h>

#include "aead.h"

static const EVP_CIPHER *
evp_cipher(enum aead_cipher cipher)
{
	return cipher == AEAD_AES256_GCM ? EVP_aes_256_gcm() :
	    EVP_chacha20_poly1305();
}

static bool
openssl_available(enum aead_cipher cipher)
{
	return evp_cipher(cipher) != NULL;
}

static void
openssl_free_key(struct aead *a)
{
	EVP_CIPHER_CTX **ctx = (EVP_CIPHER_CTX **)a->k.evp;

	for (unsigned i = 0; ctx != NULL && i < a->lanes; i++)
		EVP_CIPHER_CTX_free(ctx[i]);
	free(ctx);
	a->k.evp = NULL;
}

static int
openssl_init_key(struct aead *a, const uint8_t key[AEAD_KEY_LEN])
{
	EVP_CIPHER_CTX **ctx = calloc(a->lanes, sizeof(*ctx));

	if ((a->k.evp = (void **)ctx) == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < a->lanes; i++) {
		/* Both ciphers default to the 12-byte nonce of ESP. */
		if ((ctx[i] = EVP_CIPHER_CTX_new()) == NULL ||
		    EVP_CipherInit_ex2(ctx[i], evp_cipher(a->cipher), key,
		    NULL, 1, NULL) != 1 ||
		    EVP_CIPHER_CTX_get_iv_length(ctx[i]) != AEAD_NONCE_LEN) {
			openssl_free_key(a);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The nonce and direction, the AAD, then the data in place. */
static bool
start(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *nonce, const uint8_t *aad,
    size_t aad_len, uint8_t *b, size_t len)
{
	int n;

	if (EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, enc, NULL) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		return false;
	return len == 0 || (EVP_CipherUpdate(ctx, b, &n, b, (int)len) == 1 &&
	    (size_t)n == len);
}

static int
openssl_seal(struct aead *a, unsigned lane, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, uint8_t *b, size_t len, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = a->k.evp[lane];
	int n;

	if (!start(ctx, 1, nonce, aad, aad_len, b, len) ||
	    EVP_CipherFinal_ex(ctx, b + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN,
	    tag) != 1)
		return -1;
	return 0;
}

/* OpenSSL decrypts before it knows the tag: a forgery's plaintext is
 * wiped here. */
static int
openssl_open(struct aead *a, unsigned lane, const uint8_t *nonce,
    const uint8_t *aad, size_t aad_len, uint8_t *b, size_t len,
    const uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = a->k.evp[lane];
	int n;

	if (start(ctx, 0, nonce, aad, aad_len, b, len) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN,
	    (void *)tag) == 1 &&
	    EVP_CipherFinal_ex(ctx, b + len, &n) == 1)
		return 0;
	OPENSSL_cleanse(b, len);
	return -1;
}

const struct aead_ops aead_openssl_ops = {
	openssl_available, openssl_init_key, openssl_free_key, openssl_seal,
	openssl_open,
};
