/* Peers: their tunnel parameters, where to send, their counters, and the
 * lookup from an underlay source address to the peer it belongs to. */
#ifndef OVT_PEER_H
#define OVT_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

struct sock;

struct peer_counters {
	uint64_t	rx_packets, rx_bytes;
	uint64_t	tx_packets, tx_bytes;
	uint64_t	rx_drops;
	uint64_t	last_rx_ms, last_tx_ms;	/* 0 = never */
};

struct peer {
	struct peer_config	 cfg;
	struct sockaddr_storage	 dst;
	socklen_t		 dst_len;
	struct sock		*sock;		/* where frames to it go out */
	struct peer_counters	 c;
};

struct peer_table {
	struct peer	*peers;
	size_t		 n;
	struct peer	**by_addr;	/* sorted for bsearch */
};

int		 peer_table_init(struct peer_table *, const struct config *);
void		 peer_table_free(struct peer_table *);
struct peer	*peer_lookup(const struct peer_table *, const struct ovt_addr *);

/* Bytes a frame grows by on the wire, outer IP header included. */
unsigned	 encap_overhead(const struct tunnel_params *, sa_family_t);

#endif
