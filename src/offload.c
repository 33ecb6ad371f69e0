/* Software TSO and GRO for a TAP with a virtio_net_hdr; see offload.h. */
#include <errno.h>
#include <string.h>

#include "byteorder.h"
#include "csum.h"
#include "offload.h"
#include "wire.h"

static uint16_t
le16_get(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static void
le16_put(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

int
vnet_parse(const uint8_t *buf, size_t len, struct vnet_hdr *h)
{
	size_t flen;
	uint8_t gso;

	if (len < VNET_HDR_LEN + ETH_HLEN)
		return -EINVAL;
	flen = len - VNET_HDR_LEN;
	h->flags = buf[0];
	h->gso_type = buf[1];
	h->hdr_len = le16_get(buf + 2);
	h->gso_size = le16_get(buf + 4);
	h->csum_start = le16_get(buf + 6);
	h->csum_offset = le16_get(buf + 8);

	if (h->flags & ~(VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID) ||
	    h->flags == (VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID))
		return -EINVAL;
	if ((h->flags & VNET_F_NEEDS_CSUM) &&
	    (size_t)h->csum_start + h->csum_offset + 2 > flen)
		return -EINVAL;
	if (h->hdr_len > flen)
		return -EINVAL;
	gso = h->gso_type & ~VNET_GSO_ECN;
	if (h->gso_type == VNET_GSO_NONE)
		return 0;
	if (gso != VNET_GSO_TCPV4 && gso != VNET_GSO_TCPV6)
		return -EPROTONOSUPPORT;
	/* virtio 1.x 5.1.6.2: a GSO frame has its checksum left partial. */
	if (h->gso_size == 0 || !(h->flags & VNET_F_NEEDS_CSUM))
		return -EINVAL;
	return 0;
}

void
vnet_put(uint8_t *buf, const struct vnet_hdr *h)
{
	buf[0] = h->flags;
	buf[1] = h->gso_type;
	le16_put(buf + 2, h->hdr_len);
	le16_put(buf + 4, h->gso_size);
	le16_put(buf + 6, h->csum_start);
	le16_put(buf + 8, h->csum_offset);
}

int
vnet_complete_csum(uint8_t *frame, size_t len, const struct vnet_hdr *h)
{
	size_t at;
	uint16_t sum;

	if (!(h->flags & VNET_F_NEEDS_CSUM))
		return 0;
	at = (size_t)h->csum_start + h->csum_offset;
	if (at + 2 > len)
		return -EINVAL;
	sum = (uint16_t)~csum_fold(csum_partial(frame + h->csum_start,
	    len - h->csum_start, 0));
	be16_put(frame + at, sum != 0 ? sum : 0xffff);
	return 0;
}

/* Where the headers of an Ethernet/IP/TCP frame are. */
struct tcp_frame {
	size_t	l3;		/* IP header */
	size_t	l4;		/* TCP header */
	size_t	hlen;		/* payload */
	size_t	end;		/* end of the IP packet; Ethernet padding after */
	bool	v6;
};

/* 0, -EPROTONOSUPPORT when f is not Ethernet (+ 802.1Q) / IPv4 or IPv6
 * without extension headers / TCP and unfragmented, -EINVAL when its
 * lengths do not add up. */
static int
tcp_frame_parse(const uint8_t *f, size_t len, struct tcp_frame *o)
{
	size_t l3 = ETH_HLEN, iplen, ihl, doff;
	uint16_t type;

	if (len < ETH_HLEN)
		return -EINVAL;
	type = be16_get(f + ETH_TYPE_OFF);
	if (type == ETHERTYPE_VLAN) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return -EINVAL;
		type = be16_get(f + ETH_TYPE_OFF + VLAN_HLEN);
		l3 += VLAN_HLEN;
	}
	if (type == ETHERTYPE_IPV4) {
		const uint8_t *ip = f + l3;

		if (len < l3 + 20 || ip[0] >> 4 != 4)
			return -EINVAL;
		ihl = (size_t)(ip[0] & 0x0f) * 4;
		iplen = be16_get(ip + 2);
		if (ihl < 20 || iplen < ihl || l3 + iplen > len)
			return -EINVAL;
		if (ip[9] != IPPROTO_TCP ||
		    (be16_get(ip + 6) & (IPV4_MF | IPV4_FRAG_OFF)) != 0)
			return -EPROTONOSUPPORT;
		o->v6 = false;
	} else if (type == ETHERTYPE_IPV6) {
		const uint8_t *ip = f + l3;

		if (len < l3 + 40 || ip[0] >> 4 != 6)
			return -EINVAL;
		ihl = 40;
		iplen = 40 + (size_t)be16_get(ip + 4);
		if (l3 + iplen > len)
			return -EINVAL;
		if (ip[6] != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		o->v6 = true;
	} else {
		return -EPROTONOSUPPORT;
	}
	o->l3 = l3;
	o->l4 = l3 + ihl;
	o->end = l3 + iplen;
	if (o->l4 + TCP_HLEN_MIN > o->end)
		return -EINVAL;
	doff = (size_t)(f[o->l4 + 12] >> 4) * 4;
	if (doff < TCP_HLEN_MIN || o->l4 + doff > o->end)
		return -EINVAL;
	o->hlen = o->l4 + doff;
	return 0;
}

/* The TCP pseudo-header sum, unfolded, for l4len bytes of TCP. */
static uint64_t
pseudo_sum(const uint8_t *f, const struct tcp_frame *o, size_t l4len)
{
	uint64_t sum;

	if (o->v6)
		sum = csum_partial(f + o->l3 + 8, 32, 0);
	else
		sum = csum_partial(f + o->l3 + 12, 8, 0);
	return sum + IPPROTO_TCP + (l4len >> 16) + (l4len & 0xffff);
}

static void
ipv4_set_csum(uint8_t *ip, size_t ihl)
{
	be16_put(ip + 10, 0);
	be16_put(ip + 10, (uint16_t)~csum_fold(csum_partial(ip, ihl, 0)));
}

/* Writes segment i (of total) of superframe f to p: its headers into the
 * buffer, its payload left in f as p's ext. */
static void
tso_one(const uint8_t *f, const struct tcp_frame *o, size_t gso,
    size_t i, size_t total, struct pkt *p)
{
	size_t off = o->hlen + i * gso;
	size_t plen = o->end - off < gso ? o->end - off : gso;
	size_t l4len = o->hlen - o->l4 + plen;
	uint8_t *d, *ip, *th;
	uint64_t sum;

	pkt_reset(p);
	d = p->data;
	memcpy(d, f, o->hlen);
	p->len = o->hlen;
	p->ext = f + off;
	p->ext_len = plen;
	ip = d + o->l3;
	th = d + o->l4;
	if (o->v6) {
		be16_put(ip + 4, (uint16_t)(o->hlen - o->l3 - 40 + plen));
	} else {
		be16_put(ip + 2, (uint16_t)(o->hlen - o->l3 + plen));
		be16_put(ip + 4, (uint16_t)(be16_get(ip + 4) + i));
		ipv4_set_csum(ip, o->l4 - o->l3);
	}
	be32_put(th + 4, (uint32_t)(be32_get(th + 4) + i * gso));
	if (i + 1 < total)
		th[13] &= (uint8_t)~(TCP_FLAG_FIN | TCP_FLAG_PSH);
	if (i > 0)
		th[13] &= (uint8_t)~TCP_FLAG_CWR;
	be16_put(th + TCP_CSUM_OFF, 0);
	sum = pseudo_sum(d, o, l4len);
	sum = csum_partial(th, o->hlen - o->l4, sum);
	/* The headers are of even length, so the payload chains on. */
	sum = csum_partial(f + off, plen, sum);
	be16_put(th + TCP_CSUM_OFF, (uint16_t)~csum_fold(sum));
}

int
tso_segment(const uint8_t *frame, size_t len, const struct vnet_hdr *h,
    struct seg_out *out)
{
	struct tcp_frame o;
	size_t payload, gso, n;
	uint8_t type = h->gso_type & ~VNET_GSO_ECN;
	int ret;

	out->n = 0;
	if (h->gso_type == VNET_GSO_NONE) {
		out->total = 1;
		if (out->skip >= 1)
			return 0;
		if (out->max == 0)
			return -ENOBUFS;
		if (len > PKT_FRAME_MAX)
			return -EMSGSIZE;
		if ((h->flags & VNET_F_NEEDS_CSUM) &&
		    (size_t)h->csum_start + h->csum_offset + 2 > len)
			return -EINVAL;
		pkt_set(out->pkts[0], frame, len);
		vnet_complete_csum(out->pkts[0]->data, len, h);
		out->n = 1;
		return 1;
	}
	out->total = 0;
	if (type != VNET_GSO_TCPV4 && type != VNET_GSO_TCPV6)
		return -EPROTONOSUPPORT;
	if (h->gso_size == 0)
		return -EINVAL;
	if ((ret = tcp_frame_parse(frame, len, &o)) < 0)
		return ret;
	if (o.v6 != (type == VNET_GSO_TCPV6))
		return -EPROTONOSUPPORT;
	if ((h->flags & VNET_F_NEEDS_CSUM) && (h->csum_start != o.l4 ||
	    h->csum_offset != TCP_CSUM_OFF))
		return -EINVAL;
	payload = o.end - o.hlen;
	gso = h->gso_size;
	if (payload == 0)
		return -EINVAL;
	if (o.hlen + (payload < gso ? payload : gso) > PKT_FRAME_MAX)
		return -EMSGSIZE;
	out->total = (payload + gso - 1) / gso;
	if (out->skip >= out->total)
		return 0;
	if (out->max == 0)
		return -ENOBUFS;
	n = out->total - out->skip;
	if (n > out->max)
		n = out->max;
	for (size_t k = 0; k < n; k++)
		tso_one(frame, &o, gso, out->skip + k, out->total,
		    out->pkts[k]);
	out->n = n;
	return (int)n;
}

/* GRO */

void
gro_stats_add(struct gro_stats *sum, const struct gro_stats *st)
{
	sum->merged += st->merged;
	sum->superframes += st->superframes;
	sum->passed += st->passed;
	sum->evicted += st->evicted;
}

void
gro_init(struct gro_table *t)
{
	memset(t, 0, sizeof(*t));
}

static void
out_plain(struct gro_out *out, uint8_t *frame, size_t len)
{
	memset(out->vnet, 0, sizeof(out->vnet));
	out->iov[0].iov_base = frame;
	out->iov[0].iov_len = len;
	out->n_iov = 1;
	out->len = len;
	out->segs = 1;
}

static uint8_t *
flow_head(const struct gro_flow *fl)
{
	return fl->seg[0].iov_base;
}

/* Finishes flow's superframe into out and frees the flow: the first
 * segment's headers become the superframe's. */
static void
gro_emit(struct gro_table *t, struct gro_flow *fl, struct gro_out *out)
{
	uint8_t *f = flow_head(fl);
	struct tcp_frame o = {
		.l3 = fl->l3, .l4 = fl->l4, .hlen = fl->hlen, .end = fl->len,
		.v6 = fl->v6,
	};
	size_t l4len = fl->len - fl->l4;

	memset(out->vnet, 0, sizeof(out->vnet));
	if (fl->count > 1) {
		struct vnet_hdr h = {
			.flags = VNET_F_NEEDS_CSUM,
			.gso_type = fl->v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4,
			.hdr_len = fl->hlen,
			.gso_size = fl->gso_size,
			.csum_start = fl->l4,
			.csum_offset = TCP_CSUM_OFF,
		};
		uint8_t *ip = f + fl->l3;

		if (fl->v6) {
			be16_put(ip + 4, (uint16_t)(fl->len - fl->l3 - 40));
		} else {
			be16_put(ip + 2, (uint16_t)(fl->len - fl->l3));
			ipv4_set_csum(ip, fl->l4 - fl->l3);
		}
		/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header
		 * sum, not complemented; the kernel adds the rest. */
		be16_put(f + fl->l4 + TCP_CSUM_OFF,
		    csum_fold(pseudo_sum(f, &o, l4len)));
		vnet_put(out->vnet, &h);
		t->stats.superframes++;
	}
	memcpy(out->iov, fl->seg, fl->count * sizeof(fl->seg[0]));
	out->n_iov = fl->count;
	out->len = fl->len;
	out->segs = fl->count;
	fl->used = false;
}

/* Whether f (headers at o) has the same flow key as fl: MACs, VLAN tag,
 * IP version, addresses and ports. */
static bool
gro_same_flow(const struct gro_flow *fl, const uint8_t *f,
    const struct tcp_frame *o)
{
	const uint8_t *g = flow_head(fl);
	size_t alen = o->v6 ? 32 : 8, aoff = o->v6 ? 8 : 12;

	return fl->used && fl->v6 == o->v6 && fl->l3 == o->l3 &&
	    memcmp(f, g, o->l3) == 0 &&
	    memcmp(f + o->l3 + aoff, g + fl->l3 + aoff, alen) == 0 &&
	    memcmp(f + o->l4, g + fl->l4, 4) == 0;
}

static bool
range_eq(const uint8_t *a, const uint8_t *b, size_t from, size_t to)
{
	return memcmp(a + from, b + from, to - from) == 0;
}

/* Whether f, of the same flow as fl, may be appended to it. */
static bool
gro_can_append(const struct gro_flow *fl, const uint8_t *f,
    const struct tcp_frame *o, size_t plen)
{
	const uint8_t *g = flow_head(fl);
	size_t l3 = o->l3, l4 = o->l4;

	if (o->l4 != fl->l4 || o->hlen != fl->hlen)
		return false;
	if (fl->count >= GRO_MAX_SEGS || plen > fl->gso_size ||
	    fl->len - fl->l3 + plen > OFFLOAD_IP_MAX)
		return false;
	if (be32_get(f + l4 + 4) != fl->next_seq)
		return false;
	/* The IP headers: all but the lengths, ID and checksum. */
	if (o->v6) {
		if (!range_eq(f, g, l3, l3 + 4) ||
		    !range_eq(f, g, l3 + 6, l4))
			return false;
	} else {
		if (f[l3] != g[l3] || f[l3 + 1] != g[l3 + 1] ||
		    !range_eq(f, g, l3 + 6, l3 + 10) ||
		    !range_eq(f, g, l3 + 12, l4))
			return false;
		if (!(be16_get(f + l3 + 6) & IPV4_DF) &&
		    be16_get(f + l3 + 4) != fl->next_id)
			return false;
	}
	/* TCP: ports are the key; the ack, offset, flags but PSH, window,
	 * urgent pointer and options must match. */
	if (!range_eq(f, g, l4 + 8, l4 + 13) ||
	    ((f[l4 + 13] ^ g[l4 + 13]) & ~TCP_FLAG_PSH) != 0 ||
	    !range_eq(f, g, l4 + 14, l4 + 16) ||
	    !range_eq(f, g, l4 + 18, o->hlen))
		return false;
	return true;
}

/* Whether f may join or start a superframe at all. */
static bool
gro_candidate(const uint8_t *f, const struct tcp_frame *o, bool csum_verified)
{
	uint8_t flags = f[o->l4 + 13];
	size_t l4len = o->end - o->l4;

	if (o->end == o->hlen)
		return false;
	if ((flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST | TCP_FLAG_URG | TCP_FLAG_CWR)) ||
	    !(flags & TCP_FLAG_ACK))
		return false;
	if (!o->v6 && csum_fold(csum_partial(f + o->l3, o->l4 - o->l3, 0)) !=
	    0xffff)
		return false;
	return csum_verified || csum_fold(csum_partial(f + o->l4, l4len,
	    pseudo_sum(f, o, l4len))) == 0xffff;
}

/* Appends the payload of f (headers at o) to fl. */
static void
gro_append(struct gro_table *t, struct gro_flow *fl, uint8_t *f,
    const struct tcp_frame *o, size_t plen)
{
	fl->seg[fl->count].iov_base = f + o->hlen;
	fl->seg[fl->count].iov_len = plen;
	fl->len += (uint32_t)plen;
	fl->count++;
	fl->next_seq += (uint32_t)plen;
	fl->next_id++;
	fl->stamp = t->clock;
	t->stats.merged++;
	if (f[o->l4 + 13] & TCP_FLAG_PSH)
		flow_head(fl)[fl->l4 + 13] |= TCP_FLAG_PSH;
}

/* Starts a flow in slot with f (headers at o), its Ethernet padding cut
 * off. */
static void
gro_start(struct gro_table *t, struct gro_flow *slot, uint8_t *f,
    const struct tcp_frame *o, size_t plen)
{
	slot->used = true;
	slot->v6 = o->v6;
	slot->l3 = (uint16_t)o->l3;
	slot->l4 = (uint16_t)o->l4;
	slot->hlen = (uint16_t)o->hlen;
	slot->gso_size = (uint16_t)plen;
	slot->count = 1;
	slot->len = (uint32_t)o->end;
	slot->seg[0].iov_base = f;
	slot->seg[0].iov_len = o->end;
	slot->next_seq = be32_get(f + o->l4 + 4) + (uint32_t)plen;
	slot->next_id = o->v6 ? 0 : (uint16_t)(be16_get(f + o->l3 + 4) + 1);
	slot->stamp = t->clock;
}

int
gro_add(struct gro_table *t, uint8_t *frame, size_t len,
    bool csum_verified, struct gro_out out[GRO_ADD_MAX_OUT])
{
	struct gro_flow *fl = NULL, *slot;
	struct tcp_frame o;
	size_t plen;
	int n = 0;
	bool psh;

	t->clock++;
	if (tcp_frame_parse(frame, len, &o) < 0) {
		t->stats.passed++;
		out_plain(&out[n++], frame, len);
		return n;
	}
	for (unsigned i = 0; i < GRO_FLOWS && fl == NULL; i++)
		if (gro_same_flow(&t->flows[i], frame, &o))
			fl = &t->flows[i];
	plen = o.end - o.hlen;
	if (!gro_candidate(frame, &o, csum_verified)) {
		if (fl != NULL)
			gro_emit(t, fl, &out[n++]);
		t->stats.passed++;
		out_plain(&out[n++], frame, len);
		return n;
	}
	psh = (frame[o.l4 + 13] & TCP_FLAG_PSH) != 0;
	if (fl != NULL) {
		if (gro_can_append(fl, frame, &o, plen)) {
			gro_append(t, fl, frame, &o, plen);
			/* Nothing may follow PSH or a short segment. */
			if (psh || plen < fl->gso_size)
				gro_emit(t, fl, &out[n++]);
			return n;
		}
		gro_emit(t, fl, &out[n++]);
	}
	if (psh) {
		t->stats.passed++;
		out_plain(&out[n++], frame, len);
		return n;
	}
	slot = fl;
	for (unsigned i = 0; i < GRO_FLOWS && slot == NULL; i++)
		if (!t->flows[i].used)
			slot = &t->flows[i];
	if (slot == NULL) {
		slot = &t->flows[0];
		for (unsigned i = 1; i < GRO_FLOWS; i++)
			if (t->flows[i].stamp < slot->stamp)
				slot = &t->flows[i];
		t->stats.evicted++;
		gro_emit(t, slot, &out[n++]);
	}
	gro_start(t, slot, frame, &o, plen);
	return n;
}

int
gro_flush(struct gro_table *t, struct gro_out out[GRO_FLOWS])
{
	int n = 0;

	for (unsigned i = 0; i < GRO_FLOWS; i++)
		if (t->flows[i].used)
			gro_emit(t, &t->flows[i], &out[n++]);
	return n;
}
