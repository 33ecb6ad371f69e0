/* Peers: their tunnel parameters, where to send, their counters, and the
 * lookup from an underlay source address to the peer it belongs to. */
#ifndef OVT_PEER_H
#define OVT_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "drop.h"
#include "session.h"
#include "wire.h"

struct session;
struct session_gate;
struct sock;
struct underlay_class;

/* Each thread counts in its own, on a cache line of its own: the workers
 * share nothing they write per packet. */
struct peer_counters {
	uint64_t	rx_packets, rx_bytes;
	uint64_t	tx_packets, tx_bytes;
	uint64_t	rx_drops;
	uint64_t	last_rx_ms, last_tx_ms;	/* 0 = never */
	/* Drops of the peer's packets (rx_drops) and of frames to it, by
	 * reason: the drops where the peer is known. */
	uint64_t	drops[DROP__COUNT];
} __attribute__((aligned(64)));

/* What the event stream last said of the peer's session (for a plain
 * peer: UP, heard from lately, DOWN, idle), and what it counted (main
 * thread; carried over by a reload like the counters). */
struct peer_report {
	enum session_state	 state;
	bool			 keyed;		/* had an outbound SA */
	uint32_t		 spis[SESSION_SAS_MAX];	/* 0: none */
	bool			 inbound[SESSION_SAS_MAX];
	uint64_t		 rekeys, hs_timeouts;
};

struct peer {
	struct peer_config	 cfg;
	struct sockaddr_storage	 dst;		/* where its frames go */
	socklen_t		 dst_len;
	struct underlay_class	*uc;		/* ... on which sockets */
	struct peer_counters	*c;		/* one per thread */
	unsigned		 n_counters;
	/* Encrypted peers only: */
	struct session		*session;
	struct sockaddr_storage	 hs_dst;	/* its key exchange port */
	socklen_t		 hs_dst_len;
	struct sock		*hs_sock;
	struct ovt_addr		 src;		/* our address toward it */
	/* Path MTU: the underlay route's MTU toward it, as the kernel has it
	 * (lowered by ICMP from the underlay, see peer_path_mtu_refresh),
	 * and the largest frame that fits once encapsulated. The main
	 * thread sets them, the workers read frame_max (peer_frame_max). */
	struct ovt_addr		 local;		/* the configured local */
	unsigned		 path_mtu;
	unsigned		 mtu_cap;	/* the configured mtu, 0: none */
	size_t			 frame_max;	/* Ethernet header included */
	struct peer_report	 report;
};

struct peer_table {
	struct peer	*peers;
	size_t		 n;
	struct peer	**by_addr;	/* sorted for bsearch */
	unsigned	 n_counters;	/* per peer: a thread's each */
};

int		 peer_table_init(struct peer_table *, const struct config *,
		     unsigned n_counters);
/* Frees the table and the peers' sessions. */
void		 peer_table_free(struct peer_table *);
/* Sets up the key exchange of every encrypted peer of t that has none
 * yet. live is where the daemon's peers are (and stay, across reloads):
 * new SPIs are checked against its SAs. The sessions change their SAs
 * within gate. */
int		 peer_table_start_sessions(struct peer_table *t,
		     const struct peer_table *live, const struct config *,
		     const struct session_gate *, char *err, size_t errlen);
struct peer	*peer_lookup(const struct peer_table *, const struct ovt_addr *);

/* The underlay MTU assumed when the kernel has no route to tell it of:
 * an Ethernet's. */
#define UNDERLAY_MTU_FALLBACK	ETH_DATA_LEN

/* Asks the kernel for the route MTU toward p (its PMTU cache included)
 * and applies it; returns true when it changed. */
bool		 peer_path_mtu_refresh(struct peer *p);
size_t		 peer_frame_max(const struct peer *p);

/* The threads' counters of p added up (last_*: the latest). */
void		 peer_counters_sum(const struct peer *p,
		     struct peer_counters *sum);
/* Takes over the counters of was, a peer of an older table, and what the
 * event stream knows of it. */
void		 peer_counters_take(struct peer *p, const struct peer *was);

/* Reports to the event stream what a session call did to the peer
 * (main thread, after every session call): keys, rekeys, expired SAs,
 * up and down. */
void		 peer_report_session(struct peer *p,
		     const struct session_out *out);
/* A plain peer (no session) is up while it was heard from within
 * idle_ms: reports when it turns up or down (main thread, each second;
 * reads the threads' last_rx_ms atomically). */
void		 peer_report_activity(struct peer *p, uint64_t now,
		     uint64_t idle_ms);

/* Bytes a frame grows by on the wire, outer IP header included; ESP's
 * worst case when enc is enabled. */
unsigned	 encap_overhead(const struct tunnel_params *,
		     const struct encryption_params *enc, sa_family_t);

#endif
