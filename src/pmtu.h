/* Path MTU across the overlay: what ovtund does with a frame that does not
 * fit a peer's path, and with the TCP SYNs that would lead to such frames.
 * Pure functions over Ethernet frames (untagged or with one 802.1Q tag),
 * like the codecs: no sockets, no globals, no clock.
 *
 *   pmtu_classify()       IPv4 with DF, IPv4 without, IPv6, or neither
 *   pmtu_verdict()        send, fragment, drop or answer a frame; the
 *                         outer DF bit
 *   icmp4_frag_needed()   the ICMP "fragmentation needed" (RFC 792/1191)
 *   icmp6_packet_too_big() the ICMPv6 "packet too big" (RFC 4443, 8201)
 *   tcp_mss_clamp()       lowers the MSS option of a SYN, with the TCP
 *                         checksum updated incrementally (RFC 1624)
 *
 * The answers go back to the sender through the TAP: Ethernet addresses
 * swapped, the VLAN tag kept, the IP source being the address the frame
 * was sent to (Linux, like most stacks, takes a "too big" from anyone). */
#ifndef OVT_PMTU_H
#define OVT_PMTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

struct pmtu_params;

enum pmtu_kind {
	PMTU_OTHER,	/* not IP, or too short to tell */
	PMTU_IPV4,	/* IPv4, DF clear: may be fragmented */
	PMTU_IPV4_DF,	/* IPv4, DF set */
	PMTU_IPV6,
};

/* What the frame carries; *l2len (may be NULL) gets the length of its
 * Ethernet header, 14 or 18. */
enum pmtu_kind	pmtu_classify(const uint8_t *frame, size_t len, size_t *l2len);

/*
 * What to do with a frame for a peer whose path takes frame_max bytes of
 * frame (the route MTU less the encapsulation): sent with the outer DF bit
 * clear, for the kernel to fragment the outer packet, or dropped, its
 * sender then hearing of it (ICMP "fragmentation needed" or ICMPv6 "packet
 * too big", through the TAP) so that its own path MTU discovery converges.
 * Which, by the kind of frame and pmtu.df:
 *
 *                         fits        too big
 *   IPv4, DF set          outer DF*   ICMP, drop (pmtu_icmp = no: drop,
 *                                     or fragment when df = unset)
 *   IPv6                  outer DF*   ICMPv6, drop (the same); up to
 *                                     1280 bytes of IPv6: fragment
 *   IPv4, DF clear        outer DF*   fragment (df = set: ICMP, drop)
 *   anything else         outer DF*   fragment (df = set: drop)
 *
 *   * df = inherit: outer DF set for IPv4 with DF and for IPv6; set:
 *     always; unset: never.
 */
enum pmtu_action {
	PMTU_SEND,	/* it fits */
	PMTU_FRAGMENT,	/* too big: sent for the kernel to fragment */
	PMTU_DROP,	/* too big: dropped */
	PMTU_ANSWER,	/* too big: dropped, and its sender told */
};

struct pmtu_verdict {
	enum pmtu_action action;
	bool		 df;	/* the outer DF bit, when sent */
	enum pmtu_kind	 kind;	/* PMTU_ANSWER: the answer's family */
	size_t		 mtu;	/* PMTU_ANSWER: the IP MTU to tell */
};

/* The verdict on frame (len bytes in its first piece, total in all). */
struct pmtu_verdict pmtu_verdict(const struct pmtu_params *,
	    size_t frame_max, const uint8_t *frame, size_t len, size_t total);

/* Builds into out (reset first) the answer to frame, telling its sender
 * that mtu bytes of IP is all the path takes. Returns 0, or -1 when the
 * frame must not be answered (RFC 1122 3.2.2 and RFC 4443 2.4(e)): not
 * that family or malformed, an ICMP error itself, a non-initial fragment,
 * a multicast or broadcast destination, a source that is no one host. */
int	icmp4_frag_needed(const uint8_t *frame, size_t len, unsigned mtu,
	    struct pkt *out);
int	icmp6_packet_too_big(const uint8_t *frame, size_t len, unsigned mtu,
	    struct pkt *out);

/* A TCP segment with SYN set (SYN, SYN-ACK) in frame whose MSS option
 * offers more than what fits in frame_max bytes of frame (the path's
 * frame size: Ethernet header included), or more than cap (0: none), is
 * lowered to that, and its checksum updated. IPv4 fragments and IPv6
 * packets with a fragment header are left alone. Returns true when the
 * frame changed. */
bool	tcp_mss_clamp(uint8_t *frame, size_t len, size_t frame_max,
	    unsigned cap);

/* The Internet checksum field at sum, after the 16-bit word at an offset
 * of parity odd from the start of the checksummed data went from old to
 * new (RFC 1624 eqn. 3). */
void	csum_replace16(uint8_t *sum, uint16_t old, uint16_t new_, bool odd);

#endif
