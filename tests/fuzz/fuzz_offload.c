/* Software TSO and GRO (offload.c) and the flow hash (flow.c), the code
 * that parses every TCP frame the TAP gives and every one a peer sends.
 *
 * The input first makes one TAP read: either its own bytes (vnet header
 * and frame as they come) or a TCP superframe built from its choices
 * (IPv4 or IPv6, a VLAN tag, IP and TCP options, flags, DF, gso_size,
 * payload). Whatever vnet_parse accepts goes through tso_segment a few
 * segments at a time; each segment is checked against the superframe
 * with a checksum oracle written here. The segments, and frames of the
 * input's own bytes, then go through gro_add after the input has
 * reordered, dropped, duplicated, padded and altered them, and every
 * superframe GRO hands out must be, cut again by tso_segment, exactly
 * the segments it took in: GRO and TSO are inverses on what GRO merges.
 * Every frame lies in an allocation of its own size, so ASan sees any
 * read past it. */
#include <errno.h>
#include <stdbool.h>

#include "byteorder.h"
#include "flow.h"
#include "offload.h"
#include "pkt.h"
#include "wire.h"

#include "fuzz.h"

#define SEG_BATCH	8	/* tso_segment's buffers per call */
#define MAX_FRAMES	96	/* frames offered to GRO */
#define RAW_FRAME_MAX	2048	/* a frame of the input's own bytes */
#define PAYLOAD_MAX	24000	/* of a built superframe */

/* One frame for GRO: its buffer (exactly len bytes), and a copy from
 * before GRO rewrote anything. */
struct frame {
	uint8_t	*buf;
	uint8_t	*orig;
	size_t	 len;
};

struct frames {
	struct frame	f[MAX_FRAMES];
	size_t		n;
};

static uint8_t	 key[FLOW_KEY_LEN];
static uint8_t	 tap_read[VNET_READ_MAX];
static uint8_t	 linear[VNET_HDR_LEN + SUPERFRAME_MAX];
static struct pkt segs[GRO_MAX_SEGS];

/* The oracle: RFC 1071 a byte pair at a time, and where the IP and TCP
 * headers of an Ethernet frame are. */
static uint64_t
sum16(const uint8_t *b, size_t len, uint64_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	return s;
}

static uint16_t
fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

struct tcp_at {
	size_t	l3, l4, end;
	bool	v6;
};

/* Whether f is Ethernet (one optional 802.1Q tag) / IPv4 or IPv6 / TCP
 * with lengths that fit; offsets to *t. */
static bool
find_tcp(const uint8_t *f, size_t len, struct tcp_at *t)
{
	size_t l3 = 14;
	uint16_t type;

	if (len < 14)
		return false;
	if ((type = be16_get(f + 12)) == 0x8100) {
		if (len < 18)
			return false;
		type = be16_get(f + 16);
		l3 = 18;
	}
	t->l3 = l3;
	if (type == 0x0800 && len >= l3 + 20 && f[l3] >> 4 == 4) {
		t->v6 = false;
		t->l4 = l3 + (size_t)(f[l3] & 0x0f) * 4;
		t->end = l3 + be16_get(f + l3 + 2);
		if (f[l3 + 9] != 6 || t->l4 < l3 + 20)
			return false;
	} else if (type == 0x86dd && len >= l3 + 40 && f[l3] >> 4 == 6) {
		t->v6 = true;
		t->l4 = l3 + 40;
		t->end = t->l4 + be16_get(f + l3 + 4);
		if (f[l3 + 6] != 6)
			return false;
	} else {
		return false;
	}
	return t->end <= len && t->l4 + 20 <= t->end &&
	    t->l4 + (size_t)(f[t->l4 + 12] >> 4) * 4 <= t->end;
}

static uint64_t
pseudo16(const uint8_t *f, const struct tcp_at *t)
{
	size_t l4len = t->end - t->l4;

	return sum16(f + t->l3 + (t->v6 ? 8 : 12), t->v6 ? 32 : 8,
	    6 + (l4len >> 16) + (l4len & 0xffff));
}

static bool
ip_csum_ok(const uint8_t *f, const struct tcp_at *t)
{
	return t->v6 || fold16(sum16(f + t->l3, t->l4 - t->l3, 0)) == 0xffff;
}

static bool
tcp_csum_ok(const uint8_t *f, const struct tcp_at *t)
{
	return fold16(sum16(f + t->l4, t->end - t->l4, pseudo16(f, t))) ==
	    0xffff;
}

/* Makes both checksums of a TCP frame right again. */
static void
fix_csums(uint8_t *f, const struct tcp_at *t)
{
	if (!t->v6) {
		be16_put(f + t->l3 + 10, 0);
		be16_put(f + t->l3 + 10,
		    (uint16_t)~fold16(sum16(f + t->l3, t->l4 - t->l3, 0)));
	}
	be16_put(f + t->l4 + 16, 0);
	be16_put(f + t->l4 + 16, (uint16_t)~fold16(sum16(f + t->l4,
	    t->end - t->l4, pseudo16(f, t))));
}

static void
fill(struct fuzz_rd *r, uint8_t *b, size_t len)
{
	size_t k = fuzz_take(r, b, len);

	memset(b + k, 0, len - k);
}

/* A TAP read holding a TCP superframe shaped by the input; its length. */
static size_t
build_superframe(struct fuzz_rd *r, uint8_t *b)
{
	uint8_t shape = fuzz_get8(r), *f = b + VNET_HDR_LEN;
	bool v6 = shape & 1, vlan = shape & 2;
	size_t ipopt = (shape >> 2 & 3) * 4, tcpopt = (size_t)(shape >> 4) * 4;
	size_t l3 = vlan ? 18 : 14, l4 = l3 + (v6 ? 40 : 20 + ipopt);
	size_t hlen = l4 + 20 + tcpopt;
	size_t payload = fuzz_get16(r) % (PAYLOAD_MAX + 1);
	uint8_t flags = fuzz_get8(r), gso_hi = fuzz_get8(r);
	uint32_t seed = fuzz_get32(r) | 1;
	struct vnet_hdr h = {
		.flags = VNET_F_NEEDS_CSUM,
		.gso_type = (v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4) |
		    (gso_hi & 0x80 ? VNET_GSO_ECN : 0),
		.hdr_len = (uint16_t)hlen,
		/* Mostly a few hundred bytes, so superframes of many
		 * segments; now and then past PKT_FRAME_MAX. */
		.gso_size = (uint16_t)(gso_hi & 0x40 ? 1 + fuzz_get16(r) % 9400 :
		    1 + ((gso_hi & 0x3f) << 4 | fuzz_get8(r) >> 4)),
		.csum_start = (uint16_t)l4,
		.csum_offset = 16,
	};

	fill(r, f, 12);				/* MACs */
	if (vlan) {
		be16_put(f + 12, 0x8100);
		fill(r, f + 14, 2);
	}
	be16_put(f + l3 - 2, v6 ? 0x86dd : 0x0800);
	if (v6) {
		fill(r, f + l3, 40);
		f[l3] = (uint8_t)(0x60 | (f[l3] & 0x0f));
		be16_put(f + l3 + 4, (uint16_t)(hlen - l4 + payload));
		f[l3 + 6] = 6;
	} else {
		fill(r, f + l3, 20 + ipopt);
		f[l3] = (uint8_t)(0x45 + ipopt / 4);
		be16_put(f + l3 + 2, (uint16_t)(hlen - l3 + payload));
		f[l3 + 6] &= IPV4_DF >> 8;	/* DF or nothing: no fragment */
		f[l3 + 7] = 0;
		f[l3 + 9] = 6;
	}
	fill(r, f + l4, 20 + tcpopt);
	f[l4 + 12] = (uint8_t)((5 + tcpopt / 4) << 4);
	/* Mostly a plain data segment, which GRO may merge. */
	f[l4 + 13] = flags & 0x80 ? flags :
	    (uint8_t)((flags & TCP_FLAG_PSH) | TCP_FLAG_ACK);
	for (size_t i = 0; i < payload; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		f[hlen + i] = (uint8_t)seed;
	}
	vnet_put(b, &h);
	return VNET_HDR_LEN + hlen + payload;
}

static void
frames_add(struct frames *fs, const uint8_t *b, size_t len)
{
	struct frame *fr;

	if (fs->n == MAX_FRAMES || len == 0)
		return;
	fr = &fs->f[fs->n++];
	FUZZ_CHECK((fr->buf = malloc(len)) != NULL);
	FUZZ_CHECK((fr->orig = malloc(len)) != NULL);
	memcpy(fr->buf, b, len);
	fr->len = len;
}

static void
frames_free(struct frames *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->f[i].buf);
		free(fs->f[i].orig);
	}
	fs->n = 0;
}

/* What tso_segment made of a GSO superframe (f, len: the frame; h: its
 * header): segment i is its headers with the lengths, ID, sequence
 * number, flags and checksums a segment needs, and its share of the
 * payload left in place. */
static void
check_segment(const uint8_t *f, const struct tcp_at *t,
    const struct vnet_hdr *h, size_t i, size_t total, struct pkt *p)
{
	size_t hlen = t->l4 + (size_t)(f[t->l4 + 12] >> 4) * 4;
	size_t want = t->end - hlen - i * h->gso_size;
	uint8_t flags = f[t->l4 + 13], *s;
	struct tcp_at st;

	if (want > h->gso_size)
		want = h->gso_size;
	FUZZ_CHECK(p->len == hlen && p->ext == f + hlen + i * h->gso_size);
	FUZZ_CHECK(p->ext_len == want);
	FUZZ_CHECK(pkt_total(p) <= PKT_FRAME_MAX);
	FUZZ_CHECK(flow_hash(p->data, p->len, key) ==
	    flow_hash(f, t->end, key));
	FUZZ_CHECK(pkt_linearize(p) == 0);
	s = p->data;
	FUZZ_CHECK(find_tcp(s, p->len, &st) && st.end == p->len);
	FUZZ_CHECK(st.l4 == t->l4 && ip_csum_ok(s, &st) && tcp_csum_ok(s, &st));
	FUZZ_CHECK(memcmp(s, f, t->l3) == 0);
	FUZZ_CHECK(be32_get(s + t->l4 + 4) ==
	    (uint32_t)(be32_get(f + t->l4 + 4) + i * h->gso_size));
	if (!t->v6)
		FUZZ_CHECK(be16_get(s + t->l3 + 4) ==
		    (uint16_t)(be16_get(f + t->l3 + 4) + i));
	if (i + 1 < total)
		flags &= (uint8_t)~(TCP_FLAG_FIN | TCP_FLAG_PSH);
	if (i > 0)
		flags &= (uint8_t)~TCP_FLAG_CWR;
	FUZZ_CHECK(s[t->l4 + 13] == flags);
	FUZZ_CHECK(memcmp(s + hlen, f + hlen + i * h->gso_size, want) == 0);
}

/* A GSO_NONE frame comes out whole, its partial checksum, if any,
 * finished. */
static void
check_plain(const uint8_t *f, size_t len, const struct vnet_hdr *h,
    const struct pkt *p)
{
	size_t at = (size_t)h->csum_start + h->csum_offset;

	FUZZ_CHECK(p->len == len && p->ext_len == 0);
	if (!(h->flags & VNET_F_NEEDS_CSUM)) {
		FUZZ_CHECK(memcmp(p->data, f, len) == 0);
		return;
	}
	FUZZ_CHECK(memcmp(p->data, f, at) == 0);
	FUZZ_CHECK(memcmp(p->data + at + 2, f + at + 2, len - at - 2) == 0);
	/* What the sender left in the field was part of the sum. */
	if (h->csum_offset % 2 == 0)
		FUZZ_CHECK(fold16(sum16(p->data + h->csum_start,
		    len - h->csum_start, be16_get(f + at))) == 0xffff);
}

/* One TAP read through vnet_parse and tso_segment; the segments join fs. */
static void
check_tap_read(const uint8_t *b, size_t len, struct frames *fs)
{
	const uint8_t *f = b + VNET_HDR_LEN;
	struct pkt *ptrs[SEG_BATCH];
	struct seg_out out = { .pkts = ptrs, .max = SEG_BATCH };
	struct vnet_hdr h;
	struct tcp_at t;
	int n;

	if (vnet_parse(b, len, &h) < 0)
		return;
	len -= VNET_HDR_LEN;
	for (size_t i = 0; i < SEG_BATCH; i++)
		ptrs[i] = &segs[i];
	do {
		n = tso_segment(f, len, &h, &out);
		if (n < 0) {
			FUZZ_CHECK(n == -EINVAL || n == -EPROTONOSUPPORT ||
			    n == -EMSGSIZE);
			FUZZ_CHECK(out.skip == 0);
			return;
		}
		FUZZ_CHECK((size_t)n == out.n && n > 0 && n <= SEG_BATCH);
		if (h.gso_type == VNET_GSO_NONE) {
			check_plain(f, len, &h, ptrs[0]);
		} else {
			FUZZ_CHECK(out.skip > 0 || find_tcp(f, len, &t));
			for (int k = 0; k < n; k++)
				check_segment(f, &t, &h, out.skip + (size_t)k,
				    out.total, ptrs[k]);
		}
		for (int k = 0; k < n; k++)
			frames_add(fs, ptrs[k]->data, ptrs[k]->len);
		out.skip += out.n;
	} while (out.skip < out.total);
	FUZZ_CHECK(tso_segment(f, len, &h, &out) == 0 && out.n == 0);
}

/* The input's edits to the frames before GRO sees them. */
static void
mutate(struct fuzz_rd *r, struct frames *fs)
{
	unsigned ops = fuzz_get8(r) % 12;

	for (unsigned k = 0; k < ops && fs->n > 0; k++) {
		uint8_t op = fuzz_get8(r);
		size_t i = fuzz_get8(r) % fs->n, j = fuzz_get8(r) % fs->n;
		struct frame *a = &fs->f[i], swap;
		struct tcp_at t;
		size_t at, pad;

		switch (op % 5) {
		case 0:				/* reorder */
			swap = fs->f[i];
			fs->f[i] = fs->f[j];
			fs->f[j] = swap;
			break;
		case 1:				/* lose one */
			free(a->buf);
			free(a->orig);
			memmove(a, a + 1, (fs->n - i - 1) * sizeof(*a));
			fs->n--;
			break;
		case 2:				/* one more copy */
			frames_add(fs, a->buf, a->len);
			break;
		case 3:				/* Ethernet padding */
			pad = (size_t)fuzz_get8(r) % 64;
			FUZZ_CHECK((a->buf = realloc(a->buf, a->len + pad)) != NULL);
			FUZZ_CHECK((a->orig = realloc(a->orig, a->len + pad)) != NULL);
			memset(a->buf + a->len, 0, pad);
			a->len += pad;
			break;
		case 4:				/* a byte changed */
			at = fuzz_get16(r) % a->len;
			a->buf[at] = fuzz_get8(r);
			/* Now and then checksums to match, so the change
			 * reaches GRO's other checks. */
			if ((op & 0x80) && find_tcp(a->buf, a->len, &t))
				fix_csums(a->buf, &t);
			break;
		}
	}
}

/* Where out's piece iov points: the index of the frame it lies in. */
static size_t
piece_owner(const struct frames *fs, const struct iovec *iov)
{
	const uint8_t *p = iov->iov_base;

	for (size_t i = 0; i < fs->n; i++) {
		const struct frame *fr = &fs->f[i];

		if (p >= fr->buf && p < fr->buf + fr->len) {
			FUZZ_CHECK(p + iov->iov_len <= fr->buf + fr->len);
			return i;
		}
	}
	FUZZ_CHECK(!"a piece outside every frame");
	return 0;
}

/* s (a segment cut from GRO's superframe) is frame o as it came, but
 * for the checksums, which must be right, and an IPv4 ID under DF,
 * which GRO does not keep. */
static void
check_same_segment(uint8_t *s, size_t len, const uint8_t *o, size_t olen)
{
	struct tcp_at t;
	uint8_t *copy;

	FUZZ_CHECK(find_tcp(s, len, &t) && t.end == len && len <= olen);
	FUZZ_CHECK(ip_csum_ok(s, &t) && tcp_csum_ok(s, &t));
	FUZZ_CHECK((copy = malloc(len)) != NULL);
	memcpy(copy, o, len);
	memcpy(copy + t.l4 + 16, s + t.l4 + 16, 2);
	if (!t.v6) {
		memcpy(copy + t.l3 + 10, s + t.l3 + 10, 2);
		if (o[t.l3 + 6] & IPV4_DF >> 8)
			memcpy(copy + t.l3 + 4, s + t.l3 + 4, 2);
	}
	FUZZ_CHECK(memcmp(copy, s, len) == 0);
	free(copy);
}

/* One frame out of GRO: pieces of frames it took in, each taken once,
 * in order; a superframe must be a valid TAP write whose partial
 * checksum completes right, and cut again it must give back the
 * segments it was made of. */
static void
check_gro_out(const struct frames *fs, const struct gro_out *g, bool *taken)
{
	size_t owner[GRO_MAX_SEGS], len = 0;
	struct pkt *ptrs[GRO_MAX_SEGS];
	struct seg_out out = { .pkts = ptrs, .max = GRO_MAX_SEGS };
	uint8_t *f = linear + VNET_HDR_LEN;
	struct vnet_hdr h;
	struct tcp_at t;

	FUZZ_CHECK(g->n_iov >= 1 && g->n_iov == g->segs);
	for (unsigned k = 0; k < g->n_iov; k++) {
		owner[k] = piece_owner(fs, &g->iov[k]);
		FUZZ_CHECK(!taken[owner[k]]);
		FUZZ_CHECK(k == 0 || owner[k] > owner[k - 1]);
		taken[owner[k]] = true;
		FUZZ_CHECK(len + g->iov[k].iov_len <= SUPERFRAME_MAX);
		memcpy(f + len, g->iov[k].iov_base, g->iov[k].iov_len);
		len += g->iov[k].iov_len;
	}
	FUZZ_CHECK(len == g->len);
	FUZZ_CHECK(g->iov[0].iov_base == fs->f[owner[0]].buf);
	if (g->segs == 1) {
		static const uint8_t zero[VNET_HDR_LEN];

		FUZZ_CHECK(memcmp(g->vnet, zero, VNET_HDR_LEN) == 0);
		FUZZ_CHECK(memcmp(f, fs->f[owner[0]].orig, len) == 0);
		return;
	}
	memcpy(linear, g->vnet, VNET_HDR_LEN);
	FUZZ_CHECK(vnet_parse(linear, VNET_HDR_LEN + len, &h) == 0);
	FUZZ_CHECK(find_tcp(f, len, &t) && t.end == len);
	FUZZ_CHECK(flow_hash(f, len, key) ==
	    flow_hash(fs->f[owner[0]].orig, fs->f[owner[0]].len, key));
	for (unsigned k = 0; k < GRO_MAX_SEGS; k++)
		ptrs[k] = &segs[k];
	FUZZ_CHECK(tso_segment(f, len, &h, &out) == (int)g->segs);
	for (unsigned k = 0; k < g->segs; k++) {
		FUZZ_CHECK(pkt_linearize(ptrs[k]) == 0);
		check_same_segment(ptrs[k]->data, ptrs[k]->len,
		    fs->f[owner[k]].orig, fs->f[owner[k]].len);
	}
	/* What the kernel does with the superframe: finish the sum. */
	FUZZ_CHECK(vnet_complete_csum(f, len, &h) == 0);
	FUZZ_CHECK(tcp_csum_ok(f, &t) && ip_csum_ok(f, &t));
}

static void
check_gro(struct frames *fs, bool csum_verified)
{
	static struct gro_table table;
	struct gro_out out[GRO_FLOWS];
	bool taken[MAX_FRAMES] = { false };
	size_t segs_out = 0;
	int n;

	gro_init(&table);
	for (size_t i = 0; i < fs->n; i++)
		memcpy(fs->f[i].orig, fs->f[i].buf, fs->f[i].len);
	for (size_t i = 0; i < fs->n; i++) {
		n = gro_add(&table, fs->f[i].buf, fs->f[i].len, csum_verified,
		    out);
		FUZZ_CHECK(n >= 0 && n <= GRO_ADD_MAX_OUT);
		for (int k = 0; k < n; k++) {
			check_gro_out(fs, &out[k], taken);
			segs_out += out[k].segs;
		}
	}
	n = gro_flush(&table, out);
	FUZZ_CHECK(n >= 0 && n <= GRO_FLOWS);
	for (int k = 0; k < n; k++) {
		check_gro_out(fs, &out[k], taken);
		segs_out += out[k].segs;
	}
	FUZZ_CHECK(segs_out == fs->n);
	FUZZ_CHECK(gro_flush(&table, out) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct fuzz_rd r = { d, n };
	struct frames fs = { .n = 0 };
	uint8_t mode = fuzz_get8(&r), raw[RAW_FRAME_MAX], *read;
	size_t len, extra;

	fill(&r, key, sizeof(key));
	if (mode & 1) {
		len = build_superframe(&r, tap_read);
	} else {
		len = fuzz_get16(&r) % RAW_FRAME_MAX;
		len = fuzz_take(&r, tap_read, len);
	}
	/* In a buffer of its own size, for ASan. */
	FUZZ_CHECK((read = malloc(len > 0 ? len : 1)) != NULL);
	memcpy(read, tap_read, len);
	check_tap_read(read, len, &fs);
	free(read);
	/* Frames of the input's own bytes beside the segments. */
	extra = mode >> 1 & 3;
	for (size_t i = 0; i < extra; i++) {
		len = fuzz_get16(&r) % RAW_FRAME_MAX;
		frames_add(&fs, raw, fuzz_take(&r, raw, len));
	}
	mutate(&r, &fs);
	check_gro(&fs, mode & 0x80);
	frames_free(&fs);
	return 0;
}
