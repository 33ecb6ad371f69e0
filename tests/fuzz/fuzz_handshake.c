/* The handshake state machine between two ends with one PSK (A and B) and,
 * if the first byte says so, a third (C) that must never get in: another
 * PSK, the same PSK with another context, or the same PSK and context
 * and (with static keys) another static key or (PSK mode, where both
 * ends' endpoints are bound) an endpoint of its own, as a member of the
 * overlay replaying what it saw elsewhere. Randomness and the wall clock are the
 * input's (a seeded generator per end, bytes the input forces through it,
 * clock steps), and the rest of the input is a schedule: initiate,
 * deliver an earlier message (as sent, corrupted, truncated, extended,
 * spliced) or raw bytes, advance time, run timers, confirm an SA.
 *
 * Next to the library runs a model of every end at the level the caller
 * sees: pending initiation, retry time, the SPIs of its SAs and their
 * grace periods, the newest initiation accepted. Each call must return
 * what the model predicts from who really sent the message (found by its
 * bytes among all messages sent), and in particular:
 *   - keys come only from an unmodified message of the other end of the
 *     pair, at most once per message, and match the other end's keys
 *     for the same exchange (our tx = its rx, and the SPIs);
 *   - nothing else gets a reply, and a reply is never larger than what
 *     triggered it;
 *   - C never gets keys, and A and B never get them from C.
 * -DFUZZ_TRACE prints every event, to see what a seed reaches. */
#include <errno.h>
#include <stdbool.h>

#include <sodium.h>

#include "byteorder.h"
#include "cookie.h"
#include "handshake.h"

#include "fuzz.h"

#define A		0
#define B		1
#define C		2
#define MAX_OPS		1024
#define LABEL_MAC1	"ovtund mac1 v1"
#define I_MAC1		76
#define I_MAC2		92
#define R_MAC1		60

static const uint8_t psk_ab[HS_KEY_LEN] = {
	0x70, 0x73, 0x6b, 0x20, 0x6f, 0x66, 0x20, 0x41,
	0x20, 0x61, 0x6e, 0x64, 0x20, 0x42, 0x00, 0x01,
	0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
	0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
};
static const uint8_t psk_c[HS_KEY_LEN] = {
	0x70, 0x73, 0x6b, 0x20, 0x6f, 0x66, 0x20, 0x41,
	0x20, 0x61, 0x6e, 0x64, 0x20, 0x42, 0x00, 0x01,
	0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
	0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x10,	/* one bit */
};
static const char ctx_ab[] = "chacha20-poly1305 vni 4242";
static const char ctx_c[] = "chacha20-poly1305 vni 4243";

/* Static private keys; the public ones are computed once. */
static uint8_t s_priv[3][32], s_pub[3][32];
static bool initialized;

struct msg {
	uint8_t		 b[HS_MSG_MAX];
	size_t		 len;
	int		 from;
	int		 answers;	/* a response: the initiation's index */
	uint64_t	 ts_ns;		/* an initiation: its timestamp */
	bool		 has_keys;	/* a response: its sender's keys */
	struct hs_keys	 keys;
	bool		 ready[3];	/* gave keys to this end already */
};

struct world;

struct side {
	struct world	*w;
	int		 id;
	struct hs_peer	*hs;
	uint8_t		 mac1_tx[32], mac1_rx[32];
	/* env */
	uint64_t	 rng;
	uint8_t		 forced[256];
	size_t		 nforced;
	int64_t		 wall_off_ns;
	uint8_t		 instance[8];
	bool		 capture;
	unsigned	 draws4;	/* 4-byte draws during this call */
	uint32_t	 last4;
	uint32_t	 busy_lo, busy_n;
	/* model */
	bool		 pending;
	uint64_t	 started, retry_at;
	unsigned	 attempts;
	int		 last_init;	/* log index of our newest, -1 */
	int		 greatest;	/* newest initiation taken, -1 */
	uint64_t	 last_ts_ns;	/* newest timestamp sent */
	uint64_t	 answer_window;	/* HS_ANSWER_RATE */
	unsigned	 answers;
	uint32_t	 cur_rx, cur_tx, next_rx, next_tx;
	struct {
		uint32_t spi;
		uint64_t until;
	}		 old[2];
	uint64_t	 keepalive_at;
};

struct world {
	struct side	 s[3];
	int		 nsides;
	bool		 kk;
	uint64_t	 now;
	struct msg	*log;
	size_t		 nlog, cap;
	uint8_t		*out;		/* exactly HS_MSG_MAX bytes */
};

static void
getbytes(struct fuzz_rd *r, uint8_t *b, size_t len)
{
	size_t k = fuzz_take(r, b, len);

	memset(b + k, 0, len - k);
}

/* ---- the injected environment ---- */

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
env_random(void *arg, void *buf, size_t len)
{
	struct side *sd = arg;
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		if (sd->nforced > 0) {
			b[i] = sd->forced[0];
			memmove(sd->forced, sd->forced + 1, --sd->nforced);
		} else {
			b[i] = (uint8_t)splitmix(&sd->rng);
		}
	}
	if (sd->capture && len == sizeof(sd->instance)) {
		memcpy(sd->instance, buf, len);
		sd->capture = false;
	}
	if (len == 4) {
		sd->draws4++;
		memcpy(&sd->last4, buf, 4);
	}
}

static uint64_t
env_realtime(void *arg)
{
	struct side *sd = arg;

	/* Some time in 2024, then as the monotonic clock and the steps. */
	return 1700000000000000000ULL + sd->w->now * 1000000ULL +
	    (uint64_t)sd->wall_off_ns;
}

static bool
env_spi_in_use(void *arg, uint32_t spi)
{
	struct side *sd = arg;

	return spi - sd->busy_lo < sd->busy_n;
}

/* ---- the log of every message sent ---- */

static int
log_add(struct world *w, const uint8_t *b, size_t len, int from)
{
	struct msg *m;

	if (w->nlog == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->log = realloc(w->log, w->cap * sizeof(*w->log));
		FUZZ_CHECK(w->log != NULL);
	}
	m = &w->log[w->nlog];
	memset(m, 0, sizeof(*m));
	memcpy(m->b, b, len);
	m->len = len;
	m->from = from;
	m->answers = -1;
	return (int)w->nlog++;
}

/* The first message sent with exactly these bytes, -1 if none. An
 * initiation's mac2 is not the handshake's (the guard checks it), so it
 * is the same message whatever its mac2. */
static int
log_find(const struct world *w, const uint8_t *b, size_t len)
{
	size_t cmp = len == HS_INIT_LEN && be32_get(b) == HS_MSG_INIT ?
	    I_MAC2 : len;

	for (size_t i = 0; i < w->nlog; i++)
		if (w->log[i].len == len && memcmp(w->log[i].b, b, cmp) == 0)
			return (int)i;
	return -1;
}

/* ---- mac1, from doc/handshake.md, so raw bytes get past it ---- */

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
}

static size_t
mac1_off(const uint8_t *b, size_t len)
{
	if (len == HS_INIT_LEN && be32_get(b) == HS_MSG_INIT)
		return I_MAC1;
	if (len == HS_RESP_LEN && be32_get(b) == HS_MSG_RESP)
		return R_MAC1;
	return 0;
}

static void
mac1_put(uint8_t *b, size_t len, const uint8_t key[32])
{
	size_t off = mac1_off(b, len);

	if (off != 0)
		crypto_generichash(b + off, 16, b, off, key, 32);
}

static bool
mac1_ok(const uint8_t *b, size_t len, const uint8_t key[32])
{
	uint8_t mac[16];
	size_t off = mac1_off(b, len);

	if (off == 0)
		return false;
	crypto_generichash(mac, 16, b, off, key, 32);
	return memcmp(mac, b + off, 16) == 0;
}

/* ---- model helpers ---- */

static int
peer_of(int id)
{
	return id == A ? B : id == B ? A : -1;
}

static void
model_retire(struct side *sd, uint32_t spi)
{
	int k = 0;

	if (spi == 0)
		return;
	if (sd->old[1].spi == 0 ||
	    (sd->old[0].spi != 0 && sd->old[1].until < sd->old[0].until))
		k = 1;
	sd->old[k].spi = spi;
	sd->old[k].until = sd->w->now + HS_GRACE_MS;
}

static uint32_t
init_sender(const struct world *w, int idx)
{
	return be32_get(w->log[idx].b + 4);
}

static uint64_t
retry_base(unsigned attempts)
{
	uint64_t base = HS_RETRY_MS;

	for (unsigned i = 0; i < attempts && base < HS_RETRY_MAX_MS; i++)
		base *= 2;
	return base > HS_RETRY_MAX_MS ? HS_RETRY_MAX_MS : base;
}

/* The timestamp the end puts in an initiation it makes now. */
static uint64_t
model_timestamp(struct side *sd)
{
	uint64_t ns = env_realtime(sd);

	if (ns <= sd->last_ts_ns)
		ns = sd->last_ts_ns + 1;
	sd->last_ts_ns = ns;
	return ns;
}

/* Authentic, new messages answered: HS_ANSWER_RATE a second. */
static bool
model_answer_ok(struct side *sd)
{
	uint64_t now = sd->w->now;

	if (now - sd->answer_window >= 1000 || sd->answer_window == 0) {
		sd->answer_window = now;
		sd->answers = 0;
	}
	return sd->answers++ < HS_ANSWER_RATE;
}

static void
model_schedule(struct side *sd)
{
	uint64_t base = retry_base(sd->attempts);

	sd->retry_at = sd->w->now + base + sd->last4 % (base / 4 + 1);
}

static uint64_t
model_next_timeout(const struct side *sd)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i < 2; i++)
		if (sd->old[i].spi != 0 && sd->old[i].until < t)
			t = sd->old[i].until;
	if (sd->pending && sd->retry_at < t)
		t = sd->retry_at;
	return t;
}

/* After every call: the SAs the event lists are the model's, distinct,
 * and the next timeout is the model's. */
static void
check_sas(const struct side *sd, const struct hs_event *ev)
{
	const struct hs_sas *s = &ev->sas;

	FUZZ_CHECK(s->tx_spi == sd->cur_tx);
	FUZZ_CHECK(s->staged_tx_spi == sd->next_tx);
	FUZZ_CHECK(s->rx_spi[0] == sd->cur_rx);
	FUZZ_CHECK(s->rx_spi[1] == sd->next_rx);
	FUZZ_CHECK(s->rx_spi[2] == sd->old[0].spi);
	FUZZ_CHECK(s->rx_spi[3] == sd->old[1].spi);
	for (int i = 0; i < 4; i++) {
		FUZZ_CHECK(s->rx_spi[i] == 0 || s->rx_spi[i] >= 256);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(s->rx_spi[i] == 0 ||
			    s->rx_spi[i] != s->rx_spi[j]);
	}
	FUZZ_CHECK(hs_next_timeout(sd->hs) == model_next_timeout(sd));
	FUZZ_CHECK(ev->keys == NULL || ev->type == HS_EV_KEYS_READY);
}

static void
check_no_keys(const struct side *sd)
{
	FUZZ_CHECK(hs_next_timeout(sd->hs) == model_next_timeout(sd));
}

/* ---- the steps ---- */

static void
call_begin(struct side *sd)
{
	sd->draws4 = 0;
}

static void
op_initiate(struct world *w, struct side *sd)
{
	size_t out_len = 99;
	int error, idx;

	call_begin(sd);
	error = hs_initiate(sd->hs, w->now, w->out, &out_len);
	if (sd->pending) {
		FUZZ_CHECK(error == -EALREADY && out_len == 0);
		check_no_keys(sd);
		return;
	}
	if (error == -EAGAIN) {
		/* Only when no free SPI turned up. */
		FUZZ_CHECK(sd->draws4 >= 64 && out_len == 0);
		check_no_keys(sd);
		return;
	}
	FUZZ_CHECK(error == 0 && out_len == HS_INIT_LEN);
	FUZZ_CHECK(be32_get(w->out) == HS_MSG_INIT);
	FUZZ_CHECK(mac1_ok(w->out, out_len, sd->mac1_tx));
	idx = log_add(w, w->out, out_len, sd->id);
	w->log[idx].ts_ns = model_timestamp(sd);
	sd->pending = true;
	sd->started = w->now;
	sd->attempts = 0;
	sd->last_init = idx;
	FUZZ_CHECK(init_sender(w, idx) >= 256);
	model_schedule(sd);
	check_no_keys(sd);
}

/* The other end's keys for the same exchange, mirrored. */
static void
check_pair(const struct hs_keys *k, const struct hs_keys *r)
{
	FUZZ_CHECK(k->tx_spi == r->rx_spi && k->rx_spi == r->tx_spi);
	FUZZ_CHECK(memcmp(k->tx_key, r->rx_key, HS_KEY_LEN) == 0);
	FUZZ_CHECK(memcmp(k->tx_salt, r->rx_salt, HS_SALT_LEN) == 0);
	FUZZ_CHECK(memcmp(k->rx_key, r->tx_key, HS_KEY_LEN) == 0);
	FUZZ_CHECK(memcmp(k->rx_salt, r->tx_salt, HS_SALT_LEN) == 0);
	FUZZ_CHECK(k->initiator != r->initiator);
	/* The two directions have their own keys. */
	FUZZ_CHECK(memcmp(k->tx_key, k->rx_key, HS_KEY_LEN) != 0);
}

static void
deliver(struct world *w, struct side *sd, const uint8_t *msg, size_t len)
{
	enum hs_event_type pre, t, want = HS_EV_NONE;
	struct hs_event ev;
	size_t out_len = 99;
	uint8_t *b = malloc(len > 0 ? len : 1);
	int e, type, from, peer = peer_of(sd->id), idx;
	bool legit, resend = false;
	uint32_t sender = len >= 8 ? be32_get(msg + 4) : 0;

	/* Exactly len bytes, so reading past them shows. */
	FUZZ_CHECK(b != NULL);
	memcpy(b, msg, len);
	e = log_find(w, msg, len);
	from = e >= 0 ? w->log[e].from : -1;
	legit = e >= 0 && from == peer;
	type = hs_msg_type(b, len);

	FUZZ_CHECK(hs_msg_receiver(b, len) ==
	    (type == HS_MSG_RESP ? be32_get(b + 8) : 0));
	/* A cookie reply: nobody here is under load, so none is real. */
	if (cookie_reply_receiver(b, len) != 0) {
		want = sd->pending && be32_get(b + 4) ==
		    init_sender(w, sd->last_init) ? HS_EV_AUTH_FAILED :
		    HS_EV_STALE;
		t = hs_receive(sd->hs, w->now, b, len, w->out, &out_len, &ev);
		free(b);
		FUZZ_CHECK(t == want && t == ev.type && out_len == 0);
		check_sas(sd, &ev);
		return;
	}
	pre = hs_precheck(sd->hs, b, len);
	if (type == 0 || sender < 256)
		FUZZ_CHECK(pre == HS_EV_MALFORMED);
	else
		FUZZ_CHECK(pre == (mac1_ok(b, len, sd->mac1_rx) ?
		    HS_EV_NONE : HS_EV_AUTH_FAILED));
	if (legit)
		FUZZ_CHECK(pre == HS_EV_NONE);

	/* What the model expects of a message from the other end. */
	if (legit && type == HS_MSG_INIT) {
		struct side *ps = &w->s[peer];

		if (memcmp(ps->instance, sd->instance, 8) == 0 ||
		    e <= sd->greatest) {
			want = HS_EV_REPLAY;
		} else if (w->log[e].ts_ns > env_realtime(sd) +
		    HS_FUTURE_MAX_MS * 1000000ull) {
			want = HS_EV_CLOCK_AHEAD;
		} else if (!model_answer_ok(sd)) {
			want = HS_EV_RATE_LIMITED;
		} else if (sd->pending &&
		    memcmp(sd->instance, ps->instance, 8) < 0) {
			want = HS_EV_NONE;
			resend = true;
		} else {
			want = HS_EV_KEYS_READY;
		}
	} else if (legit) {
		const struct msg *m = &w->log[e];

		if (!sd->pending ||
		    be32_get(b + 8) != init_sender(w, sd->last_init))
			want = HS_EV_STALE;
		else if (!model_answer_ok(sd))
			want = HS_EV_RATE_LIMITED;
		else if (m->answers >= 0 &&
		    w->log[m->answers].len == HS_INIT_LEN &&
		    memcmp(w->log[m->answers].b, w->log[sd->last_init].b,
		    HS_INIT_LEN) == 0)
			want = HS_EV_KEYS_READY;
		else
			want = HS_EV_AUTH_FAILED;
	}

	call_begin(sd);
	t = hs_receive(sd->hs, w->now, b, len, w->out, &out_len, &ev);
	free(b);
	FUZZ_CHECK(t == ev.type);
#ifdef FUZZ_TRACE
	fprintf(stderr, "  %c <- %zu bytes (msg %d from %d): event %d, "
	    "reply %zu\n", 'A' + sd->id, len, e, from, t, out_len);
#endif
	FUZZ_CHECK(out_len == 0 || out_len == HS_INIT_LEN ||
	    out_len == HS_RESP_LEN);
	/* Never an amplifier. */
	FUZZ_CHECK(out_len <= len);
	if (pre != HS_EV_NONE)
		FUZZ_CHECK(t == pre && out_len == 0);

	if (!legit) {
		/* Nothing gets in, nothing is answered. A response to what
		 * is out counts toward the rate before its AEAD is tried. */
		if (pre == HS_EV_NONE && type == HS_MSG_RESP && sd->pending &&
		    be32_get(msg + 8) == init_sender(w, sd->last_init))
			FUZZ_CHECK(t == (model_answer_ok(sd) ?
			    HS_EV_AUTH_FAILED : HS_EV_RATE_LIMITED));
		FUZZ_CHECK(t == HS_EV_MALFORMED || t == HS_EV_AUTH_FAILED ||
		    t == HS_EV_STALE || t == HS_EV_RATE_LIMITED ||
		    (t == HS_EV_REPLAY && from == sd->id &&
		    type == HS_MSG_INIT));
		FUZZ_CHECK(out_len == 0 && ev.keys == NULL);
		check_sas(sd, &ev);
		return;
	}

	/* Legitimate: exactly as the model says. */
	if (want == HS_EV_KEYS_READY && t == HS_EV_AUTH_FAILED &&
	    type == HS_MSG_INIT) {
		/* No free SPI for the response; the initiation was new. */
		FUZZ_CHECK(sd->draws4 >= 64 && out_len == 0);
		sd->greatest = e;
		check_sas(sd, &ev);
		return;
	}
	if (t != want)
		fprintf(stderr, "side %d: got event %d, want %d (msg %d from "
		    "%d)\n", sd->id, t, want, e, from);
	FUZZ_CHECK(t == want);
	if (t != HS_EV_KEYS_READY) {
		FUZZ_CHECK(ev.keys == NULL);
		if (resend) {
			sd->greatest = e;
			FUZZ_CHECK(out_len == HS_INIT_LEN);
			FUZZ_CHECK(memcmp(w->out, w->log[sd->last_init].b,
			    HS_INIT_LEN) == 0);
			log_add(w, w->out, out_len, sd->id);
		} else {
			FUZZ_CHECK(out_len == 0);
		}
		check_sas(sd, &ev);
		return;
	}

	/* Keys: at most once per message, and only the ones it allows. */
	FUZZ_CHECK(ev.keys != NULL);
	FUZZ_CHECK(!w->log[e].ready[sd->id]);
	w->log[e].ready[sd->id] = true;
	FUZZ_CHECK(ev.keys->tx_spi >= 256 && ev.keys->rx_spi >= 256);
	FUZZ_CHECK(ev.keys->tx_spi != ev.keys->rx_spi);
	if (type == HS_MSG_INIT) {
		/* Responder: answers, accepts on the new SA at once. */
		FUZZ_CHECK(out_len == HS_RESP_LEN);
		FUZZ_CHECK(be32_get(w->out) == HS_MSG_RESP);
		FUZZ_CHECK(be32_get(w->out + 8) == sender);
		FUZZ_CHECK(mac1_ok(w->out, out_len, sd->mac1_tx));
		FUZZ_CHECK(!ev.keys->initiator);
		FUZZ_CHECK(ev.keys->tx_spi == sender);
		FUZZ_CHECK(ev.keys->rx_spi == be32_get(w->out + 4));
		/* An initiation of ours stays out until hs_confirm. */
		sd->greatest = e;
		model_retire(sd, sd->next_rx);
		sd->next_rx = ev.keys->rx_spi;
		sd->next_tx = ev.keys->tx_spi;
		idx = log_add(w, w->out, out_len, sd->id);
		w->log[idx].answers = e;
		w->log[idx].has_keys = true;
		w->log[idx].keys = *ev.keys;
	} else {
		/* Initiator: the response's sender kept its keys. */
		const struct msg *m = &w->log[e];

		FUZZ_CHECK(out_len == 0);
		FUZZ_CHECK(ev.keys->initiator);
		FUZZ_CHECK(ev.keys->rx_spi == init_sender(w, sd->last_init));
		FUZZ_CHECK(ev.keys->tx_spi == sender);
		FUZZ_CHECK(m->has_keys);
		check_pair(ev.keys, &m->keys);
		sd->pending = false;
		model_retire(sd, sd->cur_rx);
		model_retire(sd, sd->next_rx);
		sd->next_rx = sd->next_tx = 0;
		sd->cur_rx = ev.keys->rx_spi;
		sd->cur_tx = ev.keys->tx_spi;
	}
	check_sas(sd, &ev);
}

static void
op_timers(struct world *w, struct side *sd, bool force)
{
	struct hs_event ev;
	enum hs_event_type t;
	size_t out_len;
	int idx;

	for (int i = 0; i < 4; i++) {
		bool due = hs_next_timeout(sd->hs) <= w->now;

		if (!due && !(force && i == 0))
			break;
		call_begin(sd);
		out_len = 99;
		t = hs_timer(sd->hs, w->now, w->out, &out_len, &ev);
		FUZZ_CHECK(t == ev.type && ev.keys == NULL);
#ifdef FUZZ_TRACE
		fprintf(stderr, "  %c timer at %llu: event %d, out %zu\n",
		    'A' + sd->id, (unsigned long long)w->now, t, out_len);
#endif
		if (sd->old[0].spi != 0 && sd->old[0].until <= w->now) {
			FUZZ_CHECK(t == HS_EV_SA_CHANGED && out_len == 0);
			sd->old[0].spi = 0;
		} else if (sd->old[1].spi != 0 &&
		    sd->old[1].until <= w->now) {
			FUZZ_CHECK(t == HS_EV_SA_CHANGED && out_len == 0);
			sd->old[1].spi = 0;
		} else if (!sd->pending || sd->retry_at > w->now) {
			FUZZ_CHECK(!due);
			FUZZ_CHECK(t == HS_EV_NONE && out_len == 0);
		} else if (w->now - sd->started >= HS_GIVEUP_MS) {
			FUZZ_CHECK(t == HS_EV_TIMEOUT && out_len == 0);
			sd->pending = false;
		} else if (t == HS_EV_TIMEOUT) {
			/* No free SPI for the new initiation. */
			FUZZ_CHECK(sd->draws4 >= 64 && out_len == 0);
			sd->pending = false;
		} else {
			/* A fresh initiation, not a copy. */
			FUZZ_CHECK(t == HS_EV_NONE && out_len == HS_INIT_LEN);
			FUZZ_CHECK(mac1_ok(w->out, out_len, sd->mac1_tx));
			FUZZ_CHECK(log_find(w, w->out, out_len) < 0);
			idx = log_add(w, w->out, out_len, sd->id);
			w->log[idx].ts_ns = model_timestamp(sd);
			sd->last_init = idx;
			sd->attempts++;
			model_schedule(sd);
		}
		check_sas(sd, &ev);
	}
	/* Each call did one thing; four are enough for what was due. */
	FUZZ_CHECK(hs_next_timeout(sd->hs) > w->now);
}

static void
op_confirm(struct world *w, struct side *sd, struct fuzz_rd *r)
{
	struct hs_event ev;
	enum hs_event_type t;
	uint32_t spi;
	uint8_t how = fuzz_get8(r);
	int peer = peer_of(sd->id);

	switch (how % 3) {
	case 0:		/* what the other end now sends with */
		spi = peer >= 0 ? w->s[peer].cur_tx : 0;
		break;
	case 1: {
		uint32_t rx[4] = { sd->cur_rx, sd->next_rx, sd->old[0].spi,
		    sd->old[1].spi };

		spi = rx[(how / 3) % 4];
		break;
	}
	default:
		spi = fuzz_get32(r);
		break;
	}
	call_begin(sd);
	t = hs_confirm(sd->hs, w->now, spi, &ev);
	FUZZ_CHECK(t == ev.type && ev.keys == NULL);
#ifdef FUZZ_TRACE
	fprintf(stderr, "  %c confirm %#x: event %d\n", 'A' + sd->id, spi, t);
#endif
	if (spi != 0 && spi != sd->next_rx &&
	    (spi == sd->old[0].spi || spi == sd->old[1].spi) &&
	    w->now >= sd->keepalive_at) {
		FUZZ_CHECK(t == HS_EV_KEEPALIVE);
		sd->keepalive_at = w->now + HS_KEEPALIVE_MS;
	} else if (spi == 0 || spi != sd->next_rx) {
		FUZZ_CHECK(t == HS_EV_NONE);
	} else {
		FUZZ_CHECK(t == HS_EV_SA_CHANGED);
		model_retire(sd, sd->cur_rx);
		sd->cur_rx = sd->next_rx;
		sd->cur_tx = sd->next_tx;
		sd->next_rx = sd->next_tx = 0;
		sd->pending = false;	/* the peer's keys won */
	}
	check_sas(sd, &ev);
}

/* A message again, as it was or damaged. */
static void
op_deliver(struct world *w, struct fuzz_rd *r)
{
	struct side *sd = &w->s[fuzz_get8(r) % w->nsides];
	uint8_t k = fuzz_get8(r), how = fuzz_get8(r), b[HS_MSG_MAX + 64];
	const struct msg *m, *m2;
	size_t len, pos;

	if (w->nlog == 0)
		return;
	m = &w->log[w->nlog - 1 - k % (w->nlog < 32 ? w->nlog : 32)];
	memcpy(b, m->b, m->len);
	len = m->len;
	switch (how % 7) {
	case 0:
	case 1:
		break;
	case 2:		/* one bit */
		pos = fuzz_get16(r) % (len * 8);
		b[pos / 8] ^= (uint8_t)(1 << (pos % 8));
		break;
	case 3:		/* truncated */
		len = fuzz_get8(r) % len;
		break;
	case 4:		/* extended */
		pos = 1 + fuzz_get8(r) % 64;
		getbytes(r, b + len, pos);
		len += pos;
		break;
	case 5:		/* a byte overwritten, mac1 made good again */
		pos = fuzz_get8(r) % len;
		b[pos] = fuzz_get8(r);
		mac1_put(b, len, sd->mac1_rx);
		break;
	case 6:		/* the head of one, the tail of another */
		m2 = &w->log[fuzz_get8(r) % w->nlog];
		if (m2->len == len) {
			pos = fuzz_get8(r) % len;
			memcpy(b + pos, m2->b + pos, len - pos);
			if (fuzz_get8(r) & 1)
				mac1_put(b, len, sd->mac1_rx);
		}
		break;
	}
	deliver(w, sd, b, len);
}

/* Raw bytes, shaped into a message of either type if the input says. */
static void
op_raw(struct world *w, struct fuzz_rd *r)
{
	struct side *sd = &w->s[fuzz_get8(r) % w->nsides];
	uint8_t flags = fuzz_get8(r), b[HS_MSG_MAX + 64];
	size_t len;

	switch (flags % 4) {
	case 0:
		len = fuzz_get8(r) % sizeof(b);
		break;
	case 1:
	case 2:
		len = HS_INIT_LEN;
		break;
	default:
		len = HS_RESP_LEN;
		break;
	}
	getbytes(r, b, len);
	if (flags % 4 != 0) {
		be32_put(b, len == HS_INIT_LEN ? HS_MSG_INIT : HS_MSG_RESP);
		if (flags & 4)
			be32_put(b + 4, 256 + (b[4] & 0xff));
		/* A response to what sd has out. */
		if ((flags & 8) && len == HS_RESP_LEN && sd->pending)
			be32_put(b + 8, init_sender(w, sd->last_init));
		if (flags & 16)
			mac1_put(b, len, sd->mac1_rx);
	}
	deliver(w, sd, b, len);
}

static void
op_time(struct world *w, struct fuzz_rd *r)
{
	static const uint64_t steps[] = {
		1, HS_RETRY_MS, HS_KEEPALIVE_MS, HS_GRACE_MS, HS_GIVEUP_MS,
		HS_RETRY_MAX_MS,
	};
	uint8_t how = fuzz_get8(r);

	if (how & 1)
		w->now += fuzz_get16(r);
	else
		w->now += steps[(how >> 1) % (sizeof(steps) / sizeof(*steps))];
}

static int
setup(struct world *w, uint8_t cfg, struct fuzz_rd *r)
{
	struct hs_env env = {
		.random = env_random, .realtime_ns = env_realtime,
	};
	static const char *const ep[] = { "192.0.2.1:4797",
	    "192.0.2.2:4797", "192.0.2.3:4797" };
	struct hs_static st;
	int variant = (cfg >> 2) % 3;

	w->kk = (cfg & 1) != 0;
	w->nsides = (cfg & 2) ? 3 : 2;
	w->now = 1000 + fuzz_get16(r);
	FUZZ_CHECK((w->out = malloc(HS_MSG_MAX)) != NULL);
	for (int i = 0; i < w->nsides; i++) {
		struct side *sd = &w->s[i];
		const uint8_t *psk = psk_ab;
		const char *ctx = ctx_ab;
		int me = i, them = i == A ? B : A;

		sd->w = w;
		sd->id = i;
		/* Distinct per end, so no two ends share an instance id and
		 * a message's bytes tell who sent it. */
		sd->rng = fuzz_get16(r) | (uint64_t)(i + 1) << 32;
		sd->last_init = sd->greatest = -1;
		if (i == C) {
			/* Claims to be B to A. */
			me = variant == 2 ? C : B;
			them = A;
			if (variant == 0)
				psk = psk_c;
			else if (variant == 1)
				ctx = ctx_c;
		}
		if (cfg & 0x20) {
			env.spi_in_use = env_spi_in_use;
			sd->busy_lo = 256;
			sd->busy_n = (uint32_t)fuzz_get8(r) << 24;
		}
		env.arg = sd;
		memcpy(st.local_private, s_priv[me], 32);
		memcpy(st.peer_public, s_pub[them], 32);
		sd->capture = true;
		sd->hs = hs_peer_new(psk, w->kk ? &st : NULL, ctx, strlen(ctx),
		    &env);
		FUZZ_CHECK(sd->hs != NULL && !sd->capture);
		/* PSK mode binds the endpoints: C, with the PSK and the
		 * context of A and B, sends from an endpoint of its own. */
		if (!w->kk)
			hs_peer_bind(sd->hs, ep[i], strlen(ep[i]), ep[them],
			    strlen(ep[them]));
		mac1_key(sd->mac1_tx, psk, w->kk ? s_pub[them] : NULL);
		mac1_key(sd->mac1_rx, psk, w->kk ? s_pub[me] : NULL);
		FUZZ_CHECK(hs_next_timeout(sd->hs) == UINT64_MAX);
	}
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hs_env env = { .random = env_random,
	    .realtime_ns = env_realtime };
	struct side dummy;
	struct hs_static st;

	FUZZ_CHECK(sodium_init() >= 0);
	initialized = true;
	for (int i = 0; i < 3; i++) {
		memset(s_priv[i], 0x11 * (i + 1), 32);
		crypto_scalarmult_base(s_pub[i], s_priv[i]);
	}
	/* A low-order peer key is refused. */
	memset(&dummy, 0, sizeof(dummy));
	env.arg = &dummy;
	memcpy(st.local_private, s_priv[0], 32);
	memset(st.peer_public, 0, 32);
	errno = 0;
	FUZZ_CHECK(hs_peer_new(psk_ab, &st, "", 0, &env) == NULL &&
	    errno == EINVAL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct fuzz_rd r = { d, n };
	struct world w;
	uint8_t cfg = fuzz_get8(&r);

	/* replay.c has no LLVMFuzzerInitialize call. */
	if (!initialized)
		LLVMFuzzerInitialize(NULL, NULL);
	memset(&w, 0, sizeof(w));
	setup(&w, cfg, &r);

	for (int i = 0; i < MAX_OPS && r.n > 0; i++) {
		uint8_t op = fuzz_get8(&r);
		struct side *sd = &w.s[(op >> 4) % w.nsides];

		switch (op % 11) {
		case 0:
			op_initiate(&w, sd);
			break;
		case 1: {
			/* The newest message to the other end of its pair. */
			const struct msg *m;
			int to;

			if (w.nlog == 0)
				break;
			m = &w.log[w.nlog - 1];
			to = m->from == C ? A : peer_of(m->from);
			deliver(&w, &w.s[to], m->b, m->len);
			break;
		}
		case 2:
			op_deliver(&w, &r);
			break;
		case 3:
			op_raw(&w, &r);
			break;
		case 4:
			op_time(&w, &r);
			break;
		case 5:
			op_timers(&w, sd, false);
			break;
		case 6:
			op_timers(&w, sd, true);
			break;
		case 7:
			op_confirm(&w, sd, &r);
			break;
		case 8:		/* the wall clock steps, within this century */
			sd->wall_off_ns += (int64_t)(int32_t)fuzz_get32(&r) *
			    1000000;
			if (sd->wall_off_ns < -1000000000000000000LL ||
			    sd->wall_off_ns > 1000000000000000000LL)
				sd->wall_off_ns = 0;
			break;
		case 9: {	/* bytes the next random calls return */
			size_t k = fuzz_get8(&r) % 64;

			if (sd->nforced + k <= sizeof(sd->forced)) {
				getbytes(&r, sd->forced + sd->nforced, k);
				sd->nforced += k;
			}
			break;
		}
		case 10:	/* the caller's other SPIs */
			sd->busy_lo = fuzz_get32(&r);
			sd->busy_n = fuzz_get16(&r);
			break;
		}
	}

	for (int i = 0; i < w.nsides; i++)
		hs_peer_free(w.s[i].hs);
	free(w.log);
	free(w.out);
	return 0;
}
