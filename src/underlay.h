/* The daemon's underlay sockets: one per (kind, family, UDP port) that
 * some peer needs, each with its read event. Peers come and go on reload,
 * so sockets are opened on demand and closed once no peer uses them. */
#ifndef OVT_UNDERLAY_H
#define OVT_UNDERLAY_H

#include <stddef.h>

#include "socket.h"

struct daemon;
struct event;
struct peer;

/* Heap-allocated so libevent's callback argument stays put. */
struct underlay_sock {
	struct daemon	*d;
	struct sock	 s;
	struct event	*ev;
};

/* Points peer->sock at a socket that fits it, opening one if needed. */
int	underlay_attach(struct daemon *, struct peer *, char *err,
	    size_t errlen);
/* Closes the sockets no peer of d->peers uses any more. */
void	underlay_prune(struct daemon *);
void	underlay_close_all(struct daemon *);

#endif
