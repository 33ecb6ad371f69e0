/* Anti-replay window: the RFC 4303 §3.4.3 rules at window sizes 64, 1024
 * and 8192, jumps that lap the RFC 6479 ring, the RFC 4303 Appendix A2.2
 * ESN inference on both sides of a 2^32 boundary, and a random walk
 * against a plain model of the rules. */
#include <errno.h>

#include "codec_check.h"
#include "replay.h"

static const unsigned sizes[] = { REPLAY_WINDOW_MIN, 1024, REPLAY_WINDOW_MAX };
#define N_SIZES		(sizeof(sizes) / sizeof(sizes[0]))

static struct replay w;

static void
window(unsigned size)
{
	ck_assert_int_eq(replay_init(&w, size), 0);
}

/* Asserts only on failure: Check's passing asserts each cost a write to
 * the parent process, too slow for millions of sequence numbers. */
static void
check_is(uint64_t seq, enum drop_reason want)
{
	enum drop_reason got = replay_check(&w, seq);

	if (got != want)
		ck_abort_msg("seq %#llx, top %#llx, size %u: got %s, "
		    "want %s", (unsigned long long)seq,
		    (unsigned long long)w.top, w.size, drop_name(got),
		    drop_name(want));
}

/* What the data path does with an authenticated packet. */
static void
receive(uint64_t seq)
{
	check_is(seq, DROP_NONE);
	replay_update(&w, seq);
	check_is(seq, DROP_ESP_REPLAY);
}

START_TEST(init_bounds)
{
	ck_assert_int_eq(replay_init(&w, 0), -EINVAL);
	ck_assert_int_eq(replay_init(&w, REPLAY_WINDOW_MIN - 1), -EINVAL);
	ck_assert_int_eq(replay_init(&w, REPLAY_WINDOW_MAX + 1), -EINVAL);
	ck_assert_int_eq(replay_init(&w, REPLAY_WINDOW_MIN), 0);
	ck_assert_int_eq(replay_init(&w, 100), 0);	/* any size between */
	ck_assert_int_eq(replay_init(&w, REPLAY_WINDOW_MAX), 0);
}
END_TEST

/* RFC 4303 §3.3.3: the first packet is 1, so 0 is never valid. */
START_TEST(zero_never_valid)
{
	window(sizes[_i]);
	check_is(0, DROP_ESP_TOO_OLD);
	receive(1);
	check_is(0, DROP_ESP_TOO_OLD);
}
END_TEST

START_TEST(check_leaves_state)
{
	static struct replay before;

	window(sizes[_i]);
	receive(1000);
	receive(990);
	before = w;
	for (uint64_t seq = 0; seq < 3000; seq++)
		(void)replay_check(&w, seq);
	ck_assert_mem_eq(&w, &before, sizeof(w));
}
END_TEST

START_TEST(in_order_then_duplicates)
{
	window(sizes[_i]);
	for (uint64_t seq = 1; seq <= 3 * REPLAY_BITS; seq++)
		receive(seq);
	for (uint64_t seq = w.top - w.size + 1; seq <= w.top; seq++)
		check_is(seq, DROP_ESP_REPLAY);
	check_is(w.top - w.size, DROP_ESP_TOO_OLD);
	check_is(1, DROP_ESP_TOO_OLD);
	check_is(w.top + 1, DROP_NONE);
}
END_TEST

/* After a jump, every slot of the window is open once, the edges exact. */
START_TEST(reordered_within_window)
{
	uint64_t top;

	window(sizes[_i]);
	top = w.size + 100;
	receive(top);
	check_is(top - w.size, DROP_ESP_TOO_OLD);
	/* Backwards then skipping, as a reordering path might deliver. */
	for (uint64_t seq = top - 1; seq > top - w.size; seq -= 2)
		receive(seq);
	for (uint64_t seq = top - 2; seq > top - w.size; seq -= 2)
		receive(seq);
	for (uint64_t seq = top - w.size + 1; seq <= top; seq++)
		check_is(seq, DROP_ESP_REPLAY);
	ck_assert_uint_eq(w.top, top);
}
END_TEST

/* Jumps by every distance around the window size and the ring size: the
 * new window must be empty but for the new top and what is still in it. */
START_TEST(jumps)
{
	static const uint64_t base[] = {
		1, 63, 64, 65, REPLAY_BITS - 1, REPLAY_BITS, REPLAY_BITS + 1,
	};
	static struct replay full;
	uint64_t from, to;

	for (size_t b = 0; b < sizeof(base) / sizeof(base[0]); b++) {
		/* Every bit of the ring set, so that stale ones would show. */
		window(sizes[_i]);
		from = REPLAY_BITS + base[b];
		for (uint64_t seq = 1; seq <= from; seq++)
			replay_update(&w, seq);
		full = w;
		for (uint64_t d = 1; d < 2 * REPLAY_BITS + 130; d += 61) {
			w = full;
			to = from + d;
			receive(to);
			for (uint64_t seq = to - w.size + 1; seq < to; seq++)
				check_is(seq, seq <= from ? DROP_ESP_REPLAY :
				    DROP_NONE);
			check_is(to - w.size, DROP_ESP_TOO_OLD);
		}
	}
}
END_TEST

START_TEST(huge_jump)
{
	window(sizes[_i]);
	receive(5);
	receive(UINT64_C(1) << 40);
	check_is(5, DROP_ESP_TOO_OLD);
	check_is((UINT64_C(1) << 40) - 1, DROP_NONE);
	receive(UINT64_MAX);
	check_is(UINT64_MAX - w.size + 1, DROP_NONE);
	check_is(UINT64_MAX - w.size, DROP_ESP_TOO_OLD);
}
END_TEST

static void
check_esn(uint64_t top, uint32_t seq_lo, uint64_t want)
{
	w.top = top;
	ck_assert_msg(replay_esn_seq(&w, seq_lo) == want,
	    "top %#llx lo %#x: got %#llx, want %#llx",
	    (unsigned long long)top, seq_lo,
	    (unsigned long long)replay_esn_seq(&w, seq_lo),
	    (unsigned long long)want);
}

/* RFC 4303 Appendix A2.2, case by case, with W = 64. */
START_TEST(esn_inference)
{
	const uint64_t a = UINT64_C(0x100001000), b = UINT64_C(0x100000005);

	window(64);
	/* Nothing received: the first subspace. */
	check_esn(0, 1, 1);
	check_esn(0, 0xffffffff, 0xffffffff);
	/* Case A: the window [0x1_00000fc1, 0x1_00001000]. */
	check_esn(a, 0x1000, a);
	check_esn(a, 0xfc1, UINT64_C(0x100000fc1));
	check_esn(a, 0xfc0, UINT64_C(0x200000fc0));
	check_esn(a, 0x2000, UINT64_C(0x100002000));
	check_esn(a, 0xffffffff, UINT64_C(0x1ffffffff));
	/* Case B: the window [0x0_ffffffc6, 0x1_00000005]. */
	check_esn(b, 0xffffffc6, UINT64_C(0xffffffc6));
	check_esn(b, 0xfffffff0, UINT64_C(0xfffffff0));
	check_esn(b, 0xffffffc5, UINT64_C(0x1ffffffc5));
	check_esn(b, 0, UINT64_C(0x100000000));
	check_esn(b, 5, b);
	check_esn(b, 6, UINT64_C(0x100000006));
	/* Top in the first subspace: nothing lies below it. */
	check_esn(3, 0xfffffff0, UINT64_C(0xfffffff0));
	/* The last subspace: a guess past it wraps to 0 and is too old. */
	check_esn(UINT64_MAX - 10, 0xfffffff0, UINT64_MAX - 15);
	check_esn(UINT64_MAX - 10, 5, 5);
	check_is(5, DROP_ESP_TOO_OLD);
}
END_TEST

/* seq_lo wrapping from 0xffffffff to 0 advances seq_hi, and stragglers
 * from before the wrap still land in the old subspace. */
START_TEST(esn_wrap)
{
	uint64_t seq;

	window(sizes[_i]);
	receive(UINT64_C(0xfffffff0));
	seq = replay_esn_seq(&w, 5);
	ck_assert_uint_eq(seq, UINT64_C(0x100000005));
	receive(seq);
	seq = replay_esn_seq(&w, 0xfffffff8);
	ck_assert_uint_eq(seq, UINT64_C(0xfffffff8));
	receive(seq);
	check_is(replay_esn_seq(&w, 0xfffffff0), DROP_ESP_REPLAY);
	check_is(replay_esn_seq(&w, 5), DROP_ESP_REPLAY);
	check_is(replay_esn_seq(&w, 0), DROP_NONE);
	ck_assert_uint_eq(replay_esn_seq(&w, 0), UINT64_C(0x100000000));
	/* In order across the wrap, knowing only the low half. */
	for (seq = UINT64_C(0x100000006); seq < UINT64_C(0x100000100); seq++)
		receive(replay_esn_seq(&w, (uint32_t)seq));
	ck_assert_uint_eq(w.top, UINT64_C(0x1000000ff));
}
END_TEST

/* xorshift64: a fixed sequence, so a failure reproduces. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The rules as RFC 4303 §3.4.3 states them, over a plain array of what has
 * been accepted; the walk stays within [start, start + MODEL_SPAN). */
#define MODEL_SPAN	(1u << 20)

static enum drop_reason
model_check(const uint8_t *seen, uint64_t start, uint64_t top, uint64_t seq)
{
	if (seq == 0)
		return DROP_ESP_TOO_OLD;
	if (seq > top)
		return DROP_NONE;
	if (top - seq >= w.size)
		return DROP_ESP_TOO_OLD;
	return seen[seq - start] ? DROP_ESP_REPLAY : DROP_NONE;
}

/* Random arrivals around the top: mostly near it, sometimes far behind
 * or well ahead; with ESN only the low half is given, from just below a
 * 2^32 boundary, and the inferred number must be the true one. */
static void
random_walk(unsigned size, uint64_t start, bool esn)
{
	static uint8_t seen[MODEL_SPAN];
	uint64_t s = 0x9e3779b97f4a7c15ULL ^ size, top = start, seq, r;
	enum drop_reason want;

	memset(seen, 0, sizeof(seen));
	window(size);
	if (start > 0) {
		replay_update(&w, start);
		seen[0] = 1;
	}
	for (int n = 0; n < 200000; n++) {
		r = next_rand(&s);
		if (r % 100 < 90)
			seq = top + 8 - (r >> 8) % (w.size + 16);
		else
			seq = top + 16 - (r >> 8) % (3 * REPLAY_BITS);
		if (r % 1000 == 0)
			seq = top + (r >> 8) % (2 * REPLAY_BITS);
		if (seq < start || seq - start >= MODEL_SPAN)
			continue;
		if (esn && seq + w.size > top &&
		    replay_esn_seq(&w, (uint32_t)seq) != seq)
			ck_abort_msg("seq %#llx inferred wrongly",
			    (unsigned long long)seq);
		want = model_check(seen, start, top, seq);
		check_is(seq, want);
		if (want != DROP_NONE)
			continue;
		replay_update(&w, seq);
		seen[seq - start] = 1;
		if (seq > top)
			top = seq;
	}
	ck_assert_uint_eq(w.top, top);
}

START_TEST(model)
{
	random_walk(sizes[_i], 0, false);
}
END_TEST

START_TEST(model_esn)
{
	random_walk(sizes[_i], UINT64_C(0x2ffff0000), true);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("window");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, init_bounds);
	tcase_add_loop_test(tc, zero_never_valid, 0, N_SIZES);
	tcase_add_loop_test(tc, check_leaves_state, 0, N_SIZES);
	tcase_add_loop_test(tc, in_order_then_duplicates, 0, N_SIZES);
	tcase_add_loop_test(tc, reordered_within_window, 0, N_SIZES);
	tcase_add_loop_test(tc, jumps, 0, N_SIZES);
	tcase_add_loop_test(tc, huge_jump, 0, N_SIZES);
	tcase_add_test(tc, esn_inference);
	tcase_add_loop_test(tc, esn_wrap, 0, N_SIZES);
	tcase_add_loop_test(tc, model, 0, N_SIZES);
	tcase_add_loop_test(tc, model_esn, 0, N_SIZES);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(replay_suite());
}
