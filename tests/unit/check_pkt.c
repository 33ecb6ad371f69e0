/* Packet views: a pkt in its own buffer has its headroom and tailroom, a
 * borrowed one has none, and the ext a TSO segment carries is counted,
 * copied and linearized, never lost. */
#include "codec_check.h"

static struct pkt p, q;

START_TEST(own_buffer)
{
	pkt_reset(&p);
	ck_assert_uint_eq(pkt_headroom(&p), PKT_HEADROOM);
	ck_assert_uint_eq(pkt_tailroom(&p), PKT_FRAME_MAX + PKT_TAILROOM);
	ck_assert_ptr_nonnull(pkt_push(&p, PKT_HEADROOM));
	ck_assert_ptr_null(pkt_push(&p, 1));
	ck_assert_ptr_nonnull(pkt_pull(&p, PKT_HEADROOM));
	ck_assert_ptr_null(pkt_pull(&p, 1));
	ck_assert_ptr_nonnull(pkt_put(&p, PKT_FRAME_MAX + PKT_TAILROOM));
	ck_assert_ptr_null(pkt_put(&p, 1));
}
END_TEST

/* A datagram in a socket's buffer: a layer that wants room around it
 * fails instead of writing into its neighbours. */
START_TEST(borrowed)
{
	uint8_t buf[64] = { 0 };

	pkt_borrow(&p, buf + 16, 32);
	ck_assert_ptr_eq(p.data, buf + 16);
	ck_assert_uint_eq(p.len, 32);
	ck_assert_uint_eq(pkt_headroom(&p), 0);
	ck_assert_uint_eq(pkt_tailroom(&p), 0);
	ck_assert_ptr_null(pkt_push(&p, 1));
	ck_assert_ptr_null(pkt_put(&p, 1));
	ck_assert_ptr_eq(pkt_pull(&p, 8), buf + 16);
	ck_assert_uint_eq(pkt_headroom(&p), 8);
	ck_assert_ptr_nonnull(pkt_push(&p, 8));
	ck_assert_ptr_null(pkt_push(&p, 1));
	/* Back in its own buffer after a reset. */
	pkt_reset(&p);
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM);
}
END_TEST

START_TEST(ext)
{
	uint8_t payload[1000];

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	pkt_set(&p, "headers", 7);
	p.ext = payload;
	p.ext_len = sizeof(payload);
	ck_assert_uint_eq(pkt_total(&p), 1007);
	/* Nothing may go between the bytes and their ext. */
	ck_assert_ptr_null(pkt_put(&p, 1));
	ck_assert_int_eq(pkt_copy(&q, &p), 0);
	ck_assert_uint_eq(q.len, 1007);
	ck_assert_uint_eq(q.ext_len, 0);
	ck_assert_mem_eq(q.data, "headers", 7);
	ck_assert_mem_eq(q.data + 7, payload, sizeof(payload));
	/* The original keeps its ext until it is linearized itself. */
	ck_assert_uint_eq(p.ext_len, sizeof(payload));
	ck_assert_int_eq(pkt_linearize(&p), 0);
	ck_assert_uint_eq(p.len, 1007);
	ck_assert_ptr_null(p.ext);
	ck_assert_mem_eq(p.data, q.data, 1007);
	ck_assert_ptr_nonnull(pkt_put(&p, 1));
}
END_TEST

START_TEST(ext_too_big)
{
	static uint8_t payload[PKT_FRAME_MAX + PKT_TAILROOM];

	pkt_set(&p, "h", 1);
	p.ext = payload;
	p.ext_len = sizeof(payload);
	ck_assert_int_eq(pkt_linearize(&p), -1);
	ck_assert_uint_eq(p.len, 1);
	ck_assert_uint_eq(p.ext_len, sizeof(payload));
	ck_assert_int_eq(pkt_copy(&q, &p), -1);
	/* One byte less fits exactly. */
	p.ext_len--;
	ck_assert_int_eq(pkt_linearize(&p), 0);
	ck_assert_uint_eq(pkt_tailroom(&p), 0);
}
END_TEST

static Suite *
pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *tc = tcase_create("views");

	tcase_add_test(tc, own_buffer);
	tcase_add_test(tc, borrowed);
	tcase_add_test(tc, ext);
	tcase_add_test(tc, ext_too_big);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(pkt_suite());
}
