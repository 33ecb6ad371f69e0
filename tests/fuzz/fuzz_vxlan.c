/* VXLAN decap on arbitrary bytes, then encap + decap of what it yielded,
 * and encap of a fuzzer-chosen VNI. RFC 7348 accepts any header with
 * the I flag: everything else in it is ignored on receipt. */
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

static void
round_trip(const uint8_t *payload, size_t len, uint32_t vni)
{
	struct pkt *q = fuzz_pkt_frame(payload, len);
	struct tunnel_hdr th;
	uint8_t want[8] = { 0x08 };
	int rc;

	rc = vxlan_encap(q, vni);
	if (vni > VNI_MAX) {
		FUZZ_CHECK(rc == -EINVAL);
		fuzz_pkt_is_frame(q, payload, len);
		free(q);
		return;
	}
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(q->len == len + 8);
	be32_put(want + 4, vni << 8);
	FUZZ_CHECK(memcmp(q->data, want, 8) == 0);
	FUZZ_CHECK(fuzz_redecap(vxlan_decap, q, &th, payload, len) ==
	    DROP_NONE);
	FUZZ_CHECK(th.has_key && th.key == vni);
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct tunnel_hdr th;
	struct pkt *p;
	enum drop_reason r;
	size_t hlen;
	bool valid = n >= 8 && (d[0] & 0x08) != 0;

	if ((p = fuzz_decap(vxlan_decap, d, n, &th, &r, &hlen)) == NULL)
		return 0;
	if (!valid) {
		FUZZ_CHECK(r == (n < 8 ? DROP_TOO_SHORT : DROP_BAD_FLAGS));
	} else {
		FUZZ_CHECK(r == DROP_NONE && hlen == 8);
		FUZZ_CHECK(th.has_key && !th.has_seq);
		FUZZ_CHECK(th.key == ((uint32_t)d[4] << 16 | d[5] << 8 | d[6]));
		round_trip(p->data, p->len, th.key);
	}
	free(p);
	/* Any 32-bit VNI: above 24 bits it must be refused. */
	if (n >= 4)
		round_trip(frame, sizeof(frame), be32_get(d));
	return 0;
}
