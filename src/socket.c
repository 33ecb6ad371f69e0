#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "socket.h"
#include "wire.h"

#define SOCK_BUFFER_BYTES	(4 << 20)
/* UDP GRO: a received message holds up to 64 KiB of datagrams. A few per
 * receive are enough to drain a batch's worth of segments. */
#define SOCK_GRO_MSGS		8
#define SOCK_GRO_BYTES		65536

struct sock_gro {
	unsigned	n_msg;		/* received by the last recvmmsg */
	unsigned	msg;		/* the one being split */
	size_t		off;		/* ... from this byte */
	struct mmsghdr	hdr[SOCK_GRO_MSGS];
	struct iovec	iov[SOCK_GRO_MSGS];
	struct sockaddr_storage src[SOCK_GRO_MSGS];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		cmsg[SOCK_GRO_MSGS];
	uint8_t		buf[SOCK_GRO_MSGS][SOCK_GRO_BYTES];
};

socklen_t
sockaddr_from(struct sockaddr_storage *ss, const struct ovt_addr *addr,
    uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (addr->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = addr->v6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	sin->sin_family = AF_INET;
	sin->sin_addr = addr->v4;
	sin->sin_port = htons(port);
	return sizeof(*sin);
}

static void
addr_from_sockaddr(struct ovt_addr *addr, const struct sockaddr_storage *ss)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = ss->ss_family;
	if (ss->ss_family == AF_INET6)
		addr->v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
	else
		addr->v4 = ((const struct sockaddr_in *)ss)->sin_addr;
}

/* Large buffers absorb bursts between two batches; the FORCE variants let
 * root go past the sysctl limits, the plain ones are the fallback. */
static void
sock_set_buffers(int fd)
{
	int bytes = SOCK_BUFFER_BYTES;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes,
	    sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes,
	    sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

/* UDP GSO (Linux 4.18): asking for a segment size of 0 is harmless and
 * tells whether the option exists. */
static bool
sock_probe_gso(int fd)
{
	int zero = 0;

	return setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
}

/* UDP GRO (Linux 5.0): a run of datagrams from one sender arrives as one
 * message, and a UDP GSO send from a local peer is never cut up at all;
 * without it each segment crosses the receive path alone. */
static struct sock_gro *
sock_enable_gro(int fd)
{
	static const int one = 1;
	struct sock_gro *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0) {
		free(g);
		return NULL;
	}
	return g;
}

/* A send-only socket: a raw socket sees every packet of its protocol
 * and a UDP one whatever strays to its port, so a filter drops all of it
 * before it is queued, and what came before the filter is read away. */
static int
sock_refuse_input(int fd)
{
	static struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	static const struct sock_fprog prog = { 1, &drop };
	char byte;

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) < 0)
		return -errno;
	while (recv(fd, &byte, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
	return 0;
}

static int
sock_bind(struct sock *s, const struct ovt_addr *local, bool reuseport)
{
	static const int one = 1;
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from(&ss, local, s->port);

	/* Separate IPv4 and IPv6 UDP sockets may share one port. */
	if (s->kind == SOCK_UDP && s->family == AF_INET6 &&
	    setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)) < 0)
		return -errno;
	/* The kernel spreads what arrives over the workers' sockets by the
	 * flow's addresses and ports. */
	if (reuseport && setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) < 0)
		return -errno;
	if (bind(s->fd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	if (s->kind == SOCK_UDP && s->port == 0) {
		len = sizeof(ss);
		if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0)
			return -errno;
		s->port = ntohs(s->family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	}
	return 0;
}

int
sock_open(struct sock *s, enum sock_kind kind, const struct ovt_addr *local,
    uint16_t port, unsigned flags, char *err, size_t errlen)
{
	char abuf[INET6_ADDRSTRLEN];
	bool offload = flags & SOCK_F_OFFLOAD;
	int ret;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->family = local->family;
	s->port = kind == SOCK_UDP ? port : 0;
	if (kind == SOCK_UDP)
		s->fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, IPPROTO_UDP);
	else
		s->fd = socket(s->family, SOCK_RAW | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, kind == SOCK_GRE ? IPPROTO_GRE : IPPROTO_ESP);
	if (s->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s socket: %s", kind == SOCK_UDP ?
		    "UDP" : kind == SOCK_GRE ? "raw GRE" : "raw ESP",
		    strerror(errno));
		return ret;
	}
	if ((flags & SOCK_F_SEND_ONLY) &&
	    (ret = sock_refuse_input(s->fd)) < 0) {
		snprintf(err, errlen, "socket filter: %s", strerror(-ret));
		sock_close(s);
		return ret;
	}
	sock_set_buffers(s->fd);
	s->gso = offload && kind == SOCK_UDP && sock_probe_gso(s->fd);
	if (offload && kind == SOCK_UDP && !(flags & SOCK_F_SEND_ONLY))
		s->gro = sock_enable_gro(s->fd);
	if ((ret = sock_bind(s, local, flags & SOCK_F_REUSEPORT)) < 0) {
		if (kind == SOCK_UDP)
			snprintf(err, errlen, "binding %s port %u: %s",
			    addr_format(local, abuf, sizeof(abuf)), port,
			    strerror(-ret));
		else
			snprintf(err, errlen, "binding %s: %s",
			    addr_format(local, abuf, sizeof(abuf)),
			    strerror(-ret));
		sock_close(s);
	}
	return ret;
}

void
sock_close(struct sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->gro);
	s->gro = NULL;
}

/* A message of several packets tells the kernel their size. */
static void
sock_set_gso(struct sock *s, struct msghdr *m, unsigned i)
{
	struct cmsghdr *c = &s->tx_cmsg[i].hdr;
	uint16_t size = (uint16_t)s->tx_info[i].seg;

	if (s->tx_info[i].pkts < 2)
		return;
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(size));
	memcpy(CMSG_DATA(c), &size, sizeof(size));
	m->msg_control = c;
	m->msg_controllen = sizeof(s->tx_cmsg[i].buf);
}

unsigned
sock_flush(struct sock *s)
{
	unsigned done = 0, failed = 0;

	for (unsigned i = 0; i < s->n_msg; i++)
		sock_set_gso(s, &s->tx_msg[i].msg_hdr, i);
	while (done < s->n_msg) {
		int n = sendmmsg(s->fd, s->tx_msg + done, s->n_msg - done,
		    MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The first message of the rest failed: skip it so
			 * one bad destination cannot stall the batch. A
			 * device without UDP GSO says EIO: stop using it. */
			if (errno == EIO)
				s->gso = false;
			failed += s->tx_info[done].pkts;
			done++;
			continue;
		}
		done += (unsigned)n;
	}
	s->n_tx = 0;
	s->n_msg = 0;
	s->n_iov = 0;
	return failed;
}

/* Whether a packet of size bytes may join the last message: same
 * destination, and a run of equal sizes that a shorter packet may end but
 * not continue. */
static bool
sock_joins(const struct sock *s, size_t size, const struct sockaddr *dst)
{
	const struct sock_msg *info;

	if (!s->gso || s->n_msg == 0)
		return false;
	info = &s->tx_info[s->n_msg - 1];
	return s->tx_msg[s->n_msg - 1].msg_hdr.msg_name == dst &&
	    size <= info->seg && info->last == info->seg &&
	    info->pkts < SOCK_GSO_SEGS && info->bytes + size <= SOCK_GSO_BYTES;
}

unsigned
sock_queue(struct sock *s, struct pkt *p, const struct sockaddr *dst,
    socklen_t dst_len)
{
	struct iovec *iov = &s->tx_iov[s->n_iov];
	size_t size = pkt_total(p);
	unsigned pieces = p->ext_len != 0 ? 2 : 1;
	struct sock_msg *info;
	struct msghdr *m;

	iov[0].iov_base = p->data;
	iov[0].iov_len = p->len;
	iov[1].iov_base = (void *)p->ext;
	iov[1].iov_len = p->ext_len;
	if (sock_joins(s, size, dst)) {
		m = &s->tx_msg[s->n_msg - 1].msg_hdr;
		info = &s->tx_info[s->n_msg - 1];
	} else {
		m = &s->tx_msg[s->n_msg].msg_hdr;
		info = &s->tx_info[s->n_msg++];
		memset(m, 0, sizeof(*m));
		m->msg_name = (void *)dst;
		m->msg_namelen = dst_len;
		m->msg_iov = iov;
		info->seg = size;
		info->bytes = 0;
		info->pkts = 0;
	}
	m->msg_iovlen += pieces;
	info->last = size;
	info->bytes += size;
	info->pkts++;
	s->n_iov += pieces;
	if (++s->n_tx == SOCK_BATCH)
		return sock_flush(s);
	return 0;
}

bool
sock_rx_pending(const struct sock *s)
{
	return s->gro != NULL && s->gro->msg < s->gro->n_msg;
}

/* The segment size the kernel kept the datagrams at; 0 for one datagram. */
static size_t
sock_gro_size(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL;
	    c = CMSG_NXTHDR(m, c)) {
		int size;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(size)))
			continue;
		memcpy(&size, CMSG_DATA(c), sizeof(size));
		return size > 0 ? (size_t)size : 0;
	}
	return 0;
}

static unsigned
sock_gro_receive(struct sock *s)
{
	struct sock_gro *g = s->gro;
	int got;

	for (unsigned i = 0; i < SOCK_GRO_MSGS; i++) {
		struct msghdr *m = &g->hdr[i].msg_hdr;

		g->iov[i].iov_base = g->buf[i];
		g->iov[i].iov_len = sizeof(g->buf[i]);
		memset(m, 0, sizeof(*m));
		m->msg_name = &g->src[i];
		m->msg_namelen = sizeof(g->src[i]);
		m->msg_iov = &g->iov[i];
		m->msg_iovlen = 1;
		m->msg_control = g->cmsg[i].buf;
		m->msg_controllen = sizeof(g->cmsg[i].buf);
	}
	do {
		got = recvmmsg(s->fd, g->hdr, SOCK_GRO_MSGS, MSG_DONTWAIT,
		    NULL);
	} while (got < 0 && errno == EINTR);
	g->msg = 0;
	g->off = 0;
	g->n_msg = got > 0 ? (unsigned)got : 0;
	return g->n_msg;
}

/* Splits received messages back into datagrams, each a view into the
 * buffer it came in: nothing is copied. */
static unsigned
sock_recv_gro(struct sock *s, struct pkt **pkts, struct sock_rx *meta,
    unsigned n)
{
	struct sock_gro *g = s->gro;
	unsigned got = 0;

	if (!sock_rx_pending(s) && sock_gro_receive(s) == 0)
		return 0;
	while (got < n && g->msg < g->n_msg) {
		struct msghdr *m = &g->hdr[g->msg].msg_hdr;
		size_t len = g->hdr[g->msg].msg_len;
		size_t seg = sock_gro_size(m);

		/* Datagrams are coalesced only with a checksum, verified or
		 * computed by the sending host itself. */
		meta[got].coalesced = seg != 0 && seg < len;
		meta[got].csum_verified = seg != 0 || s->family == AF_INET6;
		if (seg == 0 || seg > len - g->off)
			seg = len - g->off;
		meta[got].truncated = (m->msg_flags & MSG_TRUNC) != 0;
		if (meta[got].truncated)
			seg = len - g->off;
		addr_from_sockaddr(&meta[got].src, &g->src[g->msg]);
		pkt_borrow(pkts[got], g->buf[g->msg] + g->off, seg);
		g->off += seg;
		if (g->off >= len) {
			g->msg++;
			g->off = 0;
		}
		got++;
	}
	return got;
}

unsigned
sock_recv(struct sock *s, struct pkt **pkts, struct sock_rx *meta,
    unsigned n)
{
	int got;

	if (n > SOCK_BATCH)
		n = SOCK_BATCH;
	if (s->gro != NULL)
		return sock_recv_gro(s, pkts, meta, n);
	for (unsigned i = 0; i < n; i++) {
		struct msghdr *m = &s->rx_msg[i].msg_hdr;

		s->rx_iov[i].iov_base = pkts[i]->data;
		s->rx_iov[i].iov_len = pkt_tailroom(pkts[i]);
		memset(m, 0, sizeof(*m));
		m->msg_name = &s->rx_src[i];
		m->msg_namelen = sizeof(s->rx_src[i]);
		m->msg_iov = &s->rx_iov[i];
		m->msg_iovlen = 1;
	}
	do {
		got = recvmmsg(s->fd, s->rx_msg, n, MSG_DONTWAIT, NULL);
	} while (got < 0 && errno == EINTR);
	if (got <= 0)
		return 0;
	for (int i = 0; i < got; i++) {
		pkts[i]->len = s->rx_msg[i].msg_len;
		meta[i].truncated =
		    (s->rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
		meta[i].coalesced = false;
		/* Over IPv6 the kernel delivers no UDP datagram without a
		 * good checksum (a zero one is refused, RFC 8200 8.1); over
		 * IPv4 zero means none. */
		meta[i].csum_verified = s->kind == SOCK_UDP &&
		    s->family == AF_INET6;
		addr_from_sockaddr(&meta[i].src, &s->rx_src[i]);
	}
	return (unsigned)got;
}

enum drop_reason
sock_strip_outer(const struct sock *s, struct pkt *p)
{
	size_t ihl;

	if (s->kind == SOCK_UDP || s->family != AF_INET)
		return DROP_NONE;
	if (p->len < IPV4_HLEN_MIN)
		return DROP_TOO_SHORT;
	ihl = (size_t)(p->data[0] & 0x0f) * 4;
	if ((p->data[0] >> 4) != 4 || ihl < IPV4_HLEN_MIN || ihl > p->len ||
	    p->data[9] != (s->kind == SOCK_GRE ? IPPROTO_GRE : IPPROTO_ESP))
		return DROP_BAD_OUTER_IP;
	pkt_pull(p, ihl);
	return DROP_NONE;
}

int
route_lookup(const struct ovt_addr *local, const struct ovt_addr *remote,
    struct ovt_addr *src)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, mtu = 0, ret;

	if ((fd = socket(remote->family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	/* connect() on a datagram socket only picks the route. */
	ret = 0;
	if (local->family == remote->family) {
		len = sockaddr_from(&ss, local, 0);
		if (bind(fd, (struct sockaddr *)&ss, len) < 0)
			ret = -errno;
	}
	len = sockaddr_from(&ss, remote, UDP_PORT_DISCARD);
	if (ret == 0 && connect(fd, (struct sockaddr *)&ss, len) < 0)
		ret = -errno;
	len = sizeof(mtu);
	if (ret == 0 && getsockopt(fd, remote->family == AF_INET6 ?
	    IPPROTO_IPV6 : IPPROTO_IP, remote->family == AF_INET6 ?
	    IPV6_MTU : IP_MTU, &mtu, &len) < 0)
		ret = -errno;
	len = sizeof(ss);
	if (ret == 0 && src != NULL) {
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			ret = -errno;
		else
			addr_from_sockaddr(src, &ss);
	}
	close(fd);
	return ret < 0 ? ret : mtu;
}
