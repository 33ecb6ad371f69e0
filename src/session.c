#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "session.h"

/* Fields a worker and the main thread both touch, relaxed: each is a
 * value of its own, ordering nothing else. */
static uint64_t
load_ms(const uint64_t *t)
{
	return __atomic_load_n(t, __ATOMIC_RELAXED);
}

static void
store_ms(uint64_t *t, uint64_t v)
{
	__atomic_store_n(t, v, __ATOMIC_RELAXED);
}

/* The main thread's; workers read it to tell a peer coming back. */
static void
set_state(struct session *s, enum session_state st)
{
	__atomic_store_n(&s->state, st, __ATOMIC_RELAXED);
}

/* Around every change to the SA table the workers read. */
static void
gate_begin(const struct session *s)
{
	if (s->gate != NULL)
		s->gate->begin(s->gate->arg);
}

static void
gate_end(const struct session *s)
{
	if (s->gate != NULL)
		s->gate->end(s->gate->arg);
}

static void
sa_clear(struct session_sa *ss)
{
	esp_sa_free(ss->sa);
	sodium_free(ss->keymat);
	memset(ss, 0, sizeof(*ss));
}

struct session *
session_new(const struct encryption_params *enc, const uint8_t psk[HS_KEY_LEN],
    const struct hs_static *st, const void *ctx, size_t ctx_len,
    const struct hs_env *env, unsigned lanes)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	if (pthread_mutex_init(&s->queue_lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	if ((s->hs = hs_peer_new(psk, st, ctx, ctx_len, env)) == NULL) {
		pthread_mutex_destroy(&s->queue_lock);
		free(s);
		return NULL;
	}
	s->cipher = enc->cipher;
	s->engine = enc->engine;
	s->lanes = lanes;
	s->replay_window = enc->replay_window;
	s->rekey_after_ms = (uint64_t)enc->rekey_after * 1000;
	return s;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < SESSION_SAS_MAX; i++)
		sa_clear(&s->sas[i]);
	for (unsigned i = 0; i < SESSION_QUEUE_MAX; i++)
		free(s->queue[i]);
	hs_peer_free(s->hs);
	pthread_mutex_destroy(&s->queue_lock);
	free(s);
}

const char *
session_state_name(enum session_state st)
{
	switch (st) {
	case SESSION_NEW:
		return "new";
	case SESSION_HANDSHAKING:
		return "handshaking";
	case SESSION_UP:
		return "up";
	case SESSION_DOWN:
		return "down";
	}
	return "?";
}

static struct session_sa *
find_sa(struct session *s, uint32_t spi, bool inbound)
{
	for (unsigned i = 0; i < SESSION_SAS_MAX; i++)
		if (s->sas[i].sa != NULL && s->sas[i].inbound == inbound &&
		    s->sas[i].sa->spi == spi)
			return &s->sas[i];
	return NULL;
}

static bool
spi_listed(uint32_t spi, const uint32_t *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i] == spi)
			return true;
	return false;
}

/* The rekey deadline of a new outbound SA, up to a tenth early at random,
 * so a fleet started together does not rekey in lockstep. */
static uint64_t
rekey_deadline(const struct session *s, uint64_t now)
{
	uint64_t jitter = s->rekey_after_ms / 10;

	if (jitter > 0)
		jitter = randombytes_uniform((uint32_t)(jitter > UINT32_MAX ?
		    UINT32_MAX : jitter));
	return now + s->rekey_after_ms - jitter;
}

/* Frees the SAs the handshake no longer lists. */
static void
prune_sas(struct session *s, const struct hs_sas *keep)
{
	const uint32_t out[2] = { keep->tx_spi, keep->staged_tx_spi };

	for (unsigned i = 0; i < SESSION_SAS_MAX; i++) {
		struct session_sa *ss = &s->sas[i];

		if (ss->sa == NULL || spi_listed(ss->sa->spi, ss->inbound ?
		    keep->rx_spi : out, ss->inbound ? 4 : 2))
			continue;
		if (ss->sa == s->tx)
			s->tx = NULL;
		sa_clear(ss);
	}
}

/* Keeps exactly the SAs the handshake lists; sends with tx_spi. */
static void
sync_sas(struct session *s, const struct hs_sas *keep, uint64_t now)
{
	struct esp_sa *old_tx = s->tx;
	struct session_sa *tx;

	prune_sas(s, keep);
	tx = keep->tx_spi != 0 ? find_sa(s, keep->tx_spi, false) : NULL;
	s->tx = tx != NULL ? tx->sa : NULL;
	if (s->tx != NULL && s->tx != old_tx)
		s->rekey_at_ms = rekey_deadline(s, now);
	/* A first outbound SA starts the idle clock: no keepalive at once. */
	if (s->tx != NULL && old_tx == NULL)
		store_ms(&s->last_tx_ms, now);
}

/* Which inbound SA the handshake calls current: the workers ask to have
 * every other confirmed. */
static void
mark_current(struct session *s, const struct hs_sas *sas)
{
	for (unsigned i = 0; i < SESSION_SAS_MAX; i++) {
		struct session_sa *ss = &s->sas[i];

		if (ss->sa != NULL && ss->inbound)
			__atomic_store_n(&ss->current,
			    ss->sa->spi == sas->rx_spi[0], __ATOMIC_RELAXED);
	}
}

/* Installs the inbound or the outbound half of k. */
static int
add_sa(struct session *s, const struct hs_keys *k, bool inbound, uint64_t now,
    struct session_out *out)
{
	uint32_t spi = inbound ? k->rx_spi : k->tx_spi;
	const uint8_t *key = inbound ? k->rx_key : k->tx_key;
	const uint8_t *salt = inbound ? k->rx_salt : k->tx_salt;
	struct session_sa *slot = NULL;
	int ret;

	for (unsigned i = 0; i < SESSION_SAS_MAX && slot == NULL; i++)
		if (s->sas[i].sa == NULL)
			slot = &s->sas[i];
	if (slot == NULL)
		return -ENOSPC;
	if ((slot->keymat = sodium_malloc(ESP_KEYMAT_LEN)) == NULL)
		return -ENOMEM;
	memcpy(slot->keymat, key, ESP_KEY_LEN);
	memcpy(slot->keymat + ESP_KEY_LEN, salt, ESP_SALT_LEN);
	ret = esp_sa_new(&slot->sa, spi, s->cipher, s->engine, slot->keymat,
	    false, s->replay_window, s->lanes);
	if (ret < 0) {
		sa_clear(slot);
		return ret;
	}
	slot->inbound = inbound;
	slot->created_ms = now;
	if (out->n_new_sas < 2)
		out->new_sas[out->n_new_sas++] = slot;
	return 0;
}

static void
drop_queue(struct session *s)
{
	pthread_mutex_lock(&s->queue_lock);
	s->stats.queue_drops += s->n_queued;
	s->n_queued = 0;
	pthread_mutex_unlock(&s->queue_lock);
}

static unsigned
queued(struct session *s)
{
	unsigned n;

	pthread_mutex_lock(&s->queue_lock);
	n = s->n_queued;
	pthread_mutex_unlock(&s->queue_lock);
	return n;
}

/* Acts on what the handshake reported; false when new keys could not be
 * installed, so that no answer promises them. */
static bool
on_event(struct session *s, const struct hs_event *ev, uint64_t now,
    struct session_out *out)
{
	const struct hs_keys *k = ev->keys;

	switch (ev->type) {
	case HS_EV_KEYS_READY:
		/* Make room first: what the handshake no longer lists goes,
		 * and the slots hold all it may list, so add_sa fails only on
		 * allocation; then stay as we are and let a later handshake
		 * try again. */
		gate_begin(s);
		prune_sas(s, &ev->sas);
		if (add_sa(s, k, false, now, out) < 0 ||
		    add_sa(s, k, true, now, out) < 0) {
			gate_end(s);
			return false;
		}
		sync_sas(s, &ev->sas, now);
		mark_current(s, &ev->sas);
		gate_end(s);
		s->stats.handshakes++;
		s->hs_started_ms = 0;
		/* An initiator confirms its new keys with a packet at once. */
		out->keepalive = k->initiator;
		out->keys_ready = s->tx != NULL;
		set_state(s, SESSION_UP);
		store_ms(&s->last_rx_ms, now);
		break;
	case HS_EV_SA_CHANGED:
		gate_begin(s);
		sync_sas(s, &ev->sas, now);
		mark_current(s, &ev->sas);
		gate_end(s);
		out->keys_ready = s->tx != NULL && queued(s) > 0;
		if (!hs_pending(s->hs))
			s->hs_started_ms = 0;
		break;
	case HS_EV_KEEPALIVE:
		out->keepalive = true;
		break;
	case HS_EV_TIMEOUT:
		s->hs_started_ms = 0;
		drop_queue(s);
		if (s->state == SESSION_HANDSHAKING)
			set_state(s, s->tx != NULL ? SESSION_UP :
			    SESSION_DOWN);
		break;
	default:
		break;
	}
	return true;
}

void
session_kick(struct session *s, uint64_t now, struct session_out *out)
{
	size_t len = 0;

	if (hs_initiate(s->hs, now, out->hs_msg, &len) < 0)
		return;
	out->hs_len = len;
	__atomic_store_n(&s->kick_asked, false, __ATOMIC_RELAXED);
	s->last_attempt_ms = now;
	s->stats.initiations++;
	if (s->hs_started_ms == 0) {
		s->hs_started_ms = now;
		s->hs_warned = false;
	}
	if (s->tx == NULL)
		set_state(s, SESSION_HANDSHAKING);
}

int
session_seal(struct session *s, unsigned lane, struct pkt *p,
    uint8_t next_header, uint64_t now)
{
	int ret;

	if (s->tx == NULL)
		return -ENOKEY;
	if ((ret = esp_seal(s->tx, lane, p, next_header)) == 0 &&
	    load_ms(&s->last_tx_ms) != now)
		store_ms(&s->last_tx_ms, now);
	return ret;
}

bool
session_want_kick(struct session *s)
{
	return !__atomic_exchange_n(&s->kick_asked, true, __ATOMIC_RELAXED);
}

/* The queue is a ring of lazily allocated buffers, filled by any worker
 * and emptied by the one the main thread asks to. */
bool
session_enqueue(struct session *s, const struct pkt *frame)
{
	unsigned slot;
	bool ok;

	pthread_mutex_lock(&s->queue_lock);
	slot = (s->queue_head + s->n_queued) % SESSION_QUEUE_MAX;
	ok = s->n_queued < SESSION_QUEUE_MAX && (s->queue[slot] != NULL ||
	    (s->queue[slot] = malloc(sizeof(struct pkt))) != NULL) &&
	    pkt_copy(s->queue[slot], frame) == 0;
	if (ok)
		s->n_queued++;
	else
		s->stats.queue_drops++;
	pthread_mutex_unlock(&s->queue_lock);
	return ok;
}

bool
session_dequeue(struct session *s, struct pkt *out)
{
	bool got;

	pthread_mutex_lock(&s->queue_lock);
	got = s->n_queued > 0 && pkt_copy(out, s->queue[s->queue_head]) == 0;
	if (s->n_queued > 0) {
		s->queue_head = (s->queue_head + 1) % SESSION_QUEUE_MAX;
		s->n_queued--;
	}
	pthread_mutex_unlock(&s->queue_lock);
	return got;
}

/* Whether a worker should ask the main thread to look at ss: an SA the
 * handshake waits to hear of, or a peer that was down; not too often. */
static bool
confirm_due(const struct session *s, struct session_sa *ss, uint64_t now)
{
	if (__atomic_load_n(&ss->current, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&s->state, __ATOMIC_RELAXED) != SESSION_DOWN)
		return false;
	if (now - load_ms(&ss->confirm_asked_ms) < SESSION_CONFIRM_ASK_MS)
		return false;
	store_ms(&ss->confirm_asked_ms, now);
	return true;
}

enum drop_reason
session_open(struct session *s, unsigned lane, struct pkt *p,
    uint8_t *next_header, uint64_t now, uint32_t *confirm)
{
	struct session_sa *ss;
	enum drop_reason why;
	uint32_t spi;

	*confirm = 0;
	if ((why = esp_spi_of(p, &spi)) != DROP_NONE)
		return why;
	if ((ss = find_sa(s, spi, true)) == NULL)
		return DROP_ESP_UNKNOWN_SPI;
	if ((why = esp_open(ss->sa, lane, p, next_header)) != DROP_NONE)
		return why;
	if (load_ms(&s->last_rx_ms) != now)
		store_ms(&s->last_rx_ms, now);
	if (*next_header == IPPROTO_NONE)
		__atomic_fetch_add(&s->stats.keepalives_rx, 1,
		    __ATOMIC_RELAXED);
	if (confirm_due(s, ss, now))
		*confirm = spi;
	return DROP_NONE;
}

void
session_confirm(struct session *s, uint32_t spi, uint64_t now,
    struct session_out *out)
{
	struct hs_event ev;

	if (s->state == SESSION_DOWN)
		set_state(s, SESSION_UP);
	if (hs_confirm(s->hs, now, spi, &ev) != HS_EV_NONE)
		on_event(s, &ev, now, out);
}

enum drop_reason
session_handshake(struct session *s, const uint8_t *msg, size_t len,
    uint64_t now, struct session_out *out)
{
	struct hs_event ev;
	enum hs_event_type type;
	size_t reply_len = 0;

	type = hs_receive(s->hs, now, msg, len, out->hs_msg, &reply_len, &ev);
	out->hs_len = reply_len;
	if (type == HS_EV_NONE || type == HS_EV_KEYS_READY ||
	    type == HS_EV_SA_CHANGED || type == HS_EV_KEEPALIVE) {
		if (!on_event(s, &ev, now, out))
			out->hs_len = 0;
		return DROP_NONE;
	}
	return hs_drop_reason(type);
}

/* SAs past their hard lifetime go, whatever the handshake lists: no key
 * is used for longer, and traffic waits for the next handshake. */
static void
reject_old_sas(struct session *s, uint64_t now)
{
	uint64_t limit = SESSION_REJECT_AFTER(s->rekey_after_ms);
	bool any = false;

	for (unsigned i = 0; i < SESSION_SAS_MAX; i++)
		any |= s->sas[i].sa != NULL &&
		    now - s->sas[i].created_ms >= limit;
	if (!any)
		return;
	gate_begin(s);
	for (unsigned i = 0; i < SESSION_SAS_MAX; i++) {
		struct session_sa *ss = &s->sas[i];

		if (ss->sa == NULL || now - ss->created_ms < limit)
			continue;
		if (ss->sa == s->tx)
			s->tx = NULL;
		sa_clear(ss);
	}
	gate_end(s);
}

void
session_timer(struct session *s, uint64_t now, struct session_out *out)
{
	struct hs_event ev;
	size_t len;

	reject_old_sas(s, now);
	/* Bounded, whatever the handshake's timers say. */
	for (int i = 0; i < 8 && hs_next_timeout(s->hs) <= now; i++) {
		len = 0;
		if (hs_timer(s->hs, now, out->hs_msg, &len, &ev) != HS_EV_NONE)
			on_event(s, &ev, now, out);
		if (len > 0) {
			out->hs_len = len;
			s->stats.initiations++;
		}
	}
	if (s->hs_started_ms != 0 && !s->hs_warned &&
	    now - s->hs_started_ms >= SESSION_UNANSWERED_MS) {
		s->hs_warned = true;
		out->unanswered = true;
	}
	if (s->state == SESSION_UP &&
	    now - load_ms(&s->last_rx_ms) >= SESSION_DEAD_MS)
		set_state(s, SESSION_DOWN);
	if (s->tx != NULL && (now >= s->rekey_at_ms ||
	    esp_tx_seq(s->tx) >= SESSION_REKEY_PACKETS))
		session_kick(s, now, out);
	else if ((s->state == SESSION_DOWN || queued(s) > 0 ||
	    (s->tx == NULL && s->state == SESSION_UP)) &&
	    now - s->last_attempt_ms >= SESSION_RETRY_MS)
		session_kick(s, now, out);
	if (s->tx != NULL && s->state == SESSION_UP &&
	    now - load_ms(&s->last_tx_ms) >= SESSION_KEEPALIVE_MS)
		out->keepalive = true;
}

uint64_t
session_rekey_in(const struct session *s, uint64_t now)
{
	if (s->tx == NULL || s->rekey_at_ms <= now)
		return 0;
	return s->rekey_at_ms - now;
}
