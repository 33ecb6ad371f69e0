/* GRE, RFC 2784 with the key and sequence number extensions of RFC 2890,
 * carrying Ethernet frames (Transparent Ethernet Bridging). */
#include <errno.h>

#include "byteorder.h"
#include "codec.h"
#include "csum.h"
#include "wire.h"

/* RFC 2784 §2.3: a receiver that does not implement RFC 1701 discards
 * packets with any of bits 1-5 set; RFC 2890 has since given bits 2 (K)
 * and 3 (S) a meaning. Bit 5 is the top bit of RFC 1701's recursion
 * control; bits 6-12 MUST be ignored on receipt. */
#define GRE_FLAG_BIT5		0x0400
#define GRE_DISCARD_MASK	(GRE_FLAG_R | GRE_FLAG_SSR | GRE_FLAG_BIT5)

int
gre_encap(struct pkt *p, bool has_key, uint32_t key)
{
	size_t hlen = GRE_HLEN_BASE + (has_key ? GRE_HLEN_OPT : 0);
	uint8_t *h;

	if ((h = pkt_push(p, hlen)) == NULL)
		return -ENOSPC;
	be16_put(h, has_key ? GRE_FLAG_K : 0);
	be16_put(h + 2, ETHERTYPE_TEB);
	if (has_key)
		be32_put(h + GRE_HLEN_BASE, key);
	return 0;
}

/* Validates before stripping anything: on failure p and hdr are left
 * untouched. */
enum drop_reason
gre_decap(struct pkt *p, struct tunnel_hdr *hdr)
{
	const uint8_t *h = p->data, *opt;
	uint16_t flags;
	size_t hlen;

	if (p->len < GRE_HLEN_BASE)
		return DROP_TOO_SHORT;
	flags = be16_get(h);
	if ((flags & GRE_VERSION_MASK) != 0)
		return DROP_BAD_VERSION;
	if (flags & GRE_DISCARD_MASK)
		return DROP_BAD_FLAGS;
	if (be16_get(h + 2) != ETHERTYPE_TEB)
		return DROP_BAD_PROTOCOL;

	hlen = GRE_HLEN_BASE;
	if (flags & GRE_FLAG_C)
		hlen += GRE_HLEN_OPT;
	if (flags & GRE_FLAG_K)
		hlen += GRE_HLEN_OPT;
	if (flags & GRE_FLAG_S)
		hlen += GRE_HLEN_OPT;
	if (p->len < hlen)
		return DROP_TOO_SHORT;
	if ((flags & GRE_FLAG_C) && csum_fold(csum_partial(h, p->len, 0)) != 0xffff)
		return DROP_BAD_CHECKSUM;

	/* Checksum and Reserved1 are skipped; Reserved1 is ignored. */
	opt = h + GRE_HLEN_BASE + ((flags & GRE_FLAG_C) ? GRE_HLEN_OPT : 0);
	*hdr = (struct tunnel_hdr){ .has_key = (flags & GRE_FLAG_K) != 0 };
	if (hdr->has_key) {
		hdr->key = be32_get(opt);
		opt += GRE_HLEN_OPT;
	}
	if (flags & GRE_FLAG_S) {
		hdr->has_seq = true;
		hdr->seq = be32_get(opt);
	}
	pkt_pull(p, hlen);
	return DROP_NONE;
}
