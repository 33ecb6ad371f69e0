/* Geneve codec: golden encap bytes, round trips and every drop reason. The
 * expected bytes are written out from the RFC 8926 layout. */
#include <errno.h>

#include "codec_check.h"
#include "wire.h"

static struct pkt p;
static struct tunnel_hdr th;

/* Class 0x0102, type 3 (not critical), one word of data. */
static const uint8_t opt_plain[] = { 0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd };
/* Class 0x0102, type 0x83 (critical), no data. */
static const uint8_t opt_crit[] = { 0x01, 0x02, 0x83, 0x00 };

/* The largest option area: a 128-byte option (31 data words) and a
 * 124-byte one (30 data words), neither critical. */
static void
max_opts(uint8_t o[GENEVE_OPTS_MAX])
{
	static const uint8_t h1[] = { 0xff, 0xff, 0x01, 0x1f };
	static const uint8_t h2[] = { 0xff, 0xff, 0x02, 0x1e };

	memset(o, 0x5a, GENEVE_OPTS_MAX);
	memcpy(o, h1, sizeof(h1));
	memcpy(o + 128, h2, sizeof(h2));
}

static void
check_encap(uint32_t vni, const uint8_t *opts, size_t opts_len,
    const uint8_t *want, size_t hlen)
{
	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(geneve_encap(&p, vni, opts, opts_len), 0);
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM - hlen);
	check_pkt_is(&p, want, hlen);
}

START_TEST(encap_golden)
{
	static const uint8_t vni123[] = { 0x00, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00 };
	static const uint8_t vnimix[] = { 0x00, 0x00, 0x65, 0x58, 0xab, 0xcd, 0xef, 0x00 };

	check_encap(123, NULL, 0, vni123, sizeof(vni123));
	check_encap(0xabcdef, NULL, 0, vnimix, sizeof(vnimix));
}
END_TEST

START_TEST(encap_options)
{
	static const uint8_t want[] = {
		0x02, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
	};

	check_encap(123, opt_plain, sizeof(opt_plain), want, sizeof(want));
}
END_TEST

/* C is set iff some option is critical, wherever it is in the list. */
START_TEST(encap_critical_sets_c)
{
	static const uint8_t opts[] = {
		0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
		0x01, 0x02, 0x83, 0x00,
	};
	static const uint8_t want[] = {
		0x03, 0x40, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
		0x01, 0x02, 0x83, 0x00,
	};

	check_encap(123, opts, sizeof(opts), want, sizeof(want));
}
END_TEST

START_TEST(encap_max_options)
{
	static const uint8_t base[] = { 0x3f, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00 };
	uint8_t opts[GENEVE_OPTS_MAX], want[GENEVE_HLEN + GENEVE_OPTS_MAX];

	max_opts(opts);
	memcpy(want, base, sizeof(base));
	memcpy(want + sizeof(base), opts, sizeof(opts));
	check_encap(123, opts, sizeof(opts), want, sizeof(want));
}
END_TEST

START_TEST(encap_invalid)
{
	uint8_t big[GENEVE_OPTS_MAX + 4];
	static const uint8_t overrun[] = { 0x01, 0x02, 0x03, 0x01 };

	max_opts(big);
	memcpy(big + GENEVE_OPTS_MAX, opt_crit, sizeof(opt_crit));
	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(geneve_encap(&p, 0x1000000, NULL, 0), -EINVAL);
	ck_assert_int_eq(geneve_encap(&p, 1, opt_plain, 6), -EINVAL);
	ck_assert_int_eq(geneve_encap(&p, 1, big, sizeof(big) - 1), -EINVAL);
	ck_assert_int_eq(geneve_encap(&p, 1, big, sizeof(big)), -EINVAL);
	ck_assert_int_eq(geneve_encap(&p, 1, overrun, sizeof(overrun)), -EINVAL);
	check_pkt_unchanged(&p, PKT_HEADROOM);
}
END_TEST

START_TEST(encap_no_headroom)
{
	pkt_fill(&p, GENEVE_HLEN - 1, frame, sizeof(frame));
	ck_assert_int_eq(geneve_encap(&p, 1, NULL, 0), -ENOSPC);
	check_pkt_unchanged(&p, GENEVE_HLEN - 1);

	pkt_fill(&p, GENEVE_HLEN + sizeof(opt_plain) - 1, frame, sizeof(frame));
	ck_assert_int_eq(geneve_encap(&p, 1, opt_plain, sizeof(opt_plain)),
	    -ENOSPC);
	check_pkt_unchanged(&p, GENEVE_HLEN + sizeof(opt_plain) - 1);

	pkt_fill(&p, GENEVE_HLEN + sizeof(opt_plain), frame, sizeof(frame));
	ck_assert_int_eq(geneve_encap(&p, 1, opt_plain, sizeof(opt_plain)), 0);
	ck_assert_ptr_eq(p.data, p.buf);
}
END_TEST

/* Encap then decap: the frame comes back in place, options as sent. */
static void
check_round_trip(uint32_t vni, const uint8_t *opts, size_t opts_len,
    unsigned n_opts)
{
	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(geneve_encap(&p, vni, opts, opts_len), 0);
	memset(&th, 0xa5, sizeof(th));
	ck_assert_int_eq(geneve_decap(&p, &th), DROP_NONE);
	check_pkt_unchanged(&p, PKT_HEADROOM);
	ck_assert(th.has_key);
	ck_assert_uint_eq(th.key, vni);
	ck_assert(!th.has_seq);
	ck_assert_uint_eq(th.opts_len, opts_len);
	ck_assert_uint_eq(th.n_opts, n_opts);
	if (opts_len == 0) {
		ck_assert_ptr_null(th.opts);
		return;
	}
	ck_assert_ptr_eq(th.opts, p.buf + PKT_HEADROOM - opts_len);
	ck_assert_mem_eq(th.opts, opts, opts_len);
}

START_TEST(round_trip)
{
	uint8_t opts[GENEVE_OPTS_MAX];

	max_opts(opts);
	check_round_trip(0, NULL, 0, 0);
	check_round_trip(123, NULL, 0, 0);
	check_round_trip(0xffffff, NULL, 0, 0);
	check_round_trip(0x800001, opt_plain, sizeof(opt_plain), 1);
	check_round_trip(7, opts, sizeof(opts), 2);
}
END_TEST

START_TEST(decap_unknown_option_accepted)
{
	static const uint8_t h[] = {
		0x02, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
	};

	check_decap_ok(geneve_decap, &p, &th, h, sizeof(h));
	ck_assert_uint_eq(th.key, 123);
	ck_assert_uint_eq(th.n_opts, 1);
	ck_assert_uint_eq(th.opts_len, 8);
	ck_assert_ptr_eq(th.opts, p.buf + PKT_HEADROOM + GENEVE_HLEN);
	ck_assert_mem_eq(th.opts, opt_plain, sizeof(opt_plain));
}
END_TEST

/* C is only a hint: set with no critical option, nothing is dropped. */
START_TEST(decap_c_without_critical)
{
	static const uint8_t h[] = {
		0x02, 0x40, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
	};
	static const uint8_t no_opts[] = { 0x00, 0x40, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00 };

	check_decap_ok(geneve_decap, &p, &th, h, sizeof(h));
	ck_assert_uint_eq(th.n_opts, 1);
	check_decap_ok(geneve_decap, &p, &th, no_opts, sizeof(no_opts));
	ck_assert_uint_eq(th.n_opts, 0);
}
END_TEST

/* RFC 8926: reserved fields and option R bits are ignored on receipt. */
START_TEST(decap_reserved_ignored)
{
	static const uint8_t h[] = {
		0x02, 0x3f, 0x65, 0x58, 0x12, 0x34, 0x56, 0xff,
		0x01, 0x02, 0x03, 0xe1, 0xaa, 0xbb, 0xcc, 0xdd,
	};

	check_decap_ok(geneve_decap, &p, &th, h, sizeof(h));
	ck_assert_uint_eq(th.key, 0x123456);
	ck_assert_uint_eq(th.n_opts, 1);
}
END_TEST

START_TEST(decap_max_options)
{
	uint8_t h[GENEVE_HLEN + GENEVE_OPTS_MAX] = {
		0x3f, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
	};

	max_opts(h + GENEVE_HLEN);
	check_decap_ok(geneve_decap, &p, &th, h, sizeof(h));
	ck_assert_uint_eq(th.opts_len, GENEVE_OPTS_MAX);
	ck_assert_uint_eq(th.n_opts, 2);
}
END_TEST

START_TEST(decap_critical_option)
{
	/* Flagged by C, or not: the C flag must not be trusted. */
	static const uint8_t with_c[] = {
		0x01, 0x40, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x83, 0x00,
	};
	static const uint8_t without_c[] = {
		0x01, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x83, 0x00,
	};
	/* Behind a non-critical option, so every option is looked at. */
	static const uint8_t second[] = {
		0x03, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
		0xff, 0xff, 0xff, 0x00,
	};
	uint8_t b[TEST_PKT_MAX];

	check_drop(geneve_decap, b, with_frame(b, with_c, sizeof(with_c)),
	    DROP_CRITICAL_OPTION);
	check_drop(geneve_decap, b, with_frame(b, without_c, sizeof(without_c)),
	    DROP_CRITICAL_OPTION);
	check_drop(geneve_decap, b, with_frame(b, second, sizeof(second)),
	    DROP_CRITICAL_OPTION);
}
END_TEST

/* Option lengths that run past the option area, even though the frame
 * behind it would hold them. */
START_TEST(decap_bad_options)
{
	static const uint8_t first[] = {
		0x01, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x03, 0x01,
	};
	static const uint8_t second[] = {
		0x03, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
		0x01, 0x02, 0x03, 0x1f,
	};
	uint8_t max[GENEVE_HLEN + GENEVE_OPTS_MAX] = {
		0x3f, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
	};
	uint8_t b[TEST_PKT_MAX];

	check_drop(geneve_decap, b, with_frame(b, first, sizeof(first)),
	    DROP_BAD_OPTIONS);
	check_drop(geneve_decap, b, with_frame(b, second, sizeof(second)),
	    DROP_BAD_OPTIONS);
	/* Two 128-byte options in a 252-byte area. */
	max_opts(max + GENEVE_HLEN);
	max[GENEVE_HLEN + 128 + 3] = 0x1f;
	check_drop(geneve_decap, b, with_frame(b, max, sizeof(max)),
	    DROP_BAD_OPTIONS);
}
END_TEST

START_TEST(decap_bad_version)
{
	uint8_t h[] = { 0x00, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00 };

	for (unsigned ver = 1; ver <= 3; ver++) {
		h[0] = ver << 6;
		check_drop(geneve_decap, h, sizeof(h), DROP_BAD_VERSION);
	}
}
END_TEST

START_TEST(decap_bad_protocol)
{
	static const uint8_t ipv4[] = { 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x7b, 0x00 };
	static const uint8_t near[] = { 0x00, 0x00, 0x65, 0x59, 0x00, 0x00, 0x7b, 0x00 };

	check_drop(geneve_decap, ipv4, sizeof(ipv4), DROP_BAD_PROTOCOL);
	check_drop(geneve_decap, near, sizeof(near), DROP_BAD_PROTOCOL);
}
END_TEST

START_TEST(decap_oam)
{
	static const uint8_t h[] = { 0x00, 0x80, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00 };
	uint8_t b[TEST_PKT_MAX];

	check_drop(geneve_decap, b, with_frame(b, h, sizeof(h)), DROP_OAM);
}
END_TEST

START_TEST(decap_truncated)
{
	static const uint8_t base[] = { 0x00, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00 };
	static const uint8_t opts[] = {
		0x02, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
		0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
	};
	uint8_t max[GENEVE_HLEN + GENEVE_OPTS_MAX] = {
		0x3f, 0x00, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
	};

	max_opts(max + GENEVE_HLEN);
	check_truncations(geneve_decap, base, sizeof(base));
	check_truncations(geneve_decap, opts, sizeof(opts));
	check_truncations(geneve_decap, max, sizeof(max));
}
END_TEST

static Suite *
geneve_suite(void)
{
	Suite *s = suite_create("geneve");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, encap_golden);
	tcase_add_test(tc, encap_options);
	tcase_add_test(tc, encap_critical_sets_c);
	tcase_add_test(tc, encap_max_options);
	tcase_add_test(tc, encap_invalid);
	tcase_add_test(tc, encap_no_headroom);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, decap_unknown_option_accepted);
	tcase_add_test(tc, decap_c_without_critical);
	tcase_add_test(tc, decap_reserved_ignored);
	tcase_add_test(tc, decap_max_options);
	tcase_add_test(tc, decap_critical_option);
	tcase_add_test(tc, decap_bad_options);
	tcase_add_test(tc, decap_bad_version);
	tcase_add_test(tc, decap_bad_protocol);
	tcase_add_test(tc, decap_oam);
	tcase_add_test(tc, decap_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(geneve_suite());
}
