/* Every on-wire constant and header layout the daemon speaks. Fields are in
 * network byte order; the codecs read and write them with explicit
 * byte-order conversion, never through unaligned struct access. */
#ifndef OVT_WIRE_H
#define OVT_WIRE_H

#include <stdint.h>

#define ETH_HLEN_		14
#define ETH_VLAN_HLEN		4
#define ETHERTYPE_TEB		0x6558	/* Transparent Ethernet Bridging */
#define ETHERTYPE_VLAN_		0x8100

#define IPPROTO_GRE_		47
#define IPV4_HLEN_MIN		20
#define IPV6_HLEN		40
#define UDP_HLEN		8

/* GRE, RFC 2784 with the key and sequence extensions of RFC 2890.
 * First 16 bits: C R K S s Recur(3) A Flags(4) Ver(3). */
#define GRE_FLAG_C		0x8000	/* checksum present */
#define GRE_FLAG_R		0x4000	/* routing present (RFC 1701) */
#define GRE_FLAG_K		0x2000	/* key present */
#define GRE_FLAG_S		0x1000	/* sequence number present */
#define GRE_FLAG_SSR		0x0800	/* strict source route (RFC 1701) */
#define GRE_VERSION_MASK	0x0007
#define GRE_HLEN_BASE		4
#define GRE_HLEN_OPT		4	/* each of checksum(+reserved1), key, seq */

/* VXLAN, RFC 7348: flags(8) reserved(24) VNI(24) reserved(8). */
#define VXLAN_HLEN		8
#define VXLAN_FLAG_I		0x08	/* VNI valid */
#define VXLAN_PORT		4789

/* Geneve, RFC 8926: Ver(2) OptLen(6) O C Rsvd(6) ProtocolType(16)
 * VNI(24) Reserved(8), then OptLen*4 bytes of TLV options. */
#define GENEVE_HLEN		8
#define GENEVE_VERSION		0
#define GENEVE_FLAG_O		0x80	/* OAM frame (second byte) */
#define GENEVE_FLAG_C		0x40	/* critical options present */
#define GENEVE_OPTLEN_MASK	0x3f	/* first byte, in 4-byte words */
#define GENEVE_OPTS_MAX		(GENEVE_OPTLEN_MASK * 4)	/* 252 */
#define GENEVE_PORT		6081
/* Option TLV: class(16) type(8) R(3) length(5) in 4-byte words. */
#define GENEVE_OPT_HLEN		4
#define GENEVE_OPT_TYPE_CRITICAL 0x80
#define GENEVE_OPT_LEN_MASK	0x1f

#define VNI_MAX			0xffffffu

#endif
