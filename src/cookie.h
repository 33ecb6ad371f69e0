/* Cookies for the key exchange under load, as WireGuard has them: the
 * responder's rotating secret and the cookie of a source address, mac2,
 * and the cookie reply's codec. Pure: time and random bytes come in. */
#ifndef OVT_COOKIE_H
#define OVT_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* The responder's: a secret replaced every COOKIE_LIFETIME_MS. */
struct cookie_checker {
	uint8_t		secret[32];
	uint64_t	born_ms;	/* 0: none yet */
};

/* Whether the secret is due for replacement at now. */
bool	cookie_secret_due(const struct cookie_checker *, uint64_t now);
/* A new secret, from 32 random bytes. */
void	cookie_secret_set(struct cookie_checker *, uint64_t now,
	    const uint8_t fresh[32]);
/* The cookie of a source address (its bytes as the caller encodes it). */
void	cookie_of(const struct cookie_checker *, const void *src,
	    size_t src_len, uint8_t cookie[COOKIE_LEN]);

/* mac2 of msg: a keyed BLAKE2b-128 of the bytes before it, under the
 * cookie. */
void	cookie_mac2(uint8_t *msg, size_t mac2_off,
	    const uint8_t cookie[COOKIE_LEN]);
bool	cookie_mac2_ok(const uint8_t *msg, size_t mac2_off,
	    const uint8_t cookie[COOKIE_LEN]);

/* The key a cookie reply is sealed with, from the mac1 key both ends of
 * a pair share. */
void	cookie_key(uint8_t key[32], const uint8_t mac1_key[32]);
/* A cookie reply of COOKIE_REPLY_LEN bytes to the message whose sender
 * index and mac1 are given. */
void	cookie_reply_seal(uint8_t out[COOKIE_REPLY_LEN], uint32_t receiver,
	    const uint8_t nonce[COOKIE_NONCE_LEN],
	    const uint8_t cookie[COOKIE_LEN], const uint8_t key[32],
	    const uint8_t mac1[16]);
/* Its receiver index, 0 if msg is not a cookie reply. */
uint32_t cookie_reply_receiver(const uint8_t *msg, size_t len);
/* Opens a cookie reply to the message with that mac1; -1 if forged. */
int	cookie_reply_open(const uint8_t *msg, size_t len,
	    const uint8_t key[32], const uint8_t mac1[16],
	    uint8_t cookie[COOKIE_LEN]);

#endif
