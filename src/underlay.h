/* The daemon's underlay sockets, by class: what one kind of peer traffic
 * needs (kind, role, family, UDP port). Every worker has sockets of its
 * own in each class, so no two threads ever send on one socket (its
 * outer DF setting is the sender's):
 *   VXLAN, Geneve   a receiving socket on the port, one per worker
 *                   (SO_REUSEPORT: the kernel spreads the flows over
 *                   them), and send-only sockets on ports the kernel
 *                   picks, the same ports for every worker (SO_REUSEPORT
 *                   again), one per flow hash: the source port entropy
 *                   RFC 7348 (5) and RFC 8926 (3.3) ask for, which lets
 *                   the far end spread our flows the same way; a flow
 *                   keeps its port whichever worker sends it
 *   ESP in UDP      one socket per worker on port 4500 (SO_REUSEPORT),
 *                   sending and receiving: RFC 3948 keeps both ports 4500
 *   raw GRE, ESP    one raw socket per worker; only worker 0's receives,
 *                   since every raw socket sees every packet: the others
 *                   drop all with a filter
 *   key exchange    one UDP socket, the main thread's
 * Peers come and go on reload, so classes are opened on demand and closed
 * once no peer uses them (both only while the workers are paused). */
#ifndef OVT_UNDERLAY_H
#define OVT_UNDERLAY_H

#include <stddef.h>

#include "config.h"
#include "socket.h"

struct daemon;
struct event;
struct peer;

/* The source ports of a VXLAN or Geneve class. */
#define UNDERLAY_SOURCE_PORTS	8

/* A worker's sockets of a class to send on: a flow takes s[hash % n]. */
struct sock_pool {
	unsigned	 n;
	struct sock	*s[UNDERLAY_SOURCE_PORTS];
};

/* Heap-allocated so libevent's and epoll's pointers to it stay put. */
struct underlay_sock {
	struct daemon	*d;
	struct sock	 s;
	int		 worker;	/* its owner; -1: the main thread */
	bool		 rx;		/* its owner reads it */
	struct event	*ev;		/* the main thread's read event */
};

/* What a class carries, and where. */
struct class_key {
	enum sock_kind		 kind;
	enum sock_role		 role;
	sa_family_t		 family;
	uint16_t		 port;
};

struct underlay_class {
	struct class_key	 key;
	uint16_t		 source_ports[UNDERLAY_SOURCE_PORTS];
	struct sock_pool	 pool[CONFIG_WORKERS_MAX];	/* by worker */
	struct underlay_sock	**socks;
	size_t			 n_socks;
};

/* Points peer at the classes that fit it, opening them if need be.
 * Returns 0 or a negative errno (err says what). */
int	underlay_attach(struct daemon *, struct peer *, char *err,
	    size_t errlen);
/* Closes the classes no peer of d->peers uses any more. */
void	underlay_prune(struct daemon *);
void	underlay_close_all(struct daemon *);

#endif
