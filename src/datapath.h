/* The two directions a frame travels, each over a batch:
 *   TX: TAP read batch -> learn source -> fdb lookup -> encap per peer
 *       -> queue on the peer's socket -> sendmmsg
 *   RX: recvmmsg -> peer by source address -> decap + key check
 *       -> learn source behind the peer -> TAP write
 * Nothing here reaches back up into the event loop. */
#ifndef OVT_DATAPATH_H
#define OVT_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drop.h"
#include "pkt.h"
#include "socket.h"

struct gro_table;
struct session_sa;
struct tap_arena;
struct fdb;
struct peer;
struct peer_table;
struct tap;

struct dp_counters {
	uint64_t	tap_rx_packets, tap_rx_bytes;	/* read from the TAP */
	uint64_t	tap_tx_packets, tap_tx_bytes;	/* written to it */
	uint64_t	sock_rx_packets, sock_rx_bytes;	/* off the underlay */
	uint64_t	sock_tx_packets, sock_tx_bytes;	/* queued to it */
	uint64_t	flooded;	/* frames sent to every peer */
	uint64_t	tap_superframes_rx;	/* TSO reads, segmented */
	uint64_t	tap_superframes_tx;	/* GRO writes, merged */
	uint64_t	sock_rx_coalesced;	/* datagrams the kernel kept
						 * together (UDP GRO) */
	/* Path MTU (pmtu.h): answers to frames too big for their peer's
	 * path, those not sent for the rate limit, SYNs whose MSS was
	 * lowered, frames sent for the kernel to fragment the outer
	 * packet. */
	uint64_t	icmp_frag_needed_sent, icmp6_too_big_sent;
	uint64_t	icmp_rate_limited, mss_clamped, outer_fragmented;
	uint64_t	drops[DROP__COUNT];
};

struct datapath {
	struct tap		*tap;
	struct peer_table	*peers;
	struct fdb		*fdb;
	struct sock		*pending;	/* sockets with queued packets */
	size_t			 frame_max;	/* MTU + Ethernet + VLAN tag */
	struct dp_counters	 c;

	struct pkt		*batch[SOCK_BATCH];	/* in flight */
	struct sock_rx		 rx_meta[SOCK_BATCH];
	struct pkt		*flood[SOCK_BATCH];	/* per-peer copies */
	unsigned		 n_flood;
	struct pkt		*icmp;		/* an answer to a too big frame */
	struct tap_arena	*arena;		/* TAP reads, offloads on */
	struct gro_table	*gro;		/* received segments, merged */
	/* The source MAC last learned (or refreshed) in this receive, and
	 * its peer: the segments of a flow need it learned only once. */
	const struct peer	*rx_learned_peer;
	uint8_t			 rx_learned_mac[6];
	uint64_t		 icmp_credit_ms, icmp_last_ms;	/* rate */
	uint64_t		 pmtu_checked_ms;	/* peers' path MTUs */
	bool			 pmtu_recheck;	/* a send failed: soon */
	/* Called for every new SA when a key log is configured. */
	void			(*keylog)(void *, const struct peer *,
				    const struct session_sa *);
	void			*keylog_arg;
};

int	dp_init(struct datapath *);
void	dp_free(struct datapath *);
/* Returns 0, or a negative errno when the TAP is gone for good. */
int	dp_tap_readable(struct datapath *, uint64_t now_ms);
void	dp_sock_readable(struct datapath *, struct sock *, uint64_t now_ms);
/* Handshake retransmissions, rekeying, keepalives: every tick. */
void	dp_timer(struct datapath *, uint64_t now_ms);
/* Starts the key exchange with every encrypted peer that has no keys. */
void	dp_start_sessions(struct datapath *, uint64_t now_ms);

#endif
