/* GRE decap on arbitrary bytes, then encap + decap of what it yielded.
 * Every verdict is checked against RFC 2784/2890 directly: a drop must
 * have the reason it gives, an accepted packet must be well formed and
 * lose exactly its header. */
#include <stdbool.h>

#include "byteorder.h"
#include "codec.h"
#include "wire.h"

#include "fuzz.h"

static bool
csum_ok(const uint8_t *b, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += i % 2 == 0 ? (uint32_t)b[i] << 8 : b[i];
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* The header length the flags announce. */
static size_t
want_hlen(uint16_t flags)
{
	return 4 + 4 * (size_t)(((flags & GRE_FLAG_C) != 0) +
	    ((flags & GRE_FLAG_K) != 0) + ((flags & GRE_FLAG_S) != 0));
}

static void
check_drop_reason(const uint8_t *d, size_t n, enum drop_reason r)
{
	uint16_t flags = n >= 2 ? be16_get(d) : 0;

	/* Only a short packet may be dropped before its header is read. */
	FUZZ_CHECK(r == DROP_TOO_SHORT || n >= 4);
	switch (r) {
	case DROP_TOO_SHORT:
		FUZZ_CHECK(n < 4 || n < want_hlen(flags));
		break;
	case DROP_BAD_VERSION:
		FUZZ_CHECK((flags & 0x0007) != 0);
		break;
	case DROP_BAD_FLAGS:
		/* R, s (strict source route) and recursion bit 5 (0x0400). */
		FUZZ_CHECK((flags & 0x4c00) != 0);
		break;
	case DROP_BAD_PROTOCOL:
		FUZZ_CHECK(be16_get(d + 2) != ETHERTYPE_TEB);
		break;
	case DROP_BAD_CHECKSUM:
		FUZZ_CHECK((flags & GRE_FLAG_C) && !csum_ok(d, n));
		break;
	default:
		FUZZ_CHECK(!"unexpected GRE drop reason");
	}
}

static void
check_accepted(const uint8_t *d, size_t n, const struct tunnel_hdr *th,
    size_t hlen)
{
	uint16_t flags = be16_get(d);
	size_t off = 4;

	FUZZ_CHECK((flags & 0x0007) == 0);
	FUZZ_CHECK((flags & 0x4c00) == 0);
	FUZZ_CHECK(be16_get(d + 2) == ETHERTYPE_TEB);
	FUZZ_CHECK(hlen == want_hlen(flags));
	if (flags & GRE_FLAG_C) {
		FUZZ_CHECK(csum_ok(d, n));
		off += 4;
	}
	FUZZ_CHECK(th->has_key == ((flags & GRE_FLAG_K) != 0));
	if (th->has_key) {
		FUZZ_CHECK(th->key == be32_get(d + off));
		off += 4;
	}
	FUZZ_CHECK(th->has_seq == ((flags & GRE_FLAG_S) != 0));
	if (th->has_seq)
		FUZZ_CHECK(th->seq == be32_get(d + off));
}

/* What ovtund sends for this frame must come back as it was. */
static void
round_trip(const uint8_t *frame, size_t len, const struct tunnel_hdr *th)
{
	static const uint8_t nokey[4] = { 0x00, 0x00, 0x65, 0x58 };
	struct pkt *q = fuzz_pkt_frame(frame, len);
	struct tunnel_hdr th2;
	uint8_t want[8] = { 0x20, 0x00, 0x65, 0x58 };
	size_t hlen = th->has_key ? 8 : 4;

	FUZZ_CHECK(gre_encap(q, th->has_key, th->key) == 0);
	FUZZ_CHECK(q->len == len + hlen);
	if (th->has_key) {
		be32_put(want + 4, th->key);
		FUZZ_CHECK(memcmp(q->data, want, 8) == 0);
	} else {
		FUZZ_CHECK(memcmp(q->data, nokey, 4) == 0);
	}
	FUZZ_CHECK(fuzz_redecap(gre_decap, q, &th2, frame, len) == DROP_NONE);
	FUZZ_CHECK(th2.has_key == th->has_key);
	FUZZ_CHECK(!th->has_key || th2.key == th->key);
	FUZZ_CHECK(!th2.has_seq);
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct tunnel_hdr th;
	struct pkt *p;
	enum drop_reason r;
	size_t hlen;

	if ((p = fuzz_decap(gre_decap, d, n, &th, &r, &hlen)) == NULL)
		return 0;
	if (r != DROP_NONE) {
		check_drop_reason(d, n, r);
	} else {
		check_accepted(d, n, &th, hlen);
		round_trip(p->data, p->len, &th);
	}
	free(p);
	return 0;
}
