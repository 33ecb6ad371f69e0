/* VXLAN codec: golden encap bytes, round trips and every drop reason. The
 * expected bytes are written out from the RFC 7348 layout. */
#include <errno.h>

#include "codec_check.h"
#include "wire.h"

static struct pkt p;
static struct tunnel_hdr th;

static void
check_encap(uint32_t vni, const uint8_t want[VXLAN_HLEN])
{
	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(vxlan_encap(&p, vni), 0);
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM - VXLAN_HLEN);
	check_pkt_is(&p, want, VXLAN_HLEN);
}

START_TEST(encap_golden)
{
	static const uint8_t vni123[] = { 0x08, 0, 0, 0, 0x00, 0x00, 0x7b, 0 };
	static const uint8_t vni0[] = { 0x08, 0, 0, 0, 0x00, 0x00, 0x00, 0 };
	static const uint8_t vnimax[] = { 0x08, 0, 0, 0, 0xff, 0xff, 0xff, 0 };
	static const uint8_t vnimix[] = { 0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0 };

	check_encap(123, vni123);
	check_encap(0, vni0);
	check_encap(0xffffff, vnimax);
	check_encap(0xabcdef, vnimix);
}
END_TEST

START_TEST(encap_vni_too_big)
{
	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(vxlan_encap(&p, 0x1000000), -EINVAL);
	check_pkt_unchanged(&p, PKT_HEADROOM);
	ck_assert_int_eq(vxlan_encap(&p, 0xffffffff), -EINVAL);
	check_pkt_unchanged(&p, PKT_HEADROOM);
}
END_TEST

START_TEST(encap_no_headroom)
{
	pkt_fill(&p, VXLAN_HLEN - 1, frame, sizeof(frame));
	ck_assert_int_eq(vxlan_encap(&p, 1), -ENOSPC);
	check_pkt_unchanged(&p, VXLAN_HLEN - 1);

	pkt_fill(&p, VXLAN_HLEN, frame, sizeof(frame));
	ck_assert_int_eq(vxlan_encap(&p, 1), 0);
	ck_assert_ptr_eq(p.data, p.buf);
}
END_TEST

START_TEST(round_trip)
{
	static const uint32_t vnis[] = { 0, 1, 123, 0x800000, 0xffffff };

	for (size_t i = 0; i < sizeof(vnis) / sizeof(vnis[0]); i++) {
		pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
		ck_assert_int_eq(vxlan_encap(&p, vnis[i]), 0);
		memset(&th, 0xa5, sizeof(th));
		ck_assert_int_eq(vxlan_decap(&p, &th), DROP_NONE);
		check_pkt_unchanged(&p, PKT_HEADROOM);
		ck_assert(th.has_key);
		ck_assert_uint_eq(th.key, vnis[i]);
		ck_assert(!th.has_seq);
		ck_assert_ptr_null(th.opts);
		ck_assert_uint_eq(th.opts_len, 0);
		ck_assert_uint_eq(th.n_opts, 0);
	}
}
END_TEST

/* RFC 7348 §5: reserved fields and the other flag bits are ignored. */
START_TEST(decap_reserved_ignored)
{
	static const uint8_t h[] = { 0xff, 0xff, 0xff, 0xff, 0x12, 0x34, 0x56, 0xff };

	check_decap_ok(vxlan_decap, &p, &th, h, sizeof(h));
	ck_assert(th.has_key);
	ck_assert_uint_eq(th.key, 0x123456);
}
END_TEST

START_TEST(decap_empty_payload)
{
	static const uint8_t h[] = { 0x08, 0, 0, 0, 0, 0, 0x7b, 0 };

	pkt_set(&p, h, sizeof(h));
	ck_assert_int_eq(vxlan_decap(&p, &th), DROP_NONE);
	ck_assert_uint_eq(p.len, 0);
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM + sizeof(h));
	ck_assert_uint_eq(th.key, 123);
}
END_TEST

START_TEST(decap_no_i_flag)
{
	static const uint8_t none[] = { 0x00, 0, 0, 0, 0, 0, 0x7b, 0 };
	static const uint8_t others[] = { 0xf7, 0xff, 0xff, 0xff, 0, 0, 0x7b, 0xff };

	check_drop(vxlan_decap, none, sizeof(none), DROP_BAD_FLAGS);
	check_drop(vxlan_decap, others, sizeof(others), DROP_BAD_FLAGS);
}
END_TEST

START_TEST(decap_truncated)
{
	static const uint8_t h[] = { 0x08, 0, 0, 0, 0, 0, 0x7b, 0 };

	check_truncations(vxlan_decap, h, sizeof(h));
}
END_TEST

static Suite *
vxlan_suite(void)
{
	Suite *s = suite_create("vxlan");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, encap_golden);
	tcase_add_test(tc, encap_vni_too_big);
	tcase_add_test(tc, encap_no_headroom);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, decap_reserved_ignored);
	tcase_add_test(tc, decap_empty_payload);
	tcase_add_test(tc, decap_no_i_flag);
	tcase_add_test(tc, decap_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(vxlan_suite());
}
