/* Geneve, RFC 8926: Ver(2) OptLen(6) O C Rsvd(6) ProtocolType(16)
 * VNI(24) Reserved(8), then OptLen*4 bytes of TLV options. */
#include <errno.h>

#include "byteorder.h"
#include "codec.h"
#include "wire.h"

/* Walks the TLV options in o; every option must end inside the area.
 * Counts them and tells whether any has the critical type bit. Option
 * lengths are whole words, as is len, so a header never straddles the
 * end of the area. */
static bool
geneve_opts_walk(const uint8_t *o, size_t len, unsigned *n, bool *critical)
{
	size_t off, olen;

	*n = 0;
	*critical = false;
	for (off = 0; off < len; off += olen) {
		olen = GENEVE_OPT_HLEN +
		    (size_t)(o[off + 3] & GENEVE_OPT_LEN_MASK) * 4;
		if (olen > len - off)
			return false;
		if (o[off + 2] & GENEVE_OPT_TYPE_CRITICAL)
			*critical = true;
		(*n)++;
	}
	return true;
}

/* opts must be well-formed TLVs: a header announcing options the packet
 * does not hold would be dropped by every receiver. */
int
geneve_encap(struct pkt *p, uint32_t vni, const uint8_t *opts,
    size_t opts_len)
{
	unsigned n;
	bool critical;
	uint8_t *h;

	if (vni > VNI_MAX || opts_len % 4 != 0 || opts_len > GENEVE_OPTS_MAX)
		return -EINVAL;
	if (!geneve_opts_walk(opts, opts_len, &n, &critical))
		return -EINVAL;
	if ((h = pkt_push(p, GENEVE_HLEN + opts_len)) == NULL)
		return -ENOSPC;
	h[0] = (uint8_t)(GENEVE_VERSION << 6 | opts_len / 4);
	h[1] = critical ? GENEVE_FLAG_C : 0;
	be16_put(h + 2, ETHERTYPE_TEB);
	be32_put(h + 4, vni << 8);
	if (opts_len > 0)
		memcpy(h + GENEVE_HLEN, opts, opts_len);
	return 0;
}

/* On failure p and hdr are left untouched. This end knows no option
 * types, so any critical option means a drop (RFC 8926 §3.5). The C flag
 * is only a hint: every option is checked whatever it says. */
enum drop_reason
geneve_decap(struct pkt *p, struct tunnel_hdr *hdr)
{
	const uint8_t *h = p->data;
	size_t opts_len;
	unsigned n;
	bool critical;

	if (p->len < GENEVE_HLEN)
		return DROP_TOO_SHORT;
	if (h[0] >> 6 != GENEVE_VERSION)
		return DROP_BAD_VERSION;
	opts_len = (size_t)(h[0] & GENEVE_OPTLEN_MASK) * 4;
	if (p->len < GENEVE_HLEN + opts_len)
		return DROP_TOO_SHORT;
	/* Control messages are for the tunnel endpoint, never the tenant. */
	if (h[1] & GENEVE_FLAG_O)
		return DROP_OAM;
	if (be16_get(h + 2) != ETHERTYPE_TEB)
		return DROP_BAD_PROTOCOL;
	if (!geneve_opts_walk(h + GENEVE_HLEN, opts_len, &n, &critical))
		return DROP_BAD_OPTIONS;
	if (critical)
		return DROP_CRITICAL_OPTION;

	*hdr = (struct tunnel_hdr){
		.has_key = true,
		.key = be32_get(h + 4) >> 8,
		.opts = opts_len > 0 ? h + GENEVE_HLEN : NULL,
		.opts_len = opts_len,
		.n_opts = n,
	};
	pkt_pull(p, GENEVE_HLEN + opts_len);
	return DROP_NONE;
}
