/* Software TSO/GRO: the virtio_net_hdr codec, segmentation checked byte
 * for byte against frames the test builds itself (with its own checksum
 * code), checksum completion, and coalescing back into the superframe. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

#include "check_main.h"

/* The test's own Internet checksum, byte by byte, independent of csum.h:
 * the 16-bit one's complement sum of b (big-endian words, odd byte
 * padded), added to sum. */
static uint32_t
ref_add(const uint8_t *b, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i++) {
		sum += (i & 1) ? b[i] : (uint32_t)b[i] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

static uint16_t
ref_fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t
get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t
get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

static void
put16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void
put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v);
}

/* A test frame: Ethernet (+ VLAN), IPv4 or IPv6, TCP or UDP. */
struct spec {
	bool		v6, vlan, udp;
	uint16_t	vid;
	size_t		ip_opts;	/* IPv4 option bytes, 4-aligned */
	size_t		tcp_opts;	/* 4-aligned; 12 or more: timestamps */
	uint8_t		flags;
	uint32_t	seq, ack, tsval;
	uint16_t	id;
	bool		df;
	uint16_t	sport, dport, window;
	uint8_t		ttl, tos;
	size_t		payload;
	bool		partial;	/* L4 checksum = pseudo-header seed */
	bool		bad_ip_csum;
};

/* The stream byte at sequence number x, so that segments built on their
 * own carry the same bytes as the superframe they were cut from. */
static uint8_t
stream_byte(uint32_t x)
{
	return (uint8_t)((x * 2654435761u) >> 24);
}

struct built {
	size_t	len, l3, l4, hlen;
};

/* Writes the frame s describes to buf; the checksums are computed here
 * with ref_add, never with the code under test. */
static struct built
build(uint8_t *buf, const struct spec *s)
{
	static const uint8_t macs[12] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01,
	};
	struct built b;
	size_t off = 12, thl, l4len, ihl;
	uint8_t *ip, *th, pseudo[40];
	uint32_t sum;

	memcpy(buf, macs, 12);
	if (s->vlan) {
		put16(buf + 12, 0x8100);
		put16(buf + 14, s->vid);
		off += 4;
	}
	put16(buf + off, s->v6 ? 0x86dd : 0x0800);
	b.l3 = off + 2;
	ip = buf + b.l3;
	thl = s->udp ? 8 : 20 + s->tcp_opts;
	l4len = thl + s->payload;
	if (s->v6) {
		ihl = 40;
		ip[0] = (uint8_t)(0x60 | s->tos >> 4);
		ip[1] = (uint8_t)(s->tos << 4 | 0x0a);
		put16(ip + 2, 0xbcde);		/* flow label */
		put16(ip + 4, (uint32_t)l4len);
		ip[6] = s->udp ? 17 : 6;
		ip[7] = s->ttl;
		memset(ip + 8, 0, 32);
		ip[8] = 0xfd; ip[23] = 1;
		ip[24] = 0xfd; ip[39] = 2;
	} else {
		ihl = 20 + s->ip_opts;
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = s->tos;
		put16(ip + 2, (uint32_t)(ihl + l4len));
		put16(ip + 4, s->id);
		put16(ip + 6, s->df ? 0x4000 : 0);
		ip[8] = s->ttl;
		ip[9] = s->udp ? 17 : 6;
		put16(ip + 10, 0);
		ip[12] = 10; ip[13] = 0; ip[14] = 0; ip[15] = 1;
		ip[16] = 10; ip[17] = 0; ip[18] = 0; ip[19] = 2;
		memset(ip + 20, 1, s->ip_opts);	/* NOPs */
		put16(ip + 10, (uint16_t)~ref_fold(ref_add(ip, ihl, 0)) ^
		    (s->bad_ip_csum ? 0x0100 : 0));
	}
	b.l4 = b.l3 + ihl;
	b.hlen = b.l4 + thl;
	th = buf + b.l4;
	put16(th, s->sport);
	put16(th + 2, s->dport);
	if (s->udp) {
		put16(th + 4, (uint32_t)l4len);
		put16(th + 6, 0);
	} else {
		put32(th + 4, s->seq);
		put32(th + 8, s->ack);
		th[12] = (uint8_t)(thl / 4 << 4);
		th[13] = s->flags;
		put16(th + 14, s->window);
		put16(th + 16, 0);
		put16(th + 18, 0);
		memset(th + 20, 1, s->tcp_opts);
		if (s->tcp_opts >= 12) {
			th[22] = 8;
			th[23] = 10;
			put32(th + 24, s->tsval);
			put32(th + 28, 0x01020304);
		}
	}
	for (size_t i = 0; i < s->payload; i++)
		buf[b.hlen + i] = stream_byte(s->seq + (uint32_t)i);
	b.len = b.hlen + s->payload;

	if (s->v6) {
		memcpy(pseudo, ip + 8, 32);
		put32(pseudo + 32, (uint32_t)l4len);
		put32(pseudo + 36, s->udp ? 17 : 6);
		sum = ref_add(pseudo, 40, 0);
	} else {
		memcpy(pseudo, ip + 12, 8);
		put16(pseudo + 8, s->udp ? 17 : 6);
		put16(pseudo + 10, (uint32_t)l4len);
		sum = ref_add(pseudo, 12, 0);
	}
	if (s->partial) {
		put16(th + (s->udp ? 6 : 16), ref_fold(sum));
	} else {
		uint16_t c = (uint16_t)~ref_fold(ref_add(th, l4len, sum));

		if (s->udp && c == 0)
			c = 0xffff;
		put16(th + (s->udp ? 6 : 16), c);
	}
	return b;
}

/* Whether the L4 checksum of the frame verifies (by ref_add). */
static bool
l4_csum_ok(const uint8_t *f, size_t len, const struct built *b, bool v6,
    uint8_t proto)
{
	uint8_t pseudo[40];
	size_t l4len = len - b->l4;
	uint32_t sum;

	if (v6) {
		memcpy(pseudo, f + b->l3 + 8, 32);
		put32(pseudo + 32, (uint32_t)l4len);
		put32(pseudo + 36, proto);
		sum = ref_add(pseudo, 40, 0);
	} else {
		memcpy(pseudo, f + b->l3 + 12, 8);
		put16(pseudo + 8, proto);
		put16(pseudo + 10, (uint32_t)l4len);
		sum = ref_add(pseudo, 12, 0);
	}
	return ref_fold(ref_add(f + b->l4, l4len, sum)) == 0xffff;
}

static struct spec
base_spec(bool v6)
{
	struct spec s = {
		.v6 = v6, .tcp_opts = 12, .flags = 0x10, .seq = 0xfffff000u,
		.ack = 0x11223344, .tsval = 777, .id = 0xfffe, .df = false,
		.sport = 40000, .dport = 5201, .window = 501, .ttl = 64,
		.tos = 0x28, .payload = 1000,
	};
	return s;
}

/* The spec of segment i of superframe s cut at mss. */
static struct spec
seg_spec(const struct spec *s, size_t mss, size_t i)
{
	struct spec g = *s;
	size_t nseg = (s->payload + mss - 1) / mss;

	g.seq = s->seq + (uint32_t)(i * mss);
	g.id = (uint16_t)(s->id + i);
	g.payload = s->payload - i * mss < mss ? s->payload - i * mss : mss;
	if (i + 1 < nseg)
		g.flags &= (uint8_t)~0x09;	/* FIN, PSH */
	if (i > 0)
		g.flags &= (uint8_t)~0x80;	/* CWR */
	g.partial = false;
	return g;
}

static uint8_t super[VNET_READ_MAX];
static uint8_t want[VNET_READ_MAX];
static struct pkt *segs[GRO_MAX_SEGS + 2];
static struct gro_table *gt;

static void
setup(void)
{
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		segs[i] = malloc(sizeof(struct pkt));
		ck_assert_ptr_nonnull(segs[i]);
	}
	gt = malloc(sizeof(*gt));
	ck_assert_ptr_nonnull(gt);
	gro_init(gt);
}

static void
teardown(void)
{
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++)
		free(segs[i]);
	free(gt);
}

/* Segments keep their payload in the superframe (ext); the checks below
 * want each in one piece. */
static void
segs_linearize(size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(pkt_linearize(segs[i]), 0);
}

static struct vnet_hdr
gso_hdr(const struct spec *s, const struct built *b, uint16_t mss)
{
	struct vnet_hdr h = {
		.flags = VNET_F_NEEDS_CSUM,
		.gso_type = s->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4,
		.hdr_len = (uint16_t)b->hlen,
		.gso_size = mss,
		.csum_start = (uint16_t)b->l4,
		.csum_offset = 16,
	};
	return h;
}

/* Segments superframe s at mss with tso_segment, and checks each output
 * against the segment built independently, byte for byte, and that its
 * checksums verify. Returns the number of segments. */
static size_t
check_tso(const struct spec *s, uint16_t mss)
{
	struct built b = build(super, s), w;
	struct vnet_hdr h = gso_hdr(s, &b, mss);
	struct seg_out out = { .pkts = segs, .max = GRO_MAX_SEGS };
	size_t nseg = (s->payload + mss - 1) / mss;
	int n;

	n = tso_segment(super, b.len, &h, &out);
	ck_assert_int_eq(n, (int)nseg);
	ck_assert_uint_eq(out.n, nseg);
	ck_assert_uint_eq(out.total, nseg);
	/* The headers are copied, the payload left where it was. */
	for (size_t i = 0; i < nseg; i++) {
		ck_assert_uint_eq(segs[i]->len, b.hlen);
		ck_assert_ptr_eq(segs[i]->ext, super + b.hlen + i * mss);
		ck_assert_uint_eq(segs[i]->ext_len, seg_spec(s, mss, i).payload);
	}
	segs_linearize(nseg);
	for (size_t i = 0; i < nseg; i++) {
		struct spec g = seg_spec(s, mss, i);
		const struct pkt *p = segs[i];

		w = build(want, &g);
		ck_assert_ptr_eq(p->data, p->buf + PKT_HEADROOM);
		ck_assert_uint_eq(p->len, w.len);
		ck_assert_mem_eq(p->data, want, w.len);
		/* And, spelled out, the fields that had to change. */
		if (!s->v6) {
			ck_assert_uint_eq(get16(p->data + b.l3 + 2),
			    w.len - b.l3);
			ck_assert_uint_eq(get16(p->data + b.l3 + 4),
			    (uint16_t)(s->id + i));
			ck_assert_uint_eq(ref_fold(ref_add(p->data + b.l3,
			    b.l4 - b.l3, 0)), 0xffff);
		} else {
			ck_assert_uint_eq(get16(p->data + b.l3 + 4),
			    w.len - b.l3 - 40);
		}
		ck_assert_uint_eq(get32(p->data + b.l4 + 4),
		    (uint32_t)(s->seq + i * mss));
		ck_assert(l4_csum_ok(p->data, p->len, &b, s->v6, 6));
	}
	return nseg;
}

/* vnet header codec */

static const uint8_t golden_hdr[VNET_HDR_LEN] = {
	0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00,
};

START_TEST(vnet_golden)
{
	uint8_t buf[VNET_HDR_LEN + 100] = { 0 };
	struct vnet_hdr h;

	memcpy(buf, golden_hdr, VNET_HDR_LEN);
	ck_assert_int_eq(vnet_parse(buf, sizeof(buf), &h), 0);
	ck_assert_uint_eq(h.flags, VNET_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.gso_type, VNET_GSO_TCPV4);
	ck_assert_uint_eq(h.hdr_len, 66);
	ck_assert_uint_eq(h.gso_size, 1448);
	ck_assert_uint_eq(h.csum_start, 34);
	ck_assert_uint_eq(h.csum_offset, 16);
	memset(buf, 0xee, VNET_HDR_LEN);
	vnet_put(buf, &h);
	ck_assert_mem_eq(buf, golden_hdr, VNET_HDR_LEN);
}
END_TEST

/* Every combination the kernel hands out parses and round-trips. */
START_TEST(vnet_good)
{
	static const struct vnet_hdr ok[] = {
		{ 0, VNET_GSO_NONE, 0, 0, 0, 0 },
		{ VNET_F_DATA_VALID, VNET_GSO_NONE, 0, 0, 0, 0 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_NONE, 42, 0, 34, 6 },
		/* gso_size and csum fields ignored where they mean nothing */
		{ 0, VNET_GSO_NONE, 0, 1448, 0xffff, 0xffff },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 66, 1448, 34, 16 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6, 86, 1428, 54, 16 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4 | VNET_GSO_ECN, 66, 1, 34,
		    16 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6 | VNET_GSO_ECN, 86, 65535,
		    54, 16 },
		/* bounds: exactly at the end of the 100-byte frame */
		{ VNET_F_NEEDS_CSUM, VNET_GSO_NONE, 100, 0, 82, 16 },
		{ VNET_F_NEEDS_CSUM, VNET_GSO_NONE, 0, 0, 98, 0 },
	};
	uint8_t buf[VNET_HDR_LEN + 100] = { 0 };
	struct vnet_hdr h;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		vnet_put(buf, &ok[i]);
		memset(&h, 0xa5, sizeof(h));
		ck_assert_msg(vnet_parse(buf, sizeof(buf), &h) == 0,
		    "case %zu", i);
		ck_assert_mem_eq(&h, &ok[i], sizeof(h));
	}
}
END_TEST

START_TEST(vnet_bad)
{
	static const struct {
		struct vnet_hdr	h;
		int		err;
	} bad[] = {
		{ { 0x04, VNET_GSO_NONE, 0, 0, 0, 0 }, -EINVAL },
		{ { 0x80, VNET_GSO_NONE, 0, 0, 0, 0 }, -EINVAL },
		{ { 0x03, VNET_GSO_NONE, 0, 0, 34, 6 }, -EINVAL },
		{ { 1, VNET_GSO_NONE, 0, 0, 83, 16 }, -EINVAL },
		{ { 1, VNET_GSO_NONE, 0, 0, 99, 0 }, -EINVAL },
		{ { 1, VNET_GSO_NONE, 0, 0, 0xffff, 0xffff }, -EINVAL },
		{ { 0, VNET_GSO_NONE, 101, 0, 0, 0 }, -EINVAL },
		{ { 1, VNET_GSO_TCPV4, 101, 1448, 34, 16 }, -EINVAL },
		{ { 1, VNET_GSO_TCPV4, 66, 0, 34, 16 }, -EINVAL },
		{ { 1, VNET_GSO_TCPV6, 86, 0, 54, 16 }, -EINVAL },
		{ { 0, VNET_GSO_TCPV4, 66, 1448, 34, 16 }, -EINVAL },
		{ { 2, VNET_GSO_TCPV6, 86, 1448, 54, 16 }, -EINVAL },
		{ { 1, 3, 42, 1472, 34, 6 }, -EPROTONOSUPPORT },	/* UFO */
		{ { 1, 5, 42, 1472, 34, 6 }, -EPROTONOSUPPORT },	/* USO */
		{ { 1, 2, 42, 1472, 34, 6 }, -EPROTONOSUPPORT },
		{ { 0, VNET_GSO_ECN, 0, 0, 0, 0 }, -EPROTONOSUPPORT },
		{ { 1, VNET_GSO_TCPV4 | 0x40, 66, 1448, 34, 16 },
		    -EPROTONOSUPPORT },
	};
	uint8_t buf[VNET_HDR_LEN + 100] = { 0 };
	struct vnet_hdr h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vnet_put(buf, &bad[i].h);
		ck_assert_msg(vnet_parse(buf, sizeof(buf), &h) == bad[i].err,
		    "case %zu: got %d", i, vnet_parse(buf, sizeof(buf), &h));
	}
	/* Too short for the header, or for an Ethernet header after it. */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(vnet_parse(buf, 0, &h), -EINVAL);
	ck_assert_int_eq(vnet_parse(buf, VNET_HDR_LEN - 1, &h), -EINVAL);
	ck_assert_int_eq(vnet_parse(buf, VNET_HDR_LEN + 13, &h), -EINVAL);
	ck_assert_int_eq(vnet_parse(buf, VNET_HDR_LEN + 14, &h), 0);
}
END_TEST

/* TSO */

START_TEST(tso_ipv4_three)
{
	struct spec s = base_spec(false);

	s.payload = 3 * 1448;
	s.flags = 0x10 | 0x08 | 0x80;	/* ACK PSH CWR */
	s.partial = true;
	ck_assert_uint_eq(check_tso(&s, 1448), 3);
	/* CWR on the first only, PSH on the last only. */
	ck_assert_uint_eq(segs[0]->data[34 + 13], 0x90);
	ck_assert_uint_eq(segs[1]->data[34 + 13], 0x10);
	ck_assert_uint_eq(segs[2]->data[34 + 13], 0x18);
	/* IDs wrap: 0xfffe, 0xffff, 0 */
	ck_assert_uint_eq(get16(segs[2]->data + 14 + 4), 0);
	/* FIN likewise, with the sequence number wrapping. */
	s.flags = 0x10 | 0x01;
	s.seq = 0xffffffffu - 1000;
	ck_assert_uint_eq(check_tso(&s, 1448), 3);
	ck_assert_uint_eq(segs[0]->data[34 + 13], 0x10);
	ck_assert_uint_eq(segs[2]->data[34 + 13], 0x11);
}
END_TEST

START_TEST(tso_ipv6_three)
{
	struct spec s = base_spec(true);

	s.payload = 3 * 1428;
	s.flags = 0x10 | 0x08 | 0x80 | 0x40;	/* + ECE, kept everywhere */
	s.partial = true;
	ck_assert_uint_eq(check_tso(&s, 1428), 3);
	ck_assert_uint_eq(segs[0]->data[54 + 13], 0xd0);
	ck_assert_uint_eq(segs[1]->data[54 + 13], 0x50);
	ck_assert_uint_eq(segs[2]->data[54 + 13], 0x58);
}
END_TEST

START_TEST(tso_odd_sizes)
{
	struct spec s = base_spec(false);

	s.partial = true;
	s.payload = 2 * 1448 + 1;	/* last segment of one odd byte */
	ck_assert_uint_eq(check_tso(&s, 1448), 3);
	ck_assert_uint_eq(segs[2]->len, 14 + 20 + 32 + 1);
	s.payload = 1000;		/* less than one MSS */
	ck_assert_uint_eq(check_tso(&s, 1448), 1);
	s.payload = 1448;		/* exactly one */
	ck_assert_uint_eq(check_tso(&s, 1448), 1);
	s.payload = 5000;		/* odd MSS, odd remainder */
	ck_assert_uint_eq(check_tso(&s, 999), 6);
	s.ip_opts = 8;			/* IHL 7 */
	s.tcp_opts = 40;		/* TCP header of 60 */
	ck_assert_uint_eq(check_tso(&s, 1333), 4);
	s.tcp_opts = 0;
	s.ip_opts = 40;			/* IHL 15 */
	s.payload = 64000;
	ck_assert_uint_eq(check_tso(&s, 1460), 44);
	s = base_spec(true);
	s.partial = true;
	s.payload = 65535 - 32;		/* the largest IPv6 superframe */
	ck_assert_uint_eq(check_tso(&s, 1500), 44);
}
END_TEST

START_TEST(tso_vlan)
{
	struct spec s = base_spec(false);

	s.vlan = true;
	s.vid = 0x2064;			/* PCP 1, VID 100 */
	s.payload = 3 * 1444 - 7;
	s.flags = 0x18;
	s.partial = true;
	ck_assert_uint_eq(check_tso(&s, 1444), 3);
	segs_linearize(2);
	ck_assert_uint_eq(get16(segs[1]->data + 12), 0x8100);
	ck_assert_uint_eq(get16(segs[1]->data + 14), 0x2064);
	s.v6 = true;
	ck_assert_uint_eq(check_tso(&s, 1444), 3);
}
END_TEST

/* A cursor over few buffers gives the same segments as one call. */
START_TEST(tso_resume)
{
	struct spec s = base_spec(false);
	struct built b;
	struct vnet_hdr h;
	struct seg_out out = { .pkts = segs, .max = 2 };
	struct spec g;

	s.payload = 3 * 1448;
	s.flags = 0x18;
	s.partial = true;
	b = build(super, &s);
	h = gso_hdr(&s, &b, 1448);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 2);
	ck_assert_uint_eq(out.total, 3);
	segs_linearize(2);
	for (size_t i = 0; i < 2; i++) {
		g = seg_spec(&s, 1448, i);
		build(want, &g);
		ck_assert_mem_eq(segs[i]->data, want, segs[i]->len);
	}
	out.skip = 2;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 1);
	ck_assert_uint_eq(out.n, 1);
	segs_linearize(1);
	g = seg_spec(&s, 1448, 2);
	ck_assert_uint_eq(segs[0]->len, build(want, &g).len);
	ck_assert_mem_eq(segs[0]->data, want, segs[0]->len);
	ck_assert_uint_eq(get16(segs[0]->data + 14 + 4), (uint16_t)(s.id + 2));
	out.skip = 3;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 0);
	ck_assert_uint_eq(out.n, 0);
	out.skip = 0;
	out.max = 0;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -ENOBUFS);
}
END_TEST

START_TEST(tso_errors)
{
	struct spec s = base_spec(false);
	struct built b;
	struct vnet_hdr h;
	struct seg_out out = { .pkts = segs, .max = GRO_MAX_SEGS };
	uint8_t *keep = malloc(sizeof(super));

	s.payload = 3000;
	s.partial = true;
	b = build(super, &s);
	h = gso_hdr(&s, &b, 1448);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 3);
	memcpy(keep, super, b.len);

	/* gso_type against the frame */
	h.gso_type = VNET_GSO_TCPV6;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	h.gso_type = 5;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	h = gso_hdr(&s, &b, 0);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	/* NEEDS_CSUM somewhere else than the TCP checksum */
	h = gso_hdr(&s, &b, 1448);
	h.csum_start = 33;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	h = gso_hdr(&s, &b, 1448);
	h.csum_offset = 6;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	/* segments that would not fit a pkt */
	h = gso_hdr(&s, &b, PKT_FRAME_MAX);
	s.payload = 20000;
	b = build(super, &s);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EMSGSIZE);
	h.gso_size = (uint16_t)(PKT_FRAME_MAX - b.hlen);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 3);
	ck_assert_uint_eq(pkt_total(segs[0]), PKT_FRAME_MAX);
	h.gso_size = 1;			/* 20000 segments, in batches */
	out.max = GRO_MAX_SEGS;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), GRO_MAX_SEGS);
	ck_assert_uint_eq(out.total, 20000);
	s.payload = 3000;
	b = build(super, &s);
	h = gso_hdr(&s, &b, 1448);

	/* IP total length past the frame; frame cut short */
	ck_assert_int_eq(tso_segment(super, b.len - 1, &h, &out), -EINVAL);
	ck_assert_int_eq(tso_segment(super, 14 + 19, &h, &out), -EINVAL);
	ck_assert_int_eq(tso_segment(super, 13, &h, &out), -EINVAL);
	/* Ethernet padding after the IP packet is not payload */
	ck_assert_int_eq(tso_segment(super, b.len + 5, &h, &out), 3);
	ck_assert_uint_eq(pkt_total(segs[2]), b.hlen + 3000 - 2 * 1448);
	/* no payload */
	put16(super + 14 + 2, 20 + 32);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	memcpy(super, keep, b.len);
	/* IPv4 fragment, not TCP, bad version, IHL < 5, doff < 5 */
	super[14 + 6] = 0x20;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	memcpy(super, keep, b.len);
	super[14 + 7] = 1;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	memcpy(super, keep, b.len);
	super[14 + 9] = 17;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	memcpy(super, keep, b.len);
	super[14] = 0x65;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	super[14] = 0x44;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	memcpy(super, keep, b.len);
	super[34 + 12] = 0x40;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	/* a 60-byte TCP header in a 40-byte IP payload */
	super[34 + 12] = 0xf0;
	put16(super + 14 + 2, 20 + 40);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	memcpy(super, keep, b.len);
	/* Not IP; a QinQ outer tag */
	put16(super + 12, 0x0806);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	put16(super + 12, 0x88a8);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	memcpy(super, keep, b.len);

	/* IPv6 with an extension header (hop-by-hop), or UDP */
	s = base_spec(true);
	s.payload = 3000;
	s.partial = true;
	b = build(super, &s);
	h = gso_hdr(&s, &b, 1428);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 3);
	super[14 + 6] = 0;
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	super[14 + 6] = 44;		/* fragment header */
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	super[14 + 6] = 6;
	put16(super + 14 + 4, (uint32_t)(b.len - 54 + 1));
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), -EINVAL);
	h.gso_type = VNET_GSO_TCPV4;
	put16(super + 14 + 4, (uint32_t)(b.len - 54));
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out),
	    -EPROTONOSUPPORT);
	free(keep);
}
END_TEST

/* Checksum completion */

static void
check_udp_complete(bool v6, size_t payload)
{
	struct spec s = base_spec(v6);
	struct built b;
	struct vnet_hdr h = { .flags = VNET_F_NEEDS_CSUM, .csum_offset = 6 };
	struct seg_out out = { .pkts = segs, .max = 1 };

	s.udp = true;
	s.payload = payload;
	b = build(want, &s);		/* complete, by ref_add */
	s.partial = true;
	build(super, &s);		/* as the kernel leaves it */
	h.csum_start = (uint16_t)b.l4;
	ck_assert_mem_ne(super, want, b.len);
	ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 1);
	ck_assert_uint_eq(out.total, 1);
	ck_assert_uint_eq(segs[0]->len, b.len);
	ck_assert_mem_eq(segs[0]->data, want, b.len);
	ck_assert(l4_csum_ok(segs[0]->data, b.len, &b, v6, 17));
	/* and in place */
	ck_assert_int_eq(vnet_complete_csum(super, b.len, &h), 0);
	ck_assert_mem_eq(super, want, b.len);
}

START_TEST(csum_udp)
{
	check_udp_complete(false, 37);
	check_udp_complete(false, 100);
	check_udp_complete(true, 37);
	check_udp_complete(true, 1);
	check_udp_complete(true, 0);
}
END_TEST

/* A sum that comes out 0 goes on the wire as 0xffff (UDP: 0 means none). */
START_TEST(csum_udp_zero)
{
	struct spec s = base_spec(false);
	struct built b;
	struct vnet_hdr h = { .flags = VNET_F_NEEDS_CSUM, .csum_offset = 6 };
	uint8_t pseudo[12];
	uint32_t sum;

	s.udp = true;
	s.payload = 20;
	s.partial = true;
	b = build(super, &s);
	h.csum_start = (uint16_t)b.l4;
	/* Pick the last payload word so everything sums to 0xffff. */
	put16(super + b.len - 2, 0);
	memcpy(pseudo, super + b.l3 + 12, 8);
	put16(pseudo + 8, 17);
	put16(pseudo + 10, (uint32_t)(b.len - b.l4));
	sum = ref_add(super + b.l4, b.len - b.l4, 0);	/* seed included */
	put16(super + b.len - 2, (uint16_t)~ref_fold(sum));
	ck_assert_int_eq(vnet_complete_csum(super, b.len, &h), 0);
	ck_assert_uint_eq(get16(super + b.l4 + 6), 0xffff);
	ck_assert(l4_csum_ok(super, b.len, &b, false, 17));
}
END_TEST

START_TEST(csum_tcp)
{
	for (int v6 = 0; v6 < 2; v6++) {
		struct spec s = base_spec(v6);
		struct built b;
		struct vnet_hdr h = { .flags = VNET_F_NEEDS_CSUM,
		    .csum_offset = 16 };
		struct seg_out out = { .pkts = segs, .max = 4 };

		s.payload = 999;
		s.flags = 0x19;
		b = build(want, &s);
		s.partial = true;
		build(super, &s);
		h.csum_start = (uint16_t)b.l4;
		ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 1);
		ck_assert_mem_eq(segs[0]->data, want, b.len);
		ck_assert(l4_csum_ok(segs[0]->data, b.len, &b, v6, 6));
		/* Without NEEDS_CSUM the frame is copied as it is. */
		h.flags = 0;
		ck_assert_int_eq(tso_segment(super, b.len, &h, &out), 1);
		ck_assert_mem_eq(segs[0]->data, super, b.len);
		h.flags = VNET_F_DATA_VALID;
		ck_assert_int_eq(vnet_complete_csum(super, b.len, &h), 0);
		ck_assert_mem_ne(super, want, b.len);
	}
}
END_TEST

START_TEST(csum_bounds)
{
	struct vnet_hdr h = { .flags = VNET_F_NEEDS_CSUM, .csum_start = 50,
	    .csum_offset = 8 };
	struct seg_out out = { .pkts = segs, .max = 1 };

	memset(super, 0, 60);
	ck_assert_int_eq(vnet_complete_csum(super, 60, &h), 0);
	ck_assert_uint_eq(get16(super + 58), 0xffff);
	ck_assert_int_eq(vnet_complete_csum(super, 59, &h), -EINVAL);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	ck_assert_int_eq(vnet_complete_csum(super, 60, &h), -EINVAL);
	ck_assert_int_eq(tso_segment(super, 60, &h, &out), -EINVAL);
	/* Too big for a pkt without GSO */
	h.flags = 0;
	ck_assert_int_eq(tso_segment(super, PKT_FRAME_MAX + 1, &h, &out),
	    -EMSGSIZE);
	ck_assert_int_eq(tso_segment(super, PKT_FRAME_MAX, &h, &out), 1);
}
END_TEST

/* GRO */

/* The frame o hands out, in one piece. */
static const uint8_t *
gathered(const struct gro_out *o)
{
	static uint8_t buf[VNET_READ_MAX];
	size_t at = 0;

	for (unsigned i = 0; i < o->n_iov; i++) {
		ck_assert_uint_le(at + o->iov[i].iov_len, sizeof(buf));
		memcpy(buf + at, o->iov[i].iov_base, o->iov[i].iov_len);
		at += o->iov[i].iov_len;
	}
	ck_assert_uint_eq(at, o->len);
	return buf;
}

static void
check_plain(const struct gro_out *o, const uint8_t *frame, size_t len)
{
	static const uint8_t zero[VNET_HDR_LEN];

	ck_assert_mem_eq(o->vnet, zero, VNET_HDR_LEN);
	ck_assert_uint_eq(o->segs, 1);
	ck_assert_uint_eq(o->len, len);
	ck_assert_mem_eq(gathered(o), frame, len);
}

/* o must be superframe s (as the kernel would hand it to a TAP reader)
 * of nseg segments of mss. */
static void
check_super(const struct gro_out *o, const struct spec *s, uint16_t mss,
    unsigned nseg)
{
	struct spec t = *s;
	struct built b;
	struct vnet_hdr h;
	uint8_t buf[VNET_HDR_LEN + 100];

	t.partial = true;
	b = build(want, &t);
	ck_assert_uint_eq(o->segs, nseg);
	ck_assert_uint_eq(o->n_iov, nseg);
	ck_assert_uint_eq(o->len, b.len);
	ck_assert_mem_eq(gathered(o), want, b.len);
	/* the header: decoded by hand, then by vnet_parse */
	ck_assert_uint_eq(o->vnet[0], VNET_F_NEEDS_CSUM);
	ck_assert_uint_eq(o->vnet[1], s->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4);
	ck_assert_uint_eq(o->vnet[2] | o->vnet[3] << 8, b.hlen);
	ck_assert_uint_eq(o->vnet[4] | o->vnet[5] << 8, mss);
	ck_assert_uint_eq(o->vnet[6] | o->vnet[7] << 8, b.l4);
	ck_assert_uint_eq(o->vnet[8] | o->vnet[9] << 8, 16);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, o->vnet, VNET_HDR_LEN);
	ck_assert_int_eq(vnet_parse(buf, sizeof(buf), &h), 0);
	ck_assert_uint_eq(h.gso_size, mss);
	if (!s->v6)
		ck_assert_uint_eq(ref_fold(ref_add(gathered(o) + b.l3,
		    b.l4 - b.l3, 0)), 0xffff);
}

/* Superframe s through tso_segment and back through gro_add must come
 * out as s again. */
static void
check_round_trip(const struct spec *s, uint16_t mss)
{
	size_t nseg = check_tso(s, mss);
	struct gro_out out[GRO_FLOWS];
	bool ends = (s->flags & 0x08) || s->payload % mss != 0;
	int n;

	ck_assert_uint_ge(nseg, 2);
	for (size_t i = 0; i < nseg; i++) {
		n = gro_add(gt, segs[i]->data, segs[i]->len, false, out);
		ck_assert_int_eq(n, ends && i + 1 == nseg ? 1 : 0);
	}
	if (!ends) {
		n = gro_flush(gt, out);
		ck_assert_int_eq(n, 1);
	}
	check_super(&out[0], s, mss, (unsigned)nseg);
	ck_assert_int_eq(gro_flush(gt, out), 0);
}

START_TEST(gro_round_trip)
{
	struct spec s = base_spec(false);

	s.payload = 3 * 1448;
	check_round_trip(&s, 1448);	/* ends at the flush */
	s.flags = 0x18;
	check_round_trip(&s, 1448);	/* ends at PSH */
	s.flags = 0x10;
	s.payload = 3 * 1448 - 100;
	check_round_trip(&s, 1448);	/* ends at the short segment */
	s.df = true;
	s.ip_opts = 4;
	s.tcp_opts = 0;
	s.payload = 40 * 1000 + 1;
	check_round_trip(&s, 1000);

	s = base_spec(true);
	s.payload = 3 * 1428;
	check_round_trip(&s, 1428);
	s.flags = 0x58;			/* ECE PSH ACK */
	s.payload = 17 * 1428 - 3;
	check_round_trip(&s, 1428);

	s.vlan = true;
	s.vid = 7;
	check_round_trip(&s, 1428);
	s.v6 = false;
	check_round_trip(&s, 1428);
	ck_assert_uint_eq(gt->stats.superframes, 8);
}
END_TEST

/* Segments of flow s, built directly. */
static struct built
seg(uint8_t *buf, const struct spec *s, uint16_t mss, size_t i)
{
	struct spec g = seg_spec(s, mss, i);

	return build(buf, &g);
}

static uint8_t f0[2048], f1[2048], f2[2048];
/* GRO holds what it is given until the flush: a buffer per segment. */
static uint8_t fb[GRO_MAX_SEGS + 2][2048];
static uint8_t big[6][40000];

START_TEST(gro_out_of_order)
{
	struct spec s = base_spec(false);
	struct gro_out out[GRO_FLOWS];
	struct built b0, b1, b2;

	s.payload = 3 * 1000;
	b0 = seg(f0, &s, 1000, 0);
	b1 = seg(f1, &s, 1000, 1);
	b2 = seg(f2, &s, 1000, 2);
	ck_assert_int_eq(gro_add(gt, f0, b0.len, false, out), 0);
	/* a gap: the held segment goes, the new one is held */
	ck_assert_int_eq(gro_add(gt, f2, b2.len, false, out), 1);
	check_plain(&out[0], f0, b0.len);
	/* late: the same again */
	ck_assert_int_eq(gro_add(gt, f1, b1.len, false, out), 1);
	check_plain(&out[0], f2, b2.len);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_plain(&out[0], f1, b1.len);

	/* a retransmission of the last segment */
	ck_assert_int_eq(gro_add(gt, f0, b0.len, false, out), 0);
	ck_assert_int_eq(gro_add(gt, f1, b1.len, false, out), 0);
	ck_assert_int_eq(gro_add(gt, f1, b1.len, false, out), 1);
	s.payload = 2000;
	check_super(&out[0], &s, 1000, 2);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_plain(&out[0], f1, b1.len);
	ck_assert_uint_eq(gt->stats.merged, 1);
}
END_TEST


/* Recomputes the IPv4 header and TCP checksums of f after an edit. */
static void
refix(uint8_t *f, const struct built *b, bool v6)
{
	uint8_t pseudo[40];
	size_t l4len = b->len - b->l4;
	uint32_t sum;

	if (!v6) {
		put16(f + b->l3 + 10, 0);
		put16(f + b->l3 + 10,
		    (uint16_t)~ref_fold(ref_add(f + b->l3, b->l4 - b->l3, 0)));
		memcpy(pseudo, f + b->l3 + 12, 8);
		put16(pseudo + 8, 6);
		put16(pseudo + 10, (uint32_t)l4len);
		sum = ref_add(pseudo, 12, 0);
	} else {
		memcpy(pseudo, f + b->l3 + 8, 32);
		put32(pseudo + 32, (uint32_t)l4len);
		put32(pseudo + 36, 6);
		sum = ref_add(pseudo, 40, 0);
	}
	put16(f + b->l4 + 16, 0);
	put16(f + b->l4 + 16, (uint16_t)~ref_fold(ref_add(f + b->l4, l4len,
	    sum)));
}

START_TEST(gro_flows)
{
	struct spec a = base_spec(false), b = base_spec(false);
	struct gro_out out[GRO_FLOWS];
	struct built x, x0, x1;
	/* MAC dst, MAC src, IP src, IP dst, TCP sport, TCP dport */
	static const size_t key[] = { 5, 11, 14 + 15, 14 + 19, 34 + 1,
	    34 + 3 };

	a.payload = b.payload = 3 * 1000;
	b.dport = 5202;
	b.seq = 12345;
	for (size_t i = 0; i < 3; i++) {
		x = seg(fb[2 * i], &a, 1000, i);
		ck_assert_int_eq(gro_add(gt, fb[2 * i], x.len, false, out), 0);
		x = seg(fb[2 * i + 1], &b, 1000, i);
		ck_assert_int_eq(gro_add(gt, fb[2 * i + 1], x.len, false, out),
		    0);
	}
	ck_assert_int_eq(gro_flush(gt, out), 2);
	check_super(&out[0], &a, 1000, 3);
	check_super(&out[1], &b, 1000, 3);

	/* Every part of the key makes another flow: both held apart. */
	for (size_t k = 0; k < sizeof(key) / sizeof(key[0]); k++) {
		x0 = seg(f0, &a, 1000, 0);
		x1 = seg(f1, &a, 1000, 1);
		f1[key[k]] ^= 0x04;
		refix(f1, &x1, false);
		ck_assert_int_eq(gro_add(gt, f0, x0.len, false, out), 0);
		ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 0);
		ck_assert_int_eq(gro_flush(gt, out), 2);
		check_plain(&out[0], f0, x0.len);
		check_plain(&out[1], f1, x1.len);
	}
	/* VLAN tags: none, 5, 6 */
	x0 = seg(f0, &a, 1000, 0);
	a.vlan = true;
	a.vid = 5;
	x1 = seg(f1, &a, 1000, 1);
	a.vid = 6;
	x = seg(f2, &a, 1000, 2);
	ck_assert_int_eq(gro_add(gt, f0, x0.len, false, out), 0);
	ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 0);
	ck_assert_int_eq(gro_add(gt, f2, x.len, false, out), 0);
	ck_assert_int_eq(gro_flush(gt, out), 3);
	ck_assert_uint_eq(gt->stats.merged, 4);
}
END_TEST

/* f1, the second segment, must not join f0: f0 leaves alone, and f1
 * either passes through too (pass) or is held (then flushed). */
static void
check_no_join(size_t l0, size_t l1, bool pass)
{
	struct gro_out out[GRO_FLOWS];

	ck_assert_int_eq(gro_add(gt, f0, l0, false, out), 0);
	if (pass) {
		ck_assert_int_eq(gro_add(gt, f1, l1, false, out), 2);
		check_plain(&out[0], f0, l0);
		check_plain(&out[1], f1, l1);
		ck_assert_ptr_eq(out[1].iov[0].iov_base, f1);
		ck_assert_int_eq(gro_flush(gt, out), 0);
	} else {
		ck_assert_int_eq(gro_add(gt, f1, l1, false, out), 1);
		check_plain(&out[0], f0, l0);
		ck_assert_int_eq(gro_flush(gt, out), 1);
		check_plain(&out[0], f1, l1);
	}
}

/* Joins f1 to f0 and checks it went (superframe of s, 2 segments).
 * The superframe's headers are f0's, rewritten: f0 is restored after. */
static void
check_join(size_t l0, size_t l1, const struct spec *s, uint16_t mss)
{
	struct gro_out out[GRO_FLOWS];
	struct spec t = *s;
	uint8_t keep[sizeof(f0)];

	memcpy(keep, f0, l0);
	t.payload = 2 * mss;
	ck_assert_int_eq(gro_add(gt, f0, l0, false, out), 0);
	ck_assert_int_eq(gro_add(gt, f1, l1, false, out), 0);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_super(&out[0], &t, mss, 2);
	ck_assert_ptr_eq(out[0].iov[0].iov_base, f0);
	ck_assert(memcmp(keep, f0, l0) != 0);
	memcpy(f0, keep, l0);
}

START_TEST(gro_flag_changes)
{
	static const uint8_t stop[] = { 0x11, 0x12, 0x14, 0x30, 0x90, 0x00,
	    0x01, 0x02 };
	struct spec s = base_spec(false), v;
	struct gro_out out[GRO_FLOWS];
	struct built x0, x1, x2;

	s.payload = 3 * 1000;
	x0 = seg(f0, &s, 1000, 0);
	/* FIN, SYN, RST, URG, CWR, no ACK: flush, then pass through */
	for (size_t k = 0; k < sizeof(stop); k++) {
		v = seg_spec(&s, 1000, 1);
		v.flags = stop[k];
		x1 = build(f1, &v);
		check_no_join(x0.len, x1.len, true);
	}
	/* ECE appearing: a new superframe starts */
	v = seg_spec(&s, 1000, 1);
	v.flags = 0x50;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	/* a different ack number, window, urgent pointer */
	v = seg_spec(&s, 1000, 1);
	v.ack++;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	v = seg_spec(&s, 1000, 1);
	v.window++;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	x1 = seg(f1, &s, 1000, 1);
	f1[34 + 19] = 1;
	refix(f1, &x1, false);
	check_no_join(x0.len, x1.len, false);

	/* PSH ends the superframe at once; what follows starts anew */
	v = seg_spec(&s, 1000, 1);
	v.flags = 0x18;
	x1 = build(f1, &v);
	x2 = seg(f2, &s, 1000, 2);
	ck_assert_int_eq(gro_add(gt, f0, x0.len, false, out), 0);
	ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 1);
	v = s;
	v.flags = 0x18;
	v.payload = 2000;
	check_super(&out[0], &v, 1000, 2);
	ck_assert_int_eq(gro_add(gt, f2, x2.len, false, out), 0);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_plain(&out[0], f2, x2.len);
	/* a PSH segment cannot start one: it passes, alone */
	ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 1);
	ck_assert_ptr_eq(out[0].iov[0].iov_base, f1);
	check_plain(&out[0], f1, x1.len);
	ck_assert_int_eq(gro_flush(gt, out), 0);
	/* ECE and PSH on both is fine */
	s.flags = 0x50;
	x0 = seg(f0, &s, 1000, 0);
	x1 = seg(f1, &s, 1000, 1);
	check_join(x0.len, x1.len, &s, 1000);
}
END_TEST

START_TEST(gro_option_changes)
{
	struct spec s = base_spec(false), v;
	struct built x0, x1;

	s.payload = 3 * 1000;
	x0 = seg(f0, &s, 1000, 0);
	v = seg_spec(&s, 1000, 1);
	v.tsval++;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	v = seg_spec(&s, 1000, 1);
	v.tcp_opts = 16;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	v = seg_spec(&s, 1000, 1);
	v.tcp_opts = 0;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	/* a NOP turned EOL, same length */
	x1 = seg(f1, &s, 1000, 1);
	f1[34 + 20] = 0;
	refix(f1, &x1, false);
	check_no_join(x0.len, x1.len, false);
	/* unchanged options join */
	x1 = seg(f1, &s, 1000, 1);
	check_join(x0.len, x1.len, &s, 1000);
}
END_TEST

START_TEST(gro_ip_changes)
{
	struct spec s = base_spec(false), v;
	struct built x0, x1;

	s.payload = 3 * 1000;
	x0 = seg(f0, &s, 1000, 0);
	v = seg_spec(&s, 1000, 1);
	v.ttl--;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	v = seg_spec(&s, 1000, 1);
	v.tos = 0;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	v = seg_spec(&s, 1000, 1);
	v.df = true;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	v = seg_spec(&s, 1000, 1);
	v.ip_opts = 4;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	/* IDs must count up by one without DF ... */
	v = seg_spec(&s, 1000, 1);
	v.id += 7;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	v.id = s.id;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	/* ... and may do anything with it (RFC 6864) */
	s.df = true;
	x0 = seg(f0, &s, 1000, 0);
	v = seg_spec(&s, 1000, 1);
	v.id = s.id;
	x1 = build(f1, &v);
	check_join(x0.len, x1.len, &s, 1000);
	v.id = 4242;
	x1 = build(f1, &v);
	check_join(x0.len, x1.len, &s, 1000);

	/* IPv6: traffic class, flow label, hop limit */
	s = base_spec(true);
	s.payload = 3 * 1000;
	x0 = seg(f0, &s, 1000, 0);
	v = seg_spec(&s, 1000, 1);
	v.tos = 0;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	v = seg_spec(&s, 1000, 1);
	v.ttl = 1;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	x1 = seg(f1, &s, 1000, 1);
	f1[14 + 3] ^= 0x10;
	refix(f1, &x1, true);
	check_no_join(x0.len, x1.len, false);
	x1 = seg(f1, &s, 1000, 1);
	check_join(x0.len, x1.len, &s, 1000);
}
END_TEST

START_TEST(gro_bad_csum)
{
	struct spec s = base_spec(false), v;
	struct gro_out out[GRO_FLOWS];
	struct built x0, x1;

	s.payload = 3 * 1000;
	x0 = seg(f0, &s, 1000, 0);
	x1 = seg(f1, &s, 1000, 1);
	f1[x1.len - 1] ^= 0x40;		/* payload corrupted */
	check_no_join(x0.len, x1.len, true);
	x1 = seg(f1, &s, 1000, 1);
	f1[34 + 16] ^= 0x01;		/* checksum corrupted */
	check_no_join(x0.len, x1.len, true);
	v = seg_spec(&s, 1000, 1);
	v.bad_ip_csum = true;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, true);
	/* nor may a bad one start a superframe */
	ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 1);
	ck_assert_ptr_eq(out[0].iov[0].iov_base, f1);
	x1 = seg(f1, &s, 1000, 1);
	ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 0);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	ck_assert_uint_eq(gt->stats.merged, 0);
}
END_TEST

/* After an outer check (an ESP ICV, a verified UDP checksum) the TCP
 * checksum is not summed again: a bad one joins, and the superframe's
 * checksum is left for the kernel to write afresh. The IPv4 header
 * checksum is still checked. */
START_TEST(gro_csum_verified)
{
	struct spec s = base_spec(false), v;
	struct gro_out out[GRO_FLOWS];
	struct built x0, x1;

	s.payload = 2 * 1000;
	x0 = seg(f0, &s, 1000, 0);
	x1 = seg(f1, &s, 1000, 1);
	f1[34 + 16] ^= 0x01;		/* TCP checksum wrong */
	ck_assert_int_eq(gro_add(gt, f0, x0.len, true, out), 0);
	ck_assert_int_eq(gro_add(gt, f1, x1.len, true, out), 0);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_super(&out[0], &s, 1000, 2);
	ck_assert_uint_eq(gt->stats.merged, 1);
	v = seg_spec(&s, 1000, 0);
	v.bad_ip_csum = true;
	x0 = build(f0, &v);
	ck_assert_int_eq(gro_add(gt, f0, x0.len, true, out), 1);
	ck_assert_ptr_eq(out[0].iov[0].iov_base, f0);
}
END_TEST

START_TEST(gro_passthrough)
{
	static uint8_t arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 0x08, 0 };
	struct spec s = base_spec(false), v;
	struct gro_out out[GRO_FLOWS];
	struct built x0, x1, x2;

	s.payload = 3 * 1000;
	x0 = seg(f0, &s, 1000, 0);
	x1 = seg(f1, &s, 1000, 1);
	/* ARP, UDP, a runt, another flow's pure ACK: the flow stays held */
	ck_assert_int_eq(gro_add(gt, f0, x0.len, false, out), 0);
	ck_assert_int_eq(gro_add(gt, arp, sizeof(arp), false, out), 1);
	check_plain(&out[0], arp, sizeof(arp));
	ck_assert_ptr_eq(out[0].iov[0].iov_base, arp);
	v = s;
	v.udp = true;
	v.payload = 100;
	x2 = build(f2, &v);
	ck_assert_int_eq(gro_add(gt, f2, x2.len, false, out), 1);
	check_plain(&out[0], f2, x2.len);
	ck_assert_int_eq(gro_add(gt, arp, 5, false, out), 1);
	check_plain(&out[0], arp, 5);
	v = s;
	v.payload = 0;
	v.sport++;
	x2 = build(f2, &v);
	ck_assert_int_eq(gro_add(gt, f2, x2.len, false, out), 1);
	check_plain(&out[0], f2, x2.len);
	ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 0);
	/* its own pure ACK flushes it first */
	v = seg_spec(&s, 1000, 2);
	v.payload = 0;
	x2 = build(f2, &v);
	ck_assert_int_eq(gro_add(gt, f2, x2.len, false, out), 2);
	v = s;
	v.payload = 2000;
	check_super(&out[0], &v, 1000, 2);
	check_plain(&out[1], f2, x2.len);
	ck_assert_int_eq(gro_flush(gt, out), 0);
	ck_assert_uint_eq(gt->stats.passed, 5);
}
END_TEST

START_TEST(gro_sizes)
{
	struct spec s = base_spec(false), v;
	struct gro_out out[GRO_FLOWS];
	struct built x0, x1, x2;

	/* larger after smaller: a new superframe */
	s.payload = 500 + 1000;
	v = s;
	v.payload = 500;
	x0 = build(f0, &v);
	v.seq += 500;
	v.id++;
	v.payload = 1000;
	x1 = build(f1, &v);
	check_no_join(x0.len, x1.len, false);
	/* a short one ends it at once */
	s.payload = 3000;
	x0 = seg(f0, &s, 1000, 0);
	v = seg_spec(&s, 1000, 1);
	v.payload = 999;
	x1 = build(f1, &v);
	ck_assert_int_eq(gro_add(gt, f0, x0.len, false, out), 0);
	ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 1);
	v = s;
	v.payload = 1999;
	check_super(&out[0], &v, 1000, 2);
	/* the next in sequence starts over */
	v = seg_spec(&s, 1000, 2);
	v.seq--;
	v.id = (uint16_t)(s.id + 2);
	x2 = build(f2, &v);
	ck_assert_int_eq(gro_add(gt, f2, x2.len, false, out), 0);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_plain(&out[0], f2, x2.len);
	/* Ethernet padding is not payload */
	x0 = seg(f0, &s, 1000, 0);
	x1 = seg(f1, &s, 1000, 1);
	memset(f1 + x1.len, 0, 6);
	ck_assert_int_eq(gro_add(gt, f0, x0.len, false, out), 0);
	ck_assert_int_eq(gro_add(gt, f1, x1.len + 6, false, out), 0);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	v = s;
	v.payload = 2000;
	check_super(&out[0], &v, 1000, 2);
}
END_TEST

/* No superframe past 64 KiB of IP packet, nor GRO_MAX_SEGS segments. */
START_TEST(gro_bounds)
{
	struct spec s = base_spec(false), v;
	struct gro_out out[GRO_FLOWS];
	struct built x;
	int n;

	s.payload = 47 * 1400;
	for (size_t i = 0; i < 47; i++) {
		x = seg(fb[i], &s, 1400, i);
		n = gro_add(gt, fb[i], x.len, false, out);
		ck_assert_int_eq(n, i == 46 ? 1 : 0);
	}
	v = s;
	v.payload = 46 * 1400;
	check_super(&out[0], &v, 1400, 46);
	ck_assert_uint_eq(get16(gathered(&out[0]) + 14 + 2),
	    20 + 32 + 46 * 1400);
	ck_assert_uint_le(20 + 32 + 47 * 1400, 65535 + 1400);
	ck_assert_uint_gt(20 + 32 + 47 * 1400, 65535);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_plain(&out[0], fb[46], x.len);

	/* exactly 65535 bytes of IPv4 packet, not one more */
	s = base_spec(false);
	s.tcp_opts = 0;
	s.payload = 5 * 13099 + 1;
	for (size_t i = 0; i < 6; i++) {
		x = seg(big[i], &s, 13099, i);
		n = gro_add(gt, big[i], x.len, false, out);
		ck_assert_int_eq(n, i == 5 ? 1 : 0);
	}
	v = s;
	v.payload = 5 * 13099;
	check_super(&out[0], &v, 13099, 5);
	ck_assert_uint_eq(get16(gathered(&out[0]) + 14 + 2), 65535);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_plain(&out[0], big[5], x.len);

	/* IPv6: the 40-byte header counts as well */
	s = base_spec(true);
	s.tcp_opts = 0;
	s.payload = 2 * 32737 + 1;
	for (size_t i = 0; i < 3; i++) {
		x = seg(big[i], &s, 32737, i);
		n = gro_add(gt, big[i], x.len, false, out);
		ck_assert_int_eq(n, i == 2 ? 1 : 0);
	}
	check_super(&out[0], &s, 32737, 3);
	ck_assert_uint_eq(get16(gathered(&out[0]) + 14 + 4), 65535 - 40);
	s.payload = 2 * 32738;
	x = seg(big[3], &s, 32738, 0);
	ck_assert_int_eq(gro_add(gt, big[3], x.len, false, out), 0);
	x = seg(big[4], &s, 32738, 1);
	ck_assert_int_eq(gro_add(gt, big[4], x.len, false, out), 1);
	ck_assert_uint_eq(out[0].segs, 1);
	ck_assert_uint_eq(out[0].len, 14 + 40 + 20 + 32738);
	ck_assert_int_eq(gro_flush(gt, out), 1);
	check_plain(&out[0], big[4], x.len);

	/* segment count */
	s = base_spec(false);
	s.payload = (GRO_MAX_SEGS + 1) * 100;
	for (size_t i = 0; i <= GRO_MAX_SEGS; i++) {
		x = seg(fb[i], &s, 100, i);
		n = gro_add(gt, fb[i], x.len, false, out);
		ck_assert_int_eq(n, i == GRO_MAX_SEGS ? 1 : 0);
	}
	v = s;
	v.payload = GRO_MAX_SEGS * 100;
	check_super(&out[0], &v, 100, GRO_MAX_SEGS);
	ck_assert_int_eq(gro_flush(gt, out), 1);
}
END_TEST

/* At most GRO_FLOWS held; the least recently used leaves for a new one,
 * as the frame it was given, untouched. */
START_TEST(gro_table_full)
{
	struct spec s[GRO_FLOWS + 1];
	struct gro_out out[GRO_FLOWS];
	struct built x, x1;
	bool seen[GRO_FLOWS + 1] = { false };

	for (size_t f = 0; f <= GRO_FLOWS; f++) {
		s[f] = base_spec(f % 2);
		s[f].payload = 2000;
		s[f].dport = (uint16_t)(1000 + f);
	}
	for (size_t f = 0; f < GRO_FLOWS; f++) {
		x = seg(fb[f], &s[f], 1000, 0);
		ck_assert_int_eq(gro_add(gt, fb[f], x.len, false, out), 0);
	}
	/* flow 0 used last: 1 is oldest */
	x = seg(fb[GRO_FLOWS], &s[0], 1000, 1);
	ck_assert_int_eq(gro_add(gt, fb[GRO_FLOWS], x.len, false, out), 0);
	x = seg(fb[GRO_FLOWS + 1], &s[GRO_FLOWS], 1000, 0);
	ck_assert_int_eq(gro_add(gt, fb[GRO_FLOWS + 1], x.len, false, out), 1);
	x1 = seg(f1, &s[1], 1000, 0);
	check_plain(&out[0], f1, x1.len);
	ck_assert_ptr_eq(out[0].iov[0].iov_base, fb[1]);
	ck_assert_uint_eq(gt->stats.evicted, 1);
	/* flow 1 again: evicts 2 */
	ck_assert_int_eq(gro_add(gt, f1, x1.len, false, out), 1);
	x1 = seg(f2, &s[2], 1000, 0);
	check_plain(&out[0], f2, x1.len);

	ck_assert_int_eq(gro_flush(gt, out), GRO_FLOWS);
	for (size_t i = 0; i < GRO_FLOWS; i++) {
		const uint8_t *g = gathered(&out[i]);
		bool v6 = g[12] == 0x86;
		size_t f = get16(g + 14 + (v6 ? 40 : 20) + 2) - 1000;

		ck_assert_uint_le(f, GRO_FLOWS);
		ck_assert(!seen[f]);
		seen[f] = true;
		if (f == 0) {
			check_super(&out[i], &s[0], 1000, 2);
		} else {
			x = seg(f0, &s[f], 1000, 0);
			check_plain(&out[i], f0, x.len);
		}
	}
	ck_assert(!seen[2]);
	ck_assert_int_eq(gro_flush(gt, out), 0);
}
END_TEST

static Suite *
offload_suite(void)
{
	Suite *s = suite_create("offload");
	TCase *tc = tcase_create("vnet");

	tcase_add_test(tc, vnet_golden);
	tcase_add_test(tc, vnet_good);
	tcase_add_test(tc, vnet_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("tso");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tso_ipv4_three);
	tcase_add_test(tc, tso_ipv6_three);
	tcase_add_test(tc, tso_odd_sizes);
	tcase_add_test(tc, tso_vlan);
	tcase_add_test(tc, tso_resume);
	tcase_add_test(tc, tso_errors);
	tcase_add_test(tc, csum_udp);
	tcase_add_test(tc, csum_udp_zero);
	tcase_add_test(tc, csum_tcp);
	tcase_add_test(tc, csum_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("gro");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, gro_round_trip);
	tcase_add_test(tc, gro_out_of_order);
	tcase_add_test(tc, gro_flows);
	tcase_add_test(tc, gro_flag_changes);
	tcase_add_test(tc, gro_option_changes);
	tcase_add_test(tc, gro_ip_changes);
	tcase_add_test(tc, gro_bad_csum);
	tcase_add_test(tc, gro_csum_verified);
	tcase_add_test(tc, gro_passthrough);
	tcase_add_test(tc, gro_sizes);
	tcase_add_test(tc, gro_bounds);
	tcase_add_test(tc, gro_table_full);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(offload_suite());
}
