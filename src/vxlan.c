/* VXLAN, RFC 7348: flags(8) reserved(24) VNI(24) reserved(8). */
#include <errno.h>

#include "byteorder.h"
#include "codec.h"
#include "wire.h"

int
vxlan_encap(struct pkt *p, uint32_t vni)
{
	uint8_t *h;

	if (vni > VNI_MAX)
		return -EINVAL;
	if ((h = pkt_push(p, VXLAN_HLEN)) == NULL)
		return -ENOSPC;
	be32_put(h, (uint32_t)VXLAN_FLAG_I << 24);
	be32_put(h + 4, vni << 8);
	return 0;
}

/* On failure p and hdr are left untouched. */
enum drop_reason
vxlan_decap(struct pkt *p, struct tunnel_hdr *hdr)
{
	const uint8_t *h = p->data;

	if (p->len < VXLAN_HLEN)
		return DROP_TOO_SHORT;
	/* RFC 7348 §5: the other flag bits and the reserved fields are
	 * ignored on receipt. */
	if ((h[0] & VXLAN_FLAG_I) == 0)
		return DROP_BAD_FLAGS;
	*hdr = (struct tunnel_hdr){
		.has_key = true,
		.key = be32_get(h + 4) >> 8,
	};
	pkt_pull(p, VXLAN_HLEN);
	return DROP_NONE;
}
