/* The three encapsulations as pure functions over a packet with headroom:
 * no sockets, no globals. Encap prepends the header in place and returns 0
 * or -ENOSPC; decap validates, strips the header and returns DROP_NONE or
 * the reason the packet must be dropped. The outer IP and UDP headers are
 * the socket layer's business, not the codecs'. */
#ifndef OVT_CODEC_H
#define OVT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drop.h"
#include "pkt.h"

/* What a decoder learned from a header, for the caller's key check. */
struct tunnel_hdr {
	bool		 has_key;	/* GRE: key field present; others: true */
	uint32_t	 key;		/* GRE key or VNI */
	bool		 has_seq;	/* GRE sequence number present */
	uint32_t	 seq;
	/* Geneve only: options as received, valid while the packet is. */
	const uint8_t	*opts;
	size_t		 opts_len;	/* bytes */
	unsigned	 n_opts;
};

int		 gre_encap(struct pkt *, bool has_key, uint32_t key);
enum drop_reason gre_decap(struct pkt *, struct tunnel_hdr *);

int		 vxlan_encap(struct pkt *, uint32_t vni);
enum drop_reason vxlan_decap(struct pkt *, struct tunnel_hdr *);

/* opts: already-encoded TLV options, a multiple of 4 bytes, at most 252. */
int		 geneve_encap(struct pkt *, uint32_t vni, const uint8_t *opts,
		     size_t opts_len);
enum drop_reason geneve_decap(struct pkt *, struct tunnel_hdr *);

#endif
