#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <libmnl/libmnl.h>

#include "log.h"
#include "netlink.h"
#include "offload.h"
#include "tap.h"
#include "tapmac.h"

#define NETNS_RUN_DIR	"/var/run/netns"

/* TCP segmentation and checksum offloads: the kernel then hands us TCP
 * superframes of up to 64 KiB behind a virtio_net_hdr, one read instead
 * of dozens, and takes superframes back. Where the kernel refuses, the
 * header stays and every frame comes whole. */
static void
tap_enable_offloads(struct tap *tap, int fd)
{
	int hdr = VNET_HDR_LEN;
	unsigned flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		tap->vnet = false;
		return;
	}
	tap->tso = ioctl(fd, TUNSETOFFLOAD, flags) == 0;
}

/* Opens one queue of the TAP called name: the first creates it. */
static int
tap_attach(struct tap *tap, const char *name, bool vnet)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) |
	    (tap->n_queues > 1 ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	snprintf(tap->name, sizeof(tap->name), "%s", ifr.ifr_name);
	return fd;
}

static int
tap_create(struct tap *tap, const char *name, bool vnet, unsigned queues)
{
	int fd;

	tap->n_queues = queues;
	tap->vnet = vnet;
	tap->tso = false;
	for (unsigned i = 0; i < queues; i++) {
		/* Every queue after the first joins the TAP the first made. */
		if ((fd = tap_attach(tap, i == 0 ? name : tap->name, vnet)) < 0)
			return fd;
		tap->fds[i] = fd;
		if (vnet)
			tap_enable_offloads(tap, fd);
	}
	tap->ifindex = if_nametoindex(tap->name);
	return tap->ifindex == 0 ? -errno : 0;
}

/* Has the kernel announce the TAP's addresses when it comes up: a
 * gratuitous ARP for IPv4 (arp_notify) and, once duplicate address
 * detection is done, an unsolicited neighbour advertisement for IPv6
 * (ndisc_notify), so that neighbours which knew another MAC for them
 * learn this one at once. In the namespace the thread is in; where IPv6
 * is off its knob is missing, which is fine. */
static void
tap_announce(const struct tap *tap)
{
	static const char *const knobs[] = {
		"/proc/sys/net/ipv4/conf/%s/arp_notify",
		"/proc/sys/net/ipv6/conf/%s/ndisc_notify",
	};
	char path[128];
	int fd;

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(path, sizeof(path), knobs[i], tap->name);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
			continue;
		if (write(fd, "1", 1) != 1)
			log_warn("%s: cannot announce the address: %s",
			    tap->name, strerror(errno));
		close(fd);
	}
}

/* The last steps, address and link up, in the namespace the thread is in:
 * after a move, the netlink socket and the name lookup must live there. */
static int
tap_address_and_up(struct tap *tap, const struct config *cfg,
    char *err, size_t errlen)
{
	struct mnl_socket *nl;
	int ret;

	tap->ifindex = if_nametoindex(tap->name);
	if (tap->ifindex == 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: not found after the move: %s",
		    tap->name, strerror(-ret));
		return ret;
	}
	if ((nl = nl_open()) == NULL) {
		ret = -errno;
		snprintf(err, errlen, "netlink: %s", strerror(-ret));
		return ret;
	}
	ret = 0;
	tap_announce(tap);
	if (cfg->address.family != 0) {
		ret = nl_addr_add(nl, tap->ifindex, &cfg->address,
		    cfg->prefixlen);
		if (ret < 0)
			snprintf(err, errlen, "%s: adding address: %s",
			    tap->name, strerror(-ret));
	}
	if (ret == 0 && (ret = nl_link_set_up(nl, tap->ifindex)) < 0)
		snprintf(err, errlen, "%s: link up: %s", tap->name,
		    strerror(-ret));
	nl_close(nl);
	return ret;
}

/* Moves the TAP into the named namespace and configures it there, then
 * returns the thread to the namespace it came from. */
static int
tap_move_to_netns(struct tap *tap, struct mnl_socket *nl,
    const struct config *cfg, char *err, size_t errlen)
{
	char path[sizeof(NETNS_RUN_DIR) + sizeof(cfg->netns) + 1];
	int home, target, ret;

	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, cfg->netns);
	if ((target = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "netns %s: %s", cfg->netns,
		    strerror(errno));
		return ret;
	}
	if ((home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "own netns: %s", strerror(errno));
		close(target);
		return ret;
	}
	ret = nl_link_set_netns(nl, tap->ifindex, target);
	if (ret < 0) {
		snprintf(err, errlen, "%s: moving into netns %s: %s",
		    tap->name, cfg->netns, strerror(-ret));
	} else if (setns(target, CLONE_NEWNET) < 0) {
		ret = -errno;
		snprintf(err, errlen, "entering netns %s: %s", cfg->netns,
		    strerror(errno));
	} else {
		ret = tap_address_and_up(tap, cfg, err, errlen);
		if (setns(home, CLONE_NEWNET) < 0 && ret == 0) {
			ret = -errno;
			snprintf(err, errlen, "leaving netns %s: %s",
			    cfg->netns, strerror(errno));
		}
	}
	close(home);
	close(target);
	return ret;
}

static int
tap_enslave(struct tap *tap, struct mnl_socket *nl, const char *bridge,
    char *err, size_t errlen)
{
	unsigned master = if_nametoindex(bridge);
	int ret;

	if (master == 0) {
		ret = -errno;
		snprintf(err, errlen, "bridge %s: %s", bridge, strerror(errno));
		return ret;
	}
	if ((ret = nl_link_set_master(nl, tap->ifindex, master)) < 0) {
		snprintf(err, errlen, "%s: enslaving to %s: %s", tap->name,
		    bridge, strerror(-ret));
		return ret;
	}
	if ((ret = nl_link_set_up(nl, tap->ifindex)) < 0)
		snprintf(err, errlen, "%s: link up: %s", tap->name,
		    strerror(-ret));
	return ret;
}

static int
tap_configure(struct tap *tap, const struct config *cfg, unsigned mtu,
    char *err, size_t errlen)
{
	struct mnl_socket *nl;
	int ret;

	if ((nl = nl_open()) == NULL) {
		ret = -errno;
		snprintf(err, errlen, "netlink: %s", strerror(-ret));
		return ret;
	}
	if (tap->mac_stable &&
	    (ret = nl_link_set_address(nl, tap->ifindex, tap->mac)) < 0)
		snprintf(err, errlen, "%s: setting MAC address: %s", tap->name,
		    strerror(-ret));
	else if ((ret = nl_link_set_mtu(nl, tap->ifindex, mtu)) < 0)
		snprintf(err, errlen, "%s: setting MTU %u: %s", tap->name, mtu,
		    strerror(-ret));
	else if (cfg->netns[0] != '\0')
		ret = tap_move_to_netns(tap, nl, cfg, err, errlen);
	else if (cfg->bridge[0] != '\0')
		ret = tap_enslave(tap, nl, cfg->bridge, err, errlen);
	else
		ret = tap_address_and_up(tap, cfg, err, errlen);
	nl_close(nl);
	return ret;
}

/* The address the kernel gave the TAP, for ovtunctl show; left as it
 * is (zero) if it cannot be read. */
static void
kernel_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* The MTU of the bridge the TAP joins, 0 if unknown. */
static unsigned
bridge_mtu(const char *bridge)
{
	struct ifreq ifr;
	int fd, ret;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ret = ioctl(fd, SIOCGIFMTU, &ifr);
	close(fd);
	return ret < 0 || ifr.ifr_mtu <= 0 ? 0 : (unsigned)ifr.ifr_mtu;
}

int
tap_open(struct tap *tap, const struct config *cfg, unsigned mtu,
    unsigned queues, char *err, size_t errlen)
{
	char macerr[128];
	unsigned bmtu;
	int ret;

	memset(tap, 0, sizeof(*tap));
	for (unsigned i = 0; i < CONFIG_WORKERS_MAX; i++)
		tap->fds[i] = -1;
	if (queues == 0 || queues > CONFIG_WORKERS_MAX)
		queues = 1;
	if ((ret = tap_create(tap, cfg->interface, cfg->offload,
	    queues)) < 0) {
		snprintf(err, errlen, "%s: creating TAP: %s", cfg->interface,
		    strerror(-ret));
		tap_close(tap);
		return ret;
	}
	if (tap_mac_for(cfg, tap->mac, macerr, sizeof(macerr)) == 0) {
		tap->mac_stable = true;
	} else {
		kernel_mac(tap->name, tap->mac);
		log_warn("%s: random MAC address, which changes with every "
		    "start (set mac = \"...\" to fix one): %s", tap->name,
		    macerr);
	}
	/* A bridge silently drops a frame larger than the port it leaves
	 * by: a TAP smaller than the bridge would be a black hole for the
	 * hosts behind it. It takes the bridge's MTU instead, and ovtund
	 * holds each peer to its path (ICMP, MSS clamping: see pmtu.h). */
	if (cfg->bridge[0] != '\0' && (bmtu = bridge_mtu(cfg->bridge)) > mtu &&
	    bmtu <= 9000)
		mtu = bmtu;
	tap->mtu = mtu;
	if ((ret = tap_configure(tap, cfg, mtu, err, errlen)) < 0)
		tap_close(tap);
	return ret;
}

void
tap_close(struct tap *tap)
{
	for (unsigned i = 0; i < tap->n_queues; i++) {
		if (tap->fds[i] >= 0)
			close(tap->fds[i]);
		tap->fds[i] = -1;
	}
	tap->n_queues = 0;
}
