#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "netlink.h"

struct mnl_socket *
nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);

	if (nl == NULL)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

void
nl_close(struct mnl_socket *nl)
{
	if (nl != NULL)
		mnl_socket_close(nl);
}

/* Sends one request and waits for its acknowledgement. */
static int
nl_transact(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	ret = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
	return ret < 0 ? -errno : 0;
}

/* BUF is MNL_SOCKET_BUFFER_SIZE bytes; cleared because libmnl 1.0.4
 * leaves an attribute's alignment padding (IFLA_ADDRESS: 2 bytes) as it
 * was, and those bytes go to the kernel. */
static struct nlmsghdr *
nl_request(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, MNL_SOCKET_BUFFER_SIZE);
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	return nlh;
}

static struct nlmsghdr *
nl_link_request(char *buf, unsigned ifindex)
{
	struct nlmsghdr *nlh = nl_request(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return nlh;
}

int
nl_link_set_mtu(struct mnl_socket *nl, unsigned ifindex, unsigned mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_link_request(buf, ifindex);

	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_transact(nl, nlh);
}

int
nl_link_set_address(struct mnl_socket *nl, unsigned ifindex,
    const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_link_request(buf, ifindex);

	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return nl_transact(nl, nlh);
}

int
nl_link_set_up(struct mnl_socket *nl, unsigned ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_link_request(buf, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	return nl_transact(nl, nlh);
}

int
nl_link_set_master(struct mnl_socket *nl, unsigned ifindex, unsigned master)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_link_request(buf, ifindex);

	mnl_attr_put_u32(nlh, IFLA_MASTER, master);
	return nl_transact(nl, nlh);
}

int
nl_link_set_netns(struct mnl_socket *nl, unsigned ifindex, int netns_fd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_link_request(buf, ifindex);

	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	return nl_transact(nl, nlh);
}

int
nl_addr_add(struct mnl_socket *nl, unsigned ifindex,
    const struct ovt_addr *addr, unsigned prefixlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_request(buf, RTM_NEWADDR,
	    NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	size_t len = addr->family == AF_INET ? sizeof(addr->v4) :
	    sizeof(addr->v6);

	ifa->ifa_family = (unsigned char)addr->family;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, len, &addr->v4);
	mnl_attr_put(nlh, IFA_ADDRESS, len, &addr->v4);
	return nl_transact(nl, nlh);
}
