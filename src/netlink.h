/* The few rtnetlink requests the daemon makes, over libmnl. Each returns 0
 * or a negative errno from the kernel's acknowledgement. */
#ifndef OVT_NETLINK_H
#define OVT_NETLINK_H

#include "config.h"

struct mnl_socket;

/* Opens a socket in the calling thread's current network namespace. */
struct mnl_socket *nl_open(void);
void	nl_close(struct mnl_socket *);

int	nl_link_set_mtu(struct mnl_socket *, unsigned ifindex, unsigned mtu);
int	nl_link_set_address(struct mnl_socket *, unsigned ifindex,
	    const uint8_t mac[6]);
int	nl_link_set_up(struct mnl_socket *, unsigned ifindex);
int	nl_link_set_master(struct mnl_socket *, unsigned ifindex,
	    unsigned master);
int	nl_link_set_netns(struct mnl_socket *, unsigned ifindex, int netns_fd);
int	nl_addr_add(struct mnl_socket *, unsigned ifindex,
	    const struct ovt_addr *, unsigned prefixlen);

#endif
