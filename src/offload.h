/* TCP segmentation and receive offload in software, for a TAP opened with
 * IFF_VNET_HDR (the scheme wireguard-go uses on its TUN).
 *
 * With TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) the kernel hands
 * the TAP reader TCP superframes of up to 64 KiB, each behind a 10-byte
 * struct virtio_net_hdr, and leaves checksums partial; and it accepts the
 * same from the writer. Going out, tso_segment() cuts a superframe into
 * MSS-sized Ethernet frames, each with complete checksums, in struct pkt
 * buffers ready for encapsulation in place, their payload left where it
 * is (pkt ext). Coming in, the gro_* functions glue consecutive segments
 * of a TCP flow back into one superframe, so one write() to the TAP
 * carries many segments; they hold the segments where they were received
 * and hand out the superframe as pieces for writev(), copying nothing.
 *
 * Everything here is pure: no sockets, no globals, no allocation; the
 * caller provides every buffer. Offsets in struct vnet_hdr (csum_start,
 * hdr_len) count from the first byte of the Ethernet frame, as the TAP
 * does, VLAN tag included. */
#ifndef OVT_OFFLOAD_H
#define OVT_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pkt.h"

/* struct virtio_net_hdr (linux/virtio_net.h), without the num_buffers of
 * the mergeable-buffers variant: TUNSETVNETHDRSZ must be set to this. */
#define VNET_HDR_LEN		10

#define VNET_F_NEEDS_CSUM	0x01	/* csum_start/csum_offset are valid */
#define VNET_F_DATA_VALID	0x02	/* checksum already verified */

#define VNET_GSO_NONE		0
#define VNET_GSO_TCPV4		1
#define VNET_GSO_TCPV6		4
#define VNET_GSO_ECN		0x80	/* the superframe carries CWR */

/* The largest IP packet a superframe holds: the 16-bit IPv4 total length,
 * or for IPv6 its 40-byte header plus the 16-bit payload length. */
#define OFFLOAD_IP_MAX		65535
#define OFFLOAD_IPV6_MAX	(IPV6_HLEN + 65535)
/* The largest frame a TAP with TSO hands over: Ethernet, one VLAN tag and
 * the largest IP packet. */
#define SUPERFRAME_MAX		(ETH_HLEN + VLAN_HLEN + OFFLOAD_IPV6_MAX)
/* What one read() of the TAP must have room for. */
#define VNET_READ_MAX		(VNET_HDR_LEN + SUPERFRAME_MAX)

/* The decoded header. The wire fields are little-endian: virtio 1.0 says
 * so, and a TAP without TUNSETVNETLE/TUNSETVNETBE uses the legacy host
 * order, which on little-endian hosts (x86, arm64) is the same thing. A
 * big-endian host must set TUNSETVNETLE for these functions to apply. */
struct vnet_hdr {
	uint8_t		flags;		/* VNET_F_* */
	uint8_t		gso_type;	/* VNET_GSO_* */
	uint16_t	hdr_len;	/* a hint: Ethernet + IP + TCP headers */
	uint16_t	gso_size;	/* payload bytes per segment */
	uint16_t	csum_start;	/* where checksumming starts */
	uint16_t	csum_offset;	/* where the sum goes, from csum_start */
};

/* Decodes and checks the header at buf, where len is what the TAP read
 * returned (header and frame). 0, or a negative errno meaning drop and
 * count: -EINVAL for a short buffer or a field that contradicts the frame
 * (unknown flags; NEEDS_CSUM with DATA_VALID; csum_start + csum_offset + 2
 * past the frame; hdr_len past the frame; gso_size 0 or no NEEDS_CSUM on a
 * GSO frame), -EPROTONOSUPPORT for a gso_type other than NONE, TCPV4 and
 * TCPV6 (ECN allowed with the latter two). With NEEDS_CSUM clear the csum
 * fields are ignored, as is gso_size without GSO; hdr_len is only a hint
 * (the kernel may set it to the whole linear part of the skb), so nothing
 * here trusts it beyond the frame's length. */
int	vnet_parse(const uint8_t *buf, size_t len, struct vnet_hdr *h);

/* Encodes h into the VNET_HDR_LEN bytes at buf. */
void	vnet_put(uint8_t *buf, const struct vnet_hdr *h);

/* Finishes a checksum left partial (NEEDS_CSUM): sums the frame from
 * csum_start to its end, the pseudo-header sum the sender left in the
 * field included, and stores the complement at csum_start + csum_offset
 * (0 goes out as 0xffff, as the kernel does). Works for TCP, UDP or any
 * Internet checksum. 0, or -EINVAL when the fields do not fit len; nothing
 * to do without NEEDS_CSUM. */
int	vnet_complete_csum(uint8_t *frame, size_t len, const struct vnet_hdr *h);

/* The caller's segment buffers and a cursor, so that a superframe with
 * more segments than buffers is done in several calls: set skip to 0,
 * call, use the n segments, add n to skip, call again while skip < total. */
struct seg_out {
	struct pkt	**pkts;		/* in: the buffers */
	size_t		  max;		/* in: how many */
	size_t		  skip;		/* in: segments already taken */
	size_t		  n;		/* out: segments written to pkts */
	size_t		  total;	/* out: segments in the superframe */
};

/* Turns what the TAP read into frames to send (frame, len: the Ethernet
 * frame after the vnet header; h: from vnet_parse). A GSO superframe
 * (Ethernet, at most one 802.1Q tag, IPv4 with any options or IPv6
 * without extension headers, TCP with any options) becomes segments of
 * gso_size payload bytes: headers replicated, IPv4 total length, ID (+1 a
 * segment) and header checksum, IPv6 payload length, TCP sequence number
 * advanced, FIN and PSH on the last segment only, CWR on the first only,
 * and the TCP checksum computed in full. Each segment's headers start
 * PKT_HEADROOM into its pkt; its payload stays in frame, as the pkt's ext,
 * so frame must outlive the segments. A GSO_NONE frame is copied whole
 * into one pkt and, with NEEDS_CSUM, its checksum completed.
 *
 * Returns out->n, or a negative errno (the caller drops and counts; no
 * buffer is touched): -EPROTONOSUPPORT when the frame is not what the
 * gso_type says (not IP/TCP, IPv6 extension headers, a fragment, another
 * VLAN tag), -EINVAL when lengths are inconsistent, the payload is empty
 * or NEEDS_CSUM points anywhere but the TCP checksum, -EMSGSIZE when a
 * segment would not fit a struct pkt (PKT_FRAME_MAX), -ENOBUFS when
 * out->max is 0 with work left. */
int	tso_segment(const uint8_t *frame, size_t len, const struct vnet_hdr *h,
	    struct seg_out *out);

/* Receive side. A frame joins a held superframe when it is the next
 * in-order TCP segment of the same flow: same MACs (and VLAN tag), IP
 * addresses and ports; the same IP and TCP headers except the lengths, IP
 * ID (which must go up by one unless DF is set), checksums and sequence
 * number; ACK without SYN, FIN, RST, URG or CWR (PSH ends the superframe);
 * the same TCP options; a sequence number where the last one ended; as
 * much payload as the first segment, or less, which ends it; valid IPv4
 * header and TCP checksums (the kernel recomputes the TCP checksum of a
 * superframe, so a corrupted segment must never join one); and no more
 * than GRO_MAX_SEGS segments and OFFLOAD_IP_MAX bytes of IP packet.
 * Anything else leaves as it came (after the held superframe of its flow,
 * if any, to keep the flow in order).
 *
 * Nothing is copied: a flow holds its first segment, whose headers become
 * the superframe's (patched in place when it leaves), and the payloads of
 * the others where they lie. So every frame given to gro_add belongs to
 * the table until gro_flush: the caller must not change or reuse its
 * buffer before then, and finds a first segment's headers rewritten. */
#define GRO_FLOWS		16
#define GRO_MAX_SEGS		64
#define GRO_ADD_MAX_OUT		2

struct gro_flow {
	bool		used;
	bool		v6;
	uint16_t	l3, l4, hlen;	/* IP and TCP offsets, headers' end */
	uint16_t	gso_size;	/* the first segment's payload */
	uint16_t	count;		/* segments held */
	uint16_t	next_id;	/* IPv4 ID the next segment must have */
	uint32_t	len;		/* superframe bytes so far */
	uint32_t	next_seq;	/* where the next segment must start */
	uint64_t	stamp;		/* last use, for eviction */
	/* The first segment (headers and payload), then the payloads of
	 * the others. */
	struct iovec	seg[GRO_MAX_SEGS];
};

struct gro_stats {
	uint64_t	merged;		/* segments that joined a superframe */
	uint64_t	superframes;	/* superframes of 2 or more segments */
	uint64_t	passed;		/* frames left as they came */
	uint64_t	evicted;	/* flows pushed out by a new one */
};

void	gro_stats_add(struct gro_stats *sum, const struct gro_stats *);

/* About 17 KB: allocate once, gro_init, and keep. */
struct gro_table {
	struct gro_flow	 flows[GRO_FLOWS];
	uint64_t	 clock;
	struct gro_stats stats;
};

/* A frame to write to the TAP: the vnet header, then the frame in n_iov
 * pieces of len bytes in all (writev). The pieces point into the frames
 * given to gro_add. */
struct gro_out {
	uint8_t		 vnet[VNET_HDR_LEN];
	struct iovec	 iov[GRO_MAX_SEGS];
	unsigned	 n_iov;
	size_t		 len;
	unsigned	 segs;		/* TCP segments carried; 1 if plain */
};

void	gro_init(struct gro_table *t);

/* Offers one received Ethernet frame; returns how many frames (0 to
 * GRO_ADD_MAX_OUT) are ready in out, in the order to write them.
 * csum_verified says a check that covers the whole frame already passed
 * (an ESP ICV, a UDP checksum the kernel verified), so the TCP checksum
 * need not be summed again, as the kernel's own tunnels do. */
int	gro_add(struct gro_table *t, uint8_t *frame, size_t len,
	    bool csum_verified, struct gro_out out[GRO_ADD_MAX_OUT]);

/* Hands out every held superframe (at the end of a receive, and before
 * the buffers of the frames given to gro_add are reused); returns how
 * many (0 to GRO_FLOWS) are in out. */
int	gro_flush(struct gro_table *t, struct gro_out out[GRO_FLOWS]);

#endif
