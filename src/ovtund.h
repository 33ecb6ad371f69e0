/* The daemon's state: one struct, owned by main(), handed to the event
 * callbacks and the control commands. */
#ifndef OVT_OVTUND_H
#define OVT_OVTUND_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "datapath.h"
#include "peer.h"
#include "tap.h"

struct event;
struct event_base;
struct ctl_server;

/* What a socket's read event hands its callback. */
struct sock_event {
	struct daemon	*d;
	struct sock	*s;
};

struct daemon {
	struct event_base	*base;
	struct config		*cfg;
	struct tap		 tap;
	struct peer_table	 peers;
	struct fdb		*fdb;
	struct sock		**socks;	/* one per (kind, family, port) */
	size_t			 n_socks;
	struct datapath		 dp;
	struct ctl_server	*ctl;
	struct sock_event	*sock_events;	/* one per socket */
	struct event		**events;	/* TAP, sockets, timers, signals */
	size_t			 n_events;
	uint64_t		 started_ms;
	int			 exit_status;	/* main()'s, once the loop ends */
};

#endif
