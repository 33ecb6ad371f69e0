#include <string.h>

#include <sodium.h>

#include "byteorder.h"
#include "flow.h"
#include "wire.h"

_Static_assert(FLOW_KEY_LEN == crypto_shorthash_KEYBYTES, "SipHash's key");

/* The protocols whose first four bytes are the ports. */
static int
has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	    proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE;
}

/* Appends what identifies the IP flow at ip (len bytes) to k; returns
 * the new length of k, 0 if ip is no IP packet of that version. */
static size_t
ip_key(const uint8_t *ip, size_t len, uint16_t type, uint8_t *k)
{
	size_t n = 0, hlen;
	uint8_t proto;

	if (type == ETHERTYPE_IPV4) {
		if (len < IPV4_HLEN_MIN || ip[0] >> 4 != 4 ||
		    (hlen = (size_t)(ip[0] & 0x0f) * 4) < IPV4_HLEN_MIN)
			return 0;
		proto = ip[9];
		memcpy(k, ip + 12, 8);
		n = 8;
		/* Fragments: no ports in the later ones, none in any. */
		if ((be16_get(ip + 6) & (IPV4_MF | IPV4_FRAG_OFF)) != 0)
			hlen = len;
	} else {
		if (len < IPV6_HLEN || ip[0] >> 4 != 6)
			return 0;
		proto = ip[6];
		hlen = IPV6_HLEN;
		memcpy(k, ip + 8, 32);
		n = 32;
	}
	k[n++] = proto;
	if (has_ports(proto) && len >= hlen + 4) {
		memcpy(k + n, ip + hlen, 4);
		n += 4;
	}
	return n;
}

uint32_t
flow_hash(const uint8_t *f, size_t len, const uint8_t key[FLOW_KEY_LEN])
{
	uint8_t k[32 + 1 + 4], out[crypto_shorthash_BYTES];
	size_t l3 = ETH_HLEN, n = 0;
	uint16_t type;
	uint32_t h;

	if (len < ETH_HLEN)
		return 0;
	type = be16_get(f + ETH_TYPE_OFF);
	if (type == ETHERTYPE_VLAN && len >= ETH_HLEN + VLAN_HLEN) {
		type = be16_get(f + ETH_TYPE_OFF + VLAN_HLEN);
		l3 += VLAN_HLEN;
	}
	if (type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6)
		n = ip_key(f + l3, len - l3, type, k);
	if (n == 0) {
		memcpy(k, f, ETH_HLEN);
		n = ETH_HLEN;
	}
	crypto_shorthash(out, k, n, key);
	memcpy(&h, out, sizeof(h));
	return h;
}
