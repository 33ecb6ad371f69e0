/* The key exchange of the encrypted tunnels: Noise NNpsk0 (PSK only) or
 * KKpsk0 (PSK plus per-peer static X25519 keys) with ChaCha20-Poly1305 and
 * SHA-256, as a pure state machine. Messages, the monotonic time and
 * randomness go in; messages to send, events and ESP keys come out. The
 * caller owns sockets, timers, rate limiting and the SAs themselves.
 * doc/handshake.md has the protocol, the wire format and the arguments. */
#ifndef OVT_HANDSHAKE_H
#define OVT_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drop.h"

#define HS_KEY_LEN	32
#define HS_SALT_LEN	4

/* Message types, the first 32-bit word (big-endian) of each handshake
 * message: ESP has no SPIs below 256, so both may share a UDP port. */
#define HS_MSG_INIT	1
#define HS_MSG_RESP	2
/* Fixed sizes: a response is never larger than an initiation. */
#define HS_INIT_LEN	108
#define HS_RESP_LEN	76
#define HS_MSG_MAX	HS_INIT_LEN

#define HS_RETRY_MS	1000	/* first retransmission; then doubled */
#define HS_RETRY_MAX_MS	8000
#define HS_GIVEUP_MS	90000	/* an initiation is retried this long */
#define HS_GRACE_MS	15000	/* a replaced inbound SA still accepts */
#define HS_KEEPALIVE_MS	1000	/* KEEPALIVE events at most this often */
/* An initiation stamped further ahead of our wall clock is refused. */
#define HS_FUTURE_MAX_MS	60000
/* Authentic, new handshake messages a peer gets answers to per second. */
#define HS_ANSWER_RATE	10

/* Injected effects. random must not fail; realtime_ns is the wall clock
 * (ns since the Unix epoch), read only to stamp initiations; spi_in_use,
 * if set, keeps new inbound SPIs clear of all the daemon's others. */
struct hs_env {
	void		 (*random)(void *arg, void *buf, size_t len);
	uint64_t	 (*realtime_ns)(void *arg);
	bool		 (*spi_in_use)(void *arg, uint32_t spi);
	void		*arg;
};

/* Per-peer static keys: ours and the peer's public one. */
struct hs_static {
	uint8_t	local_private[32];
	uint8_t	peer_public[32];
};

/* One handshake's ESP keys, an SA per direction. */
struct hs_keys {
	uint32_t	tx_spi, rx_spi;
	uint8_t		tx_key[HS_KEY_LEN], tx_salt[HS_SALT_LEN];
	uint8_t		rx_key[HS_KEY_LEN], rx_salt[HS_SALT_LEN];
	bool		initiator;
};

/* The SAs the caller should hold for the peer after a call; 0 is none.
 * Outbound SAs other than tx_spi and staged_tx_spi, and inbound SAs not
 * in rx_spi, are to be deleted. */
struct hs_sas {
	uint32_t	tx_spi;		/* send with this one */
	uint32_t	staged_tx_spi;	/* keep, but not send with it yet */
	uint32_t	rx_spi[4];	/* current, next, two retiring */
};

enum hs_event_type {
	HS_EV_NONE,
	HS_EV_KEYS_READY,	/* new SAs in keys; then sync with sas */
	HS_EV_SA_CHANGED,	/* sync with sas */
	HS_EV_AUTH_FAILED,	/* mac1 or AEAD: wrong PSK or static key */
	HS_EV_REPLAY,		/* authentic, but not newer than seen */
	HS_EV_STALE,		/* response to no current initiation */
	HS_EV_MALFORMED,	/* size, type or reserved bytes */
	HS_EV_TIMEOUT,		/* gave up; no keys, drop queued frames */
	HS_EV_KEEPALIVE,	/* send a packet (a dummy if none) on tx */
	HS_EV_CLOCK_AHEAD,	/* stamped too far ahead of our clock */
	HS_EV_RATE_LIMITED,	/* more than HS_ANSWER_RATE a second */
};

struct hs_event {
	enum hs_event_type	 type;
	/* KEYS_READY only; in locked memory, valid until the next call on
	 * the same peer, which wipes it. */
	const struct hs_keys	*keys;
	struct hs_sas		 sas;
};

struct hs_peer;

/* The 32-byte PSK from the configured passphrase (Argon2id, so that a
 * captured handshake costs an attacker that much per guess). -1 on
 * allocation failure. */
int		 hs_psk_derive(uint8_t psk[HS_KEY_LEN], const char *passphrase);

/* ctx, which both ends must agree on, is bound into every handshake (e.g.
 * the cipher and the VNI). st may be NULL. NULL with errno set on failure
 * (EINVAL: a low-order peer public key). */
struct hs_peer	*hs_peer_new(const uint8_t psk[HS_KEY_LEN],
		    const struct hs_static *st, const void *ctx, size_t ctx_len,
		    const struct hs_env *);
void		 hs_peer_free(struct hs_peer *);
/* PSK mode: binds both ends' underlay endpoints (address and port, as
 * the caller encodes them) into every handshake, initiator first, so
 * that a recorded message fails between any other two hosts. */
void		 hs_peer_bind(struct hs_peer *, const void *local,
		    size_t local_len, const void *peer, size_t peer_len);
/* Whether an initiation of ours is out. */
bool		 hs_pending(const struct hs_peer *);

/* Starts a handshake: out gets an initiation of HS_INIT_LEN bytes. The
 * first frame to a peer without keys, or the daemon's rekey policy, calls
 * it. -EALREADY while one is under way (hs_timer resends it). */
int		 hs_initiate(struct hs_peer *, uint64_t now,
		    uint8_t out[HS_MSG_MAX], size_t *out_len);

/* A handshake message from the peer. *out_len is 0 or the length of a
 * reply to send back; out must not overlap msg. Returns ev->type. An
 * initiator with new keys must send a packet with them at once (a dummy
 * if nothing is queued): that is the responder's confirmation. */
enum hs_event_type hs_receive(struct hs_peer *, uint64_t now,
		    const uint8_t *msg, size_t len, uint8_t out[HS_MSG_MAX],
		    size_t *out_len, struct hs_event *ev);

/* An ESP packet authenticated on inbound SA rx_spi. On a responder's new
 * SA it proves the initiator holds the keys, so we may now send with them
 * (SA_CHANGED). On a retiring SA it shows the peer has not switched yet,
 * so our first packet with the new SA may have been lost (KEEPALIVE, at
 * most once per HS_KEEPALIVE_MS). Cheap enough for every packet. Returns
 * ev->type. */
enum hs_event_type hs_confirm(struct hs_peer *, uint64_t now, uint32_t rx_spi,
		    struct hs_event *ev);

/* When hs_timer is due next (monotonic ms), UINT64_MAX if never. */
uint64_t	 hs_next_timeout(const struct hs_peer *);
/* Does one due thing (retire an SA, resend or give up an initiation); the
 * caller repeats while hs_next_timeout() <= now. Returns ev->type. */
enum hs_event_type hs_timer(struct hs_peer *, uint64_t now,
		    uint8_t out[HS_MSG_MAX], size_t *out_len,
		    struct hs_event *ev);

/* Routing and the cheap pre-check, before any rate limit or X25519 work:
 * the type (0 if not a handshake message of the right size), the receiver
 * index of a response (our inbound SPI-to-be; 0 if not a response), and
 * the size, type and mac1 check alone (NONE if they pass). */
int		 hs_msg_type(const uint8_t *msg, size_t len);
uint32_t	 hs_msg_receiver(const uint8_t *msg, size_t len);
enum hs_event_type hs_precheck(const struct hs_peer *, const uint8_t *msg,
		    size_t len);

/* Cookies (cookie.h), the responder's defence under load. Whether an
 * initiation's mac2 is good for cookie (other messages have none), and a
 * cookie reply to msg into out (COOKIE_REPLY_LEN bytes). A cookie reply
 * from the peer goes to hs_receive, which keeps the cookie for the mac2
 * of our next initiations. */
bool		 hs_mac2_ok(const uint8_t *msg, size_t len,
		    const uint8_t cookie[16]);
void		 hs_cookie_reply(const struct hs_peer *, const uint8_t *msg,
		    const uint8_t cookie[16], const uint8_t nonce[24],
		    uint8_t *out);

/* The drop counter for a rejected message's event. */
enum drop_reason hs_drop_reason(enum hs_event_type);

#endif
