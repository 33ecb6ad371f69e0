/* The TAP device: created by the daemon, sized, then moved into a network
 * namespace with an address or enslaved to a bridge, and brought up. It is
 * not persistent, so closing the descriptor removes it. */
#ifndef OVT_TAP_H
#define OVT_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct tap {
	/* One queue per worker (IFF_MULTI_QUEUE when more than one): the
	 * kernel hands each flow's frames to one queue, by its hash. Each
	 * non-blocking, IFF_TAP | IFF_NO_PI. */
	int		fds[CONFIG_WORKERS_MAX];
	unsigned	n_queues;
	char		name[IFNAMSIZ];
	unsigned	mtu;
	unsigned	ifindex;	/* in the namespace it lives in */
	uint8_t		mac[6];
	bool		mac_stable;	/* configured or derived, not random */
	bool		vnet;		/* frames carry a virtio_net_hdr */
	bool		tso;		/* ... and may be TCP superframes */
};

/* Creates and configures the TAP of cfg with the given MTU and number of
 * queues. On failure returns a negative errno and writes why into err. */
int	tap_open(struct tap *, const struct config *, unsigned mtu,
	    unsigned queues, char *err, size_t errlen);
void	tap_close(struct tap *);

#endif
