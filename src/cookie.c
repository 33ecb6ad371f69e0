#include <sodium.h>
#include <string.h>

#include "byteorder.h"
#include "cookie.h"

#define LABEL_COOKIE	"ovtund cookie v1"

bool
cookie_secret_due(const struct cookie_checker *cc, uint64_t now)
{
	return cc->born_ms == 0 || now - cc->born_ms >= COOKIE_LIFETIME_MS;
}

void
cookie_secret_set(struct cookie_checker *cc, uint64_t now,
    const uint8_t fresh[32])
{
	memcpy(cc->secret, fresh, sizeof(cc->secret));
	cc->born_ms = now != 0 ? now : 1;
}

void
cookie_of(const struct cookie_checker *cc, const void *src, size_t src_len,
    uint8_t cookie[COOKIE_LEN])
{
	crypto_generichash(cookie, COOKIE_LEN, src, src_len, cc->secret,
	    sizeof(cc->secret));
}

void
cookie_mac2(uint8_t *msg, size_t mac2_off, const uint8_t cookie[COOKIE_LEN])
{
	crypto_generichash(msg + mac2_off, 16, msg, mac2_off, cookie,
	    COOKIE_LEN);
}

bool
cookie_mac2_ok(const uint8_t *msg, size_t mac2_off,
    const uint8_t cookie[COOKIE_LEN])
{
	uint8_t mac[16];

	crypto_generichash(mac, sizeof(mac), msg, mac2_off, cookie,
	    COOKIE_LEN);
	return crypto_verify_16(mac, msg + mac2_off) == 0;
}

void
cookie_key(uint8_t key[32], const uint8_t mac1_key[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)LABEL_COOKIE,
	    strlen(LABEL_COOKIE));
	crypto_generichash_update(&st, mac1_key, 32);
	crypto_generichash_final(&st, key, 32);
	sodium_memzero(&st, sizeof(st));
}

void
cookie_reply_seal(uint8_t out[COOKIE_REPLY_LEN], uint32_t receiver,
    const uint8_t nonce[COOKIE_NONCE_LEN], const uint8_t cookie[COOKIE_LEN],
    const uint8_t key[32], const uint8_t mac1[16])
{
	be32_put(out, HS_MSG_COOKIE);
	be32_put(out + COOKIE_RECEIVER_OFF, receiver);
	memcpy(out + COOKIE_NONCE_OFF, nonce, COOKIE_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + COOKIE_SEALED_OFF,
	    NULL, cookie, COOKIE_LEN, mac1, 16, NULL, nonce, key);
}

uint32_t
cookie_reply_receiver(const uint8_t *msg, size_t len)
{
	if (len != COOKIE_REPLY_LEN || be32_get(msg) != HS_MSG_COOKIE)
		return 0;
	return be32_get(msg + COOKIE_RECEIVER_OFF);
}

int
cookie_reply_open(const uint8_t *msg, size_t len, const uint8_t key[32],
    const uint8_t mac1[16], uint8_t cookie[COOKIE_LEN])
{
	if (cookie_reply_receiver(msg, len) == 0)
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL,
	    msg + COOKIE_SEALED_OFF, COOKIE_LEN + COOKIE_TAG_LEN, mac1, 16,
	    msg + COOKIE_NONCE_OFF, key);
}
