/* The two directions a frame travels, each over a batch:
 *   TX: TAP read batch -> learn source -> fdb lookup -> encap per peer
 *       -> queue on the peer's socket -> sendmmsg
 *   RX: recvmmsg -> peer by source address -> decap + key check
 *       -> learn source behind the peer -> TAP write
 * Each worker thread has a datapath of its own; the main thread's runs
 * the key exchange. Nothing here reaches back up into the event loop. */
#ifndef OVT_DATAPATH_H
#define OVT_DATAPATH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drop.h"
#include "hsguard.h"
#include "pkt.h"
#include "socket.h"
#include "wire.h"

struct gro_table;
struct session;
struct session_sa;
struct tap_arena;
struct fdb;
struct peer;
struct peer_table;
struct tap;

enum dp_dir { DP_RX, DP_TX };
#define DP_BATCH_BUCKETS	8

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
	/* Batch sizes: datagrams per receive from the underlay (rx), frames
	 * per wake-up of the TAP (tx), counted in buckets of powers of two
	 * (1, 2, 3-4, ... 33-64, more), and their sum. */
	uint64_t	batches[2][DP_BATCH_BUCKETS];
	uint64_t	batch_packets[2];
};

void	dp_counters_add(struct dp_counters *sum, const struct dp_counters *);

/* What one thread asks of another. The workers ask the main thread, which
 * runs the key exchange, to start one (KICK) or to hear of a packet on
 * an SA it waits for (CONFIRM), and tell it the TAP is gone; the main
 * thread asks worker 0 to send what a session wants sent (SEND). */
enum dp_request_type {
	DP_REQ_KICK,
	DP_REQ_CONFIRM,		/* spi */
	DP_REQ_TAP_GONE,	/* error */
	DP_REQ_SEND,		/* flush (the frames that waited for keys),
				 * keepalive (one dummy if none went) */
};

struct dp_request {
	enum dp_request_type	 type;
	struct session		*session;
	uint32_t		 spi;
	int			 error;
	bool			 flush, keepalive;
};

/* A thread's queue of requests: any thread posts, its owner takes them
 * when wake_fd (an eventfd) says so. Bounded: what does not fit is
 * dropped, as every request is made again when still needed. */
#define DP_INBOX_MAX	1024

struct dp_inbox {
	pthread_mutex_t		 lock;
	struct dp_request	 req[DP_INBOX_MAX];
	unsigned		 n;
	int			 wake_fd;
};

int	dp_inbox_init(struct dp_inbox *);
void	dp_inbox_free(struct dp_inbox *);
void	dp_post(struct dp_inbox *, const struct dp_request *);
/* Wakes the owner without a request (to pause or stop it). */
void	dp_inbox_wake(struct dp_inbox *);
/* Takes up to max requests; returns how many. */
unsigned dp_inbox_take(struct dp_inbox *, struct dp_request *, unsigned max);
/* Forgets the requests about s (it is being freed). */
void	dp_inbox_forget(struct dp_inbox *, const struct session *s);

/* What the threads' data paths share. */
struct dp_shared {
	unsigned	 n_workers;
	struct dp_inbox	*main_inbox;	/* the main thread's */
	struct dp_inbox	*send_inbox;	/* the worker that sends for it */
	bool		 pmtu_recheck;	/* a send failed (atomic) */
	uint8_t		 flow_key[16];	/* flow_hash's */
};

/* One thread's data path: a worker's (TAP queue, sockets), or the main
 * thread's (key exchange messages only). */
struct datapath {
	unsigned		 id;		/* its peer counters' index */
	struct dp_shared	*sh;
	struct tap		*tap;
	int			 tap_fd;	/* its queue; -1: none */
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
	uint8_t			 rx_learned_mac[ETH_ALEN];
	uint64_t		 icmp_credit_ms, icmp_last_ms;	/* rate */
	uint64_t		 pmtu_checked_ms;	/* peers' path MTUs */
	/* The main thread's: the key exchange port under load. */
	struct hs_guard		*guard;
	/* Called for every new SA when a key log is configured. */
	void			(*keylog)(void *, const struct peer *,
				    const struct session_sa *);
	void			*keylog_arg;
};

/* A worker's (with its TAP queue) or the main thread's (tap_fd < 0). */
int	dp_init(struct datapath *, unsigned id, struct dp_shared *,
	    int tap_fd);
void	dp_free(struct datapath *);

/* Workers. */
/* Returns 0, or a negative errno when the TAP is gone for good. */
int	dp_tap_readable(struct datapath *, uint64_t now_ms);
void	dp_sock_readable(struct datapath *, struct sock *, uint64_t now_ms);
void	dp_worker_request(struct datapath *, const struct dp_request *,
	    uint64_t now_ms);

/* The main thread: its sockets are the key exchange's. */
/* Handshake retransmissions, rekeying, keepalives, path MTUs: every
 * tick. */
void	dp_timer(struct datapath *, uint64_t now_ms);
/* Starts the key exchange with every encrypted peer that has no keys. */
void	dp_start_sessions(struct datapath *, uint64_t now_ms);
void	dp_main_request(struct datapath *, const struct dp_request *,
	    uint64_t now_ms);

#endif
