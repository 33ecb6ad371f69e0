/* What the three parts of the data path share: dp-tx.c (TAP to peers),
 * dp-rx.c (peers to TAP) and datapath.c (set-up, the flush at the end of
 * a batch, the main thread's sessions and timers). The small helpers every
 * packet passes through are static inline here, so that splitting the
 * files costs no call. Not for use outside the data path. */
#ifndef OVT_DP_PRIVATE_H
#define OVT_DP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "byteorder.h"
#include "datapath.h"
#include "events.h"
#include "fdb.h"
#include "peer.h"
#include "offload.h"
#include "pkt.h"
#include "socket.h"
#include "wire.h"

struct session_out;

/* With offloads on, TAP reads land one after another here, and the
 * segments cut from them point into it until they are sent: room for a
 * few of the largest superframes, or many small ones, per sendmmsg. */
#define TAP_ARENA_SIZE	(4 * VNET_READ_MAX)

struct tap_arena {
	size_t	used;
	uint8_t	buf[TAP_ARENA_SIZE];
};

/* Learns mac behind owner (NULL: the TAP); what is new goes to the event
 * stream. */
static inline enum fdb_learn_result
dp_learn(struct datapath *dp, const uint8_t *mac, const struct peer *owner,
    uint64_t now)
{
	enum fdb_learn_result r = fdb_learn(dp->fdb, mac, owner, now);

	if (r == FDB_LEARNED || r == FDB_MOVED)
		events_mac(r == FDB_LEARNED ? EVENT_MAC_LEARNED :
		    EVENT_MAC_MOVED, mac, owner != NULL ? owner->cfg.name :
		    NULL);
	return r;
}

/* datapath.c */
/* Sends what the batch queued, touching only the sockets it used. */
void	dp_flush(struct datapath *);
/* The main thread: carries out what a session call asked for. */
void	dp_session_out(struct datapath *, struct peer *, struct session_out *,
	    uint64_t now_ms);

/* dp-rx.c: the TAP writes, also of ICMP answers to frames from it.
 * Writes a frame, in n pieces of len bytes in all, behind the
 * virtio_net_hdr vnet (NULL: a plain frame); segs frames were merged. */
int	dp_tap_writev(struct datapath *, const uint8_t *vnet,
	    const struct iovec *, unsigned n, size_t len, unsigned segs);
int	dp_tap_write(struct datapath *, const uint8_t *frame, size_t len);

static inline void
dp_drop(struct datapath *dp, enum drop_reason why)
{
	dp->c.drops[why]++;
}

/* One batch of n packets, in its power-of-two bucket. */
static inline void
dp_count_batch(struct datapath *dp, enum dp_dir dir, uint64_t n)
{
	unsigned b = n <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(n - 1);

	dp->c.batches[dir][b < DP_BATCH_BUCKETS ? b : DP_BATCH_BUCKETS - 1]++;
	dp->c.batch_packets[dir] += n;
}

/* A drop of a frame to peer: counted for it too. */
static inline void
dp_peer_drop(struct datapath *dp, struct peer *peer, enum drop_reason why)
{
	dp->c.drops[why]++;
	peer->c[dp->id].drops[why]++;
}

/* The main thread looks at the peers' route MTUs again soon. */
static inline void
dp_pmtu_recheck(struct datapath *dp)
{
	__atomic_store_n(&dp->sh->pmtu_recheck, true, __ATOMIC_RELAXED);
}

/* Sends what s has queued. */
static inline void
dp_sock_flush(struct datapath *dp, struct sock *s)
{
	unsigned failed = sock_flush(s);

	/* EMSGSIZE, most likely: the underlay path shrank. */
	if (failed > 0)
		dp_pmtu_recheck(dp);
	dp->c.drops[DROP_TX_ERROR] += failed;
}

/* Queues p on s, which joins the list of sockets to flush. */
static inline void
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

/* A buffer for a packet the batch did not bring: a flood copy, a
 * handshake message, a keepalive. When the pool runs dry, what is queued
 * goes out first. */
static inline struct pkt *
dp_scratch(struct datapath *dp)
{
	if (dp->n_flood == SOCK_BATCH)
		dp_flush(dp);
	return dp->flood[dp->n_flood++];
}

/* A frame's size and source address, whichever side it came from. */
static inline enum drop_reason
dp_check_frame(const struct datapath *dp, const struct pkt *p)
{
	size_t max = dp->frame_max, len = pkt_total(p);

	if (p->len < ETH_HLEN)
		return DROP_RUNT_FRAME;
	/* An 802.1Q tag may ride on top of a full-MTU payload. */
	if (len > max - VLAN_HLEN &&
	    be16_get(p->data + ETH_TYPE_OFF) != ETHERTYPE_VLAN)
		return DROP_FRAME_TOO_BIG;
	if (len > max)
		return DROP_FRAME_TOO_BIG;
	if (!mac_is_valid_source(p->data + ETH_SRC_OFF))
		return DROP_BAD_SOURCE_MAC;
	return DROP_NONE;
}

#endif
