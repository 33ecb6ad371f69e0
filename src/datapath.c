/* The data path's set-up, the flush that ends every batch, and the main
 * thread's part: sessions (key exchange messages out, keys handed to the
 * worker that sends), timers, path MTU checks, the workers' requests.
 * The two directions are dp-tx.c and dp-rx.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <sodium.h>

#include "dp-private.h"
#include "log.h"
#include "peer.h"
#include "session.h"

int
dp_init(struct datapath *dp, unsigned id, struct dp_shared *sh, int tap_fd)
{
	dp->id = id;
	dp->sh = sh;
	dp->tap_fd = tap_fd;
	for (size_t i = 0; i < SOCK_BATCH; i++) {
		dp->batch[i] = malloc(sizeof(struct pkt));
		dp->flood[i] = malloc(sizeof(struct pkt));
		if (dp->batch[i] == NULL || dp->flood[i] == NULL)
			return -ENOMEM;
	}
	if ((dp->icmp = malloc(sizeof(struct pkt))) == NULL)
		return -ENOMEM;
	if (tap_fd < 0) {
		uint8_t fresh[48];

		if ((dp->guard = malloc(sizeof(*dp->guard))) == NULL)
			return -ENOMEM;
		randombytes_buf(fresh, sizeof(fresh));
		hs_guard_init(dp->guard, fresh);
		sodium_memzero(fresh, sizeof(fresh));
		return 0;
	}
	/* Large, but only touched with offloads on, page by page. */
	if ((dp->arena = malloc(sizeof(*dp->arena))) == NULL ||
	    (dp->gro = malloc(sizeof(*dp->gro))) == NULL)
		return -ENOMEM;
	gro_init(dp->gro);
	dp->arena->used = 0;
	return 0;
}

void
dp_free(struct datapath *dp)
{
	if (dp->guard != NULL)
		sodium_memzero(dp->guard, sizeof(*dp->guard));
	free(dp->guard);
	dp->guard = NULL;
	for (size_t i = 0; i < SOCK_BATCH; i++) {
		free(dp->batch[i]);
		free(dp->flood[i]);
		dp->batch[i] = dp->flood[i] = NULL;
	}
	free(dp->icmp);
	free(dp->arena);
	free(dp->gro);
	dp->icmp = NULL;
	dp->arena = NULL;
	dp->gro = NULL;
}

void
dp_counters_add(struct dp_counters *sum, const struct dp_counters *c)
{
	const uint64_t *from = (const uint64_t *)c;
	uint64_t *to = (uint64_t *)sum;

	_Static_assert(sizeof(*c) % sizeof(uint64_t) == 0, "all counters");
	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		to[i] += from[i];
}

void
dp_flush(struct datapath *dp)
{
	while (dp->pending != NULL) {
		struct sock *s = dp->pending;

		dp_sock_flush(dp, s);
		dp->pending = s->next_pending;
		s->pending = false;
		s->next_pending = NULL;
	}
	dp->n_flood = 0;
}

/* The key exchange itself is sent from here; the rest is handed to the
 * worker that sends for the main thread. */
void
dp_session_out(struct datapath *dp, struct peer *peer,
    struct session_out *out, uint64_t now)
{
	struct session *s = peer->session;
	struct dp_request send = { .type = DP_REQ_SEND, .session = s };
	struct pkt *p;

	peer_report_session(peer, out);
	if (out->unanswered)
		log_warn("peer %s: no answer to the key exchange: the peer "
		    "is down or unreachable (firewall: UDP handshake_port), "
		    "or the ends differ in psk, encap, key/VNI or cipher "
		    "(its log says so)", peer->cfg.name);
	for (unsigned i = 0; i < out->n_new_sas; i++) {
		const struct session_sa *ss = out->new_sas[i];

		log_info("peer %s: new %s SA 0x%08x", peer->cfg.name,
		    ss->inbound ? "inbound" : "outbound", ss->sa->spi);
		if (dp->keylog != NULL)
			dp->keylog(dp->keylog_arg, peer, ss);
	}
	if (out->hs_len > 0) {
		p = dp_scratch(dp);
		pkt_set(p, out->hs_msg, out->hs_len);
		dp_sock_queue(dp, peer->hs_sock, p, &peer->hs_dst,
		    peer->hs_dst_len);
	}
	send.flush = out->keys_ready;
	send.keepalive = out->keepalive;
	if ((send.flush || send.keepalive) && s->tx != NULL)
		dp_post(dp->sh->send_inbox, &send);
}

#define PMTU_CHECK_MS	1000	/* the peers' route MTUs, this often */

/* The kernel learns of a smaller underlay path from ICMP for our outer
 * packets, and forgets it after a while (net.ipv4.route.mtu_expires):
 * each peer's frame_max follows its route MTU, checked every second, and
 * at the next tick after a send failed. */
static void
dp_pmtu_check(struct datapath *dp, uint64_t now)
{
	bool soon = __atomic_exchange_n(&dp->sh->pmtu_recheck, false,
	    __ATOMIC_RELAXED);

	if (!soon && now - dp->pmtu_checked_ms < PMTU_CHECK_MS)
		return;
	dp->pmtu_checked_ms = now;
	for (size_t i = 0; i < dp->peers->n; i++)
		peer_path_mtu_refresh(&dp->peers->peers[i]);
}

void
dp_timer(struct datapath *dp, uint64_t now)
{
	dp_pmtu_check(dp, now);
	for (size_t i = 0; i < dp->peers->n; i++) {
		struct peer *peer = &dp->peers->peers[i];
		struct session_out out = { 0 };

		if (peer->session == NULL)
			continue;
		session_timer(peer->session, now, &out);
		dp_session_out(dp, peer, &out, now);
	}
	dp_flush(dp);
}

void
dp_start_sessions(struct datapath *dp, uint64_t now)
{
	for (size_t i = 0; i < dp->peers->n; i++) {
		struct peer *peer = &dp->peers->peers[i];
		struct session_out out = { 0 };

		if (peer->session == NULL || peer->session->tx != NULL)
			continue;
		session_kick(peer->session, now, &out);
		dp_session_out(dp, peer, &out, now);
	}
	dp_flush(dp);
}

/* What a worker asked of the main thread. */
void
dp_main_request(struct datapath *dp, const struct dp_request *r,
    uint64_t now)
{
	struct session *s = r->session;
	struct session_out out = { 0 };

	switch (r->type) {
	case DP_REQ_KICK:
		session_kick(s, now, &out);
		break;
	case DP_REQ_CONFIRM:
		session_confirm(s, r->spi, now, &out);
		break;
	default:
		return;
	}
	dp_session_out(dp, s->owner, &out, now);
	dp_flush(dp);
}
