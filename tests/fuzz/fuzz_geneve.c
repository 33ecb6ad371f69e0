/* Geneve decap on arbitrary bytes, then encap + decap of what it yielded
 * (options included), and encap of fuzzer-chosen option bytes. Verdicts
 * are checked against RFC 8926 through a walker of the harness's own. */
#include <errno.h>
#include <stdbool.h>

#include "byteorder.h"
#include "codec.h"
#include "wire.h"

#include "fuzz.h"

static const uint8_t frame[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x06, 0x00,
};

/* RFC 8926 §3.5: class(16) type(8) R(3) length(5); length counts the
 * 4-byte words after the 4-byte option header. -1: an option overruns. */
static int
ref_walk(const uint8_t *o, size_t len, unsigned *n, bool *critical)
{
	size_t off = 0;

	*n = 0;
	*critical = false;
	if (len % 4 != 0)
		return -1;
	while (off < len) {
		size_t olen;

		if (len - off < 4)
			return -1;
		olen = 4 + 4 * (size_t)(o[off + 3] & 0x1f);
		if (olen > len - off)
			return -1;
		*critical |= (o[off + 2] & 0x80) != 0;
		(*n)++;
		off += olen;
	}
	return 0;
}

static void
check_drop_reason(const uint8_t *d, size_t n, enum drop_reason r)
{
	size_t optlen = n >= 1 ? (size_t)(d[0] & 0x3f) * 4 : 0;
	unsigned cnt;
	bool crit;

	FUZZ_CHECK(r == DROP_TOO_SHORT || n >= 8);
	switch (r) {
	case DROP_TOO_SHORT:
		FUZZ_CHECK(n < 8 || n < 8 + optlen);
		break;
	case DROP_BAD_VERSION:
		FUZZ_CHECK(d[0] >> 6 != 0);
		break;
	case DROP_OAM:
		FUZZ_CHECK(d[1] & 0x80);
		break;
	case DROP_BAD_PROTOCOL:
		FUZZ_CHECK(be16_get(d + 2) != ETHERTYPE_TEB);
		break;
	case DROP_BAD_OPTIONS:
		FUZZ_CHECK(n >= 8 + optlen);
		FUZZ_CHECK(ref_walk(d + 8, optlen, &cnt, &crit) == -1);
		break;
	case DROP_CRITICAL_OPTION:
		FUZZ_CHECK(n >= 8 + optlen);
		FUZZ_CHECK(ref_walk(d + 8, optlen, &cnt, &crit) == 0 && crit);
		break;
	default:
		FUZZ_CHECK(!"unexpected Geneve drop reason");
	}
}

/* Encap of payload with opts (in a buffer of exactly opts_len bytes, so
 * the walker cannot read past it unseen), then decap. */
static void
round_trip(const uint8_t *payload, size_t len, uint32_t vni,
    const uint8_t *opts_in, size_t opts_len)
{
	struct pkt *q = fuzz_pkt_frame(payload, len);
	uint8_t *opts = malloc(opts_len > 0 ? opts_len : 1);
	struct tunnel_hdr th;
	enum drop_reason r;
	unsigned cnt = 0;
	bool crit = false, ok;
	int rc;

	FUZZ_CHECK(opts != NULL);
	if (opts_len > 0)
		memcpy(opts, opts_in, opts_len);
	ok = vni <= VNI_MAX && opts_len <= 252 &&
	    ref_walk(opts, opts_len, &cnt, &crit) == 0;
	rc = geneve_encap(q, vni, opts, opts_len);
	if (!ok) {
		FUZZ_CHECK(rc == -EINVAL);
		fuzz_pkt_is_frame(q, payload, len);
		goto out;
	}
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(q->len == len + 8 + opts_len);
	FUZZ_CHECK(q->data[0] == opts_len / 4);
	FUZZ_CHECK(q->data[1] == (crit ? 0x40 : 0));
	FUZZ_CHECK(be16_get(q->data + 2) == ETHERTYPE_TEB);
	FUZZ_CHECK(be32_get(q->data + 4) == vni << 8);
	FUZZ_CHECK(memcmp(q->data + 8, opts, opts_len) == 0);
	r = fuzz_redecap(geneve_decap, q, &th, payload, len);
	if (crit) {
		FUZZ_CHECK(r == DROP_CRITICAL_OPTION);
		goto out;
	}
	FUZZ_CHECK(r == DROP_NONE);
	FUZZ_CHECK(th.has_key && th.key == vni && !th.has_seq);
	FUZZ_CHECK(th.opts_len == opts_len && th.n_opts == cnt);
	FUZZ_CHECK(opts_len == 0 ? th.opts == NULL :
	    th.opts == q->buf + PKT_HEADROOM - opts_len);
	FUZZ_CHECK(opts_len == 0 || memcmp(th.opts, opts, opts_len) == 0);
out:
	free(opts);
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct tunnel_hdr th;
	struct pkt *p;
	enum drop_reason r;
	size_t hlen;
	unsigned cnt;
	bool crit;

	if ((p = fuzz_decap(geneve_decap, d, n, &th, &r, &hlen)) == NULL)
		return 0;
	if (r != DROP_NONE) {
		check_drop_reason(d, n, r);
	} else {
		/* The header as RFC 8926 reads it, options and all. */
		FUZZ_CHECK(n >= 8);
		FUZZ_CHECK(hlen == 8 + (size_t)(d[0] & 0x3f) * 4);
		FUZZ_CHECK(d[0] >> 6 == 0 && (d[1] & 0x80) == 0);
		FUZZ_CHECK(be16_get(d + 2) == ETHERTYPE_TEB);
		FUZZ_CHECK(ref_walk(d + 8, hlen - 8, &cnt, &crit) == 0 && !crit);
		FUZZ_CHECK(th.has_key && !th.has_seq);
		FUZZ_CHECK(th.key == be32_get(d + 4) >> 8);
		FUZZ_CHECK(th.opts_len == hlen - 8 && th.n_opts == cnt);
		FUZZ_CHECK(hlen == 8 ? th.opts == NULL :
		    th.opts == p->data - hlen + 8);
		round_trip(p->data, p->len, th.key, th.opts, th.opts_len);
	}
	free(p);
	/* The input as encap options, with a VNI of its first bytes: any
	 * length, any content; bad ones must be refused. */
	if (n >= 1) {
		size_t olen = n - 1 < 260 ? n - 1 : 260;

		round_trip(frame, sizeof(frame),
		    (uint32_t)d[0] << 20 | (uint32_t)(n & 0xff), d + 1, olen);
	}
	return 0;
}
