/* GRE codec: golden encap bytes, round trips and every drop reason. The
 * expected bytes are written out from the RFC 2784/2890 layout. */
#include <errno.h>

#include "codec_check.h"

static struct pkt p;
static struct tunnel_hdr th;

START_TEST(encap_no_key)
{
	static const uint8_t want[] = { 0x00, 0x00, 0x65, 0x58 };

	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(gre_encap(&p, false, 123), 0);
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM - sizeof(want));
	check_pkt_is(&p, want, sizeof(want));
}
END_TEST

START_TEST(encap_key)
{
	static const uint8_t want[] = {
		0x20, 0x00, 0x65, 0x58, 0x00, 0x00, 0x00, 0x7b,
	};

	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(gre_encap(&p, true, 123), 0);
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM - sizeof(want));
	check_pkt_is(&p, want, sizeof(want));
}
END_TEST

START_TEST(encap_key_all_bytes)
{
	static const uint8_t want[] = {
		0x20, 0x00, 0x65, 0x58, 0xde, 0xad, 0xbe, 0xef,
	};

	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(gre_encap(&p, true, 0xdeadbeef), 0);
	check_pkt_is(&p, want, sizeof(want));
}
END_TEST

START_TEST(encap_no_headroom)
{
	pkt_fill(&p, 3, frame, sizeof(frame));
	ck_assert_int_eq(gre_encap(&p, false, 0), -ENOSPC);
	check_pkt_unchanged(&p, 3);

	pkt_fill(&p, 7, frame, sizeof(frame));
	ck_assert_int_eq(gre_encap(&p, true, 1), -ENOSPC);
	check_pkt_unchanged(&p, 7);

	pkt_fill(&p, 8, frame, sizeof(frame));
	ck_assert_int_eq(gre_encap(&p, true, 1), 0);
	ck_assert_ptr_eq(p.data, p.buf);
}
END_TEST

START_TEST(round_trip)
{
	static const uint32_t keys[] = { 0, 1, 123, 0x80000000, 0xffffffff };

	for (size_t i = 0; i < 2 * sizeof(keys) / sizeof(keys[0]); i++) {
		bool has_key = i % 2;
		uint32_t key = keys[i / 2];

		pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
		ck_assert_int_eq(gre_encap(&p, has_key, key), 0);
		memset(&th, 0xa5, sizeof(th));
		ck_assert_int_eq(gre_decap(&p, &th), DROP_NONE);
		ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM);
		check_pkt_unchanged(&p, PKT_HEADROOM);
		ck_assert(th.has_key == has_key);
		if (has_key)
			ck_assert_uint_eq(th.key, key);
		ck_assert(!th.has_seq);
		ck_assert_ptr_null(th.opts);
		ck_assert_uint_eq(th.opts_len, 0);
		ck_assert_uint_eq(th.n_opts, 0);
	}
}
END_TEST

START_TEST(decap_key_and_seq)
{
	static const uint8_t h[] = {
		0x30, 0x00, 0x65, 0x58,
		0x00, 0x00, 0x00, 0x7b,		/* key 123 */
		0x00, 0x00, 0x00, 0x2a,		/* sequence 42 */
	};

	check_decap_ok(gre_decap, &p, &th, h, sizeof(h));
	ck_assert(th.has_key);
	ck_assert_uint_eq(th.key, 123);
	ck_assert(th.has_seq);
	ck_assert_uint_eq(th.seq, 42);
}
END_TEST

START_TEST(decap_seq_only)
{
	static const uint8_t h[] = {
		0x10, 0x00, 0x65, 0x58, 0xfe, 0xdc, 0xba, 0x98,
	};

	check_decap_ok(gre_decap, &p, &th, h, sizeof(h));
	ck_assert(!th.has_key);
	ck_assert(th.has_seq);
	ck_assert_uint_eq(th.seq, 0xfedcba98);
}
END_TEST

START_TEST(decap_empty_payload)
{
	static const uint8_t h[] = { 0x00, 0x00, 0x65, 0x58 };

	pkt_set(&p, h, sizeof(h));
	ck_assert_int_eq(gre_decap(&p, &th), DROP_NONE);
	ck_assert_uint_eq(p.len, 0);
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM + sizeof(h));
}
END_TEST

/* Checksum 0x3102 worked out by hand: the one's complement sum of the
 * words 8000 6558 0000 and the frame (ffff ffff ffff 0200 0000 0001 0806
 * dead beef 4200) is 5cef8, folded cefd, complemented 3102. */
static const uint8_t csum_hdr[] = { 0x80, 0x00, 0x65, 0x58, 0x31, 0x02, 0x00, 0x00 };

START_TEST(decap_checksum_valid)
{
	check_decap_ok(gre_decap, &p, &th, csum_hdr, sizeof(csum_hdr));
	ck_assert(!th.has_key);
	ck_assert(!th.has_seq);
}
END_TEST

/* Reserved1 is covered by the checksum but its value is ignored. */
START_TEST(decap_checksum_reserved1_ignored)
{
	static const uint8_t h[] = {
		0x80, 0x00, 0x65, 0x58, 0x31, 0x01, 0x00, 0x01,
	};

	check_decap_ok(gre_decap, &p, &th, h, sizeof(h));
}
END_TEST

/* Checksum 0x005d: 8000 + 6558 + 007b + 002a + frame 4e9a0 = 5ff9d,
 * folded ffa2, complemented 005d. */
START_TEST(decap_checksum_key_seq)
{
	static const uint8_t h[] = {
		0xb0, 0x00, 0x65, 0x58, 0x00, 0x5d, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x7b, 0x00, 0x00, 0x00, 0x2a,
	};

	check_decap_ok(gre_decap, &p, &th, h, sizeof(h));
	ck_assert(th.has_key);
	ck_assert_uint_eq(th.key, 123);
	ck_assert(th.has_seq);
	ck_assert_uint_eq(th.seq, 42);
}
END_TEST

START_TEST(decap_checksum_invalid)
{
	uint8_t b[TEST_PKT_MAX];
	size_t len = with_frame(b, csum_hdr, sizeof(csum_hdr));

	/* Any single bit flip, in the checksum, the header or the frame's
	 * padded last byte, must be caught. Bytes 1-3 are skipped: there it
	 * changes the version or the protocol, which are checked first. */
	for (size_t i = 0; i < len; i++) {
		if (i >= 1 && i <= 3)
			continue;
		b[i] ^= 0x01;
		check_drop(gre_decap, b, len, DROP_BAD_CHECKSUM);
		b[i] ^= 0x01;
	}
	/* The packet must be summed to its end, not just the header. */
	check_drop(gre_decap, b, len - 1, DROP_BAD_CHECKSUM);
}
END_TEST

START_TEST(decap_bad_version)
{
	uint8_t h[] = { 0x00, 0x00, 0x65, 0x58 };

	for (uint8_t ver = 1; ver <= 7; ver++) {
		h[1] = ver;
		check_drop(gre_decap, h, sizeof(h), DROP_BAD_VERSION);
	}
	/* PPTP's enhanced GRE (RFC 2637) is version 1. */
	h[0] = 0x30;
	h[1] = 0x81;
	h[2] = 0x88;
	h[3] = 0x0b;
	check_drop(gre_decap, h, sizeof(h), DROP_BAD_VERSION);
}
END_TEST

/* RFC 2784 §2.3: bits 1 (R), 4 (s) and 5 mean discard. */
START_TEST(decap_bad_flags)
{
	static const uint8_t bits[] = { 0x40, 0x08, 0x04, 0x4c };
	uint8_t h[] = {
		0x00, 0x00, 0x65, 0x58, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};

	for (size_t i = 0; i < sizeof(bits); i++) {
		h[0] = bits[i];
		check_drop(gre_decap, h, sizeof(h), DROP_BAD_FLAGS);
		h[0] = bits[i] | 0x20;	/* with a key too */
		check_drop(gre_decap, h, sizeof(h), DROP_BAD_FLAGS);
	}
}
END_TEST

/* RFC 2784 §2.3: bits 6-12 are ignored on receipt. */
START_TEST(decap_reserved0_ignored)
{
	static const uint8_t h[] = { 0x23, 0xf8, 0x65, 0x58, 0x00, 0x00, 0x00, 0x07 };

	check_decap_ok(gre_decap, &p, &th, h, sizeof(h));
	ck_assert(th.has_key);
	ck_assert_uint_eq(th.key, 7);
}
END_TEST

START_TEST(decap_bad_protocol)
{
	static const uint8_t ipv4[] = { 0x00, 0x00, 0x08, 0x00 };
	static const uint8_t near[] = { 0x00, 0x00, 0x65, 0x59 };

	check_drop(gre_decap, ipv4, sizeof(ipv4), DROP_BAD_PROTOCOL);
	check_drop(gre_decap, near, sizeof(near), DROP_BAD_PROTOCOL);
}
END_TEST

START_TEST(decap_truncated)
{
	static const uint8_t plain[] = { 0x00, 0x00, 0x65, 0x58 };
	static const uint8_t key[] = { 0x20, 0x00, 0x65, 0x58, 0, 0, 0, 1 };
	static const uint8_t seq[] = { 0x10, 0x00, 0x65, 0x58, 0, 0, 0, 1 };
	static const uint8_t ckey_seq[] = {
		0xb0, 0x00, 0x65, 0x58, 0x00, 0x5d, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x7b, 0x00, 0x00, 0x00, 0x2a,
	};

	check_truncations(gre_decap, plain, sizeof(plain));
	check_truncations(gre_decap, key, sizeof(key));
	check_truncations(gre_decap, seq, sizeof(seq));
	check_truncations(gre_decap, csum_hdr, sizeof(csum_hdr));
	check_truncations(gre_decap, ckey_seq, sizeof(ckey_seq));
}
END_TEST

static Suite *
gre_suite(void)
{
	Suite *s = suite_create("gre");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, encap_no_key);
	tcase_add_test(tc, encap_key);
	tcase_add_test(tc, encap_key_all_bytes);
	tcase_add_test(tc, encap_no_headroom);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, decap_key_and_seq);
	tcase_add_test(tc, decap_seq_only);
	tcase_add_test(tc, decap_empty_payload);
	tcase_add_test(tc, decap_checksum_valid);
	tcase_add_test(tc, decap_checksum_reserved1_ignored);
	tcase_add_test(tc, decap_checksum_key_seq);
	tcase_add_test(tc, decap_checksum_invalid);
	tcase_add_test(tc, decap_bad_version);
	tcase_add_test(tc, decap_bad_flags);
	tcase_add_test(tc, decap_reserved0_ignored);
	tcase_add_test(tc, decap_bad_protocol);
	tcase_add_test(tc, decap_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(gre_suite());
}
