/* X25519 keys as people handle them: 32 bytes in standard base64 (44
 * characters), the form `ovtunctl genkey` prints and WireGuard's `wg`
 * uses. Pure functions, shared by the config loader and ovtunctl. */
#ifndef OVT_KEY_H
#define OVT_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN		32
#define KEY_B64_LEN	44	/* without the NUL */

/* Decodes exactly one base64 key of KEY_B64_LEN characters; trailing
 * newlines (a file written by `ovtunctl genkey >file`) are allowed when
 * len says so. 0 on success, -1 otherwise (out then undefined). */
int		 key_from_base64(uint8_t out[KEY_LEN], const char *s,
		    size_t len);
/* Writes KEY_B64_LEN characters and a NUL. */
void		 key_to_base64(char out[KEY_B64_LEN + 1],
		    const uint8_t key[KEY_LEN]);
/* The public key of a private one (clamped as X25519 does). */
void		 key_public(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN]);
/* A low-order point: every private key maps it to the all-zero shared
 * secret, so a peer named by it would authenticate with no secret. */
bool		 key_low_order(const uint8_t pub[KEY_LEN]);

#endif
