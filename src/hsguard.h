/* The key exchange port under load (doc/handshake.md, "Under load"): while
 * more than HS_LOAD_PER_S initiations a second pass mac1, an initiation
 * needs a valid mac2 (the cookie of its source address, which a spoofed
 * source never receives) or gets a cookie reply instead of any public
 * key work; those with a valid mac2 are limited per source address.
 * Pure: time and random bytes come in. The main thread's alone. */
#ifndef OVT_HSGUARD_H
#define OVT_HSGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cookie.h"

#define HS_LOAD_PER_S		40	/* initiations a second: under load */
#define HS_SOURCE_RATE		10	/* per source a second, under load */
#define HS_SOURCE_BURST		20
#define HS_GUARD_SLOTS		256	/* sources tracked at once */

struct hs_source {
	uint8_t		addr[17];	/* family and address; len 0: free */
	uint8_t		len;
	uint32_t	tokens_milli;
	uint64_t	last_ms;
};

struct hs_guard {
	struct cookie_checker	cookies;
	uint8_t			hash_key[16];	/* spreads sources */
	uint64_t		window_ms;
	unsigned		in_window;	/* initiations this second */
	struct hs_source	src[HS_GUARD_SLOTS];
};

enum hs_guard_verdict {
	HS_GUARD_PASS,		/* process it */
	HS_GUARD_COOKIE,	/* under load, no valid mac2: send cookie */
	HS_GUARD_LIMITED,	/* under load, this source is over its rate */
};

/* fresh: 48 random bytes (a cookie secret and a hash key). */
void	hs_guard_init(struct hs_guard *, const uint8_t fresh[48]);
/* Whether a cookie secret is due; then hs_guard_rotate with 32 random
 * bytes before hs_guard_check. */
bool	hs_guard_rotate_due(const struct hs_guard *, uint64_t now);
void	hs_guard_rotate(struct hs_guard *, uint64_t now,
	    const uint8_t fresh[32]);
/* An initiation that passed mac1, from src (len bytes); cookie gets the
 * source's cookie, for a reply. */
enum hs_guard_verdict hs_guard_check(struct hs_guard *, uint64_t now,
	    const void *src, size_t len, const uint8_t *msg, size_t msg_len,
	    uint8_t cookie[COOKIE_LEN]);

#endif
