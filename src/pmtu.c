#include <string.h>

#include "byteorder.h"
#include "config.h"
#include "csum.h"
#include "pmtu.h"
#include "wire.h"

static bool
mac_multicast(const uint8_t *mac)
{
	return (mac[0] & 1) != 0;
}

enum pmtu_kind
pmtu_classify(const uint8_t *f, size_t len, size_t *l2len)
{
	size_t l2 = ETH_HLEN;
	uint16_t type;

	if (len < ETH_HLEN)
		return PMTU_OTHER;
	type = be16_get(f + ETH_TYPE_OFF);
	if (type == ETHERTYPE_VLAN) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return PMTU_OTHER;
		l2 += VLAN_HLEN;
		type = be16_get(f + ETH_TYPE_OFF + VLAN_HLEN);
	}
	if (l2len != NULL)
		*l2len = l2;
	if (type == ETHERTYPE_IPV4 && len >= l2 + IPV4_HLEN_MIN &&
	    (f[l2] >> 4) == 4)
		return be16_get(f + l2 + 6) & IPV4_DF ? PMTU_IPV4_DF : PMTU_IPV4;
	if (type == ETHERTYPE_IPV6 && len >= l2 + IPV6_HLEN &&
	    (f[l2] >> 4) == 6)
		return PMTU_IPV6;
	return PMTU_OTHER;
}

struct pmtu_verdict
pmtu_verdict(const struct pmtu_params *pm, size_t frame_max,
    const uint8_t *frame, size_t len, size_t total)
{
	struct pmtu_verdict v = { PMTU_SEND, false, PMTU_OTHER, 0 };
	size_t l2 = ETH_HLEN;
	bool inner_df;

	if (total <= frame_max) {
		if (pm->df == DF_INHERIT) {
			v.kind = pmtu_classify(frame, len, NULL);
			v.df = v.kind == PMTU_IPV4_DF || v.kind == PMTU_IPV6;
		} else
			v.df = pm->df == DF_SET;
		return v;
	}
	v.kind = pmtu_classify(frame, len, &l2);
	v.mtu = frame_max - l2;
	inner_df = v.kind == PMTU_IPV4_DF || v.kind == PMTU_IPV6;
	/* IPv6 promises 1280 bytes; only fragmenting keeps that promise on
	 * a path that is smaller still. */
	if (v.kind == PMTU_IPV6 && total - l2 <= IPV6_MIN_MTU)
		v.action = PMTU_FRAGMENT;
	else if (pm->icmp && (inner_df || (v.kind == PMTU_IPV4 &&
	    pm->df == DF_SET)))
		v.action = PMTU_ANSWER;
	else if (pm->df == DF_SET || (pm->df == DF_INHERIT && inner_df))
		v.action = PMTU_DROP;
	else
		v.action = PMTU_FRAGMENT;
	return v;
}

void
csum_replace16(uint8_t *sum, uint16_t old, uint16_t new_, bool odd)
{
	uint64_t s;

	if (odd) {
		old = (uint16_t)(old << 8 | old >> 8);
		new_ = (uint16_t)(new_ << 8 | new_ >> 8);
	}
	s = (uint16_t)~be16_get(sum) + (uint64_t)(uint16_t)~old + new_;
	be16_put(sum, (uint16_t)~csum_fold(s));
}

/* The answer's Ethernet header: addresses swapped, the tag kept. */
static uint8_t *
eth_reply(struct pkt *out, const uint8_t *f, size_t l2, uint16_t type,
    size_t l3len)
{
	uint8_t *h;

	pkt_reset(out);
	if ((h = pkt_put(out, l2 + l3len)) == NULL)
		return NULL;
	memcpy(h, f + ETH_SRC_OFF, ETH_ALEN);
	memcpy(h + ETH_SRC_OFF, f, ETH_ALEN);
	if (l2 > ETH_HLEN)
		memcpy(h + ETH_TYPE_OFF, f + ETH_TYPE_OFF, VLAN_HLEN);
	be16_put(h + l2 - 2, type);
	return h + l2;
}

/* Addresses an IPv4 error may neither be about nor go to (RFC 1122
 * 3.2.2): this network, loopback, multicast, class E, broadcast. */
static bool
ip4_not_a_host(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

static bool
icmp4_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

int
icmp4_frag_needed(const uint8_t *f, size_t len, unsigned mtu,
    struct pkt *out)
{
	const uint8_t *ip;
	uint8_t *h, *icmp;
	size_t l2, ihl, iplen, quote;
	enum pmtu_kind kind = pmtu_classify(f, len, &l2);

	if (kind != PMTU_IPV4 && kind != PMTU_IPV4_DF)
		return -1;
	ip = f + l2;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	iplen = be16_get(ip + 2);
	if (ihl < IPV4_HLEN_MIN || iplen < ihl || iplen > len - l2)
		return -1;
	if (mac_multicast(f) || (be16_get(ip + 6) & IPV4_FRAG_OFF) != 0 ||
	    ip4_not_a_host(ip + 12) || ip[16] >= 224)
		return -1;
	if (ip[9] == IPPROTO_ICMP &&
	    (iplen < ihl + 1 || icmp4_is_error(ip[ihl])))
		return -1;
	quote = iplen;
	if (quote > ICMP4_ERR_MAX - IPV4_HLEN_MIN - ICMP_HLEN)
		quote = ICMP4_ERR_MAX - IPV4_HLEN_MIN - ICMP_HLEN;
	if (mtu > 0xffff)
		mtu = 0xffff;

	h = eth_reply(out, f, l2, ETHERTYPE_IPV4,
	    IPV4_HLEN_MIN + ICMP_HLEN + quote);
	if (h == NULL)
		return -1;
	h[0] = 0x45;
	h[1] = 0xc0;		/* internetwork control, as routers do */
	be16_put(h + 2, (uint16_t)(IPV4_HLEN_MIN + ICMP_HLEN + quote));
	be32_put(h + 4, 0);	/* id, flags, fragment offset */
	h[8] = 64;
	h[9] = IPPROTO_ICMP;
	be16_put(h + 10, 0);
	memcpy(h + 12, ip + 16, 4);
	memcpy(h + 16, ip + 12, 4);
	be16_put(h + 10, (uint16_t)~csum_fold(csum_partial(h, IPV4_HLEN_MIN,
	    0)));

	icmp = h + IPV4_HLEN_MIN;
	icmp[0] = 3;		/* destination unreachable */
	icmp[1] = 4;		/* fragmentation needed and DF set */
	be16_put(icmp + 2, 0);
	be16_put(icmp + 4, 0);
	be16_put(icmp + 6, (uint16_t)mtu);
	memcpy(icmp + ICMP_HLEN, ip, quote);
	be16_put(icmp + 2, (uint16_t)~csum_fold(csum_partial(icmp,
	    ICMP_HLEN + quote, 0)));
	return 0;
}

static bool
ip6_not_a_host(const uint8_t *a)
{
	static const uint8_t zero[16], loop[16] = { [15] = 1 };

	return a[0] == 0xff || memcmp(a, zero, 16) == 0 ||
	    memcmp(a, loop, 16) == 0;
}

int
icmp6_packet_too_big(const uint8_t *f, size_t len, unsigned mtu,
    struct pkt *out)
{
	const uint8_t *ip;
	uint8_t *h, *icmp, pseudo[8];
	size_t l2, iplen, quote;
	uint64_t sum;

	if (pmtu_classify(f, len, &l2) != PMTU_IPV6)
		return -1;
	ip = f + l2;
	iplen = IPV6_HLEN + (size_t)be16_get(ip + 4);
	if (iplen == IPV6_HLEN || iplen > len - l2)
		return -1;	/* a jumbogram, or cut short */
	if (mac_multicast(f) || ip6_not_a_host(ip + 8) ||
	    ip6_not_a_host(ip + 24))
		return -1;
	if (ip[6] == IPPROTO_ICMPV6 &&
	    (iplen < IPV6_HLEN + 1 || ip[IPV6_HLEN] < 128))
		return -1;
	quote = iplen;
	if (quote > ICMP6_ERR_MAX - IPV6_HLEN - ICMP_HLEN)
		quote = ICMP6_ERR_MAX - IPV6_HLEN - ICMP_HLEN;

	h = eth_reply(out, f, l2, ETHERTYPE_IPV6,
	    IPV6_HLEN + ICMP_HLEN + quote);
	if (h == NULL)
		return -1;
	be32_put(h, 0x60000000);
	be16_put(h + 4, (uint16_t)(ICMP_HLEN + quote));
	h[6] = IPPROTO_ICMPV6;
	h[7] = 255;
	memcpy(h + 8, ip + 24, 16);
	memcpy(h + 24, ip + 8, 16);

	icmp = h + IPV6_HLEN;
	icmp[0] = 2;		/* packet too big */
	icmp[1] = 0;
	be16_put(icmp + 2, 0);
	be32_put(icmp + 4, mtu);
	memcpy(icmp + ICMP_HLEN, ip, quote);
	be32_put(pseudo, (uint32_t)(ICMP_HLEN + quote));
	be32_put(pseudo + 4, IPPROTO_ICMPV6);
	sum = csum_partial(h + 8, 32, 0);
	sum = csum_partial(pseudo, sizeof(pseudo), sum);
	sum = csum_partial(icmp, ICMP_HLEN + quote, sum);
	be16_put(icmp + 2, (uint16_t)~csum_fold(sum));
	return 0;
}

/* The TCP header of an IPv4 packet that is no fragment, or NULL; *end is
 * where the IP packet ends. */
static uint8_t *
tcp_in_ipv4(uint8_t *ip, size_t avail, uint8_t **end)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4, iplen = be16_get(ip + 2);

	if (ihl < IPV4_HLEN_MIN || iplen > avail || iplen < ihl ||
	    (be16_get(ip + 6) & (IPV4_MF | IPV4_FRAG_OFF)) != 0 ||
	    ip[9] != IPPROTO_TCP)
		return NULL;
	*end = ip + iplen;
	return ip + ihl;
}

/* The same for IPv6, past hop-by-hop, routing and destination options
 * headers (a fragment header: NULL). */
static uint8_t *
tcp_in_ipv6(uint8_t *ip, size_t avail, uint8_t **end)
{
	size_t iplen = IPV6_HLEN + (size_t)be16_get(ip + 4), off = IPV6_HLEN;
	uint8_t nh = ip[6];

	if (iplen > avail)
		return NULL;
	for (int i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 60); i++) {
		if (off + 8 > iplen)
			return NULL;
		nh = ip[off];
		off += ((size_t)ip[off + 1] + 1) * 8;
	}
	if (nh != IPPROTO_TCP || off > iplen)
		return NULL;
	*end = ip + iplen;
	return ip + off;
}

bool
tcp_mss_clamp(uint8_t *f, size_t len, size_t frame_max, unsigned cap)
{
	enum pmtu_kind kind;
	uint8_t *tcp, *end = NULL;
	size_t l2, doff, hdrs, mss;

	kind = pmtu_classify(f, len, &l2);
	if (kind == PMTU_IPV4 || kind == PMTU_IPV4_DF) {
		tcp = tcp_in_ipv4(f + l2, len - l2, &end);
		hdrs = IPV4_HLEN_MIN + TCP_HLEN_MIN;
	} else if (kind == PMTU_IPV6) {
		tcp = tcp_in_ipv6(f + l2, len - l2, &end);
		hdrs = IPV6_HLEN + TCP_HLEN_MIN;
	} else {
		return false;
	}
	if (tcp == NULL || end - tcp < TCP_HLEN_MIN ||
	    !(tcp[13] & TCP_FLAG_SYN))
		return false;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_HLEN_MIN || doff > (size_t)(end - tcp))
		return false;
	if (frame_max <= l2 + hdrs)
		return false;
	mss = frame_max - l2 - hdrs;
	if (cap != 0 && cap < mss)
		mss = cap;
	if (mss > 0xffff)
		return false;

	for (size_t i = TCP_HLEN_MIN; i < doff;) {
		uint8_t kind_ = tcp[i], olen;
		uint16_t old;

		if (kind_ == TCPOPT_EOL)
			break;
		if (kind_ == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= doff || (olen = tcp[i + 1]) < 2 || i + olen > doff)
			break;
		if (kind_ == TCPOPT_MSS && olen == TCPOLEN_MSS) {
			old = be16_get(tcp + i + 2);
			if (old <= mss)
				return false;
			be16_put(tcp + i + 2, (uint16_t)mss);
			csum_replace16(tcp + 16, old, (uint16_t)mss,
			    ((i + 2) & 1) != 0);
			return true;
		}
		i += olen;
	}
	return false;
}
