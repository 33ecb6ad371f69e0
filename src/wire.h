/* Every on-wire constant and header layout the daemon speaks. Fields are in
 * network byte order; the codecs read and write them with explicit
 * byte-order conversion, never through unaligned struct access. */
#ifndef OVT_WIRE_H
#define OVT_WIRE_H

#include <stdint.h>
#include <linux/if_ether.h>	/* ETH_ALEN, ETH_HLEN, ETH_DATA_LEN */
#include <netinet/in.h>		/* IPPROTO_*: the IP protocol numbers */

/* One name for each: the kernel's and libc's where they have one (above,
 * used as they are), and in the same style here where they do not. */

/* Ethernet, with at most one 802.1Q tag. */
#define ETH_SRC_OFF		ETH_ALEN	/* after the destination */
#define ETH_TYPE_OFF		(2 * ETH_ALEN)
#define VLAN_HLEN		4
#define ETHERTYPE_IPV4		0x0800
#define ETHERTYPE_IPV6		0x86dd
#define ETHERTYPE_VLAN		0x8100	/* IEEE 802.1Q */
#define ETHERTYPE_TEB		0x6558	/* Transparent Ethernet Bridging */

/* IPv4 (RFC 791) and IPv6 (RFC 8200). */
#define IPV4_HLEN_MIN		20
#define IPV4_DF			0x4000	/* flags and fragment offset */
#define IPV4_MF			0x2000
#define IPV4_FRAG_OFF		0x1fff
#define IPV4_MIN_MTU		68	/* RFC 791 */
#define IPV6_HLEN		40
#define IPV6_MIN_MTU		1280	/* RFC 8200 */

/* UDP, TCP, ICMP. */
#define UDP_HLEN		8
#define UDP_PORT_DISCARD	9	/* RFC 863: nothing listens */
#define TCP_HLEN_MIN		20
#define TCP_CSUM_OFF		16
#define TCP_FLAG_FIN		0x01
#define TCP_FLAG_SYN		0x02
#define TCP_FLAG_RST		0x04
#define TCP_FLAG_PSH		0x08
#define TCP_FLAG_ACK		0x10
#define TCP_FLAG_URG		0x20
#define TCP_FLAG_CWR		0x80
#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_MSS		2
#define TCPOLEN_MSS		4
#define ICMP_HLEN		8	/* ICMP and ICMPv6 */
/* What an ICMP error quotes of the packet at most: RFC 1812 4.3.2.3 keeps
 * a whole ICMP datagram within 576 bytes, RFC 4443 2.4(c) within 1280. */
#define ICMP4_ERR_MAX		576
#define ICMP6_ERR_MAX		1280

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

/* The key exchange's cookie reply (doc/handshake.md), WireGuard's: a
 * responder under load answers an initiation without a valid mac2 with
 * a cookie for its source address, sealed (XChaCha20-Poly1305, the
 * initiation's mac1 as associated data) so that only who sent that
 * initiation can use it. */
#define HS_MSG_COOKIE		3	/* the type, first 32-bit word */
#define COOKIE_RECEIVER_OFF	4	/* the initiation's sender index */
#define COOKIE_NONCE_OFF	8
#define COOKIE_NONCE_LEN	24
#define COOKIE_SEALED_OFF	32	/* the cookie and its tag */
#define COOKIE_LEN		16
#define COOKIE_TAG_LEN		16
#define COOKIE_REPLY_LEN	64
#define COOKIE_LIFETIME_MS	120000	/* a secret's, and a cookie's */

#endif
