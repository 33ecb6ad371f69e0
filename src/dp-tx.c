/* TAP to peers: a batch of TAP reads (superframes cut by software TSO
 * with offloads on), each frame checked, its source learned, its
 * destination looked up, then encapsulated (and sealed) for its peer or
 * every peer, and queued on the peer's socket; one sendmmsg per socket at
 * the end of the batch (dp_flush). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>
#include <unistd.h>

#include "byteorder.h"
#include "codec.h"
#include "csum.h"
#include "dp-private.h"
#include "flow.h"
#include "log.h"
#include "peer.h"
#include "pmtu.h"
#include "session.h"
#include "tap.h"
#include "underlay.h"

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
 * Path MTU: a frame larger than its peer's path takes (peer->frame_max,
 * from the underlay route MTU less the encapsulation) is fragmented
 * outside or dropped and answered, as the table at pmtu_verdict says.
 * TCP SYNs in both directions have their MSS clamped to the path (or
 * below clamp_mss = N), so TCP never sends a segment too big to begin
 * with. Frames that fit are not copied or touched otherwise.
 */
#define ICMP_COST_MS	10	/* 100 answers a second ... */
#define ICMP_BURST_MS	1000	/* ... in bursts of up to 100 */

/* Sets the outer DF bit of what s sends next: the socket option, which
 * applies at sendmmsg(), so what is queued goes out first. The kernel
 * then fragments (clear) or refuses with EMSGSIZE what exceeds its route
 * MTU (set; IPv6: IPV6_MTU_DISCOVER, the sender's own fragmentation). */
static void
dp_set_df(struct datapath *dp, struct sock *s, bool df)
{
	int v = df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
	enum sock_df want = df ? SOCK_DF_SET : SOCK_DF_CLEAR;

	_Static_assert(IP_PMTUDISC_DO == IPV6_PMTUDISC_DO &&
	    IP_PMTUDISC_DONT == IPV6_PMTUDISC_DONT, "one value, both families");
	if (s->df == want)
		return;
	if (s->n_tx > 0)
		dp_sock_flush(dp, s);
	if (setsockopt(s->fd, s->family == AF_INET6 ? IPPROTO_IPV6 :
	    IPPROTO_IP, s->family == AF_INET6 ? IPV6_MTU_DISCOVER :
	    IP_MTU_DISCOVER, &v, sizeof(v)) < 0) {
		log_rl(LOG_WARNING, "setting the outer DF bit: %m");
		return;
	}
	s->df = want;
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

/* The verdict of the path MTU table (pmtu_verdict) on p, a frame about
 * to go to peer; with offloads on, p is one segment. */
static struct pmtu_verdict
dp_pmtu_verdict(const struct peer *peer, const struct pkt *p)
{
	return pmtu_verdict(&peer->cfg.pmtu, peer_frame_max(peer), p->data,
	    p->len, pkt_total(p));
}

/* Clamps a SYN's MSS to peer's path; then whether p may go to peer (as
 * it is, or to be fragmented), with *df its outer DF bit, or was dropped
 * (and answered). */
static bool
dp_fit(struct datapath *dp, struct peer *peer, struct pkt *p, bool *df,
    uint64_t now)
{
	const struct pmtu_params *pm = &peer->cfg.pmtu;
	struct pmtu_verdict v;

	if (pm->clamp_mss && tcp_mss_clamp(p->data, p->len,
	    peer_frame_max(peer), pm->mss_cap))
		dp->c.mss_clamped++;
	v = dp_pmtu_verdict(peer, p);
	*df = v.df;
	switch (v.action) {
	case PMTU_SEND:
		return true;
	case PMTU_FRAGMENT:
		dp->c.outer_fragmented++;
		return true;
	case PMTU_ANSWER:
		dp_answer_too_big(dp, p, v.kind, v.mtu, now);
		/* FALLTHROUGH */
	case PMTU_DROP:
		break;
	}
	dp_peer_drop(dp, peer, DROP_PATH_MTU);
	return false;
}

/* Encrypted peers: encap, the UDP header where the encap rides on UDP,
 * then ESP, with outer DF bit df. Without keys yet the frame waits, and
 * the main thread is asked for a handshake. */
static void
dp_send_sealed(struct datapath *dp, struct peer *peer, struct pkt *p,
    uint32_t flow, bool df, uint64_t now)
{
	struct session *s = peer->session;
	struct sock *sock = dp_peer_sock(dp, peer, flow);
	size_t inner = pkt_total(p);
	bool gre = peer->cfg.tun.encap == ENCAP_GRETAP;

	if (s->tx == NULL) {
		struct dp_request kick = { .type = DP_REQ_KICK, .session = s };

		if (!session_enqueue(s, p))
			dp_peer_drop(dp, peer, DROP_QUEUE_FULL);
		if (session_want_kick(s))
			dp_post(dp->sh->main_inbox, &kick);
		return;
	}
	/* ESP seals the packet in place, in one piece. */
	if (pkt_linearize(p) < 0 || encap(p, &peer->cfg.tun) < 0 ||
	    (!gre && udp_push(p, peer) < 0) ||
	    session_seal(s, dp->id, p, gre ? IPPROTO_GRE : IPPROTO_UDP,
	    now) < 0) {
		dp_peer_drop(dp, peer, DROP_NO_HEADROOM);
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
	bool df;

	if (!dp_fit(dp, peer, p, &df, now))
		return;
	if (peer->session != NULL) {
		dp_send_sealed(dp, peer, p, flow, df, now);
		return;
	}
	if (encap(p, &peer->cfg.tun) < 0) {
		dp_peer_drop(dp, peer, DROP_NO_HEADROOM);
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
	if (session_seal(peer->session, dp->id, p, IPPROTO_NONE, now) < 0)
		return;
	__atomic_fetch_add(&peer->session->stats.keepalives_tx, 1,
	    __ATOMIC_RELAXED);
	dp_queue(dp, peer, dp_peer_sock(dp, peer, 0), p, 0, now);
}

/* What the main thread asked of this worker: to send the frames that
 * waited for keys (they were fitted to the path before they waited). */
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
		    dp->sh->flow_key), dp_pmtu_verdict(peer, p).df, now);
		sent = true;
	}
	if (r->keepalive && !sent)
		dp_send_keepalive(dp, peer, now);
	dp_flush(dp);
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
	dp_learn(dp, p->data + ETH_SRC_OFF, NULL, now);
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
	uint64_t before = dp->c.tap_rx_packets;
	int ret = dp->tap->vnet ? dp_tap_read_vnet(dp, now) :
	    dp_tap_read_plain(dp, now);

	if (dp->c.tap_rx_packets > before)
		dp_count_batch(dp, DP_TX, dp->c.tap_rx_packets - before);
	dp_flush(dp);
	dp->arena->used = 0;
	if (ret == 0 || ret == -EAGAIN || ret == -EINTR)
		return 0;
	if (tap_is_gone(-ret))
		return ret;
	log_rl(LOG_WARNING, "%s: read: %s", dp->tap->name, strerror(-ret));
	return 0;
}
