/* The flow an Ethernet frame belongs to, as a number. The outer UDP
 * source port of VXLAN and Geneve follows it (RFC 7348 section 5, RFC
 * 8926 section 3.3), so that ECMP routers and the receiving host's RSS
 * and SO_REUSEPORT spread flows while each stays in order, as the
 * kernel's vxlan device and Open vSwitch do. Pure, like the codecs; the
 * caller keeps the key, so a hostile sender cannot aim flows at one
 * port. */
#ifndef OVT_FLOW_H
#define OVT_FLOW_H

#include <stddef.h>
#include <stdint.h>

#define FLOW_KEY_LEN	16

/* IPv4 and IPv6 (behind at most one 802.1Q tag): the protocol and
 * addresses, and for TCP, UDP, SCTP and UDP-Lite the ports unless the
 * packet is a fragment; anything else: the MAC addresses and EtherType.
 * IPv6 extension headers end the parse: addresses only. */
uint32_t	flow_hash(const uint8_t *frame, size_t len,
		    const uint8_t key[FLOW_KEY_LEN]);

#endif
