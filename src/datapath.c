#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "byteorder.h"
#include "codec.h"
#include "csum.h"
#include "datapath.h"
#include "fdb.h"
#include "flow.h"
#include "log.h"
#include "peer.h"
#include "offload.h"
#include "pmtu.h"
#include "session.h"
#include "tap.h"
#include "underlay.h"
#include "wire.h"

/* With offloads on, TAP reads land one after another here, and the
 * segments cut from them point into it until they are sent: room for a
 * few of the largest superframes, or many small ones, per sendmmsg. */
#define TAP_ARENA_SIZE	(4 * VNET_READ_MAX)

struct tap_arena {
	size_t	used;
	uint8_t	buf[TAP_ARENA_SIZE];
};

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
	if (tap_fd < 0)
		return 0;
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

/* The main thread looks at the peers' route MTUs again soon. */
static void
dp_pmtu_recheck(struct datapath *dp)
{
	__atomic_store_n(&dp->sh->pmtu_recheck, true, __ATOMIC_RELAXED);
}

static void
dp_drop(struct datapath *dp, enum drop_reason why)
{
	dp->c.drops[why]++;
}

/* Sends what the batch queued, touching only the sockets it used. */
static void
dp_flush(struct datapath *dp)
{
	while (dp->pending != NULL) {
		struct sock *s = dp->pending;
		unsigned failed = sock_flush(s);

		/* EMSGSIZE, most likely: the underlay path shrank. */
		if (failed > 0)
			dp_pmtu_recheck(dp);
		dp->c.drops[DROP_TX_ERROR] += failed;
		dp->pending = s->next_pending;
		s->pending = false;
		s->next_pending = NULL;
	}
	dp->n_flood = 0;
}

static int
encap(struct pkt *p, const struct tunnel_params *tun)
{
	switch (tun->encap) {
	case ENCAP_GRETAP:
		return gre_encap(p, tun->has_key, tun->key);
	case ENCAP_VXLAN:
		return vxlan_encap(p, tun->key);
	case ENCAP_GENEVE:
		return geneve_encap(p, tun->key, NULL, 0);
	}
	return -EINVAL;
}

static enum drop_reason
decap(struct pkt *p, const struct tunnel_params *tun)
{
	struct tunnel_hdr hdr;
	enum drop_reason why;

	switch (tun->encap) {
	case ENCAP_GRETAP:
		why = gre_decap(p, &hdr);
		break;
	case ENCAP_VXLAN:
		why = vxlan_decap(p, &hdr);
		break;
	case ENCAP_GENEVE:
		why = geneve_decap(p, &hdr);
		break;
	default:
		return DROP_WRONG_ENCAP;
	}
	if (why != DROP_NONE)
		return why;
	if (hdr.has_key != tun->has_key || (tun->has_key &&
	    hdr.key != tun->key))
		return DROP_WRONG_KEY;
	return DROP_NONE;
}

/* Queues p on s, which joins the list of sockets to flush. */
static void
dp_sock_queue(struct datapath *dp, struct sock *s, struct pkt *p,
    const struct sockaddr_storage *dst, socklen_t dst_len)
{
	if (!s->pending) {
		s->pending = true;
		s->next_pending = dp->pending;
		dp->pending = s;
	}
	dp->c.drops[DROP_TX_ERROR] += sock_queue(s, p,
	    (const struct sockaddr *)dst, dst_len);
}

/* The socket this thread sends a packet of flow to peer on: one of its
 * sockets of the peer's class, the same for every packet of the flow. */
static struct sock *
dp_peer_sock(const struct datapath *dp, const struct peer *peer,
    uint32_t flow)
{
	const struct sock_pool *pool = &peer->uc->pool[dp->id];

	return pool->s[flow % pool->n];
}

/* Hands a finished packet to socket s; p stays owned by the batch until
 * the flush at the end of it. */
static void
dp_queue(struct datapath *dp, struct peer *peer, struct sock *s,
    struct pkt *p, size_t inner, uint64_t now)
{
	struct peer_counters *c = &peer->c[dp->id];

	c->tx_packets++;
	c->tx_bytes += inner;
	c->last_tx_ms = now;
	dp->c.sock_tx_packets++;
	dp->c.sock_tx_bytes += pkt_total(p);
	dp_sock_queue(dp, s, p, &peer->dst, peer->dst_len);
}

/* A buffer for a packet the batch did not bring: a flood copy, a
 * handshake message, a keepalive. When the pool runs dry, what is queued
 * goes out first. */
static struct pkt *
dp_scratch(struct datapath *dp)
{
	if (dp->n_flood == SOCK_BATCH)
		dp_flush(dp);
	return dp->flood[dp->n_flood++];
}

/* ESP transport mode protects what the kernel would otherwise have
 * added: for VXLAN and Geneve, the UDP header. Over IPv4 its checksum is
 * zero, as RFC 7348 (5) advises for VXLAN and RFC 8926 (3.4) allows for
 * Geneve: the ICV covers more than it would, and summing every packet
 * costs a pass over it. Over IPv6 it covers the outer addresses, as RFC
 * 8200 requires. */
static int
udp_push(struct pkt *p, const struct peer *peer)
{
	const struct ovt_addr *src = &peer->src, *dst = &peer->cfg.remote;
	uint16_t port = peer->cfg.tun.port;
	uint8_t pseudo[4];
	uint8_t *h;
	uint64_t sum;
	uint16_t csum;

	if (p->len + UDP_HLEN > 0xffff || (h = pkt_push(p, UDP_HLEN)) == NULL)
		return -ENOSPC;
	be16_put(h, port);
	be16_put(h + 2, port);
	be16_put(h + 4, (uint16_t)p->len);
	be16_put(h + 6, 0);
	if (dst->family == AF_INET)
		return 0;
	be16_put(pseudo, IPPROTO_UDP);
	be16_put(pseudo + 2, (uint16_t)p->len);
	sum = csum_partial((const uint8_t *)&src->v6, 16, 0);
	sum = csum_partial((const uint8_t *)&dst->v6, 16, sum);
	sum = csum_partial(pseudo, sizeof(pseudo), sum);
	csum = (uint16_t)~csum_fold(csum_partial(h, p->len, sum));
	be16_put(h + 6, csum != 0 ? csum : 0xffff);
	return 0;
}

/*
 * Path MTU. A frame larger than its peer's path takes (peer->frame_max,
 * from the underlay route MTU less the encapsulation) is either sent with
 * the outer DF bit clear, for the kernel to fragment the outer packet, or
 * dropped; its sender then hears of it (ICMP "fragmentation needed" or
 * ICMPv6 "packet too big", through the TAP), so that its own path MTU
 * discovery converges. Which, by the kind of frame and pmtu.df:
 *
 *                         fits        too big
 *   IPv4, DF set          outer DF*   ICMP, drop (pmtu_icmp = no: drop,
 *                                     or fragment when df = unset)
 *   IPv6                  outer DF*   ICMPv6, drop (the same); up to
 *                                     1280 bytes of IPv6: fragment
 *   IPv4, DF clear        outer DF*   fragment (df = set: ICMP, drop)
 *   anything else         outer DF*   fragment (df = set: drop)
 *
 *   * df = inherit: outer DF set for IPv4 with DF and for IPv6; set:
 *     always; unset: never.
 *
 * TCP SYNs in both directions have their MSS clamped to the path (or
 * below clamp_mss = N), so TCP never sends a segment too big to begin
 * with. Frames that fit are not copied or touched otherwise.
 */
#define ICMP_COST_MS	10	/* 100 answers a second ... */
#define ICMP_BURST_MS	1000	/* ... in bursts of up to 100 */
#define PMTU_CHECK_MS	1000	/* the peers' route MTUs, this often */

/* The outer DF bit for p, a frame about to go to peer: see above. A
 * frame too big to fit was let through to be fragmented. */
static int
dp_outer_df(const struct peer *peer, const struct pkt *p)
{
	enum pmtu_kind kind = pmtu_classify(p->data, p->len, NULL);

	if (pkt_total(p) > peer_frame_max(peer))
		return 0;
	switch (peer->cfg.pmtu.df) {
	case DF_SET:
		return 1;
	case DF_UNSET:
		return 0;
	case DF_INHERIT:
		break;
	}
	return kind == PMTU_IPV4_DF || kind == PMTU_IPV6;
}

/* Sets the outer DF bit of what s sends next: the socket option, which
 * applies at sendmmsg(), so what is queued goes out first. The kernel
 * then fragments (clear) or refuses with EMSGSIZE what exceeds its route
 * MTU (set; IPv6: IPV6_MTU_DISCOVER, the sender's own fragmentation). */
static void
dp_set_df(struct datapath *dp, struct sock *s, int df)
{
	int v = df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;

	_Static_assert(IP_PMTUDISC_DO == IPV6_PMTUDISC_DO &&
	    IP_PMTUDISC_DONT == IPV6_PMTUDISC_DONT, "one value, both families");
	if (s->df_state == (df ? 2 : 1))
		return;
	if (s->n_tx > 0) {
		unsigned failed = sock_flush(s);

		if (failed > 0)
			dp_pmtu_recheck(dp);
		dp->c.drops[DROP_TX_ERROR] += failed;
	}
	if (setsockopt(s->fd, s->family == AF_INET6 ? IPPROTO_IPV6 :
	    IPPROTO_IP, s->family == AF_INET6 ? IPV6_MTU_DISCOVER :
	    IP_MTU_DISCOVER, &v, sizeof(v)) < 0) {
		log_rl(LOG_WARNING, "setting the outer DF bit: %m");
		return;
	}
	s->df_state = df ? 2 : 1;
}

/* Each worker has its share of the daemon's rate. */
static bool
dp_icmp_allowed(struct datapath *dp, uint64_t now)
{
	uint64_t cost = ICMP_COST_MS * dp->sh->n_workers;

	dp->icmp_credit_ms += now - dp->icmp_last_ms;
	dp->icmp_last_ms = now;
	if (dp->icmp_credit_ms > ICMP_BURST_MS)
		dp->icmp_credit_ms = ICMP_BURST_MS;
	if (dp->icmp_credit_ms < cost) {
		dp->c.icmp_rate_limited++;
		return false;
	}
	dp->icmp_credit_ms -= cost;
	return true;
}

/* Writes a frame, in n pieces of len bytes in all, to the TAP, behind the
 * virtio_net_hdr it expects when offloads are on (all zero: a plain
 * frame); counts what went through. */
static int
dp_tap_writev(struct datapath *dp, const uint8_t *vnet, const struct iovec *iov,
    unsigned n, size_t len, unsigned segs)
{
	static const uint8_t plain[VNET_HDR_LEN];
	struct iovec all[1 + GRO_MAX_SEGS];
	ssize_t got;

	if (n > GRO_MAX_SEGS)
		return -1;
	all[0].iov_base = (void *)(vnet != NULL ? vnet : plain);
	all[0].iov_len = VNET_HDR_LEN;
	memcpy(all + 1, iov, n * sizeof(*iov));
	if (dp->tap->vnet)
		got = writev(dp->tap_fd, all, (int)n + 1);
	else
		got = writev(dp->tap_fd, all + 1, (int)n);
	if (got < 0) {
		log_rl(LOG_WARNING, "%s: write: %m", dp->tap->name);
		return -1;
	}
	dp->c.tap_tx_packets += segs;
	dp->c.tap_tx_bytes += len;
	dp->c.tap_superframes_tx += segs > 1;
	return 0;
}

static int
dp_tap_write(struct datapath *dp, const uint8_t *frame, size_t len)
{
	struct iovec iov = { (void *)frame, len };

	return dp_tap_writev(dp, NULL, &iov, 1, len, 1);
}

/* Tells the sender of p, through the TAP, that mtu bytes of IP is what
 * the path takes. */
static void
dp_answer_too_big(struct datapath *dp, struct pkt *p,
    enum pmtu_kind kind, size_t mtu, uint64_t now)
{
	int ret;

	if (!dp_icmp_allowed(dp, now))
		return;
	/* The answer quotes the frame: a segment's payload comes along. */
	if (pkt_linearize(p) < 0)
		return;
	if (kind == PMTU_IPV6)
		ret = icmp6_packet_too_big(p->data, p->len, mtu < IPV6_MIN_MTU ?
		    IPV6_MIN_MTU : (unsigned)mtu, dp->icmp);
	else
		ret = icmp4_frag_needed(p->data, p->len, (unsigned)mtu,
		    dp->icmp);
	if (ret < 0)
		return;
	if (dp_tap_write(dp, dp->icmp->data, dp->icmp->len) < 0)
		return;
	if (kind == PMTU_IPV6)
		dp->c.icmp6_too_big_sent++;
	else
		dp->c.icmp_frag_needed_sent++;
}

/* Clamps a SYN's MSS to peer's path; then whether p may go to peer (as
 * it is, or to be fragmented), or was dropped (and answered). */
static bool
dp_fit(struct datapath *dp, struct peer *peer, struct pkt *p, uint64_t now)
{
	const struct pmtu_params *pm = &peer->cfg.pmtu;
	size_t l2 = ETH_HLEN_, frame_max = peer_frame_max(peer);
	enum pmtu_kind kind;
	bool answer;

	if (pm->clamp_mss && tcp_mss_clamp(p->data, p->len, frame_max,
	    pm->mss_cap))
		dp->c.mss_clamped++;
	if (pkt_total(p) <= frame_max)
		return true;
	kind = pmtu_classify(p->data, p->len, &l2);
	answer = pm->icmp && (kind == PMTU_IPV4_DF || kind == PMTU_IPV6 ||
	    (kind == PMTU_IPV4 && pm->df == DF_SET));
	/* IPv6 promises 1280 bytes; only fragmenting keeps that promise on
	 * a path that is smaller still. */
	if (kind == PMTU_IPV6 && pkt_total(p) - l2 <= IPV6_MIN_MTU)
		answer = false;
	else if (answer || (pm->df != DF_UNSET && (pm->df == DF_SET ||
	    kind == PMTU_IPV4_DF || kind == PMTU_IPV6))) {
		if (answer)
			dp_answer_too_big(dp, p, kind, frame_max - l2, now);
		dp_drop(dp, DROP_PATH_MTU);
		return false;
	}
	dp->c.outer_fragmented++;
	return true;
}

/* Encrypted peers: encap, the UDP header where the encap rides on UDP,
 * then ESP. Without keys yet the frame waits, and the main thread is
 * asked for a handshake. */
static void
dp_send_sealed(struct datapath *dp, struct peer *peer, struct pkt *p,
    uint32_t flow, uint64_t now)
{
	struct session *s = peer->session;
	struct sock *sock = dp_peer_sock(dp, peer, flow);
	size_t inner = pkt_total(p);
	bool gre = peer->cfg.tun.encap == ENCAP_GRETAP;
	int df = dp_outer_df(peer, p);

	if (s->tx == NULL) {
		struct dp_request kick = { .type = DP_REQ_KICK, .session = s };

		if (!session_enqueue(s, p))
			dp_drop(dp, DROP_QUEUE_FULL);
		if (session_want_kick(s))
			dp_post(dp->sh->main_inbox, &kick);
		return;
	}
	/* ESP seals the packet in place, in one piece. */
	if (pkt_linearize(p) < 0 || encap(p, &peer->cfg.tun) < 0 ||
	    (!gre && udp_push(p, peer) < 0) ||
	    session_seal(s, p, gre ? IPPROTO_GRE_ : IPPROTO_UDP, now) < 0) {
		dp_drop(dp, DROP_NO_HEADROOM);
		return;
	}
	dp_set_df(dp, sock, df);
	dp_queue(dp, peer, sock, p, inner, now);
}

/* Wraps p, of flow, for peer and queues it. */
static void
dp_send(struct datapath *dp, struct peer *peer, struct pkt *p, uint32_t flow,
    uint64_t now)
{
	size_t inner = pkt_total(p);
	struct sock *sock;
	int df;

	if (!dp_fit(dp, peer, p, now))
		return;
	if (peer->session != NULL) {
		dp_send_sealed(dp, peer, p, flow, now);
		return;
	}
	df = dp_outer_df(peer, p);
	if (encap(p, &peer->cfg.tun) < 0) {
		dp_drop(dp, DROP_NO_HEADROOM);
		return;
	}
	sock = dp_peer_sock(dp, peer, flow);
	dp_set_df(dp, sock, df);
	dp_queue(dp, peer, sock, p, inner, now);
}

/* An ESP dummy packet (RFC 4303 section 2.6, next header 59): keeps an
 * idle tunnel's dead peer detection fed and confirms new keys. */
static void
dp_send_keepalive(struct datapath *dp, struct peer *peer, uint64_t now)
{
	struct pkt *p = dp_scratch(dp);

	pkt_reset(p);
	if (session_seal(peer->session, p, IPPROTO_NONE, now) < 0)
		return;
	__atomic_fetch_add(&peer->session->stats.keepalives_tx, 1,
	    __ATOMIC_RELAXED);
	dp_queue(dp, peer, dp_peer_sock(dp, peer, 0), p, 0, now);
}

/* What the main thread asked of this worker. */
void
dp_worker_request(struct datapath *dp, const struct dp_request *r,
    uint64_t now)
{
	struct session *s = r->session;
	struct peer *peer = s->owner;
	bool sent = false;

	if (r->type != DP_REQ_SEND || s->tx == NULL)
		return;
	while (r->flush) {
		struct pkt *p = dp_scratch(dp);

		if (!session_dequeue(s, p))
			break;
		dp_send_sealed(dp, peer, p, flow_hash(p->data, p->len,
		    dp->sh->flow_key), now);
		sent = true;
	}
	if (r->keepalive && !sent)
		dp_send_keepalive(dp, peer, now);
	dp_flush(dp);
}

/* The main thread: carries out what a session call asked for, the key
 * exchange itself, and hands the rest to the worker that sends for it. */
static void
dp_session_out(struct datapath *dp, struct peer *peer,
    struct session_out *out, uint64_t now)
{
	struct session *s = peer->session;
	struct dp_request send = { .type = DP_REQ_SEND, .session = s };
	struct pkt *p;

	if (out->unanswered)
		log_warn("peer %s: no answer to the key exchange; the psk "
		    "differs, or the peer is down", peer->cfg.name);
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

/* Head-end replication: a copy for every peer but the last, which takes
 * the frame itself. The copies come from a pool the size of a batch; when
 * it runs dry, what is queued goes out first. */
static void
dp_flood(struct datapath *dp, struct pkt *p, uint32_t flow, uint64_t now)
{
	struct peer_table *t = dp->peers;

	if (t->n == 0) {
		dp_drop(dp, DROP_NO_PEERS);
		return;
	}
	dp->c.flooded++;
	for (size_t i = 0; i + 1 < t->n; i++) {
		struct pkt *copy = dp_scratch(dp);

		if (pkt_copy(copy, p) < 0) {
			dp_drop(dp, DROP_FRAME_TOO_BIG);
			continue;
		}
		dp_send(dp, &t->peers[i], copy, flow, now);
	}
	dp_send(dp, &t->peers[t->n - 1], p, flow, now);
}

/* A frame's size and source address, whichever side it came from. */
static enum drop_reason
dp_check_frame(const struct datapath *dp, const struct pkt *p)
{
	size_t max = dp->frame_max, len = pkt_total(p);

	if (p->len < ETH_HLEN_)
		return DROP_RUNT_FRAME;
	/* An 802.1Q tag may ride on top of a full-MTU payload. */
	if (len > max - ETH_VLAN_HLEN && !(p->data[12] == 0x81 &&
	    p->data[13] == 0x00))
		return DROP_FRAME_TOO_BIG;
	if (len > max)
		return DROP_FRAME_TOO_BIG;
	if (!mac_is_valid_source(p->data + 6))
		return DROP_BAD_SOURCE_MAC;
	return DROP_NONE;
}

/* Where a frame from the TAP goes: decided by its Ethernet header (and
 * size), which every segment of a superframe shares with the first, the
 * largest; so a superframe is checked, learned and looked up once. */
struct tap_dest {
	enum drop_reason drop;		/* DROP_NONE: it goes out */
	struct peer	*peer;		/* to this peer; NULL: flooded */
	uint32_t	 flow;		/* flow_hash */
};

static struct tap_dest
dp_tap_dest(struct datapath *dp, const struct pkt *p, uint64_t now)
{
	struct tap_dest d = { DROP_NONE, NULL, 0 };
	const struct peer *owner;

	if ((d.drop = dp_check_frame(dp, p)) != DROP_NONE)
		return d;
	d.flow = flow_hash(p->data, p->len, dp->sh->flow_key);
	fdb_learn(dp->fdb, p->data + 6, NULL, now);
	if (mac_is_multicast(p->data) ||
	    !fdb_lookup(dp->fdb, p->data, now, &owner))
		return d;
	if (owner == NULL)
		d.drop = DROP_LOCAL_DESTINATION;
	else
		d.peer = (struct peer *)owner;
	return d;
}

static void
dp_tap_forward(struct datapath *dp, struct pkt *p, const struct tap_dest *d,
    uint64_t now)
{
	if (d->drop != DROP_NONE)
		dp_drop(dp, d->drop);
	else if (d->peer == NULL)
		dp_flood(dp, p, d->flow, now);
	else
		dp_send(dp, d->peer, p, d->flow, now);
}

static void
dp_from_tap(struct datapath *dp, struct pkt *p, uint64_t now)
{
	struct tap_dest d = dp_tap_dest(dp, p, now);

	dp_tap_forward(dp, p, &d, now);
}

/* The TAP is gone (its namespace was deleted, say) rather than busy. */
static bool
tap_is_gone(int err)
{
	return err == EBADFD || err == EIO || err == ENODEV || err == ENXIO;
}

/* One read of the TAP without offloads: whole frames into the batch. */
static int
dp_tap_read_plain(struct datapath *dp, uint64_t now)
{
	unsigned n;
	int ret = 0;

	for (n = 0; n < SOCK_BATCH; n++) {
		struct pkt *p = dp->batch[n];
		ssize_t got;

		pkt_reset(p);
		got = read(dp->tap_fd, p->data, pkt_tailroom(p));
		if (got < 0) {
			ret = -errno;
			break;
		}
		p->len = (size_t)got;
		dp->c.tap_rx_packets++;
		dp->c.tap_rx_bytes += p->len;
	}
	for (unsigned i = 0; i < n; i++)
		dp_from_tap(dp, dp->batch[i], now);
	return ret;
}

/* Cuts one superframe into frames in the batch and sends them on; *used
 * counts the batch slots taken, which are flushed when they run out. */
static void
dp_tap_segment(struct datapath *dp, const uint8_t *frame, size_t len,
    const struct vnet_hdr *h, unsigned *used, uint64_t now)
{
	struct seg_out out = { .skip = 0 };
	struct tap_dest dest;
	int ret;

	do {
		if (*used == SOCK_BATCH) {
			dp_flush(dp);
			*used = 0;
		}
		out.pkts = dp->batch + *used;
		out.max = SOCK_BATCH - *used;
		if ((ret = tso_segment(frame, len, h, &out)) < 0) {
			dp_drop(dp, ret == -EPROTONOSUPPORT ?
			    DROP_GSO_UNSUPPORTED : DROP_BAD_VNET_HDR);
			return;
		}
		for (size_t i = 0; i < out.n; i++) {
			dp->c.tap_rx_packets++;
			dp->c.tap_rx_bytes += pkt_total(out.pkts[i]);
			if (out.skip + i == 0)
				dest = dp_tap_dest(dp, out.pkts[i], now);
			dp_tap_forward(dp, out.pkts[i], &dest, now);
		}
		*used += (unsigned)out.n;
		out.skip += out.n;
	} while (out.skip < out.total);
	dp->c.tap_superframes_rx += out.total > 1;
}

/* With offloads on: up to a batch of reads, superframes segmented. The
 * reads fill the arena, which is sent and emptied when it has no room
 * for another. */
static int
dp_tap_read_vnet(struct datapath *dp, uint64_t now)
{
	struct tap_arena *a = dp->arena;
	unsigned used = 0;

	for (unsigned reads = 0; reads < SOCK_BATCH; reads++) {
		struct vnet_hdr h;
		uint8_t *buf;
		ssize_t got;

		if (sizeof(a->buf) - a->used < VNET_READ_MAX) {
			dp_flush(dp);
			used = 0;
			a->used = 0;
		}
		buf = a->buf + a->used;
		if ((got = read(dp->tap_fd, buf, VNET_READ_MAX)) < 0)
			return -errno;
		if (vnet_parse(buf, (size_t)got, &h) < 0) {
			dp_drop(dp, DROP_BAD_VNET_HDR);
			continue;
		}
		/* Kept 8-aligned, as the checksum loop prefers. */
		a->used += ((size_t)got + 7) & ~(size_t)7;
		dp_tap_segment(dp, buf + VNET_HDR_LEN,
		    (size_t)got - VNET_HDR_LEN, &h, &used, now);
	}
	return 0;
}

int
dp_tap_readable(struct datapath *dp, uint64_t now)
{
	int ret = dp->tap->vnet ? dp_tap_read_vnet(dp, now) :
	    dp_tap_read_plain(dp, now);

	dp_flush(dp);
	dp->arena->used = 0;
	if (ret == 0 || ret == -EAGAIN || ret == -EINTR)
		return 0;
	if (tap_is_gone(-ret))
		return ret;
	log_rl(LOG_WARNING, "%s: read: %s", dp->tap->name, strerror(-ret));
	return 0;
}

/* With offloads on, consecutive segments of a TCP flow leave as one
 * superframe: one write instead of dozens. GRO holds the received
 * buffers themselves; what it holds goes out before they are reused
 * (dp_sock_batch) and at the end of the receive (dp_sock_readable). */
static enum drop_reason
dp_gro_add(struct datapath *dp, struct pkt *p, bool csum_verified)
{
	struct gro_out out[GRO_ADD_MAX_OUT];
	int n = gro_add(dp->gro, p->data, p->len, csum_verified, out);
	enum drop_reason why = DROP_NONE;

	for (int i = 0; i < n; i++)
		if (dp_tap_writev(dp, out[i].vnet, out[i].iov, out[i].n_iov,
		    out[i].len, out[i].segs) < 0)
			why = DROP_TAP_WRITE_ERROR;
	return why;
}

/* Only a worker's data path writes to the TAP. */
static bool
dp_gro_on(const struct datapath *dp)
{
	return dp->gro != NULL && dp->tap->tso;
}

static void
dp_gro_flush(struct datapath *dp)
{
	struct gro_out out[GRO_FLOWS];
	int n = gro_flush(dp->gro, out);

	for (int i = 0; i < n; i++)
		if (dp_tap_writev(dp, out[i].vnet, out[i].iov, out[i].n_iov,
		    out[i].len, out[i].segs) < 0)
			dp_drop(dp, DROP_TAP_WRITE_ERROR);
}

/* The common end of every receive path: a decapsulated frame from peer
 * goes to the TAP, and its source MAC is learned behind the peer.
 * csum_verified: an outer check covered the frame (see gro_add). */
static enum drop_reason
dp_deliver(struct datapath *dp, struct peer *peer, struct pkt *p,
    bool csum_verified, uint64_t now)
{
	struct peer_counters *c = &peer->c[dp->id];
	enum drop_reason why;

	if ((why = dp_check_frame(dp, p)) != DROP_NONE)
		return why;
	/* The other direction of MSS clamping: SYNs coming in. */
	if (peer->cfg.pmtu.clamp_mss && tcp_mss_clamp(p->data, p->len,
	    peer_frame_max(peer), peer->cfg.pmtu.mss_cap))
		dp->c.mss_clamped++;
	c->rx_packets++;
	c->rx_bytes += p->len;
	c->last_rx_ms = now;
	if ((dp->rx_learned_peer != peer ||
	    memcmp(dp->rx_learned_mac, p->data + 6, 6) != 0) &&
	    fdb_learn(dp->fdb, p->data + 6, peer, now) != FDB_FULL) {
		dp->rx_learned_peer = peer;
		memcpy(dp->rx_learned_mac, p->data + 6, 6);
	}
	if (dp_gro_on(dp))
		return dp_gro_add(dp, p, csum_verified);
	if (dp_tap_write(dp, p->data, p->len) < 0)
		return DROP_TAP_WRITE_ERROR;
	return DROP_NONE;
}

static enum drop_reason
dp_rx_tunnel(struct datapath *dp, const struct sock *s, struct peer *peer,
    struct pkt *p, const struct sock_rx *meta, uint64_t now)
{
	enum drop_reason why;

	if (peer->session != NULL)
		return DROP_NOT_ENCRYPTED;
	if ((s->kind == SOCK_GRE) != (peer->cfg.tun.encap == ENCAP_GRETAP) ||
	    (s->kind == SOCK_UDP && s->port != peer->cfg.tun.port))
		return DROP_WRONG_ENCAP;
	if ((why = decap(p, &peer->cfg.tun)) != DROP_NONE)
		return why;
	return dp_deliver(dp, peer, p, meta->csum_verified, now);
}

/* Strips the UDP header ESP protected; it must be the peer's port. */
static enum drop_reason
udp_pull(struct pkt *p, const struct peer *peer)
{
	if (p->len < UDP_HLEN)
		return DROP_TOO_SHORT;
	if (be16_get(p->data + 2) != peer->cfg.tun.port ||
	    be16_get(p->data + 4) != p->len)
		return DROP_WRONG_ENCAP;
	pkt_pull(p, UDP_HLEN);
	return DROP_NONE;
}

static enum drop_reason
dp_rx_esp(struct datapath *dp, struct peer *peer, struct pkt *p,
    uint64_t now)
{
	struct dp_request confirm = { .type = DP_REQ_CONFIRM,
	    .session = peer->session };
	enum drop_reason why;
	uint8_t next_header;
	bool gre = peer->cfg.tun.encap == ENCAP_GRETAP;

	if (peer->session == NULL)
		return DROP_WRONG_ENCAP;
	why = session_open(peer->session, p, &next_header, now, &confirm.spi);
	if (confirm.spi != 0)
		dp_post(dp->sh->main_inbox, &confirm);
	if (why != DROP_NONE || next_header == IPPROTO_NONE)
		return why;
	if (next_header != (gre ? IPPROTO_GRE_ : IPPROTO_UDP))
		return DROP_WRONG_ENCAP;
	if (!gre && (why = udp_pull(p, peer)) != DROP_NONE)
		return why;
	if ((why = decap(p, &peer->cfg.tun)) != DROP_NONE)
		return why;
	/* The ICV covered the frame, as WireGuard trusts its AEAD. */
	return dp_deliver(dp, peer, p, true, now);
}

static enum drop_reason
dp_rx_handshake(struct datapath *dp, struct peer *peer, struct pkt *p,
    uint64_t now)
{
	struct session_out out = { 0 };
	enum drop_reason why;

	if (peer->session == NULL)
		return DROP_NOT_ENCRYPTED;
	why = session_handshake(peer->session, p->data, p->len, now, &out);
	if (why == DROP_HS_AUTH_FAILED)
		log_rl(LOG_WARNING, "peer %s: key exchange failed to "
		    "authenticate; the psk differs", peer->cfg.name);
	dp_session_out(dp, peer, &out, now);
	return why;
}

static enum drop_reason
dp_from_peer(struct datapath *dp, struct sock *s, struct pkt *p,
    const struct sock_rx *meta, uint64_t now)
{
	struct peer *peer;
	enum drop_reason why;

	if ((why = sock_strip_outer(s, p)) != DROP_NONE)
		return why;
	if ((peer = peer_lookup(dp->peers, &meta->src)) == NULL)
		return DROP_UNKNOWN_PEER;
	if (meta->truncated) {
		peer->c[dp->id].rx_drops++;
		return DROP_FRAME_TOO_BIG;
	}
	switch (s->role) {
	case ROLE_TUNNEL:
		why = dp_rx_tunnel(dp, s, peer, p, meta, now);
		break;
	case ROLE_ESP:
		why = dp_rx_esp(dp, peer, p, now);
		break;
	case ROLE_HANDSHAKE:
		why = dp_rx_handshake(dp, peer, p, now);
		break;
	}
	if (why != DROP_NONE)
		peer->c[dp->id].rx_drops++;
	return why;
}

static void
dp_sock_batch(struct datapath *dp, struct sock *s, uint64_t now)
{
	unsigned n;

	/* This receive may reuse the buffers GRO holds. */
	if (!sock_rx_pending(s) && dp_gro_on(dp))
		dp_gro_flush(dp);
	for (size_t i = 0; i < SOCK_BATCH; i++)
		pkt_reset(dp->batch[i]);
	n = sock_recv(s, dp->batch, dp->rx_meta, SOCK_BATCH);
	for (unsigned i = 0; i < n; i++) {
		struct pkt *p = dp->batch[i];
		enum drop_reason why;

		dp->c.sock_rx_packets++;
		dp->c.sock_rx_bytes += p->len;
		dp->c.sock_rx_coalesced += dp->rx_meta[i].coalesced;
		why = dp_from_peer(dp, s, p, &dp->rx_meta[i], now);
		if (why != DROP_NONE)
			dp_drop(dp, why);
	}
	/* Replies and frames released by new keys. */
	dp_flush(dp);
}

/* Datagrams the kernel coalesced (UDP GRO) may fill several batches; what
 * one receive brought is finished here, as the fd will not wake for it.
 * Superframes may span the batches of one receive from the kernel. */
void
dp_sock_readable(struct datapath *dp, struct sock *s, uint64_t now)
{
	/* Nothing but this receive learns until it returns. */
	dp->rx_learned_peer = NULL;
	do
		dp_sock_batch(dp, s, now);
	while (sock_rx_pending(s));
	if (dp_gro_on(dp))
		dp_gro_flush(dp);
}

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
