/* Checks shared by the codec unit tests. Each test program includes this
 * once; the helpers assert with Check, so they run inside a test. */
#ifndef OVT_CODEC_CHECK_H
#define OVT_CODEC_CHECK_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "check_main.h"

typedef enum drop_reason (*decap_fn)(struct pkt *, struct tunnel_hdr *);

/* A stand-in inner Ethernet frame, of odd length so that checksums see a
 * padded trailing byte. */
static const uint8_t frame[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x06, 0xde, 0xad, 0xbe, 0xef, 0x42,
};

/* Room for any header the tests build, followed by frame. */
#define TEST_PKT_MAX	(8 + 252 + sizeof(frame))

/* Writes hdr followed by frame to out; returns the total length. */
static inline size_t
with_frame(uint8_t out[TEST_PKT_MAX], const uint8_t *hdr, size_t hlen)
{
	ck_assert_uint_le(hlen + sizeof(frame), TEST_PKT_MAX);
	memcpy(out, hdr, hlen);
	memcpy(out + hlen, frame, sizeof(frame));
	return hlen + sizeof(frame);
}

/* Fills p with len bytes after exactly headroom bytes of headroom. */
static inline void
pkt_fill(struct pkt *p, size_t headroom, const uint8_t *b, size_t len)
{
	pkt_reset(p);
	p->data = p->buf + headroom;
	memcpy(p->data, b, len);
	p->len = len;
}

/* p must hold hdr then frame, with the header at the front. */
static inline void
check_pkt_is(const struct pkt *p, const uint8_t *hdr, size_t hlen)
{
	ck_assert_uint_eq(p->len, hlen + sizeof(frame));
	ck_assert_mem_eq(p->data, hdr, hlen);
	ck_assert_mem_eq(p->data + hlen, frame, sizeof(frame));
}

/* An encap that failed must leave p as it was. */
static inline void
check_pkt_unchanged(const struct pkt *p, size_t headroom)
{
	ck_assert_uint_eq(pkt_headroom(p), headroom);
	ck_assert_uint_eq(p->len, sizeof(frame));
	ck_assert_mem_eq(p->data, frame, sizeof(frame));
}

/* Decapsulating the len bytes b must fail with want, leaving both the
 * packet and the header record untouched. */
static inline void
check_drop(decap_fn decap, const uint8_t *b, size_t len,
    enum drop_reason want)
{
	static struct pkt p;
	struct tunnel_hdr th, canary;
	enum drop_reason got;

	memset(&canary, 0xa5, sizeof(canary));
	th = canary;
	pkt_fill(&p, PKT_HEADROOM, b, len);
	got = decap(&p, &th);
	ck_assert_msg(got == want, "len %zu: got %s, want %s", len,
	    drop_name(got), drop_name(want));
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM);
	ck_assert_uint_eq(p.len, len);
	ck_assert_mem_eq(p.data, b, len);
	ck_assert_mem_eq(&th, &canary, sizeof(th));
}

/* Every strict prefix of a hlen-byte header is too short. */
static inline void
check_truncations(decap_fn decap, const uint8_t *b, size_t hlen)
{
	for (size_t len = 0; len < hlen; len++)
		check_drop(decap, b, len, DROP_TOO_SHORT);
}

/* Decapsulating hdr followed by frame must succeed and leave p->data at
 * the frame, in place. */
static inline void
check_decap_ok(decap_fn decap, struct pkt *p, struct tunnel_hdr *th,
    const uint8_t *hdr, size_t hlen)
{
	uint8_t b[TEST_PKT_MAX];
	enum drop_reason got;

	pkt_set(p, b, with_frame(b, hdr, hlen));
	got = decap(p, th);
	ck_assert_msg(got == DROP_NONE, "got %s", drop_name(got));
	ck_assert_ptr_eq(p->data, p->buf + PKT_HEADROOM + hlen);
	ck_assert_uint_eq(p->len, sizeof(frame));
	ck_assert_mem_eq(p->data, frame, sizeof(frame));
}

#endif
