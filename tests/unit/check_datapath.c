/* The data path itself (dp-tx.c, dp-rx.c, datapath.c), driven the way the
 * workers drive it, without root and without a device: the TAP is one end
 * of a SOCK_SEQPACKET socketpair (a read is one frame, as from a TAP), the
 * underlay real UDP sockets on the loopback of a network namespace of the
 * test's own (a user namespace makes it, so no privilege is needed and
 * nothing leaves it); the peer is a UDP socket at 127.0.0.2, the daemon's
 * at 127.0.0.1. What each test checks is what a user would see: the bytes
 * on the wire and on the TAP, the counters ovtunctl shows, the MAC table. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "byteorder.h"
#include "config.h"
#include "datapath.h"
#include "fdb.h"
#include "peer.h"
#include "socket.h"
#include "tap.h"
#include "underlay.h"
#include "wire.h"

#include "check_main.h"

#define VNI		4242
#define TAP_MTU		1400
#define NOW		1000000

static const uint8_t mac_local[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_remote[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct {
	struct config		*cfg;
	struct peer_table	 peers;
	struct fdb		*fdb;
	struct tap		 tap;
	struct underlay_class	 uc;
	struct sock		 sock;		/* the daemon's, 127.0.0.1 */
	struct dp_inbox		 inbox;
	struct dp_shared	 sh;
	struct datapath		 dp;
	int			 tap_fds[2];	/* [1]: the kernel's side */
	int			 remote;	/* the peer, 127.0.0.2 */
} t;

static int
udp_at(const char *ip, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(port) };
	struct timeval tv = { 2, 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
setup(void)
{
	static const char conf[] =
	    "interface = \"faketap\"\n"
	    "local = \"127.0.0.1\"\n"
	    "mtu = 1400\n"
	    "encap = \"vxlan\"\n"
	    "key = 4242\n"
	    "offload = no\n"
	    "peer \"b\" { remote = \"127.0.0.2\" }\n";
	char path[] = "/tmp/check_datapath.XXXXXX", err[256];
	struct ovt_addr local = { .family = AF_INET };
	struct timeval tv = { 2, 0 };
	int fd;

	memset(&t, 0, sizeof(t));
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, conf, sizeof(conf) - 1),
	    (ssize_t)sizeof(conf) - 1);
	close(fd);
	t.cfg = config_load(path, err, sizeof(err));
	unlink(path);
	ck_assert_msg(t.cfg != NULL, "%s", err);
	ck_assert_int_eq(peer_table_init(&t.peers, t.cfg, 1), 0);
	ck_assert_ptr_nonnull(t.fdb = fdb_create(1024, 300 * 1000));

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
	    0, t.tap_fds), 0);
	ck_assert_int_eq(fcntl(t.tap_fds[0], F_SETFL, O_NONBLOCK), 0);
	setsockopt(t.tap_fds[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(t.tap.name, sizeof(t.tap.name), "faketap");
	t.tap.mtu = TAP_MTU;

	inet_pton(AF_INET, "127.0.0.1", &local.v4);
	ck_assert_msg(sock_open(&t.sock, SOCK_UDP, &local, VXLAN_PORT, 0, err,
	    sizeof(err)) == 0, "%s", err);
	t.sock.role = ROLE_TUNNEL;
	t.uc.key = (struct class_key){ SOCK_UDP, ROLE_TUNNEL, AF_INET,
	    VXLAN_PORT };
	t.uc.pool[0].n = 1;
	t.uc.pool[0].s[0] = &t.sock;
	t.peers.peers[0].uc = &t.uc;
	t.remote = udp_at("127.0.0.2", VXLAN_PORT);

	ck_assert_int_eq(dp_inbox_init(&t.inbox), 0);
	t.sh = (struct dp_shared){ .n_workers = 1, .main_inbox = &t.inbox,
	    .send_inbox = &t.inbox };
	ck_assert_int_eq(dp_init(&t.dp, 0, &t.sh, t.tap_fds[0]), 0);
	t.dp.tap = &t.tap;
	t.dp.peers = &t.peers;
	t.dp.fdb = t.fdb;
	t.dp.frame_max = TAP_MTU + ETH_HLEN + VLAN_HLEN;
}

static void
teardown(void)
{
	dp_free(&t.dp);
	dp_inbox_free(&t.inbox);
	sock_close(&t.sock);
	close(t.remote);
	close(t.tap_fds[0]);
	close(t.tap_fds[1]);
	fdb_destroy(t.fdb);
	peer_table_free(&t.peers);
	config_free(t.cfg);
}

/* An Ethernet frame of len bytes: IPv4 with DF (UDP, zeros), or, when
 * not ip, ARP-typed filler. */
static size_t
frame(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], size_t len,
    bool ip)
{
	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (!ip) {
		be16_put(f + 12, 0x0806);
		return len;
	}
	be16_put(f + 12, ETHERTYPE_IPV4);
	f[14] = 0x45;
	be16_put(f + 14 + 2, (uint16_t)(len - ETH_HLEN));
	be16_put(f + 14 + 6, IPV4_DF);
	f[14 + 8] = 64;
	f[14 + 9] = IPPROTO_UDP;
	memcpy(f + 14 + 12, (const uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	return len;
}

/* What the kernel would hand the TAP's reader. */
static void
tap_in(const uint8_t *f, size_t len)
{
	ck_assert_int_eq(write(t.tap_fds[1], f, len), (ssize_t)len);
	ck_assert_int_eq(dp_tap_readable(&t.dp, NOW), 0);
}

/* The next datagram the peer got, or -1 when none came. */
static ssize_t
remote_got(uint8_t *b, size_t max)
{
	return recv(t.remote, b, max, MSG_DONTWAIT);
}

/* The peer sends b, from 127.0.0.2 (or, with from, its own socket). */
static void
remote_sends(int from, const uint8_t *b, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
	    .sin_port = htons(VXLAN_PORT) };

	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	ck_assert_int_eq(sendto(from, b, len, 0, (struct sockaddr *)&to,
	    sizeof(to)), (ssize_t)len);
	dp_sock_readable(&t.dp, &t.sock, NOW);
}

static size_t
vxlan(uint8_t *b, uint8_t flags, uint32_t vni, const uint8_t *f, size_t len)
{
	memset(b, 0, VXLAN_HLEN);
	b[0] = flags;
	be32_put(b + 4, vni << 8);
	memcpy(b + VXLAN_HLEN, f, len);
	return VXLAN_HLEN + len;
}

START_TEST(tx_flood_encapsulated)
{
	uint8_t f[60], got[2048];
	ssize_t n;

	tap_in(f, frame(f, mac_bcast, mac_local, sizeof(f), false));
	n = remote_got(got, sizeof(got));
	ck_assert_int_eq(n, VXLAN_HLEN + sizeof(f));
	ck_assert_uint_eq(got[0], VXLAN_FLAG_I);
	ck_assert_uint_eq(be32_get(got + 4) >> 8, VNI);
	ck_assert_mem_eq(got + VXLAN_HLEN, f, sizeof(f));
	ck_assert_uint_eq(t.dp.c.tap_rx_packets, 1);
	ck_assert_uint_eq(t.dp.c.flooded, 1);
	ck_assert_uint_eq(t.dp.c.sock_tx_packets, 1);
	ck_assert_uint_eq(t.peers.peers[0].c[0].tx_packets, 1);
	ck_assert_uint_eq(t.peers.peers[0].c[0].tx_bytes, sizeof(f));
}
END_TEST

START_TEST(rx_decapsulated_learned_then_unicast)
{
	uint8_t f[60], b[128], got[2048];
	const struct peer *owner = NULL;
	ssize_t n;

	frame(f, mac_local, mac_remote, sizeof(f), false);
	remote_sends(t.remote, b, vxlan(b, VXLAN_FLAG_I, VNI, f, sizeof(f)));
	n = read(t.tap_fds[1], got, sizeof(got));
	ck_assert_int_eq(n, sizeof(f));
	ck_assert_mem_eq(got, f, sizeof(f));
	ck_assert_uint_eq(t.dp.c.sock_rx_packets, 1);
	ck_assert_uint_eq(t.dp.c.tap_tx_packets, 1);
	ck_assert_uint_eq(t.peers.peers[0].c[0].rx_packets, 1);
	ck_assert(fdb_lookup(t.fdb, mac_remote, NOW, &owner));
	ck_assert_ptr_eq(owner, &t.peers.peers[0]);

	/* The answer goes to that peer alone: not flooded. */
	tap_in(f, frame(f, mac_remote, mac_local, sizeof(f), false));
	ck_assert_int_eq(remote_got(got, sizeof(got)), VXLAN_HLEN + sizeof(f));
	ck_assert_uint_eq(t.dp.c.flooded, 0);
}
END_TEST

START_TEST(bad_input_dropped_and_counted)
{
	uint8_t f[60], b[128], got[2048];
	int stranger = udp_at("127.0.0.3", VXLAN_PORT);

	/* A runt from the TAP. */
	tap_in(f, 10);
	ck_assert_uint_eq(t.dp.c.drops[DROP_RUNT_FRAME], 1);
	/* VXLAN without the I flag, and with another VNI. */
	frame(f, mac_local, mac_remote, sizeof(f), false);
	remote_sends(t.remote, b, vxlan(b, 0, VNI, f, sizeof(f)));
	ck_assert_uint_eq(t.dp.c.drops[DROP_BAD_FLAGS], 1);
	remote_sends(t.remote, b, vxlan(b, VXLAN_FLAG_I, VNI + 1, f,
	    sizeof(f)));
	ck_assert_uint_eq(t.dp.c.drops[DROP_WRONG_KEY], 1);
	ck_assert_uint_eq(t.peers.peers[0].c[0].rx_drops, 2);
	/* Someone who is no peer. */
	remote_sends(stranger, b, vxlan(b, VXLAN_FLAG_I, VNI, f, sizeof(f)));
	ck_assert_uint_eq(t.dp.c.drops[DROP_UNKNOWN_PEER], 1);
	/* None of it went anywhere, nor was learned. */
	ck_assert_int_eq(recv(t.tap_fds[1], got, sizeof(got), MSG_DONTWAIT),
	    -1);
	ck_assert_int_eq(remote_got(got, sizeof(got)), -1);
	ck_assert_uint_eq(fdb_count(t.fdb), 0);
	close(stranger);
}
END_TEST

/* A frame larger than the peer's path, with DF: dropped, and its sender
 * told through the TAP how much fits (ICMP fragmentation needed). */
START_TEST(too_big_answered_on_the_tap)
{
	uint8_t f[1200], got[2048];
	struct peer *p = &t.peers.peers[0];
	size_t path = 1000;
	ssize_t n;

	/* Unknown unicast, flooded to the one peer; an answer to a
	 * broadcast would be refused (RFC 1122 3.2.2). */
	__atomic_store_n(&p->frame_max, path + ETH_HLEN, __ATOMIC_RELAXED);
	tap_in(f, frame(f, mac_remote, mac_local, sizeof(f), true));
	ck_assert_int_eq(remote_got(got, sizeof(got)), -1);
	ck_assert_uint_eq(t.dp.c.drops[DROP_PATH_MTU], 1);
	ck_assert_uint_eq(t.dp.c.icmp_frag_needed_sent, 1);
	n = read(t.tap_fds[1], got, sizeof(got));
	ck_assert_int_gt(n, ETH_HLEN + IPV4_HLEN_MIN + ICMP_HLEN);
	ck_assert_mem_eq(got, mac_local, 6);		/* back to the sender */
	ck_assert_uint_eq(got[ETH_HLEN + 9], IPPROTO_ICMP);
	ck_assert_uint_eq(got[ETH_HLEN + IPV4_HLEN_MIN], 3);	/* unreachable */
	ck_assert_uint_eq(got[ETH_HLEN + IPV4_HLEN_MIN + 1], 4);	/* frag needed */
	ck_assert_uint_eq(be16_get(got + ETH_HLEN + IPV4_HLEN_MIN + 6), path);
	/* One that fits goes out whole. */
	tap_in(f, frame(f, mac_remote, mac_local, path + ETH_HLEN, true));
	ck_assert_int_eq(remote_got(got, sizeof(got)),
	    VXLAN_HLEN + path + ETH_HLEN);
}
END_TEST

static Suite *
datapath_suite(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc = tcase_create("datapath");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tx_flood_encapsulated);
	tcase_add_test(tc, rx_decapsulated_learned_then_unicast);
	tcase_add_test(tc, bad_input_dropped_and_counted);
	tcase_add_test(tc, too_big_answered_on_the_tap);
	suite_add_tcase(s, tc);
	return s;
}

/* A network namespace of our own, its loopback up: made in a user
 * namespace of our own when unprivileged. Exit status 77 (skipped) where
 * the system allows neither. */
static int
own_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0 &&
	    unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "check_datapath: no network namespace of its "
		    "own (%s): skipped\n", strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		perror("check_datapath: lo");
		return -1;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		perror("check_datapath: lo up");
		return -1;
	}
	close(fd);
	return 0;
}

int
main(void)
{
	if (own_netns() < 0)
		return 77;
	return run_suite(datapath_suite());
}
