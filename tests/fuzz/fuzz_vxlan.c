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
	struct pkt *q = malloc(sizeof(*q));
	struct tunnel_hdr th;
	uint8_t want[8] = { 0x08 };
	int rc;

	FUZZ_CHECK(q != NULL);
	FUZZ_CHECK(pkt_set(q, payload, len) == 0);
	rc = vxlan_encap(q, vni);
	if (vni > VNI_MAX) {
		FUZZ_CHECK(rc == -EINVAL);
		FUZZ_CHECK(q->data == q->buf + PKT_HEADROOM && q->len == len);
		free(q);
		return;
	}
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(q->len == len + 8);
	be32_put(want + 4, vni << 8);
	FUZZ_CHECK(memcmp(q->data, want, 8) == 0);
	memset(&th, 0, sizeof(th));
	FUZZ_CHECK(vxlan_decap(q, &th) == DROP_NONE);
	FUZZ_CHECK(th.has_key && th.key == vni);
	FUZZ_CHECK(q->len == len && q->data == q->buf + PKT_HEADROOM);
	FUZZ_CHECK(memcmp(q->data, payload, len) == 0);
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct tunnel_hdr th, canary;
	struct pkt *p;
	uint8_t *start;
	enum drop_reason r;
	bool valid = n >= 8 && (d[0] & 0x08) != 0;

	if ((p = fuzz_pkt_at_end(d, n)) == NULL)
		return 0;
	start = p->data;
	memset(&canary, 0xa5, sizeof(canary));
	memset(&th, 0xa5, sizeof(th));
	fuzz_pkt_guard(p);
	r = vxlan_decap(p, &th);
	fuzz_pkt_unguard(p);
	if (!valid) {
		FUZZ_CHECK(r == (n < 8 ? DROP_TOO_SHORT : DROP_BAD_FLAGS));
		FUZZ_CHECK(p->data == start && p->len == n);
		FUZZ_CHECK(memcmp(p->data, d, n) == 0);
		FUZZ_CHECK(memcmp(&th, &canary, sizeof(th)) == 0);
	} else {
		FUZZ_CHECK(r == DROP_NONE);
		FUZZ_CHECK(p->data == start + 8 && p->len == n - 8);
		FUZZ_CHECK(memcmp(p->data, d + 8, n - 8) == 0);
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
