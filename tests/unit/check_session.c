/* Session: two ends, A and B, wired back to back in memory. What a call
 * wants sent goes through a FIFO "network" to the other end, handled the
 * way the data path's dp_session_out does it: handshake messages to
 * session_handshake, the queued frames (or a dummy, next header 59) sealed
 * and fed to session_open. Time is the test's monotonic clock; each end's
 * handshake randomness comes from its own seeded stream. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* RTLD_NEXT */
#endif
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#include "check_main.h"

#define CTX		"esp=chacha20-poly1305 vni=123"
#define REKEY_S		60		/* the ends' rekey_after, seconds */
#define REKEY_MS	((uint64_t)REKEY_S * 1000)
#define NH_DATA		IPPROTO_UDP	/* what frames claim to carry */
#define NH_DUMMY	IPPROTO_NONE	/* 59 */
#define FRAME_LEN	60
#define NET_MAX		128
#define RX_MAX		256

struct side {
	struct session	*s;
	const char	*name;
	struct side	*peer;
	uint8_t		 seed[32];
	uint64_t	 draws;
	bool		 cut;		/* what it sends is lost */
	/* What the test saw it do. */
	unsigned	 inits_tx, resps_tx, esp_tx, dummies_tx;
	unsigned	 enqueue_fails;
	unsigned	 unanswered;
	uint64_t	 first_unanswered_ms;
	unsigned	 new_sas;
	/* What reached it. */
	uint32_t	 rx_ids[RX_MAX];
	unsigned	 n_rx, dummies_rx;
	enum drop_reason last_hs, last_esp;
	unsigned	 esp_drops, hs_drops;
};

struct msg {
	struct side	*from;
	bool		 hs;
	struct pkt	 p;
};

static uint8_t psk[HS_KEY_LEN], wrong_psk[HS_KEY_LEN];
static struct side A, B, C;
static uint64_t now;
static struct msg net[NET_MAX];
static unsigned net_head, net_n;

/* The SAs and the handshake's secrets live in sodium_malloc'd memory,
 * which libsodium maps itself and valgrind does not track: count the
 * blocks, so that a leaked SA shows too. */
static long sodium_live;

void *
sodium_malloc(size_t size)
{
	static void *(*real)(size_t);
	void *p;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "sodium_malloc");
	if ((p = real(size)) != NULL)
		sodium_live++;
	return p;
}

void
sodium_free(void *p)
{
	static void (*real)(void *);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "sodium_free");
	if (p != NULL)
		sodium_live--;
	real(p);
}

/* Handshake randomness: each end its own deterministic stream. */
static void
test_random(void *arg, void *buf, size_t len)
{
	struct side *x = arg;
	uint8_t seed[32];

	memcpy(seed, x->seed, sizeof(seed));
	memcpy(seed, &x->draws, sizeof(x->draws));
	x->draws++;
	randombytes_buf_deterministic(buf, len, seed);
}

/* The wall clock moves with the monotonic one. */
static uint64_t
test_wall(void *arg)
{
	(void)arg;
	return 1700000000ULL * 1000000000ULL + now * 1000000ULL;
}

static void
side_init(struct side *x, const char *name, uint8_t tag, const uint8_t *k,
    unsigned rekey_s)
{
	struct encryption_params enc;
	struct hs_env env = { test_random, test_wall, NULL, x };

	session_free(x->s);
	memset(x, 0, sizeof(*x));
	x->name = name;
	x->seed[31] = tag;
	memset(&enc, 0, sizeof(enc));
	enc.enabled = true;
	enc.cipher = AEAD_CHACHA20_POLY1305;
	enc.rekey_after = rekey_s;
	enc.replay_window = 1024;
	/* The ends seal with different engines where both are built. */
	enc.engine = (tag & 1) && aead_available(enc.cipher, AEAD_OPENSSL) ?
	    AEAD_OPENSSL : AEAD_LIBSODIUM;
	x->s = session_new(&enc, k, NULL, CTX, strlen(CTX), &env, 1);
	ck_assert_ptr_nonnull(x->s);
	ck_assert_int_eq(x->s->state, SESSION_NEW);
}

static void
pair(struct side *a, struct side *b)
{
	a->peer = b;
	b->peer = a;
}

static void
setup(void)
{
	now = 100000;
	net_head = net_n = 0;
	side_init(&A, "A", 'A', psk, REKEY_S);
	side_init(&B, "B", 'B', psk, REKEY_S);
	pair(&A, &B);
}

static void
teardown(void)
{
	session_free(A.s);
	session_free(B.s);
	session_free(C.s);
	A.s = B.s = C.s = NULL;
	ck_assert_int_eq(sodium_live, 0);
}

/* ---- the network ---- */

static void
net_push(struct side *from, bool hs, const uint8_t *data, size_t len)
{
	struct msg *m;

	if (from->cut)
		return;
	ck_assert_uint_lt(net_n, NET_MAX);
	m = &net[(net_head + net_n++) % NET_MAX];
	m->from = from;
	m->hs = hs;
	ck_assert_int_eq(pkt_set(&m->p, data, len), 0);
}

/* Takes the oldest message off the wire, undelivered. */
static struct msg *
net_take(void)
{
	struct msg *m;

	ck_assert_uint_gt(net_n, 0);
	m = &net[net_head];
	net_head = (net_head + 1) % NET_MAX;
	net_n--;
	return m;
}

static struct msg *
net_peek(unsigned i)
{
	ck_assert_uint_lt(i, net_n);
	return &net[(net_head + i) % NET_MAX];
}

/* ---- an end, as the data path drives it ---- */

static void handle_out(struct side *, struct session_out *);

static void
kick(struct side *x)
{
	struct session_out out = { 0 };

	session_kick(x->s, now, &out);
	handle_out(x, &out);
}

/* q was assigned a copy of *from: a pkt is a view, so point q's into its
 * own buffer, at the same offset. */
static void
pkt_rebase(struct pkt *q, const struct pkt *from)
{
	q->head = q->buf;
	q->end = q->buf + sizeof(q->buf);
	q->data = q->buf + (from->data - from->buf);
}

/* dp_send_sealed: without keys the frame waits and a handshake starts. */
static void
xmit(struct side *x, struct pkt *p)
{
	if (x->s->tx == NULL) {
		if (!session_enqueue(x->s, p))
			x->enqueue_fails++;
		kick(x);
		return;
	}
	ck_assert_int_eq(session_seal(x->s, 0, p, NH_DATA, now), 0);
	x->esp_tx++;
	net_push(x, false, p->data, p->len);
}

static void
make_frame(struct pkt *p, uint32_t id)
{
	uint8_t f[FRAME_LEN];

	for (size_t i = 0; i < sizeof(f); i++)
		f[i] = (uint8_t)(id * 7 + i);
	memcpy(f, &id, sizeof(id));
	ck_assert_int_eq(pkt_set(p, f, sizeof(f)), 0);
}

static void
app_send(struct side *x, uint32_t id)
{
	static struct pkt p;

	make_frame(&p, id);
	xmit(x, &p);
}

static void
send_dummy(struct side *x)
{
	static struct pkt p;

	pkt_reset(&p);
	ck_assert_int_eq(session_seal(x->s, 0, &p, NH_DUMMY, now), 0);
	x->dummies_tx++;
	x->s->stats.keepalives_tx++;
	net_push(x, false, p.data, p.len);
}

/* dp_session_out */
static void
handle_out(struct side *x, struct session_out *out)
{
	bool sent = false;

	if (out->unanswered) {
		if (x->unanswered++ == 0)
			x->first_unanswered_ms = now;
	}
	x->new_sas += out->n_new_sas;
	for (unsigned i = 0; i < out->n_new_sas; i++) {
		ck_assert_ptr_nonnull(out->new_sas[i]->sa);
		ck_assert_ptr_nonnull(out->new_sas[i]->keymat);
	}
	if (out->hs_len > 0) {
		switch (hs_msg_type(out->hs_msg, out->hs_len)) {
		case HS_MSG_INIT:
			x->inits_tx++;
			break;
		case HS_MSG_RESP:
			x->resps_tx++;
			break;
		default:
			ck_abort_msg("%s sends a bad handshake message",
			    x->name);
		}
		net_push(x, true, out->hs_msg, out->hs_len);
	}
	if (out->keys_ready && x->s->tx != NULL) {
		static struct pkt p;

		while (session_dequeue(x->s, &p)) {
			xmit(x, &p);
			sent = true;
		}
	}
	if (out->keepalive && !sent && x->s->tx != NULL)
		send_dummy(x);
}

/* What an ESP packet does at x; data frames are logged by id. */
static enum drop_reason
open_at(struct side *x, struct pkt *p)
{
	struct session_out out = { 0 };
	enum drop_reason why;
	uint8_t nh = 0xff, want[FRAME_LEN];
	uint32_t id, confirm;

	/* A worker opens; what it asks, the main thread does (dp_rx_esp,
	 * dp_main_request). */
	why = session_open(x->s, 0, p, &nh, now, &confirm);
	if (confirm != 0) {
		session_confirm(x->s, confirm, now, &out);
		handle_out(x, &out);
	}
	x->last_esp = why;
	if (why != DROP_NONE) {
		x->esp_drops++;
		return why;
	}
	if (nh == NH_DUMMY) {
		ck_assert_uint_eq(p->len, 0);
		x->dummies_rx++;
		return why;
	}
	ck_assert_uint_eq(nh, NH_DATA);
	ck_assert_uint_eq(p->len, FRAME_LEN);
	memcpy(&id, p->data, sizeof(id));
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(id * 7 + i);
	memcpy(want, &id, sizeof(id));
	ck_assert_mem_eq(p->data, want, FRAME_LEN);
	ck_assert_uint_lt(x->n_rx, RX_MAX);
	x->rx_ids[x->n_rx++] = id;
	return why;
}

static enum drop_reason
hs_at(struct side *x, const uint8_t *msg, size_t len)
{
	struct session_out out = { 0 };
	enum drop_reason why;

	why = session_handshake(x->s, msg, len, now, &out);
	handle_out(x, &out);
	x->last_hs = why;
	if (why != DROP_NONE)
		x->hs_drops++;
	return why;
}

static enum drop_reason
deliver_one(void)
{
	struct msg *m = net_take();
	struct side *to = m->from->peer;

	if (m->hs)
		return hs_at(to, m->p.data, m->p.len);
	return open_at(to, &m->p);
}

static void
deliver_all(void)
{
	for (int i = 0; net_n > 0; i++) {
		ck_assert_int_lt(i, 10000);
		deliver_one();
	}
}

/* Delivers what is ESP on the wire; handshake messages stay, in order. */
static void
deliver_esp(void)
{
	static struct msg keep[NET_MAX];
	unsigned n_keep = 0;

	for (int i = 0; net_n > 0; i++) {
		ck_assert_int_lt(i, 10000);
		if (net_peek(0)->hs) {
			struct msg *m = net_take();

			keep[n_keep] = *m;
			pkt_rebase(&keep[n_keep].p, &m->p);
			n_keep++;
		} else
			deliver_one();
	}
	for (unsigned i = 0; i < n_keep; i++)
		net_push(keep[i].from, true, keep[i].p.data, keep[i].p.len);
}

static void
tick(struct side *x)
{
	struct session_out out = { 0 };

	session_timer(x->s, now, &out);
	handle_out(x, &out);
}

/* Both ends' timers every step ms up to exactly t, the wire emptied after
 * each. */
static void
run_to(uint64_t t, uint64_t step)
{
	deliver_all();
	while (now < t) {
		now = now + step < t ? now + step : t;
		tick(&A);
		tick(&B);
		deliver_all();
	}
}

/* A initiates, both come up. */
static void
handshake_pair(void)
{
	kick(&A);
	deliver_all();
	ck_assert_int_eq(A.s->state, SESSION_UP);
	ck_assert_int_eq(B.s->state, SESSION_UP);
	ck_assert_ptr_nonnull(A.s->tx);
	ck_assert_ptr_nonnull(B.s->tx);
}

static unsigned
n_sas(const struct session *s, bool inbound)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SESSION_SAS_MAX; i++)
		if (s->sas[i].sa != NULL && s->sas[i].inbound == inbound)
			n++;
	return n;
}

static bool
has_sa(const struct session *s, uint32_t spi, bool inbound)
{
	for (unsigned i = 0; i < SESSION_SAS_MAX; i++)
		if (s->sas[i].sa != NULL && s->sas[i].inbound == inbound &&
		    s->sas[i].sa->spi == spi)
			return true;
	return false;
}

static uint32_t
spi_of(const struct pkt *p)
{
	uint32_t spi = 0;

	ck_assert_int_eq(esp_spi_of(p, &spi), DROP_NONE);
	return spi;
}

/* Seals frame id with x's current outbound SA into p, not sent. */
static void
seal_held(struct side *x, struct pkt *p, uint32_t id)
{
	make_frame(p, id);
	ck_assert_int_eq(session_seal(x->s, 0, p, NH_DATA, now), 0);
}

static void
check_rx(const struct side *x, uint32_t first, unsigned n)
{
	ck_assert_uint_eq(x->n_rx, n);
	for (unsigned i = 0; i < n; i++)
		ck_assert_uint_eq(x->rx_ids[i], first + i);
}

/* ---- tests ---- */

START_TEST(first_frame_kicks)
{
	struct msg *m;

	ck_assert_uint_eq(session_rekey_in(A.s, now), 0);
	app_send(&A, 1);
	ck_assert_int_eq(A.s->state, SESSION_HANDSHAKING);
	ck_assert_uint_eq(A.s->n_queued, 1);
	ck_assert_uint_eq(A.s->stats.initiations, 1);
	ck_assert_uint_eq(A.inits_tx, 1);
	ck_assert_uint_eq(A.esp_tx, 0);
	ck_assert_uint_eq(net_n, 1);
	m = net_peek(0);
	ck_assert(m->hs);
	ck_assert_uint_eq(m->p.len, HS_INIT_LEN);
	/* More frames wait; the handshake under way is not restarted. */
	app_send(&A, 2);
	ck_assert_uint_eq(A.s->n_queued, 2);
	ck_assert_uint_eq(A.s->stats.initiations, 1);
	ck_assert_uint_eq(net_n, 1);
	ck_assert_int_eq(B.s->state, SESSION_NEW);
	ck_assert_ptr_null(A.s->tx);
	ck_assert_int_eq(session_seal(A.s, 0, &net_peek(0)->p, NH_DATA, now),
	    -ENOKEY);
}
END_TEST

START_TEST(keys_in_one_round_trip)
{
	for (uint32_t i = 1; i <= 3; i++)
		app_send(&A, i);
	now += 7;
	/* The initiation: B answers and has keys, but sends with none. */
	ck_assert_int_eq(deliver_one(), DROP_NONE);
	ck_assert_uint_eq(B.resps_tx, 1);
	ck_assert_int_eq(B.s->state, SESSION_UP);
	ck_assert_uint_eq(B.s->stats.handshakes, 1);
	ck_assert_ptr_null(B.s->tx);
	ck_assert_uint_eq(B.new_sas, 2);
	ck_assert_uint_eq(n_sas(B.s, false), 1);
	ck_assert_uint_eq(n_sas(B.s, true), 1);
	ck_assert_uint_eq(net_n, 1);
	now += 7;
	/* The response: A's keys, and out come the frames, in order, which
	 * confirm them; no dummy is needed. */
	ck_assert_int_eq(deliver_one(), DROP_NONE);
	ck_assert_int_eq(A.s->state, SESSION_UP);
	ck_assert_ptr_nonnull(A.s->tx);
	ck_assert_uint_eq(A.s->stats.handshakes, 1);
	ck_assert_uint_eq(A.new_sas, 2);
	ck_assert_uint_eq(A.s->n_queued, 0);
	ck_assert_uint_eq(A.esp_tx, 3);
	ck_assert_uint_eq(A.dummies_tx, 0);
	ck_assert_uint_eq(net_n, 3);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert(!net_peek(i)->hs);
		ck_assert_uint_eq(spi_of(&net_peek(i)->p), A.s->tx->spi);
	}
	deliver_all();
	check_rx(&B, 1, 3);
	ck_assert_ptr_nonnull(B.s->tx);
	/* One round trip: two handshake messages in all. */
	ck_assert_uint_eq(A.inits_tx + A.resps_tx + B.inits_tx + B.resps_tx,
	    2);
	ck_assert_uint_eq(A.s->stats.initiations, 1);
	ck_assert_uint_eq(A.s->stats.queue_drops, 0);
	/* The SAs pair up. */
	ck_assert(has_sa(B.s, A.s->tx->spi, true));
	ck_assert(has_sa(A.s, B.s->tx->spi, true));
	ck_assert_uint_ne(A.s->tx->spi, B.s->tx->spi);
}
END_TEST

START_TEST(responder_waits_for_confirmation)
{
	struct pkt *p = malloc(sizeof(*p));

	ck_assert_ptr_nonnull(p);
	kick(&A);
	ck_assert_int_eq(deliver_one(), DROP_NONE);
	ck_assert_uint_eq(B.s->stats.handshakes, 1);
	/* B has keys, but until A shows it has them too, B sends nothing. */
	ck_assert_ptr_null(B.s->tx);
	make_frame(p, 7);
	ck_assert_int_eq(session_seal(B.s, 0, p, NH_DATA, now), -ENOKEY);
	ck_assert(session_enqueue(B.s, p));
	ck_assert_uint_eq(B.esp_tx + B.dummies_tx, 0);
	/* A gets the response: nothing queued, so a dummy confirms. */
	ck_assert_int_eq(deliver_one(), DROP_NONE);
	ck_assert_uint_eq(A.dummies_tx, 1);
	ck_assert_uint_eq(A.s->stats.keepalives_tx, 1);
	ck_assert_uint_eq(net_n, 1);
	ck_assert_ptr_null(B.s->tx);
	ck_assert_uint_eq(B.s->n_queued, 1);
	/* The dummy arrives: B may send, and its waiting frame goes. */
	ck_assert_int_eq(deliver_one(), DROP_NONE);
	ck_assert_uint_eq(B.dummies_rx, 1);
	ck_assert_uint_eq(B.s->stats.keepalives_rx, 1);
	ck_assert_ptr_nonnull(B.s->tx);
	ck_assert_uint_eq(B.s->n_queued, 0);
	ck_assert_uint_eq(B.esp_tx, 1);
	deliver_all();
	check_rx(&A, 7, 1);
	ck_assert_uint_eq(A.esp_drops + B.esp_drops, 0);
	free(p);
}
END_TEST

START_TEST(queue_bound)
{
	for (uint32_t i = 0; i < SESSION_QUEUE_MAX + 5; i++)
		app_send(&A, 100 + i);
	ck_assert_uint_eq(A.s->n_queued, SESSION_QUEUE_MAX);
	ck_assert_uint_eq(A.s->stats.queue_drops, 5);
	ck_assert_uint_eq(A.enqueue_fails, 5);
	ck_assert_uint_eq(A.inits_tx, 1);
	deliver_all();
	/* The first SESSION_QUEUE_MAX come out, in order. */
	check_rx(&B, 100, SESSION_QUEUE_MAX);
	ck_assert_uint_eq(A.s->stats.queue_drops, 5);
	ck_assert_uint_eq(A.s->n_queued, 0);
}
END_TEST

/* The ring keeps order across its wrap. */
START_TEST(queue_ring)
{
	static struct pkt p, q;
	uint32_t id;

	for (uint32_t i = 0; i < 10; i++) {
		make_frame(&p, i);
		ck_assert(session_enqueue(A.s, &p));
	}
	for (uint32_t i = 0; i < 5; i++) {
		ck_assert(session_dequeue(A.s, &q));
		memcpy(&id, q.data, sizeof(id));
		ck_assert_uint_eq(id, i);
		ck_assert_uint_eq(q.len, FRAME_LEN);
	}
	for (uint32_t i = 10; i < 21; i++) {
		make_frame(&p, i);
		ck_assert(session_enqueue(A.s, &p));
	}
	make_frame(&p, 99);
	ck_assert(!session_enqueue(A.s, &p));
	ck_assert_uint_eq(A.s->stats.queue_drops, 1);
	for (uint32_t i = 5; i < 21; i++) {
		ck_assert(session_dequeue(A.s, &q));
		memcpy(&id, q.data, sizeof(id));
		ck_assert_uint_eq(id, i);
	}
	ck_assert(!session_dequeue(A.s, &q));
}
END_TEST

START_TEST(esp_both_ways)
{
	struct pkt *p = malloc(sizeof(*p)), *q = malloc(sizeof(*q));

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	handshake_pair();
	for (uint32_t i = 0; i < 5; i++) {
		app_send(&A, 10 + i);
		app_send(&B, 20 + i);
	}
	deliver_all();
	check_rx(&B, 10, 5);
	check_rx(&A, 20, 5);
	ck_assert_uint_eq(A.esp_drops + B.esp_drops, 0);
	/* Tampered, then replayed. */
	seal_held(&A, p, 30);
	*q = *p;
	pkt_rebase(q, p);
	q->data[q->len - 1] ^= 1;
	ck_assert_int_eq(open_at(&B, q), DROP_ESP_AUTH);
	*q = *p;
	pkt_rebase(q, p);
	ck_assert_int_eq(open_at(&B, q), DROP_NONE);
	ck_assert_int_eq(open_at(&B, p), DROP_ESP_REPLAY);
	ck_assert_uint_eq(B.n_rx, 6);
	ck_assert_uint_eq(B.rx_ids[5], 30);
	free(p);
	free(q);
}
END_TEST

/* Keepalives after SESSION_KEEPALIVE_MS without sending, never sooner. */
START_TEST(keepalive_when_idle)
{
	uint64_t t0;
	unsigned d;

	handshake_pair();
	t0 = now;
	ck_assert_uint_eq(A.dummies_tx, 1);	/* the confirmation */
	run_to(t0 + SESSION_KEEPALIVE_MS - 1, 250);
	ck_assert_uint_eq(A.dummies_tx, 1);
	run_to(t0 + SESSION_KEEPALIVE_MS, 1);
	ck_assert_uint_eq(A.dummies_tx, 2);
	ck_assert_uint_eq(A.s->stats.keepalives_tx, 2);
	ck_assert_uint_ge(B.dummies_rx, 2);
	/* Traffic counts as sending: a frame postpones the next one. */
	run_to(t0 + SESSION_KEEPALIVE_MS + 5000, 250);
	app_send(&A, 1);
	d = A.dummies_tx;
	run_to(t0 + 2 * SESSION_KEEPALIVE_MS + 5000 - 1, 250);
	ck_assert_uint_eq(A.dummies_tx, d);
	run_to(t0 + 2 * SESSION_KEEPALIVE_MS + 5000, 1);
	ck_assert_uint_eq(A.dummies_tx, d + 1);
	check_rx(&B, 1, 1);
	ck_assert(A.s->state == SESSION_UP && B.s->state == SESSION_UP);
}
END_TEST

/* The responder, which had never sent, is just as idle-bound: it sends
 * its first keepalive SESSION_KEEPALIVE_MS after it could send, not at
 * the first tick. */
START_TEST(responder_first_keepalive)
{
	uint64_t t0;

	handshake_pair();
	t0 = now;
	ck_assert_uint_eq(B.dummies_tx, 0);
	run_to(t0 + SESSION_KEEPALIVE_MS - 1, 250);
	ck_assert_uint_eq(B.dummies_tx, 0);
	run_to(t0 + SESSION_KEEPALIVE_MS, 1);
	ck_assert_uint_eq(B.dummies_tx, 1);
}
END_TEST

START_TEST(dead_peer_down_retry_up)
{
	uint64_t last_rx, t_down = 0, t_kick = 0;
	uint64_t inits;

	handshake_pair();
	run_to(now + 3000, 250);
	A.cut = B.cut = true;
	last_rx = A.s->last_rx_ms;
	inits = A.s->stats.initiations;
	while (now < last_rx + SESSION_DEAD_MS + SESSION_RETRY_MS + 1000) {
		now += 100;
		tick(&A);
		tick(&B);
		net_n = 0;
		if (t_down == 0 && A.s->state == SESSION_DOWN)
			t_down = now;
		if (t_down == 0)
			ck_assert_int_eq(A.s->state, SESSION_UP);
		if (t_kick == 0 && A.s->stats.initiations > inits)
			t_kick = now;
	}
	ck_assert_uint_ne(t_down, 0);
	ck_assert_uint_ge(t_down - last_rx, SESSION_DEAD_MS);
	ck_assert_uint_lt(t_down - last_rx, SESSION_DEAD_MS + 100);
	ck_assert_uint_ge(t_kick, t_down);
	ck_assert_uint_le(t_kick - t_down, SESSION_RETRY_MS);
	/* Down, the old SA still sends (frames are not held back), but no
	 * keepalives go out. */
	ck_assert_ptr_nonnull(A.s->tx);
	ck_assert_int_eq(A.s->state, SESSION_DOWN);

	/* The peer answers again. */
	A.cut = B.cut = false;
	run_to(now + 20000, 100);
	ck_assert_int_eq(A.s->state, SESSION_UP);
	ck_assert_int_eq(B.s->state, SESSION_UP);
	ck_assert_uint_ge(A.s->stats.handshakes, 2);
	app_send(&A, 5);
	app_send(&B, 6);
	deliver_all();
	ck_assert_uint_eq(B.rx_ids[B.n_rx - 1], 5);
	ck_assert_uint_eq(A.rx_ids[A.n_rx - 1], 6);
}
END_TEST

/* Down, an authentic packet on the old SA brings it back up at once. */
START_TEST(down_then_esp_up)
{
	handshake_pair();
	A.cut = B.cut = true;
	run_to(now + SESSION_DEAD_MS + 1000, 500);
	ck_assert_int_eq(A.s->state, SESSION_DOWN);
	net_n = 0;
	A.cut = B.cut = false;
	/* B's dummy on the SA A still holds. */
	send_dummy(&B);
	ck_assert_int_eq(deliver_one(), DROP_NONE);
	ck_assert_int_eq(A.s->state, SESSION_UP);
	ck_assert_uint_eq(A.s->last_rx_ms, now);
}
END_TEST

/* The jitter: within (0.9, 1.0] x rekey_after, and not always the same. */
START_TEST(rekey_jitter_bounds)
{
	uint64_t v[16], lo = UINT64_MAX;
	bool differ = false;

	for (unsigned i = 0; i < 8; i++) {
		side_init(&A, "A", (uint8_t)(0x10 + i), psk, REKEY_S);
		side_init(&B, "B", (uint8_t)(0x40 + i), psk, REKEY_S);
		pair(&A, &B);
		now += 1000;
		handshake_pair();
		v[2 * i] = session_rekey_in(A.s, now);
		v[2 * i + 1] = session_rekey_in(B.s, now);
	}
	for (unsigned i = 0; i < 16; i++) {
		ck_assert_uint_ge(v[i], REKEY_MS - REKEY_MS / 10);
		ck_assert_uint_le(v[i], REKEY_MS);
		differ |= v[i] != v[0];
		lo = v[i] < lo ? v[i] : lo;
	}
	ck_assert_msg(differ, "no jitter: all deadlines %llu ms",
	    (unsigned long long)v[0]);
	/* Spread over the range, not a sliver of it (P(fail) ~ 0.2^16). */
	ck_assert_uint_lt(lo, REKEY_MS - REKEY_MS / 50);
}
END_TEST

/* Rekeying fails for good (every message lost): each SA is deleted
 * SESSION_REJECT_AFTER after its birth, not used on to the packet limit;
 * frames then wait, and keys come with the first handshake that gets
 * through. */
START_TEST(hard_lifetime)
{
	uint64_t born, limit = SESSION_REJECT_AFTER(REKEY_MS);

	handshake_pair();
	born = now;
	while (now + 1000 < born + limit) {
		now += 1000;
		tick(&A);
		tick(&B);
		net_n = 0;		/* every message lost */
	}
	ck_assert_ptr_nonnull(A.s->tx);
	ck_assert_ptr_nonnull(B.s->tx);
	now = born + limit;
	tick(&A);
	tick(&B);
	net_n = 0;
	ck_assert_ptr_null(A.s->tx);
	ck_assert_ptr_null(B.s->tx);
	for (unsigned i = 0; i < SESSION_SAS_MAX; i++)
		ck_assert_ptr_null(A.s->sas[i].sa);
	/* The path comes back: a handshake restores the keys. */
	run_to(now + 2 * SESSION_RETRY_MS + HS_RETRY_MAX_MS, 250);
	ck_assert_ptr_nonnull(A.s->tx);
	ck_assert_ptr_nonnull(B.s->tx);
}
END_TEST

/* The end whose deadline comes first rekeys exactly then, not before. */
START_TEST(rekey_by_time)
{
	uint64_t t_up, da, db, d;
	uint32_t old_a, old_b;
	struct side *first, *second;
	unsigned ia, ib;

	handshake_pair();
	t_up = now;
	old_a = A.s->tx->spi;
	old_b = B.s->tx->spi;
	da = t_up + session_rekey_in(A.s, now);
	db = t_up + session_rekey_in(B.s, now);
	ck_assert_uint_eq(da, A.s->rekey_at_ms);
	ck_assert_uint_eq(db, B.s->rekey_at_ms);
	d = da < db ? da : db;
	first = da <= db ? &A : &B;
	second = first == &A ? &B : &A;
	ck_assert_uint_ge(d - t_up, REKEY_MS - REKEY_MS / 10);
	ck_assert_uint_le(d - t_up, REKEY_MS);
	ia = A.inits_tx;
	ib = B.inits_tx;
	run_to(d - 1, 250);
	ck_assert_uint_eq(A.inits_tx, ia);
	ck_assert_uint_eq(B.inits_tx, ib);
	ck_assert_uint_eq(A.s->tx->spi, old_a);
	ck_assert_uint_eq(B.s->tx->spi, old_b);
	ck_assert(A.s->state == SESSION_UP && B.s->state == SESSION_UP);
	/* Due. */
	run_to(d, 1);
	ck_assert_uint_eq(first->inits_tx, (first == &A ? ia : ib) + 1);
	ck_assert_uint_eq(second->inits_tx, first == &A ? ib : ia);
	ck_assert_uint_eq(A.s->stats.handshakes, 2);
	ck_assert_uint_eq(B.s->stats.handshakes, 2);
	ck_assert_uint_ne(A.s->tx->spi, old_a);
	ck_assert_uint_ne(B.s->tx->spi, old_b);
	/* Both deadlines start over. */
	ck_assert_uint_ge(session_rekey_in(A.s, now), REKEY_MS - REKEY_MS / 10);
	ck_assert_uint_ge(session_rekey_in(B.s, now), REKEY_MS - REKEY_MS / 10);
	run_to(now + 5000, 250);
	ck_assert_uint_eq(A.inits_tx + B.inits_tx, ia + ib + 1);
	app_send(&A, 1);
	app_send(&B, 2);
	deliver_all();
	check_rx(&B, 1, 1);
	check_rx(&A, 2, 1);
}
END_TEST

START_TEST(rekey_by_packets)
{
	uint32_t old_a = 0;

	handshake_pair();
	old_a = A.s->tx->spi;
	A.s->tx->tx_seq = SESSION_REKEY_PACKETS - 2;
	app_send(&A, 1);
	ck_assert_uint_eq(A.s->tx->tx_seq, SESSION_REKEY_PACKETS - 1);
	now += 1;
	tick(&A);
	ck_assert_uint_eq(A.inits_tx, 1);
	ck_assert_uint_eq(A.s->tx->spi, old_a);
	app_send(&A, 2);
	ck_assert_uint_eq(A.s->tx->tx_seq, SESSION_REKEY_PACKETS);
	now += 1;
	tick(&A);
	ck_assert_uint_eq(A.inits_tx, 2);
	deliver_all();
	check_rx(&B, 1, 2);
	ck_assert_uint_ne(A.s->tx->spi, old_a);
	ck_assert_uint_lt(A.s->tx->tx_seq, 10);
	ck_assert_uint_eq(A.s->stats.handshakes, 2);
	now += 1;
	tick(&A);
	ck_assert_uint_eq(A.inits_tx, 2);
}
END_TEST

/* Make before break: what either end sealed with the old SAs still opens
 * after the rekey, until HS_GRACE_MS after the switch. */
START_TEST(make_before_break)
{
	struct pkt *pa = calloc(4, sizeof(*pa)), *pb = calloc(4, sizeof(*pb));
	struct pkt *p = malloc(sizeof(*p));
	uint32_t old_a, old_b;
	uint64_t t_sw;

	ck_assert_ptr_nonnull(pa);
	ck_assert_ptr_nonnull(pb);
	ck_assert_ptr_nonnull(p);
	handshake_pair();
	run_to(now + 2000, 250);
	old_a = A.s->tx->spi;
	old_b = B.s->tx->spi;
	for (uint32_t i = 0; i < 4; i++) {
		seal_held(&A, &pa[i], 10 + i);
		seal_held(&B, &pb[i], 20 + i);
	}
	kick(&A);
	ck_assert_uint_eq(A.inits_tx, 2);
	ck_assert_int_eq(deliver_one(), DROP_NONE);
	ck_assert_uint_eq(B.s->stats.handshakes, 2);
	/* B holds the new SAs but still sends with the old one. */
	ck_assert_uint_eq(B.s->tx->spi, old_b);
	ck_assert_uint_eq(n_sas(B.s, false), 2);
	seal_held(&B, p, 40);
	ck_assert_uint_eq(spi_of(p), old_b);
	ck_assert_int_eq(open_at(&A, p), DROP_NONE);
	ck_assert_int_eq(deliver_one(), DROP_NONE);	/* the response */
	ck_assert_uint_ne(A.s->tx->spi, old_a);
	deliver_all();					/* A's confirmation */
	ck_assert_uint_ne(B.s->tx->spi, old_b);
	ck_assert_uint_eq(n_sas(B.s, false), 1);
	ck_assert_uint_eq(n_sas(A.s, false), 1);
	t_sw = now;

	ck_assert_int_eq(open_at(&B, &pa[0]), DROP_NONE);
	ck_assert_int_eq(open_at(&A, &pb[0]), DROP_NONE);
	run_to(t_sw + HS_GRACE_MS - 1, 500);
	ck_assert_int_eq(open_at(&B, &pa[1]), DROP_NONE);
	ck_assert_int_eq(open_at(&A, &pb[1]), DROP_NONE);
	run_to(t_sw + HS_GRACE_MS, 1);
	ck_assert_int_eq(open_at(&B, &pa[2]), DROP_ESP_UNKNOWN_SPI);
	ck_assert_int_eq(open_at(&A, &pb[2]), DROP_ESP_UNKNOWN_SPI);
	ck_assert_uint_eq(n_sas(A.s, true), 1);
	ck_assert_uint_eq(n_sas(B.s, true), 1);
	/* The new SAs carry on. */
	app_send(&A, 50);
	app_send(&B, 60);
	deliver_all();
	ck_assert_uint_eq(B.n_rx, 3);
	ck_assert_uint_eq(B.rx_ids[0], 10);
	ck_assert_uint_eq(B.rx_ids[1], 11);
	ck_assert_uint_eq(B.rx_ids[2], 50);
	ck_assert_uint_eq(A.n_rx, 4);
	ck_assert_uint_eq(A.rx_ids[0], 40);
	ck_assert_uint_eq(A.rx_ids[1], 20);
	ck_assert_uint_eq(A.rx_ids[2], 21);
	ck_assert_uint_eq(A.rx_ids[3], 60);
	free(pa);
	free(pb);
	free(p);
}
END_TEST

/* Neither forgeries nor replays count toward the peer's limit, so they
 * cannot lock the real peer out (once, ten replays a second kept a peer
 * from ever rekeying); authentic new messages beyond HS_ANSWER_RATE a
 * second get no answer. */
START_TEST(hs_rate_limit)
{
	static uint8_t init[HS_MSG_MAX], bad[HS_MSG_MAX];
	struct msg *m;
	size_t len;
	uint64_t t;

	side_init(&C, "C", 'C', wrong_psk, REKEY_S);
	pair(&C, &B);
	kick(&C);
	m = net_take();
	memcpy(bad, m->p.data, m->p.len);
	for (int i = 0; i < 3 * HS_ANSWER_RATE; i++)
		ck_assert_int_eq(hs_at(&B, bad, HS_INIT_LEN),
		    DROP_HS_AUTH_FAILED);

	pair(&A, &B);
	kick(&A);
	m = net_take();
	len = m->p.len;
	memcpy(init, m->p.data, len);
	t = now;
	ck_assert_int_eq(hs_at(&B, init, len), DROP_NONE);
	ck_assert_uint_eq(B.s->stats.handshakes, 1);
	for (int i = 0; i < 3 * HS_ANSWER_RATE; i++)
		ck_assert_int_eq(hs_at(&B, init, len), DROP_HS_REPLAY);
	/* Real initiations still get through, up to the rate. */
	net_n = 0;
	for (int i = 1; i < HS_ANSWER_RATE; i++) {
		now++;		/* a newer timestamp */
		side_init(&C, "C", (uint8_t)('c' + i), psk, REKEY_S);
		pair(&C, &B);
		kick(&C);
		m = net_take();
		memcpy(init, m->p.data, m->p.len);
		ck_assert_int_eq(hs_at(&B, init, m->p.len), DROP_NONE);
		ck_assert_uint_eq(B.s->stats.handshakes, (uint64_t)i + 1);
		net_n = 0;
	}
	now++;
	side_init(&C, "C", 'z', psk, REKEY_S);
	pair(&C, &B);
	kick(&C);
	m = net_take();
	memcpy(init, m->p.data, m->p.len);
	ck_assert_int_eq(hs_at(&B, init, m->p.len), DROP_HS_RATE_LIMITED);
	ck_assert_uint_eq(B.s->stats.handshakes, HS_ANSWER_RATE);
	/* A window later, the same (unanswered, so not yet seen) message
	 * gets through. */
	now = t + 1000;
	net_n = 0;
	ck_assert_int_eq(hs_at(&B, init, m->p.len), DROP_NONE);
	ck_assert_uint_eq(B.s->stats.handshakes, HS_ANSWER_RATE + 1);
}
END_TEST

START_TEST(unknown_spi)
{
	static const uint8_t esp[40] = { 0x0b, 0xad, 0xf0, 0x0d, 0, 0, 0, 1 };
	static struct pkt p;
	uint64_t last;

	/* No SAs at all. */
	pkt_set(&p, esp, sizeof(esp));
	ck_assert_int_eq(open_at(&A, &p), DROP_ESP_UNKNOWN_SPI);
	handshake_pair();
	run_to(now + 1000, 250);
	ck_assert(!has_sa(A.s, 0x0badf00d, true));
	last = A.s->last_rx_ms;
	now += 10;
	pkt_set(&p, esp, sizeof(esp));
	ck_assert_int_eq(open_at(&A, &p), DROP_ESP_UNKNOWN_SPI);
	ck_assert_uint_eq(A.s->last_rx_ms, last);
	/* A's own packet reflected: its SPI is B's inbound, not A's. */
	seal_held(&A, &p, 1);
	ck_assert_int_eq(open_at(&A, &p), DROP_ESP_UNKNOWN_SPI);
	/* Too short to have an SPI. */
	pkt_set(&p, esp, 4);
	ck_assert_int_eq(open_at(&A, &p), DROP_TOO_SHORT);
	ck_assert_uint_eq(A.n_rx, 0);
}
END_TEST

START_TEST(wrong_psk_unanswered)
{
	uint64_t t0;

	side_init(&B, "B", 'B', wrong_psk, REKEY_S);
	pair(&A, &B);
	app_send(&A, 1);
	t0 = now;
	run_to(t0 + SESSION_UNANSWERED_MS - 1, 100);
	ck_assert_uint_eq(A.unanswered, 0);
	run_to(t0 + SESSION_UNANSWERED_MS, 1);
	ck_assert_uint_eq(A.unanswered, 1);
	ck_assert_uint_eq(A.first_unanswered_ms, t0 + SESSION_UNANSWERED_MS);
	/* Once per attempt, however long it retries. */
	run_to(t0 + HS_GIVEUP_MS - 1, 100);
	ck_assert_uint_eq(A.unanswered, 1);
	ck_assert_uint_gt(A.inits_tx, 3);
	ck_assert_uint_eq(A.s->stats.initiations, A.inits_tx);
	ck_assert_ptr_null(A.s->tx);
	ck_assert_ptr_null(B.s->tx);
	ck_assert_uint_eq(A.s->stats.handshakes, 0);
	ck_assert_uint_eq(B.s->stats.handshakes, 0);
	ck_assert_uint_eq(B.resps_tx, 0);
	ck_assert_uint_eq(B.hs_drops, A.inits_tx);
	ck_assert_int_eq(B.last_hs, DROP_HS_AUTH_FAILED);
	ck_assert_int_eq(A.s->state, SESSION_HANDSHAKING);
	ck_assert_uint_eq(A.s->n_queued, 1);
	ck_assert_uint_eq(A.new_sas + B.new_sas, 0);
	/* Given up: the frame is lost; the next attempt warns again. */
	run_to(t0 + HS_GIVEUP_MS + HS_RETRY_MAX_MS * 2, 100);
	ck_assert_uint_eq(A.s->n_queued, 0);
	ck_assert_uint_eq(A.s->stats.queue_drops, 1);
	ck_assert_int_ne(A.s->state, SESSION_UP);
	ck_assert_uint_eq(A.unanswered, 2);
	ck_assert_uint_eq(B.n_rx, 0);
}
END_TEST

START_TEST(rekey_in)
{
	uint64_t r, t;
	uint32_t old;

	ck_assert_uint_eq(session_rekey_in(A.s, now), 0);
	handshake_pair();
	t = now;
	r = session_rekey_in(A.s, now);
	ck_assert_uint_ge(r, REKEY_MS - REKEY_MS / 10);
	ck_assert_uint_le(r, REKEY_MS);
	ck_assert_uint_eq(session_rekey_in(A.s, t + 1000), r - 1000);
	ck_assert_uint_eq(session_rekey_in(A.s, t + r - 1), 1);
	ck_assert_uint_eq(session_rekey_in(A.s, t + r), 0);
	ck_assert_uint_eq(session_rekey_in(A.s, t + r + 5000), 0);
	ck_assert_uint_gt(session_rekey_in(B.s, now), 0);
	/* After a rekey, the new SA's (B's own deadline put off, so that it
	 * is A's that triggers it). */
	B.s->rekey_at_ms = UINT64_MAX;
	old = A.s->tx->spi;
	run_to(t + r - 1, 250);
	ck_assert_uint_eq(A.s->tx->spi, old);
	ck_assert_uint_eq(session_rekey_in(A.s, now), 1);
	run_to(t + r, 1);
	ck_assert_uint_ne(A.s->tx->spi, old);
	ck_assert_uint_ge(session_rekey_in(A.s, now),
	    REKEY_MS - REKEY_MS / 10);
	ck_assert_uint_le(session_rekey_in(A.s, now), REKEY_MS);
}
END_TEST

/* Freed with frames waiting and SAs live (valgrind: no leaks). */
START_TEST(free_busy)
{
	static struct pkt p;

	handshake_pair();
	run_to(now + 1000, 250);
	kick(&B);				/* rekey: retiring SAs */
	deliver_all();
	ck_assert_uint_ge(n_sas(A.s, true), 2);
	ck_assert_uint_ge(n_sas(B.s, true), 2);
	for (uint32_t i = 0; i < SESSION_QUEUE_MAX + 2; i++) {
		make_frame(&p, i);
		session_enqueue(A.s, &p);
	}
	make_frame(&p, 1);
	session_enqueue(B.s, &p);
	/* And one that never got keys, with a handshake under way. */
	side_init(&C, "C", 'C', psk, REKEY_S);
	C.peer = &A;
	C.cut = true;
	app_send(&C, 1);
	app_send(&C, 2);
	ck_assert_uint_eq(C.s->n_queued, 2);
	ck_assert_int_gt(sodium_live, 0);
	session_free(NULL);
	session_free(A.s);
	session_free(B.s);
	session_free(C.s);
	A.s = B.s = C.s = NULL;
	/* Every SA, key copy and handshake secret went back. */
	ck_assert_int_eq(sodium_live, 0);
}
END_TEST

/* Too many handshakes answered in a row, every response lost (a lossy
 * path back to the initiator): the responder keeps the SAs the handshake
 * lists, its key exchange never gets ahead of its SA table, and once a
 * response arrives the initiator's packets open. */
START_TEST(rekey_lost_responses)
{
	handshake_pair();
	run_to(now + 2000, 250);
	kick(&A);
	for (unsigned i = 0; i < 4; i++) {
		/* B answers; the answer is lost. */
		ck_assert_uint_eq(net_n, 1);
		ck_assert(net_peek(0)->hs);
		ck_assert_int_eq(deliver_one(), DROP_NONE);
		ck_assert_uint_eq(B.resps_tx, i + 2);
		ck_assert_uint_eq(net_n, 1);
		(void)net_take();
		/* Time passes, keepalives flow, until A retransmits (a fresh
		 * initiation), which waits on the wire. */
		while (A.inits_tx < i + 3) {
			now += 50;
			tick(&A);
			tick(&B);
			deliver_esp();
		}
	}
	deliver_all();
	ck_assert_uint_eq(B.resps_tx, 6);
	ck_assert_uint_eq(A.s->stats.handshakes, 2);
	ck_assert_uint_eq(B.s->stats.handshakes, 6);
	ck_assert_ptr_nonnull(A.s->tx);
	ck_assert(has_sa(B.s, A.s->tx->spi, true));
	app_send(&A, 1);
	app_send(&B, 2);
	deliver_all();
	ck_assert_uint_eq(B.esp_drops, 0);
	check_rx(&B, 1, 1);
	check_rx(&A, 2, 1);
}
END_TEST

START_TEST(state_names)
{
	ck_assert_str_eq(session_state_name(SESSION_NEW), "new");
	ck_assert_str_eq(session_state_name(SESSION_HANDSHAKING),
	    "handshaking");
	ck_assert_str_eq(session_state_name(SESSION_UP), "up");
	ck_assert_str_eq(session_state_name(SESSION_DOWN), "down");
	ck_assert_str_eq(session_state_name((enum session_state)42), "?");
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, first_frame_kicks);
	tcase_add_test(tc, keys_in_one_round_trip);
	tcase_add_test(tc, responder_waits_for_confirmation);
	tcase_add_test(tc, queue_bound);
	tcase_add_test(tc, queue_ring);
	tcase_add_test(tc, esp_both_ways);
	tcase_add_test(tc, keepalive_when_idle);
	tcase_add_test(tc, responder_first_keepalive);
	tcase_add_test(tc, dead_peer_down_retry_up);
	tcase_add_test(tc, down_then_esp_up);
	tcase_add_test(tc, rekey_jitter_bounds);
	tcase_add_test(tc, rekey_by_time);
	tcase_add_test(tc, hard_lifetime);
	tcase_add_test(tc, rekey_by_packets);
	tcase_add_test(tc, make_before_break);
	tcase_add_test(tc, hs_rate_limit);
	tcase_add_test(tc, unknown_spi);
	tcase_add_test(tc, wrong_psk_unanswered);
	tcase_add_test(tc, rekey_in);
	tcase_add_test(tc, free_busy);
	tcase_add_test(tc, rekey_lost_responses);
	tcase_add_test(tc, state_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return EXIT_FAILURE;
	/* Any 32 bytes do: session_new takes the derived key. */
	memset(psk, 0x5a, sizeof(psk));
	memset(wrong_psk, 0x5b, sizeof(wrong_psk));
	return run_suite(session_suite());
}
