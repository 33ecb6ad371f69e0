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
struct underlay_sock;

struct daemon {
	struct event_base	*base;
	struct config		*cfg;
	struct tap		 tap;
	struct peer_table	 peers;
	struct fdb		*fdb;
	struct underlay_sock	**usocks;	/* see underlay.h */
	size_t			 n_usocks;
	struct datapath		 dp;
	struct ctl_server	*ctl;
	struct event		**events;	/* TAP, timers, signals */
	size_t			 n_events;
	uint64_t		 started_ms;
	int			 exit_status;	/* main()'s, once the loop ends */
};

/* Points the data path's key log at the configuration's, if any. */
void	daemon_apply_keylog(struct daemon *);

/* Re-reads the configuration file and applies it (reload.c). On error the
 * running configuration stays and msg says why; on success msg sums up
 * what changed. */
int	daemon_reload(struct daemon *, char *msg, size_t msglen);

#endif
