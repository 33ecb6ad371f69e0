/* Noise NNpsk0 / KKpsk0 handshake; see handshake.h and doc/handshake.md.
 *
 * NNpsk0:  -> psk, e              KKpsk0:  -> s   <- s   (known in advance)
 *          <- e, ee                        -> psk, e, es, ss
 *                                          <- e, ee, se
 *
 * Every message also mixes its cleartext header into the transcript hash,
 * and the initiation carries a TAI64N timestamp and our instance id. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "cookie.h"
#include "handshake.h"
#include "hkdf.h"

#define NAME_NN		"Noise_NNpsk0_25519_ChaChaPoly_SHA256"
#define NAME_KK		"Noise_KKpsk0_25519_ChaChaPoly_SHA256"
#define LABEL_PROLOGUE	"ovtund handshake v1"
#define LABEL_MAC1	"ovtund mac1 v1"
#define LABEL_ESP	"ovtund esp v1"
#define LABEL_PSK	"ovtund psk v1"

/* Wire layout; multi-byte fields are big-endian. */
#define OFF_SENDER	4
#define I_EPH		8
#define I_PAYLOAD	40
#define I_MAC1		76
#define I_MAC2		92
#define R_RECEIVER	8
#define R_EPH		12
#define R_EMPTY		44
#define R_MAC1		60

#define DH_LEN		32
#define TAG_LEN		16
#define MAC_LEN		16
#define TS_LEN		12
#define ID_LEN		8
#define PAYLOAD_LEN	(TS_LEN + ID_LEN)
#define SPI_MIN		256	/* RFC 4303: 1-255 are reserved */

/* Noise symmetric state. A key encrypts at most once before the next
 * MixKey replaces it, so its nonce is always 0. */
struct noise {
	uint8_t	ck[32];
	uint8_t	h[32];
	uint8_t	k[32];
	uint8_t	tmp[128];
};

/* Everything secret about one peer, in one sodium_malloc'd block. */
struct secrets {
	uint8_t		psk[32];
	uint8_t		s_priv[32];
	uint8_t		ss[DH_LEN];		/* DH(s, rs), KK only */
	uint8_t		mac1_tx[32];		/* keys mac1 to the peer */
	uint8_t		mac1_rx[32];		/* and from it */
	uint8_t		e_priv[32];		/* our pending initiation's */
	struct noise	pending;		/* its state after sending */
	uint8_t		resp_e[32];		/* a response's ephemeral */
	uint8_t		dh[DH_LEN];
	struct noise	work;
	struct hs_keys	keys;			/* the last KEYS_READY's */
};

/* The SPIs of one set of keys, each way. */
struct spi_pair {
	uint32_t	rx, tx;			/* 0: none */
};

struct retiring {
	uint32_t	spi;			/* 0: free slot */
	uint64_t	until;
};

struct hs_peer {
	struct secrets	*sec;
	struct hs_env	 env;
	bool		 kk;
	uint8_t		 s_pub[32], rs_pub[32];
	uint8_t		 ck0[32];		/* HASH(protocol name) */
	uint8_t		 h_ctx[32];		/* after name and ctx */
	uint8_t		 h0_init[32];		/* after the pre-messages */
	uint8_t		 h0_resp[32];
	uint8_t		 instance[ID_LEN];	/* tells our reflections */
	uint8_t		 pending_msg[HS_INIT_LEN];	/* as sent, to resend */
	uint8_t		 greatest_ts[TS_LEN];	/* newest initiation accepted */
	uint64_t	 last_ts_ns;		/* newest we sent */

	bool		 pending;		/* an initiation is out */
	uint32_t	 pending_idx;
	uint8_t		 pending_e[32];
	uint64_t	 started, retry_at;
	unsigned	 attempts;

	struct spi_pair	 cur;			/* confirmed: send with it */
	struct spi_pair	 next;			/* responder's, unconfirmed */
	struct retiring	 old[2];		/* inbound only, for a grace */
	uint64_t	 keepalive_at;		/* no KEEPALIVE event before */
	uint64_t	 answer_window;		/* HS_ANSWER_RATE, per second */
	unsigned	 answers;
	uint8_t		 cookie[COOKIE_LEN];	/* from the peer, under load */
	uint64_t	 cookie_at;		/* 0: none */
};

/* h = HASH(h | a | b) */
static void
hash_into(uint8_t h[32], const void *a, size_t alen, const void *b,
    size_t blen)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, h, 32);
	crypto_hash_sha256_update(&st, a, alen);
	crypto_hash_sha256_update(&st, b, blen);
	crypto_hash_sha256_final(&st, h);
}

static void
mix_hash(struct noise *n, const uint8_t *data, size_t len)
{
	hash_into(n->h, data, len, NULL, 0);
}

/* Noise HKDF(ck, ikm) is RFC 5869 with salt ck and empty info. */
static void
noise_hkdf(struct noise *n, const uint8_t *ikm, size_t len, size_t out_len)
{
	hkdf_sha256(n->tmp, out_len, n->ck, sizeof(n->ck), ikm, len, NULL, 0);
	memcpy(n->ck, n->tmp, 32);
}

static void
mix_key(struct noise *n, const uint8_t *ikm, size_t len)
{
	noise_hkdf(n, ikm, len, 64);
	memcpy(n->k, n->tmp + 32, 32);
	sodium_memzero(n->tmp, sizeof(n->tmp));
}

static void
mix_key_and_hash(struct noise *n, const uint8_t psk[32])
{
	noise_hkdf(n, psk, 32, 96);
	mix_hash(n, n->tmp + 32, 32);
	memcpy(n->k, n->tmp + 64, 32);
	sodium_memzero(n->tmp, sizeof(n->tmp));
}

/* The "e" token of a PSK handshake: hashed and mixed into the key. */
static void
mix_ephemeral(struct noise *n, const uint8_t pub[32])
{
	mix_hash(n, pub, 32);
	mix_key(n, pub, 32);
}

static void
encrypt_and_hash(struct noise *n, uint8_t *c, const uint8_t *p, size_t len)
{
	static const uint8_t nonce[12];

	crypto_aead_chacha20poly1305_ietf_encrypt(c, NULL, p, len, n->h,
	    sizeof(n->h), NULL, nonce, n->k);
	mix_hash(n, c, len + TAG_LEN);
}

static int
decrypt_and_hash(struct noise *n, uint8_t *p, const uint8_t *c, size_t len)
{
	static const uint8_t nonce[12];

	if (crypto_aead_chacha20poly1305_ietf_decrypt(p, NULL, NULL, c, len,
	    n->h, sizeof(n->h), nonce, n->k) != 0)
		return -1;
	mix_hash(n, c, len);
	return 0;
}

/* X25519 into sec->dh and the chain; -1 on a low-order public key. */
static int
mix_dh(struct hs_peer *hs, struct noise *n, const uint8_t priv[32],
    const uint8_t pub[32])
{
	if (crypto_scalarmult(hs->sec->dh, priv, pub) != 0)
		return -1;
	mix_key(n, hs->sec->dh, DH_LEN);
	return 0;
}

static void
noise_init(const struct hs_peer *hs, struct noise *n, bool initiator)
{
	memcpy(n->ck, hs->ck0, sizeof(n->ck));
	memcpy(n->h, initiator ? hs->h0_init : hs->h0_resp, sizeof(n->h));
}

static void
mac1(uint8_t *msg, size_t off, const uint8_t key[32])
{
	crypto_generichash(msg + off, MAC_LEN, msg, off, key, 32);
}

/* TAI64N of the wall clock, strictly increasing even if the clock steps
 * back, so each of our initiations is newer than the last. */
static void
timestamp(struct hs_peer *hs, uint8_t ts[TS_LEN])
{
	uint64_t ns = hs->env.realtime_ns(hs->env.arg);
	uint64_t s;

	if (ns <= hs->last_ts_ns)
		ns = hs->last_ts_ns + 1;
	hs->last_ts_ns = ns;
	s = (1ULL << 62) + ns / 1000000000;
	be32_put(ts, (uint32_t)(s >> 32));
	be32_put(ts + 4, (uint32_t)s);
	be32_put(ts + 8, (uint32_t)(ns % 1000000000));
}

static bool
spi_busy(const struct hs_peer *hs, uint32_t spi)
{
	if (spi < SPI_MIN || spi == hs->cur.rx || spi == hs->next.rx ||
	    spi == hs->old[0].spi || spi == hs->old[1].spi ||
	    (hs->pending && spi == hs->pending_idx))
		return true;
	return hs->env.spi_in_use != NULL &&
	    hs->env.spi_in_use(hs->env.arg, spi);
}

/* A fresh inbound SPI, also distinct from avoid (the peer's). */
static int
new_index(struct hs_peer *hs, uint32_t avoid, uint32_t *idx)
{
	for (int i = 0; i < 64; i++) {
		hs->env.random(hs->env.arg, idx, sizeof(*idx));
		if (*idx != avoid && !spi_busy(hs, *idx))
			return 0;
	}
	return -1;
}

static void
expand_sa(uint8_t key[HS_KEY_LEN], uint8_t salt[HS_SALT_LEN],
    const uint8_t prk[32], uint8_t okm[HS_KEY_LEN + HS_SALT_LEN])
{
	hkdf_sha256_expand(okm, HS_KEY_LEN + HS_SALT_LEN, prk,
	    (const uint8_t *)LABEL_ESP, strlen(LABEL_ESP));
	memcpy(key, okm, HS_KEY_LEN);
	memcpy(salt, okm + HS_KEY_LEN, HS_SALT_LEN);
}

/* Noise Split() gives a key per direction; each is expanded into an ESP
 * key and salt. Wipes the finished handshake's state. */
static void
derive_keys(struct hs_peer *hs, struct noise *n, bool initiator,
    uint32_t rx_spi, uint32_t tx_spi)
{
	struct hs_keys *k = &hs->sec->keys;
	uint8_t *i2r = n->tmp, *r2i = n->tmp + 32, *okm = n->tmp + 64;

	hkdf_sha256(n->tmp, 64, n->ck, sizeof(n->ck), NULL, 0, NULL, 0);
	expand_sa(k->tx_key, k->tx_salt, initiator ? i2r : r2i, okm);
	expand_sa(k->rx_key, k->rx_salt, initiator ? r2i : i2r, okm);
	sodium_memzero(n, sizeof(*n));
	k->tx_spi = tx_spi;
	k->rx_spi = rx_spi;
	k->initiator = initiator;
}

static void
event_begin(struct hs_peer *hs, struct hs_event *ev)
{
	sodium_memzero(&hs->sec->keys, sizeof(hs->sec->keys));
	memset(ev, 0, sizeof(*ev));
}

static enum hs_event_type
event_end(struct hs_peer *hs, struct hs_event *ev, enum hs_event_type t)
{
	ev->type = t;
	ev->keys = t == HS_EV_KEYS_READY ? &hs->sec->keys : NULL;
	ev->sas.tx_spi = hs->cur.tx;
	ev->sas.staged_tx_spi = hs->next.tx;
	ev->sas.rx_spi[0] = hs->cur.rx;
	ev->sas.rx_spi[1] = hs->next.rx;
	ev->sas.rx_spi[2] = hs->old[0].spi;
	ev->sas.rx_spi[3] = hs->old[1].spi;
	return t;
}

static void
wipe_scratch(struct secrets *sec)
{
	sodium_memzero(&sec->work, sizeof(sec->work));
	sodium_memzero(sec->dh, sizeof(sec->dh));
	sodium_memzero(sec->resp_e, sizeof(sec->resp_e));
}

/* A replaced inbound SA accepts for a grace period, so that packets the
 * peer sent before it switched are not lost. With both slots taken, the
 * one closer to its end goes now. */
static void
retire(struct hs_peer *hs, uint32_t spi, uint64_t now)
{
	struct retiring *r = &hs->old[0];

	if (spi == 0)
		return;
	if (hs->old[1].spi == 0 ||
	    (hs->old[0].spi != 0 && hs->old[1].until < hs->old[0].until))
		r = &hs->old[1];
	r->spi = spi;
	r->until = now + HS_GRACE_MS;
}

/* Our initiation was answered, so the peer holds the keys: they are
 * current at once. A next SA of the peer's is what it sends with until
 * our first packet reaches it. */
static void
install_initiator(struct hs_peer *hs, uint64_t now)
{
	retire(hs, hs->cur.rx, now);
	retire(hs, hs->next.rx, now);
	hs->next = (struct spi_pair){ 0, 0 };
	hs->cur.rx = hs->sec->keys.rx_spi;
	hs->cur.tx = hs->sec->keys.tx_spi;
}

/* We answered: we accept at once but send with the new SA only once the
 * initiator has shown it has the keys (hs_confirm), so that a replayed or
 * lost exchange never moves our sending off a working SA. */
static void
install_responder(struct hs_peer *hs, uint64_t now)
{
	retire(hs, hs->next.rx, now);
	hs->next.rx = hs->sec->keys.rx_spi;
	hs->next.tx = hs->sec->keys.tx_spi;
}

static void
abandon(struct hs_peer *hs)
{
	hs->pending = false;
	sodium_memzero(hs->sec->e_priv, sizeof(hs->sec->e_priv));
	sodium_memzero(&hs->sec->pending, sizeof(hs->sec->pending));
}

/* Each initiation, retransmissions included, has a fresh ephemeral key,
 * index and timestamp: a resend is a new handshake, never a replay. */
static int
make_initiation(struct hs_peer *hs, uint64_t now, uint8_t *out)
{
	struct secrets *sec = hs->sec;
	struct noise *n = &sec->pending;
	uint8_t payload[PAYLOAD_LEN];
	uint32_t idx;

	if (new_index(hs, 0, &idx) != 0)
		return -1;
	hs->pending_idx = idx;
	hs->env.random(hs->env.arg, sec->e_priv, sizeof(sec->e_priv));
	crypto_scalarmult_base(hs->pending_e, sec->e_priv);

	memset(out, 0, HS_INIT_LEN);
	be32_put(out, HS_MSG_INIT);
	be32_put(out + OFF_SENDER, hs->pending_idx);
	memcpy(out + I_EPH, hs->pending_e, 32);

	noise_init(hs, n, true);
	mix_hash(n, out, I_EPH);
	mix_key_and_hash(n, sec->psk);
	mix_ephemeral(n, hs->pending_e);
	if (hs->kk) {
		if (mix_dh(hs, n, sec->e_priv, hs->rs_pub) != 0)	/* es */
			return -1;
		mix_key(n, sec->ss, DH_LEN);				/* ss */
	}
	timestamp(hs, payload);
	memcpy(payload + TS_LEN, hs->instance, ID_LEN);
	encrypt_and_hash(n, out + I_PAYLOAD, payload, PAYLOAD_LEN);
	mac1(out, I_MAC1, sec->mac1_tx);
	/* A peer under load asked for its cookie in mac2. */
	if (hs->cookie_at != 0 && now - hs->cookie_at < COOKIE_LIFETIME_MS)
		cookie_mac2(out, I_MAC2, hs->cookie);
	sodium_memzero(sec->dh, sizeof(sec->dh));
	memcpy(hs->pending_msg, out, HS_INIT_LEN);
	return 0;
}

/* Exponential backoff with jitter, so that peers which started together
 * do not keep colliding. */
static void
schedule_retry(struct hs_peer *hs, uint64_t now)
{
	uint32_t base = HS_RETRY_MS, jitter;

	for (unsigned i = 0; i < hs->attempts && base < HS_RETRY_MAX_MS; i++)
		base *= 2;
	if (base > HS_RETRY_MAX_MS)
		base = HS_RETRY_MAX_MS;
	hs->env.random(hs->env.arg, &jitter, sizeof(jitter));
	hs->retry_at = now + base + jitter % (base / 4 + 1);
}

int
hs_initiate(struct hs_peer *hs, uint64_t now, uint8_t out[HS_MSG_MAX],
    size_t *out_len)
{
	sodium_memzero(&hs->sec->keys, sizeof(hs->sec->keys));
	*out_len = 0;
	if (hs->pending)
		return -EALREADY;
	if (make_initiation(hs, now, out) != 0) {
		abandon(hs);
		return -EAGAIN;
	}
	hs->pending = true;
	hs->started = now;
	hs->attempts = 0;
	schedule_retry(hs, now);
	*out_len = HS_INIT_LEN;
	return 0;
}

static int
consume_initiation(struct hs_peer *hs, struct noise *n, const uint8_t *msg,
    uint8_t payload[PAYLOAD_LEN])
{
	struct secrets *sec = hs->sec;

	noise_init(hs, n, false);
	mix_hash(n, msg, I_EPH);
	mix_key_and_hash(n, sec->psk);
	mix_ephemeral(n, msg + I_EPH);
	if (hs->kk) {
		if (mix_dh(hs, n, sec->s_priv, msg + I_EPH) != 0)	/* es */
			return -1;
		mix_key(n, sec->ss, DH_LEN);				/* ss */
	}
	return decrypt_and_hash(n, payload, msg + I_PAYLOAD,
	    PAYLOAD_LEN + TAG_LEN);
}

static int
make_response(struct hs_peer *hs, struct noise *n, const uint8_t *init,
    uint8_t *out)
{
	struct secrets *sec = hs->sec;
	uint32_t peer_idx = be32_get(init + OFF_SENDER), idx;
	uint8_t e_pub[32];

	if (new_index(hs, peer_idx, &idx) != 0)
		return -1;
	hs->env.random(hs->env.arg, sec->resp_e, sizeof(sec->resp_e));
	crypto_scalarmult_base(e_pub, sec->resp_e);

	memset(out, 0, HS_RESP_LEN);
	be32_put(out, HS_MSG_RESP);
	be32_put(out + OFF_SENDER, idx);
	be32_put(out + R_RECEIVER, peer_idx);
	memcpy(out + R_EPH, e_pub, 32);

	mix_hash(n, out, R_EPH);
	mix_ephemeral(n, e_pub);
	if (mix_dh(hs, n, sec->resp_e, init + I_EPH) != 0 ||		/* ee */
	    (hs->kk && mix_dh(hs, n, sec->resp_e, hs->rs_pub) != 0))	/* se */
		return -1;
	encrypt_and_hash(n, out + R_EMPTY, NULL, 0);
	mac1(out, R_MAC1, sec->mac1_tx);
	derive_keys(hs, n, false, idx, peer_idx);
	return 0;
}

/* The TAI64N of an initiation in ns since the epoch, 0 if it predates it. */
static uint64_t
timestamp_ns(const uint8_t ts[TS_LEN])
{
	uint64_t s = (uint64_t)be32_get(ts) << 32 | be32_get(ts + 4);

	if (s < (1ULL << 62))
		return 0;
	return (s - (1ULL << 62)) * 1000000000u + be32_get(ts + 8);
}

/* Keys are made for at most HS_ANSWER_RATE authentic, new messages a
 * second: what fails authentication or is replayed counts for nothing,
 * so replays cannot use up the peer's share. */
static bool
answer_ok(struct hs_peer *hs, uint64_t now)
{
	if (now - hs->answer_window >= 1000 || hs->answer_window == 0) {
		hs->answer_window = now;
		hs->answers = 0;
	}
	return hs->answers++ < HS_ANSWER_RATE;
}

static enum hs_event_type
on_initiation(struct hs_peer *hs, uint64_t now, const uint8_t *msg,
    uint8_t *out, size_t *out_len)
{
	struct noise *n = &hs->sec->work;
	uint8_t payload[PAYLOAD_LEN];
	uint64_t wall;

	if (consume_initiation(hs, n, msg, payload) != 0)
		return HS_EV_AUTH_FAILED;
	/* Our own initiation sent back: with a PSK alone and no endpoints
	 * bound, nothing else tells the two ends apart. */
	if (memcmp(payload + TS_LEN, hs->instance, ID_LEN) == 0)
		return HS_EV_REPLAY;
	if (memcmp(payload, hs->greatest_ts, TS_LEN) <= 0)
		return HS_EV_REPLAY;
	/* A timestamp from the future would make the peer's real ones look
	 * like replays until our clock caught up. */
	wall = hs->env.realtime_ns(hs->env.arg);
	if (timestamp_ns(payload) > wall + HS_FUTURE_MAX_MS * 1000000ull)
		return HS_EV_CLOCK_AHEAD;
	if (!answer_ok(hs, now))
		return HS_EV_RATE_LIMITED;
	memcpy(hs->greatest_ts, payload, TS_LEN);
	/* Both ends initiated: the end with the lower instance id goes on.
	 * The id is fixed for a daemon's life, so a retransmission (a fresh
	 * ephemeral key) cannot flip the outcome and make both ends ignore
	 * each other. The winner resends its initiation as it was, at once:
	 * the loser may not have seen it (a peer that has answers it again
	 * as a replay, harmlessly). The trigger passed the PSK's AEAD, and
	 * the resend is no larger, so this amplifies nothing. The loser
	 * answers but keeps its own initiation until the answer is
	 * confirmed: the trigger may be a replay (after our restart). */
	if (hs->pending && memcmp(hs->instance, payload + TS_LEN, ID_LEN) < 0) {
		memcpy(out, hs->pending_msg, HS_INIT_LEN);
		*out_len = HS_INIT_LEN;
		return HS_EV_NONE;
	}
	if (make_response(hs, n, msg, out) != 0)
		return HS_EV_AUTH_FAILED;
	*out_len = HS_RESP_LEN;
	install_responder(hs, now);
	return HS_EV_KEYS_READY;
}

static enum hs_event_type
on_response(struct hs_peer *hs, uint64_t now, const uint8_t *msg)
{
	struct secrets *sec = hs->sec;
	struct noise *n = &sec->work;

	/* Duplicates and answers to initiations since replaced. */
	if (!hs->pending || be32_get(msg + R_RECEIVER) != hs->pending_idx)
		return HS_EV_STALE;
	if (!answer_ok(hs, now))
		return HS_EV_RATE_LIMITED;
	*n = sec->pending;
	mix_hash(n, msg, R_EPH);
	mix_ephemeral(n, msg + R_EPH);
	if (mix_dh(hs, n, sec->e_priv, msg + R_EPH) != 0 ||		/* ee */
	    (hs->kk && mix_dh(hs, n, sec->s_priv, msg + R_EPH) != 0) ||	/* se */
	    decrypt_and_hash(n, NULL, msg + R_EMPTY, TAG_LEN) != 0)
		return HS_EV_AUTH_FAILED;
	derive_keys(hs, n, true, hs->pending_idx, be32_get(msg + OFF_SENDER));
	abandon(hs);
	install_initiator(hs, now);
	return HS_EV_KEYS_READY;
}

/* The peer is under load and wants its cookie in our initiations' mac2:
 * taken only for the initiation now out, sealed to its mac1. */
static enum hs_event_type
on_cookie(struct hs_peer *hs, uint64_t now, const uint8_t *msg, size_t len)
{
	uint8_t key[32];
	int ret;

	if (!hs->pending || cookie_reply_receiver(msg, len) != hs->pending_idx)
		return HS_EV_STALE;
	cookie_key(key, hs->sec->mac1_tx);
	ret = cookie_reply_open(msg, len, key, hs->pending_msg + I_MAC1,
	    hs->cookie);
	sodium_memzero(key, sizeof(key));
	if (ret != 0)
		return HS_EV_AUTH_FAILED;
	hs->cookie_at = now != 0 ? now : 1;
	return HS_EV_NONE;
}

enum hs_event_type
hs_receive(struct hs_peer *hs, uint64_t now, const uint8_t *msg, size_t len,
    uint8_t out[HS_MSG_MAX], size_t *out_len, struct hs_event *ev)
{
	enum hs_event_type t;

	event_begin(hs, ev);
	*out_len = 0;
	if (cookie_reply_receiver(msg, len) != 0)
		return event_end(hs, ev, on_cookie(hs, now, msg, len));
	t = hs_precheck(hs, msg, len);
	if (t == HS_EV_NONE && hs_msg_type(msg, len) == HS_MSG_INIT)
		t = on_initiation(hs, now, msg, out, out_len);
	else if (t == HS_EV_NONE)
		t = on_response(hs, now, msg);
	wipe_scratch(hs->sec);
	return event_end(hs, ev, t);
}

enum hs_event_type
hs_confirm(struct hs_peer *hs, uint64_t now, uint32_t rx_spi,
    struct hs_event *ev)
{
	event_begin(hs, ev);
	if (rx_spi != 0 && rx_spi != hs->next.rx &&
	    (rx_spi == hs->old[0].spi || rx_spi == hs->old[1].spi) &&
	    now >= hs->keepalive_at) {
		/* The peer still sends with an SA we retire: our first packet
		 * with the new one may have been lost. */
		hs->keepalive_at = now + HS_KEEPALIVE_MS;
		return event_end(hs, ev, HS_EV_KEEPALIVE);
	}
	if (rx_spi == 0 || rx_spi != hs->next.rx)
		return event_end(hs, ev, HS_EV_NONE);
	retire(hs, hs->cur.rx, now);
	hs->cur = hs->next;
	hs->next = (struct spi_pair){ 0, 0 };
	/* The peer holds keys we answered for: ours are moot. */
	if (hs->pending)
		abandon(hs);
	return event_end(hs, ev, HS_EV_SA_CHANGED);
}

uint64_t
hs_next_timeout(const struct hs_peer *hs)
{
	uint64_t t = UINT64_MAX;

	for (size_t i = 0; i < 2; i++)
		if (hs->old[i].spi != 0 && hs->old[i].until < t)
			t = hs->old[i].until;
	if (hs->pending && hs->retry_at < t)
		t = hs->retry_at;
	return t;
}

enum hs_event_type
hs_timer(struct hs_peer *hs, uint64_t now, uint8_t out[HS_MSG_MAX],
    size_t *out_len, struct hs_event *ev)
{
	event_begin(hs, ev);
	*out_len = 0;
	for (size_t i = 0; i < 2; i++) {
		if (hs->old[i].spi != 0 && hs->old[i].until <= now) {
			hs->old[i].spi = 0;
			return event_end(hs, ev, HS_EV_SA_CHANGED);
		}
	}
	if (!hs->pending || hs->retry_at > now)
		return event_end(hs, ev, HS_EV_NONE);
	if (now - hs->started >= HS_GIVEUP_MS ||
	    make_initiation(hs, now, out) != 0) {
		abandon(hs);
		return event_end(hs, ev, HS_EV_TIMEOUT);
	}
	hs->attempts++;
	schedule_retry(hs, now);
	*out_len = HS_INIT_LEN;
	return event_end(hs, ev, HS_EV_NONE);
}

int
hs_msg_type(const uint8_t *msg, size_t len)
{
	if (len == HS_INIT_LEN && be32_get(msg) == HS_MSG_INIT)
		return HS_MSG_INIT;
	if (len == HS_RESP_LEN && be32_get(msg) == HS_MSG_RESP)
		return HS_MSG_RESP;
	return 0;
}

uint32_t
hs_msg_receiver(const uint8_t *msg, size_t len)
{
	if (hs_msg_type(msg, len) != HS_MSG_RESP)
		return 0;
	return be32_get(msg + R_RECEIVER);
}

enum hs_event_type
hs_precheck(const struct hs_peer *hs, const uint8_t *msg, size_t len)
{
	uint8_t mac[MAC_LEN];
	size_t off;

	switch (hs_msg_type(msg, len)) {
	case HS_MSG_INIT:
		off = I_MAC1;
		break;
	case HS_MSG_RESP:
		off = R_MAC1;
		break;
	default:
		return HS_EV_MALFORMED;
	}
	if (be32_get(msg + OFF_SENDER) < SPI_MIN)
		return HS_EV_MALFORMED;
	crypto_generichash(mac, sizeof(mac), msg, off, hs->sec->mac1_rx, 32);
	if (crypto_verify_16(mac, msg + off) != 0)
		return HS_EV_AUTH_FAILED;
	return HS_EV_NONE;
}

bool
hs_mac2_ok(const uint8_t *msg, size_t len, const uint8_t cookie[16])
{
	return hs_msg_type(msg, len) != HS_MSG_INIT ||
	    cookie_mac2_ok(msg, I_MAC2, cookie);
}

void
hs_cookie_reply(const struct hs_peer *hs, const uint8_t *msg,
    const uint8_t cookie[16], const uint8_t nonce[24], uint8_t *out)
{
	uint8_t key[32];

	cookie_key(key, hs->sec->mac1_rx);
	cookie_reply_seal(out, be32_get(msg + OFF_SENDER), nonce, cookie, key,
	    msg + I_MAC1);
	sodium_memzero(key, sizeof(key));
}

enum drop_reason
hs_drop_reason(enum hs_event_type t)
{
	switch (t) {
	case HS_EV_AUTH_FAILED:
		return DROP_HS_AUTH_FAILED;
	case HS_EV_REPLAY:
		return DROP_HS_REPLAY;
	case HS_EV_STALE:
		return DROP_HS_STALE;
	case HS_EV_MALFORMED:
		return DROP_HS_MALFORMED;
	case HS_EV_CLOCK_AHEAD:
		return DROP_HS_CLOCK_AHEAD;
	case HS_EV_RATE_LIMITED:
		return DROP_HS_RATE_LIMITED;
	default:
		return DROP_NONE;
	}
}

/* The mac1 key: the PSK and, with static keys, the receiver's public key,
 * so that a message for someone else fails mac1 too. */
static void
mac1_key(uint8_t key[32], const uint8_t psk[32], const uint8_t *pub)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)LABEL_MAC1,
	    strlen(LABEL_MAC1));
	crypto_generichash_update(&st, psk, 32);
	if (pub != NULL)
		crypto_generichash_update(&st, pub, 32);
	crypto_generichash_final(&st, key, 32);
	sodium_memzero(&st, sizeof(st));
}

/* h before the first message, for each role: the prologue's endpoints
 * (if bound) go initiator first; with static keys the pre-messages add
 * the initiator's, then the responder's. */
static void
role_hashes(struct hs_peer *hs, const void *local, size_t local_len,
    const void *peer, size_t peer_len)
{
	uint8_t *hi = hs->h0_init, *hr = hs->h0_resp;

	memcpy(hi, hs->h_ctx, 32);
	memcpy(hr, hs->h_ctx, 32);
	if (local_len + peer_len > 0) {
		hash_into(hi, local, local_len, peer, peer_len);
		hash_into(hr, peer, peer_len, local, local_len);
	}
	if (!hs->kk)
		return;
	hash_into(hi, hs->s_pub, 32, NULL, 0);
	hash_into(hi, hs->rs_pub, 32, NULL, 0);
	hash_into(hr, hs->rs_pub, 32, NULL, 0);
	hash_into(hr, hs->s_pub, 32, NULL, 0);
}

/* ck and h before the first message. The prologue binds the context. */
static void
init_hashes(struct hs_peer *hs, const void *ctx, size_t ctx_len)
{
	const char *name = hs->kk ? NAME_KK : NAME_NN;

	/* Both names exceed 32 bytes, so h = HASH(name). */
	crypto_hash_sha256(hs->ck0, (const uint8_t *)name, strlen(name));
	memcpy(hs->h_ctx, hs->ck0, 32);
	hash_into(hs->h_ctx, LABEL_PROLOGUE, strlen(LABEL_PROLOGUE), ctx,
	    ctx_len);
	role_hashes(hs, NULL, 0, NULL, 0);
}

void
hs_peer_bind(struct hs_peer *hs, const void *local, size_t local_len,
    const void *peer, size_t peer_len)
{
	role_hashes(hs, local, local_len, peer, peer_len);
}

bool
hs_pending(const struct hs_peer *hs)
{
	return hs->pending;
}

static int
set_static(struct hs_peer *hs, const struct hs_static *st)
{
	struct secrets *sec = hs->sec;

	hs->kk = true;
	memcpy(sec->s_priv, st->local_private, sizeof(sec->s_priv));
	memcpy(hs->rs_pub, st->peer_public, sizeof(hs->rs_pub));
	if (crypto_scalarmult_base(hs->s_pub, sec->s_priv) != 0)
		return -1;
	/* Fails on a low-order peer key, which would make es and ss zero. */
	return crypto_scalarmult(sec->ss, sec->s_priv, hs->rs_pub);
}

struct hs_peer *
hs_peer_new(const uint8_t psk[HS_KEY_LEN], const struct hs_static *st,
    const void *ctx, size_t ctx_len, const struct hs_env *env)
{
	struct hs_peer *hs;

	if (sodium_init() < 0) {
		errno = ENOSYS;
		return NULL;
	}
	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return NULL;
	if ((hs->sec = sodium_malloc(sizeof(*hs->sec))) == NULL) {
		free(hs);
		return NULL;
	}
	sodium_memzero(hs->sec, sizeof(*hs->sec));
	hs->env = *env;
	memcpy(hs->sec->psk, psk, HS_KEY_LEN);
	if (st != NULL && set_static(hs, st) != 0) {
		hs_peer_free(hs);
		errno = EINVAL;
		return NULL;
	}
	mac1_key(hs->sec->mac1_tx, psk, hs->kk ? hs->rs_pub : NULL);
	mac1_key(hs->sec->mac1_rx, psk, hs->kk ? hs->s_pub : NULL);
	init_hashes(hs, ctx, ctx_len);
	env->random(env->arg, hs->instance, sizeof(hs->instance));
	return hs;
}

void
hs_peer_free(struct hs_peer *hs)
{
	if (hs == NULL)
		return;
	sodium_free(hs->sec);
	free(hs);
}

int
hs_psk_derive(uint8_t psk[HS_KEY_LEN], const char *passphrase)
{
	uint8_t salt[crypto_pwhash_SALTBYTES];

	if (sodium_init() < 0)
		return -1;
	/* A fixed salt: both ends derive the key from the passphrase alone. */
	crypto_generichash(salt, sizeof(salt), (const uint8_t *)LABEL_PSK,
	    strlen(LABEL_PSK), NULL, 0);
	return crypto_pwhash(psk, HS_KEY_LEN, passphrase, strlen(passphrase),
	    salt, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13);
}
