/* The TAP's MAC address: the same on every start of the same instance, so
 * that a restart does not leave the neighbours of the overlay sending to
 * an address that is gone (the spirit of systemd-networkd's
 * MACAddressPolicy=persistent). */
#ifndef OVT_TAPMAC_H
#define OVT_TAPMAC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* A locally administered unicast address hashed from the machine's id and
 * what tells this instance from another on the machine: the interface
 * name, the namespace it goes into and the local underlay address. Pure. */
void	tap_mac_derive(const char *machine_id, const char *ifname,
	    const char *netns, const struct ovt_addr *local, uint8_t mac[6]);

/* cfg's mac, or one derived from /etc/machine-id. -1 when that cannot be
 * read (err says why): the caller then leaves the kernel's random one. */
int	tap_mac_for(const struct config *cfg, uint8_t mac[6], char *err,
	    size_t errlen);

#endif
