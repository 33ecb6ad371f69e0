#include <sodium.h>
#include <string.h>

#include "handshake.h"
#include "hsguard.h"

void
hs_guard_init(struct hs_guard *g, const uint8_t fresh[48])
{
	memset(g, 0, sizeof(*g));
	memcpy(g->hash_key, fresh + 32, sizeof(g->hash_key));
	cookie_secret_set(&g->cookies, 1, fresh);
	g->cookies.born_ms = 0;		/* rotated at the first check */
}

bool
hs_guard_rotate_due(const struct hs_guard *g, uint64_t now)
{
	return cookie_secret_due(&g->cookies, now);
}

void
hs_guard_rotate(struct hs_guard *g, uint64_t now, const uint8_t fresh[32])
{
	cookie_secret_set(&g->cookies, now, fresh);
}

/* Counts the initiations of the current second; true over the limit. */
static bool
under_load(struct hs_guard *g, uint64_t now)
{
	if (now - g->window_ms >= 1000) {
		g->window_ms = now;
		g->in_window = 0;
	}
	return ++g->in_window > HS_LOAD_PER_S;
}

/* A token bucket per source; a source that hashes onto another's slot
 * takes it over with a full bucket (a spoofer gets no further than
 * mac2 anyway). */
static bool
source_ok(struct hs_guard *g, uint64_t now, const void *src, size_t len)
{
	uint8_t h[8];
	struct hs_source *s;
	uint64_t refill;

	if (len > sizeof(s->addr))
		len = sizeof(s->addr);
	crypto_shorthash(h, src, len, g->hash_key);
	s = &g->src[h[0] % HS_GUARD_SLOTS];
	if (s->len != len || memcmp(s->addr, src, len) != 0) {
		memcpy(s->addr, src, len);
		s->len = (uint8_t)len;
		s->tokens_milli = HS_SOURCE_BURST * 1000;
		s->last_ms = now;
	}
	refill = (now - s->last_ms) * HS_SOURCE_RATE;
	s->last_ms = now;
	if (refill > HS_SOURCE_BURST * 1000 - s->tokens_milli)
		s->tokens_milli = HS_SOURCE_BURST * 1000;
	else
		s->tokens_milli += (uint32_t)refill;
	if (s->tokens_milli < 1000)
		return false;
	s->tokens_milli -= 1000;
	return true;
}

enum hs_guard_verdict
hs_guard_check(struct hs_guard *g, uint64_t now, const void *src,
    size_t len, const uint8_t *msg, size_t msg_len,
    uint8_t cookie[COOKIE_LEN])
{
	if (!under_load(g, now))
		return HS_GUARD_PASS;
	cookie_of(&g->cookies, src, len, cookie);
	if (!hs_mac2_ok(msg, msg_len, cookie))
		return HS_GUARD_COOKIE;
	return source_ok(g, now, src, len) ? HS_GUARD_PASS : HS_GUARD_LIMITED;
}
