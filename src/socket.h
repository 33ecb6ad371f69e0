/* Underlay sockets and their batched I/O: a raw IP socket (protocol 47) for
 * GRETAP, a UDP socket per port for VXLAN and Geneve. The kernel builds the
 * outer IP and UDP headers (and their checksums); the codecs build the rest
 * in the packet's headroom. */
#ifndef OVT_SOCKET_H
#define OVT_SOCKET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "drop.h"
#include "pkt.h"

#define SOCK_BATCH	64
#define SOCK_GSO_SEGS	64	/* the kernel's limit per message */
#define SOCK_GSO_BYTES	65000	/* a UDP datagram's, less headers */

struct sock_gro;

enum sock_kind {
	SOCK_GRE,	/* raw IP protocol 47 */
	SOCK_UDP,
	SOCK_ESP,	/* raw IP protocol 50 */
};

/* What arrives on a socket: tunnel packets, ESP (raw, or in UDP on port
 * 4500), or key exchange messages. */
enum sock_role {
	ROLE_TUNNEL,
	ROLE_ESP,
	ROLE_HANDSHAKE,
};

/* One message of the send queue: a packet, or with UDP GSO a run of
 * packets of size seg (the last may be shorter). */
struct sock_msg {
	size_t		seg;		/* the first packet's size */
	size_t		last;		/* the last one's */
	size_t		bytes;		/* all of them */
	unsigned	pkts;
};

enum sock_df {
	SOCK_DF_UNKNOWN,	/* not set yet */
	SOCK_DF_CLEAR,
	SOCK_DF_SET,
};

struct sock {
	int		fd;
	enum sock_kind	kind;
	enum sock_role	role;
	sa_family_t	family;
	uint16_t	port;		/* UDP: the local port */
	enum sock_df	df;		/* outer DF as last set by the data
					 * path */
	unsigned	n_tx;		/* packets queued, not yet sent */
	unsigned	n_msg;		/* ... in this many messages */
	unsigned	n_iov;		/* ... and pieces */
	bool		gso;		/* UDP_SEGMENT: one message may carry
					 * a run of equal-sized packets */
	struct sock_gro	*gro;		/* UDP_GRO: datagrams the kernel
					 * kept together, split by sock_recv */
	bool		pending;	/* on the data path's flush list */
	struct sock	*next_pending;
	struct mmsghdr	tx_msg[SOCK_BATCH];
	struct sock_msg	tx_info[SOCK_BATCH];
	/* A packet is its pkt's data, then maybe its ext. */
	struct iovec	tx_iov[2 * SOCK_BATCH];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(uint16_t))];
	}		tx_cmsg[SOCK_BATCH];
	struct mmsghdr	rx_msg[SOCK_BATCH];
	struct iovec	rx_iov[SOCK_BATCH];
	struct sockaddr_storage rx_src[SOCK_BATCH];
};

/* How a socket is opened. */
enum sock_flags {
	SOCK_F_OFFLOAD = 1,	/* UDP GSO and GRO where the kernel has them */
	SOCK_F_REUSEPORT = 2,	/* one of the workers' sockets on a port */
	SOCK_F_SEND_ONLY = 4,	/* a filter drops all it would receive */
};

/* local->family picks the family; a local of all zeroes binds the
 * wildcard; port 0 (UDP) takes a port the kernel picks, which s->port
 * then holds. flags: enum sock_flags. Returns 0 or a negative errno,
 * with why in err. */
int	sock_open(struct sock *, enum sock_kind, const struct ovt_addr *local,
	    uint16_t port, unsigned flags, char *err, size_t errlen);
void	sock_close(struct sock *);

/* Queues p for dst (p, its ext and dst must stay valid until the flush);
 * sends the batch when the queue is full. With UDP GSO, consecutive packets to one
 * destination of one size (the last may be shorter) share a message and
 * cross the kernel's stack once. Returns the number of packets that
 * failed to go out, from this or an earlier queued packet. */
unsigned sock_queue(struct sock *, struct pkt *, const struct sockaddr *dst,
	    socklen_t dst_len);
unsigned sock_flush(struct sock *);

/* What came with a received packet besides its bytes. */
struct sock_rx {
	struct ovt_addr	src;
	bool		truncated;	/* larger than the packet buffer */
	bool		coalesced;	/* came with others in one message */
	bool		csum_verified;	/* by the kernel: a UDP checksum
					 * covered the whole packet */
};

/* Receives up to n packets into pkts (reset by the caller), with meta[i]
 * for pkts[i]. Returns the count, 0 when nothing is waiting. With UDP GRO
 * one receive may bring more than n: the rest waits in the socket for the
 * next call, and sock_rx_pending says so (the fd will not wake for it).
 * The packets then borrow the socket's buffers (pkt_borrow), which the
 * next receive from the kernel reuses: once sock_rx_pending is false, the
 * next call overwrites what every earlier call returned. */
unsigned sock_recv(struct sock *, struct pkt **pkts, struct sock_rx *meta,
	    unsigned n);
bool	sock_rx_pending(const struct sock *);

/* A raw IPv4 socket hands over the IP header too: checks and strips it. */
enum drop_reason sock_strip_outer(const struct sock *, struct pkt *);

/* The MTU of the route from local to remote, as the kernel sees it now,
 * and (when src is not NULL) the source address it would use; a negative
 * errno when there is no route. Sends nothing. */
int	route_lookup(const struct ovt_addr *local, const struct ovt_addr *remote,
	    struct ovt_addr *src);

/* Fills a sockaddr for addr and port; returns its length. */
socklen_t sockaddr_from(struct sockaddr_storage *, const struct ovt_addr *,
	    uint16_t port);

#endif
