#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "fdb.h"

#include "check_main.h"

#define AGING	300000ULL

#define PEER_A	((const struct peer *)0x1000)
#define PEER_B	((const struct peer *)0x2000)
#define PEER_C	((const struct peer *)0x3000)

static const uint8_t mac1[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac2[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t mac3[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x03 };

/* Distinct unicast MACs in scrambled order: multiplying by an odd constant
 * is a bijection modulo 2^40. */
static void
mac_n(uint8_t mac[6], uint64_t n)
{
	uint64_t x = n * 0x9e3779b97f4a7c15ULL;
	int i;

	mac[0] = 0x02;
	for (i = 1; i < 6; i++, x >>= 8)
		mac[i] = (uint8_t)x;
}

/* Lookup result as a pointer, or the sentinel for "not found". */
#define MISSING	((const struct peer *)0xdead)

static const struct peer *
owner_of(const struct fdb *f, const uint8_t mac[6], uint64_t now)
{
	const struct peer *owner = MISSING;

	if (!fdb_lookup(f, mac, now, &owner))
		return MISSING;
	return owner;
}

START_TEST(test_create_bounds)
{
	struct fdb *f;

	ck_assert_ptr_null(fdb_create(0, AGING));
	ck_assert_ptr_null(fdb_create((1U << 24) + 1, AGING));
	ck_assert_ptr_null(fdb_create(UINT32_MAX, AGING));
	ck_assert_ptr_null(fdb_create(16, 0));
	f = fdb_create(1, AGING);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fdb_capacity(f), 1);
	ck_assert_uint_eq(fdb_aging_ms(f), AGING);
	ck_assert_uint_eq(fdb_count(f), 0);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_learn_lookup)
{
	struct fdb *f = fdb_create(16, AGING);

	ck_assert_ptr_eq(owner_of(f, mac1, 0), MISSING);
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_A, 1000), FDB_LEARNED);
	ck_assert_int_eq(fdb_learn(f, mac2, PEER_B, 1000), FDB_LEARNED);
	ck_assert_ptr_eq(owner_of(f, mac1, 1000), PEER_A);
	ck_assert_ptr_eq(owner_of(f, mac2, 1000), PEER_B);
	ck_assert_ptr_eq(owner_of(f, mac3, 1000), MISSING);
	ck_assert_uint_eq(fdb_count(f), 2);
	ck_assert_uint_eq(fdb_stats(f).learned, 2);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_local_owner)
{
	struct fdb *f = fdb_create(16, AGING);

	ck_assert_int_eq(fdb_learn(f, mac1, NULL, 0), FDB_LEARNED);
	ck_assert_ptr_null(owner_of(f, mac1, 0));
	ck_assert_int_eq(fdb_learn(f, mac1, NULL, 10), FDB_REFRESHED);
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_A, 20), FDB_MOVED);
	ck_assert_ptr_eq(owner_of(f, mac1, 20), PEER_A);
	ck_assert_int_eq(fdb_learn(f, mac1, NULL, 30), FDB_MOVED);
	ck_assert_ptr_null(owner_of(f, mac1, 30));
	ck_assert_uint_eq(fdb_flush_owner(f, NULL), 1);
	ck_assert_ptr_eq(owner_of(f, mac1, 30), MISSING);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_refresh)
{
	struct fdb *f = fdb_create(16, AGING);

	ck_assert_int_eq(fdb_learn(f, mac1, PEER_A, 0), FDB_LEARNED);
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_A, AGING - 1), FDB_REFRESHED);
	/* Alive only because of the refresh. */
	ck_assert_ptr_eq(owner_of(f, mac1, 2 * AGING - 2), PEER_A);
	ck_assert_ptr_eq(owner_of(f, mac1, 2 * AGING - 1), MISSING);
	ck_assert_uint_eq(fdb_count(f), 1);
	ck_assert_uint_eq(fdb_stats(f).learned, 1);
	ck_assert_uint_eq(fdb_stats(f).moved, 0);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_aging_boundary)
{
	struct fdb *f = fdb_create(16, AGING);

	fdb_learn(f, mac1, PEER_A, 1000);
	ck_assert_ptr_eq(owner_of(f, mac1, 1000 + AGING - 1), PEER_A);
	ck_assert_uint_eq(fdb_expire(f, 1000 + AGING - 1), 0);
	/* Invisible at the boundary, even before fdb_expire runs. */
	ck_assert_ptr_eq(owner_of(f, mac1, 1000 + AGING), MISSING);
	ck_assert_uint_eq(fdb_count(f), 1);
	ck_assert_uint_eq(fdb_expire(f, 1000 + AGING), 1);
	ck_assert_uint_eq(fdb_count(f), 0);
	ck_assert_uint_eq(fdb_stats(f).expired, 1);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_clock_backwards)
{
	struct fdb *f = fdb_create(16, AGING);

	fdb_learn(f, mac1, PEER_A, 5000);
	ck_assert_ptr_eq(owner_of(f, mac1, 4000), PEER_A);
	ck_assert_uint_eq(fdb_expire(f, 0), 0);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_relearn_aged)
{
	struct fdb *f = fdb_create(16, AGING);

	fdb_learn(f, mac1, PEER_A, 0);
	/* Aged but not yet expired: counts as new, owner replaced. */
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_B, AGING), FDB_LEARNED);
	ck_assert_ptr_eq(owner_of(f, mac1, AGING), PEER_B);
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_B, 3 * AGING), FDB_LEARNED);
	ck_assert_uint_eq(fdb_count(f), 1);
	ck_assert_uint_eq(fdb_stats(f).learned, 3);
	ck_assert_uint_eq(fdb_stats(f).moved, 0);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_expire_count)
{
	struct fdb *f = fdb_create(64, AGING);
	uint8_t mac[6];
	int i;

	for (i = 0; i < 30; i++) {
		mac_n(mac, i);
		fdb_learn(f, mac, PEER_A, i < 10 ? 0 : 1000);
	}
	ck_assert_uint_eq(fdb_expire(f, AGING), 10);
	ck_assert_uint_eq(fdb_count(f), 20);
	ck_assert_uint_eq(fdb_expire(f, AGING), 0);
	ck_assert_uint_eq(fdb_expire(f, AGING + 1000), 20);
	ck_assert_uint_eq(fdb_count(f), 0);
	ck_assert_uint_eq(fdb_stats(f).expired, 30);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_move)
{
	struct fdb *f = fdb_create(16, AGING);

	fdb_learn(f, mac1, PEER_A, 0);
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_B, 10), FDB_MOVED);
	ck_assert_ptr_eq(owner_of(f, mac1, 10), PEER_B);
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_B, 20), FDB_REFRESHED);
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_A, 30), FDB_MOVED);
	ck_assert_ptr_eq(owner_of(f, mac1, 30), PEER_A);
	ck_assert_uint_eq(fdb_count(f), 1);
	ck_assert_uint_eq(fdb_stats(f).moved, 2);
	ck_assert_uint_eq(fdb_stats(f).learned, 1);
	/* A move refreshes the timestamp too. */
	ck_assert_ptr_eq(owner_of(f, mac1, 30 + AGING - 1), PEER_A);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_invalid_source)
{
	static const uint8_t bad[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
		{ 0x01, 0x80, 0xc2, 0x00, 0x00, 0x00 },
		{ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
	};
	static const uint8_t good[6] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
	struct fdb *f = fdb_create(16, AGING);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert(!mac_is_valid_source(bad[i]));
		ck_assert_int_eq(fdb_learn(f, bad[i], PEER_A, 0), FDB_INVALID);
		ck_assert_ptr_eq(owner_of(f, bad[i], 0), MISSING);
	}
	ck_assert(mac_is_multicast(bad[0]));
	ck_assert(mac_is_multicast(bad[1]));
	ck_assert(!mac_is_multicast(bad[4]));
	ck_assert(!mac_is_multicast(mac1));
	ck_assert(mac_is_valid_source(mac1));
	ck_assert(mac_is_valid_source(good));
	ck_assert_uint_eq(fdb_count(f), 0);
	ck_assert_uint_eq(fdb_stats(f).learned, 0);
	ck_assert_int_eq(fdb_learn(f, good, PEER_A, 0), FDB_LEARNED);
	fdb_destroy(f);
}
END_TEST

static const struct peer *map_a_to_c(const struct peer *, void *);

/* How many of MACs lo..hi-1 the table knows, at time now. */
static int
known(const struct fdb *f, uint64_t lo, uint64_t hi, uint64_t now)
{
	uint8_t mac[6];
	int n = 0;

	for (; lo < hi; lo++) {
		mac_n(mac, lo);
		n += owner_of(f, mac, now) != MISSING;
	}
	return n;
}

/* One owner alone fills the table: each new MAC of its own evicts one of
 * its oldest, the table stays at its limit, known MACs still refresh and
 * move. */
START_TEST(test_full)
{
	struct fdb *f = fdb_create(8, AGING);
	uint8_t mac[6];
	struct fdb_stats st;
	int i;

	for (i = 0; i < 8; i++) {
		mac_n(mac, i);
		ck_assert_int_eq(fdb_learn(f, mac, PEER_A, i), FDB_LEARNED);
	}
	ck_assert_uint_eq(fdb_count(f), 8);
	ck_assert_uint_eq(fdb_stats(f).evicted, 0);
	for (i = 8; i < 20; i++) {
		mac_n(mac, i);
		ck_assert_int_eq(fdb_learn(f, mac, PEER_A, 2000 + i),
		    FDB_LEARNED);
		ck_assert_ptr_eq(owner_of(f, mac, 2000 + i), PEER_A);
		ck_assert_uint_eq(fdb_count(f), 8);
	}
	st = fdb_stats(f);
	ck_assert_uint_eq(st.evicted, 12);
	ck_assert_uint_eq(st.learned, 20);
	ck_assert_uint_eq(st.expired, 0);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 8);
	/* The sample covers all eight: the oldest went, in order. */
	ck_assert_int_eq(known(f, 0, 12, 3000), 0);
	ck_assert_int_eq(known(f, 12, 20, 3000), 8);
	mac_n(mac, 12);
	ck_assert_int_eq(fdb_learn(f, mac, PEER_A, 3000), FDB_REFRESHED);
	ck_assert_int_eq(fdb_learn(f, mac, PEER_B, 3000), FDB_MOVED);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 7);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 1);
	ck_assert_uint_eq(fdb_count(f), 8);
	fdb_destroy(f);
}
END_TEST

/* The fairness itself: a peer flooding new MACs into a full table
 * evicts only its own entries, never those of owners holding fewer, and
 * a newcomer takes its entries from the largest owner. Without fair
 * eviction the flood either is refused (the others' later MACs are never
 * learned) or pushes the others' entries out. */
START_TEST(test_fair_eviction)
{
	struct fdb *f = fdb_create(64, AGING);
	uint8_t mac[6];
	uint64_t n;

	/* B and the local side hold a few MACs each, A floods the rest. */
	for (n = 0; n < 8; n++) {
		mac_n(mac, n);
		fdb_learn(f, mac, PEER_B, 0);
		mac_n(mac, 100 + n);
		fdb_learn(f, mac, NULL, 0);
	}
	for (n = 1000; n < 21000; n++) {
		mac_n(mac, n);
		ck_assert_int_eq(fdb_learn(f, mac, PEER_A, 10 + n),
		    FDB_LEARNED);
	}
	ck_assert_uint_eq(fdb_count(f), 64);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 48);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 8);
	ck_assert_uint_eq(fdb_owner_count(f, NULL), 8);
	ck_assert_uint_eq(fdb_stats(f).evicted, 20000 - 48);
	ck_assert_int_eq(known(f, 0, 8, 30000), 8);
	ck_assert_int_eq(known(f, 100, 108, 30000), 8);
	/* The flood's newest is there, its oldest went. */
	ck_assert_int_eq(known(f, 21000 - 1, 21000, 30000), 1);
	ck_assert_int_eq(known(f, 1000, 2000, 30000), 0);

	/* B's new MACs, the flood still going: each takes a slot of A's. */
	for (n = 8; n < 24; n++) {
		mac_n(mac, n);
		ck_assert_int_eq(fdb_learn(f, mac, PEER_B, 30000),
		    FDB_LEARNED);
		mac_n(mac, 100000 + n);
		fdb_learn(f, mac, PEER_A, 30000);
	}
	ck_assert_int_eq(known(f, 0, 24, 30000), 24);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 24);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 32);
	ck_assert_uint_eq(fdb_owner_count(f, NULL), 8);

	/* Until the shares meet: A and B then hold as many, and a new MAC
	 * of either evicts its own. */
	for (n = 24; n < 100; n++) {
		mac_n(mac, n);
		fdb_learn(f, mac, PEER_B, 30000);
	}
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 28);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 28);
	ck_assert_uint_eq(fdb_owner_count(f, NULL), 8);
	ck_assert_int_eq(known(f, 100, 108, 30000), 8);
	fdb_destroy(f);
}
END_TEST

/* Owner counts follow every change: moves, aging relearns, expiry,
 * flushes and remaps. */
START_TEST(test_owner_counts)
{
	struct fdb *f = fdb_create(16, AGING);
	uint8_t mac[6];
	int i;

	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 0);
	for (i = 0; i < 6; i++) {
		mac_n(mac, i);
		fdb_learn(f, mac, i < 3 ? PEER_A : i < 5 ? PEER_B : NULL,
		    i == 0 ? 0 : 1000);
	}
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 3);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 2);
	ck_assert_uint_eq(fdb_owner_count(f, NULL), 1);
	mac_n(mac, 1);
	fdb_learn(f, mac, PEER_B, 1000);		/* a move */
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 2);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 3);
	mac_n(mac, 0);
	fdb_learn(f, mac, PEER_C, AGING);		/* aged, relearned */
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 1);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_C), 1);
	ck_assert_uint_eq(fdb_expire(f, AGING + 1000), 5);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 0);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 0);
	ck_assert_uint_eq(fdb_owner_count(f, NULL), 0);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_C), 1);
	for (i = 0; i < 4; i++) {
		mac_n(mac, 10 + i);
		fdb_learn(f, mac, i % 2 ? PEER_A : PEER_B, AGING);
	}
	/* A's become C's; B's and C's own go. */
	ck_assert_uint_eq(fdb_remap(f, map_a_to_c, NULL), 3);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 0);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 0);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_C), 2);
	ck_assert_uint_eq(fdb_flush_owner(f, PEER_C), 2);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_C), 0);
	ck_assert_uint_eq(fdb_count(f), 0);
	fdb_destroy(f);
}
END_TEST

/* A full table with aged entries replaces those first, whether or not
 * fdb_expire has run, counted as expired: no live entry is evicted while
 * a dead one holds a slot of the owner that would give one up. */
START_TEST(test_full_reclaims_aged)
{
	struct fdb *f = fdb_create(4, AGING);
	uint8_t mac[6];
	int i;

	for (i = 0; i < 4; i++) {
		mac_n(mac, i);
		fdb_learn(f, mac, PEER_A, 0);
	}
	for (i = 4; i < 8; i++) {
		mac_n(mac, i);
		ck_assert_int_eq(fdb_learn(f, mac, PEER_B, AGING),
		    FDB_LEARNED);
		ck_assert_ptr_eq(owner_of(f, mac, AGING), PEER_B);
		ck_assert_uint_eq(fdb_count(f), 4);
	}
	ck_assert_uint_eq(fdb_stats(f).expired, 4);
	ck_assert_uint_eq(fdb_stats(f).evicted, 0);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_A), 0);
	ck_assert_uint_eq(fdb_owner_count(f, PEER_B), 4);
	ck_assert_uint_eq(fdb_expire(f, AGING), 0);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_flush_owner)
{
	struct fdb *f = fdb_create(16, AGING);

	fdb_learn(f, mac1, PEER_A, 0);
	fdb_learn(f, mac2, PEER_B, 0);
	fdb_learn(f, mac3, PEER_A, 0);
	ck_assert_uint_eq(fdb_flush_owner(f, PEER_A), 2);
	ck_assert_uint_eq(fdb_count(f), 1);
	ck_assert_ptr_eq(owner_of(f, mac1, 0), MISSING);
	ck_assert_ptr_eq(owner_of(f, mac3, 0), MISSING);
	ck_assert_ptr_eq(owner_of(f, mac2, 0), PEER_B);
	ck_assert_uint_eq(fdb_flush_owner(f, PEER_A), 0);
	ck_assert_uint_eq(fdb_flush_owner(f, PEER_C), 0);
	ck_assert_uint_eq(fdb_stats(f).expired, 0);
	ck_assert_int_eq(fdb_learn(f, mac1, PEER_C, 0), FDB_LEARNED);
	fdb_destroy(f);
}
END_TEST

/* A reload's mapping: A becomes C, B has no successor. */
static const struct peer *
map_a_to_c(const struct peer *old, void *arg)
{
	(void)arg;
	return old == PEER_A ? PEER_C : NULL;
}

START_TEST(test_remap)
{
	struct fdb *f = fdb_create(16, AGING);

	fdb_learn(f, mac1, PEER_A, 0);
	fdb_learn(f, mac2, PEER_B, 0);
	fdb_learn(f, mac3, NULL, 0);
	ck_assert_uint_eq(fdb_remap(f, map_a_to_c, NULL), 1);
	ck_assert_uint_eq(fdb_count(f), 2);
	ck_assert_ptr_eq(owner_of(f, mac1, 0), PEER_C);
	ck_assert_ptr_eq(owner_of(f, mac2, 0), MISSING);
	ck_assert_ptr_eq(owner_of(f, mac3, 0), NULL);
	fdb_destroy(f);
}
END_TEST

START_TEST(test_set_aging)
{
	struct fdb *f = fdb_create(16, AGING);

	fdb_learn(f, mac1, PEER_A, 0);
	fdb_set_aging(f, 1000);
	ck_assert_uint_eq(fdb_aging_ms(f), 1000);
	ck_assert_ptr_eq(owner_of(f, mac1, 999), PEER_A);
	ck_assert_ptr_eq(owner_of(f, mac1, 1000), MISSING);
	fdb_set_aging(f, 0);
	ck_assert_uint_eq(fdb_aging_ms(f), 1000);
	fdb_destroy(f);
}
END_TEST

#define CHURN_N		10000

/* MACs lo..hi-1: even ones behind PEER_A, odd ones present iff odd. */
static void
check_churn(const struct fdb *f, uint64_t lo, uint64_t hi, uint64_t now,
    bool odd)
{
	uint8_t mac[6];
	uint64_t n;

	for (n = lo; n < hi; n++) {
		mac_n(mac, n);
		if (n % 2 == 0)
			ck_assert_ptr_eq(owner_of(f, mac, now), PEER_A);
		else
			ck_assert_ptr_eq(owner_of(f, mac, now),
			    odd ? PEER_B : MISSING);
	}
}

/* Fill, empty by halves, refill: every deletion must keep the rest of its
 * probe chain reachable (backward shift), and removed MACs must be gone. */
START_TEST(test_churn)
{
	struct fdb *f = fdb_create(CHURN_N, AGING);
	uint8_t mac[6];
	uint64_t n, base = 0, now = 0;
	int round;

	for (round = 0; round < 6; round++, base += CHURN_N, now += AGING) {
		for (n = base; n < base + CHURN_N; n++) {
			mac_n(mac, n);
			ck_assert_int_eq(fdb_learn(f, mac,
			    n % 2 == 0 ? PEER_A : PEER_B, now), FDB_LEARNED);
		}
		ck_assert_uint_eq(fdb_count(f), CHURN_N);
		check_churn(f, base, base + CHURN_N, now, true);

		ck_assert_uint_eq(fdb_flush_owner(f, PEER_B), CHURN_N / 2);
		ck_assert_uint_eq(fdb_count(f), CHURN_N / 2);
		check_churn(f, base, base + CHURN_N, now, false);

		/* Empty the table by time or by owner, alternately. */
		if (round % 2 == 0)
			ck_assert_uint_eq(fdb_expire(f, now + AGING),
			    CHURN_N / 2);
		else
			ck_assert_uint_eq(fdb_flush_owner(f, PEER_A),
			    CHURN_N / 2);
		ck_assert_uint_eq(fdb_count(f), 0);
		for (n = base; n < base + CHURN_N; n++) {
			mac_n(mac, n);
			ck_assert_ptr_eq(owner_of(f, mac, now), MISSING);
		}
	}
	fdb_destroy(f);
}
END_TEST

/* Same, but expire a random-looking half of a full table by time. */
START_TEST(test_churn_expire)
{
	struct fdb *f = fdb_create(CHURN_N, AGING);
	uint8_t mac[6];
	uint64_t n;

	for (n = 0; n < CHURN_N; n++) {
		mac_n(mac, n);
		fdb_learn(f, mac, PEER_A, n % 2 == 0 ? 1000 : 0);
	}
	ck_assert_uint_eq(fdb_expire(f, AGING), CHURN_N / 2);
	ck_assert_uint_eq(fdb_count(f), CHURN_N / 2);
	for (n = 0; n < CHURN_N; n++) {
		mac_n(mac, n);
		ck_assert_ptr_eq(owner_of(f, mac, 0),
		    n % 2 == 0 ? PEER_A : MISSING);
	}
	fdb_destroy(f);
}
END_TEST

struct visit {
	uint8_t		seen[64];
	int		calls;
	int		bad;
};

static void
visit_fn(const struct fdb_entry *e, void *arg)
{
	struct visit *v = arg;
	uint8_t mac[6];
	int i;

	v->calls++;
	for (i = 0; i < 64; i++) {
		mac_n(mac, i);
		if (memcmp(mac, e->mac, 6) == 0) {
			v->seen[i]++;
			if (e->owner != (i % 3 == 0 ? NULL : PEER_A) ||
			    e->last_seen_ms != (uint64_t)i)
				v->bad++;
			return;
		}
	}
	v->bad++;
}

START_TEST(test_foreach)
{
	struct fdb *f = fdb_create(64, AGING);
	struct visit v;
	uint8_t mac[6];
	int i;

	for (i = 0; i < 40; i++) {
		mac_n(mac, i);
		fdb_learn(f, mac, i % 3 == 0 ? NULL : PEER_A, i);
	}
	/* At AGING + 10, entries learned at 0..10 have aged out. */
	memset(&v, 0, sizeof(v));
	fdb_foreach(f, AGING + 10, visit_fn, &v);
	ck_assert_int_eq(v.bad, 0);
	ck_assert_int_eq(v.calls, 29);
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(v.seen[i], i > 10 && i < 40 ? 1 : 0);

	memset(&v, 0, sizeof(v));
	fdb_foreach(f, 2 * AGING, visit_fn, &v);
	ck_assert_int_eq(v.calls, 0);
	fdb_destroy(f);
}
END_TEST

struct order {
	uint8_t		macs[32][6];
	int		n;
};

static void
order_fn(const struct fdb_entry *e, void *arg)
{
	struct order *o = arg;

	memcpy(o->macs[o->n++], e->mac, 6);
}

/* Slot order follows the hash; two tables with random keys place the same
 * MACs differently (equal orders are vanishingly unlikely, 1 in ~32!). */
START_TEST(test_keyed_hash)
{
	struct fdb *f1 = fdb_create(32, AGING), *f2 = fdb_create(32, AGING);
	struct order o1 = { .n = 0 }, o2 = { .n = 0 };
	uint8_t mac[6];
	int i;

	for (i = 0; i < 32; i++) {
		mac_n(mac, i);
		fdb_learn(f1, mac, PEER_A, 0);
		fdb_learn(f2, mac, PEER_A, 0);
	}
	fdb_foreach(f1, 0, order_fn, &o1);
	fdb_foreach(f2, 0, order_fn, &o2);
	ck_assert_int_eq(o1.n, 32);
	ck_assert_int_eq(o2.n, 32);
	ck_assert(memcmp(o1.macs, o2.macs, sizeof(o1.macs)) != 0);
	fdb_destroy(f1);
	fdb_destroy(f2);
}
END_TEST

/* Workers learning and looking up, a mover, and a sweeper that expires,
 * flushes, remaps and lists, all at once on a small table that keeps
 * filling, aging and shifting. Every owner names the MAC it was given
 * for, so a lookup that mixes up two entries shows. */
#define MT_MACS		256	/* more than the table holds */
#define MT_CAP		48
#define MT_AGING	2	/* ticks of the sweeper's clock */
#define MT_WORKERS	3	/* the last one moves MACs away */
#define MT_ITERS	300000

struct mt {
	struct fdb	*f;
	uint64_t	 clock;
	int		 done;		/* workers finished */
};

struct mt_thread {
	struct mt	*mt;
	pthread_t	 tid;
	int		 id;
	uint64_t	 rng;
	uint64_t	 results[FDB_INVALID + 1];
	uint64_t	 removed;	/* sweeper: by fdb_expire */
	uint64_t	 dropped;	/* sweeper: by flush and remap */
	uint64_t	 bad;
};

/* 8 owners per MAC, to move between. */
static const struct peer *
mt_owner(uint64_t n, unsigned v)
{
	return (const struct peer *)(uintptr_t)(0x10000 + n * 8 + (v & 7));
}

static bool
mt_owner_of(const struct peer *o, uint64_t n)
{
	uintptr_t p = (uintptr_t)o;

	return p >= 0x10000 && (p - 0x10000) / 8 == n;
}

static uint64_t
mt_rand(struct mt_thread *t)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

/* mac_n scrambles: recover n by search. */
static uint64_t
mt_index(const uint8_t mac[6])
{
	uint8_t m[6];
	uint64_t n;

	for (n = 0; n < MT_MACS; n++) {
		mac_n(m, n);
		if (memcmp(m, mac, 6) == 0)
			break;
	}
	return n;
}

static void *
mt_worker(void *arg)
{
	struct mt_thread *t = arg;
	const struct peer *owner;
	uint8_t mac[6];
	uint64_t n, now, r;
	unsigned v;
	int i;

	for (i = 0; i < MT_ITERS; i++) {
		r = mt_rand(t);
		n = r % MT_MACS;
		mac_n(mac, n);
		/* Threads' clocks differ a little, as CPUs' do. */
		now = __atomic_load_n(&t->mt->clock, __ATOMIC_RELAXED) +
		    (r >> 8 & 1);
		if (r >> 9 & 1) {
			v = t->id < MT_WORKERS - 1 ? (unsigned)t->id :
			    2 + (r >> 10 & 1);
			t->results[fdb_learn(t->mt->f, mac, mt_owner(n, v),
			    now)]++;
		} else if (fdb_lookup(t->mt->f, mac, now, &owner) &&
		    !mt_owner_of(owner, n)) {
			t->bad++;
		}
	}
	__atomic_fetch_add(&t->mt->done, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void
mt_check_entry(const struct fdb_entry *e, void *arg)
{
	struct mt_thread *t = arg;

	if (!mt_owner_of(e->owner, mt_index(e->mac)))
		t->bad++;
}

/* Pure, as fdb_remap wants: the next owner of the same MAC, or gone. */
static const struct peer *
mt_next_owner(const struct peer *o, void *arg)
{
	uintptr_t p = (uintptr_t)o;

	return (p & 7) == 7 ? NULL : (const struct peer *)(p + 1);
}

static void *
mt_sweeper(void *arg)
{
	struct mt_thread *t = arg;
	struct mt *mt = t->mt;
	uint64_t r, now;

	while (__atomic_load_n(&mt->done, __ATOMIC_RELAXED) < MT_WORKERS) {
		r = mt_rand(t);
		now = __atomic_add_fetch(&mt->clock, 1, __ATOMIC_RELAXED);
		t->removed += fdb_expire(mt->f, now);
		if (r % 16 == 0)
			t->dropped += fdb_flush_owner(mt->f,
			    mt_owner((r >> 8) % MT_MACS, r >> 4 & 7));
		if (r % 64 == 1)
			t->dropped += fdb_remap(mt->f, mt_next_owner, NULL);
		if (r % 32 == 2)
			fdb_foreach(mt->f, now, mt_check_entry, t);
		/* Read as the control socket does, while the workers count. */
		if (fdb_count(mt->f) > MT_CAP)
			t->bad++;
		(void)fdb_stats(mt->f);
	}
	return NULL;
}

struct mt_seen {
	const struct peer	*owner[MT_MACS];
	bool			 seen[MT_MACS];
	size_t			 n;
	int			 bad;
};

static void
mt_final_entry(const struct fdb_entry *e, void *arg)
{
	struct mt_seen *s = arg;
	uint64_t n = mt_index(e->mac);

	s->n++;
	if (n == MT_MACS || s->seen[n] || !mt_owner_of(e->owner, n)) {
		s->bad++;
		return;
	}
	s->seen[n] = true;
	s->owner[n] = e->owner;
}

START_TEST(test_threads)
{
	struct mt mt = { fdb_create(MT_CAP, MT_AGING), 1, 0 };
	struct mt_thread t[MT_WORKERS + 1];
	struct mt_seen seen = { .n = 0 };
	const struct peer *owner;
	struct fdb_stats st;
	uint64_t sum[FDB_INVALID + 1] = { 0 };
	uint8_t mac[6];
	int i, k;

	memset(t, 0, sizeof(t));
	for (i = 0; i <= MT_WORKERS; i++) {
		t[i].mt = &mt;
		t[i].id = i;
		t[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		ck_assert_int_eq(pthread_create(&t[i].tid, NULL,
		    i < MT_WORKERS ? mt_worker : mt_sweeper, &t[i]), 0);
	}
	for (i = 0; i <= MT_WORKERS; i++) {
		ck_assert_int_eq(pthread_join(t[i].tid, NULL), 0);
		ck_assert_uint_eq(t[i].bad, 0);
		for (k = 0; k <= FDB_INVALID; k++)
			sum[k] += t[i].results[k];
	}
	/* The table filled, aged and moved entries on the way. */
	ck_assert_uint_eq(sum[FDB_INVALID], 0);
	ck_assert_uint_gt(fdb_stats(mt.f).evicted, 0);
	ck_assert_uint_gt(sum[FDB_MOVED], 0);
	ck_assert_uint_gt(t[MT_WORKERS].removed, 0);

	/* Time 0 ages nothing: the listing is every entry, each of them
	 * where its own probe finds it. */
	ck_assert_uint_le(fdb_count(mt.f), MT_CAP);
	fdb_foreach(mt.f, 0, mt_final_entry, &seen);
	ck_assert_int_eq(seen.bad, 0);
	ck_assert_uint_eq(seen.n, fdb_count(mt.f));
	/* The owners' counts add up to what the listing shows. */
	for (i = 0; i < MT_MACS; i++) {
		size_t held = 0;

		for (k = 0; k < MT_MACS; k++)
			held += seen.seen[k] && seen.owner[k] == seen.owner[i];
		ck_assert(!seen.seen[i] ||
		    fdb_owner_count(mt.f, seen.owner[i]) == held);
	}
	for (i = 0; i < MT_MACS; i++) {
		mac_n(mac, i);
		ck_assert(fdb_lookup(mt.f, mac, 0, &owner) == seen.seen[i]);
		ck_assert(!seen.seen[i] || owner == seen.owner[i]);
	}

	/* What is in the table, and what went (swept, flushed, remapped
	 * away, or evicted), came in by a learn. Learned also counts aged
	 * entries relearned in place, hence at most. */
	st = fdb_stats(mt.f);
	ck_assert_uint_eq(st.learned, sum[FDB_LEARNED]);
	ck_assert_uint_eq(st.moved, sum[FDB_MOVED]);
	ck_assert_uint_ge(st.expired, t[MT_WORKERS].removed);
	ck_assert_uint_le(fdb_count(mt.f) + t[MT_WORKERS].dropped +
	    st.expired + st.evicted, st.learned);
	fdb_destroy(mt.f);
}
END_TEST

static Suite *
fdb_suite(void)
{
	Suite *s = suite_create("fdb");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_create_bounds);
	tcase_add_test(tc, test_learn_lookup);
	tcase_add_test(tc, test_local_owner);
	tcase_add_test(tc, test_refresh);
	tcase_add_test(tc, test_aging_boundary);
	tcase_add_test(tc, test_clock_backwards);
	tcase_add_test(tc, test_relearn_aged);
	tcase_add_test(tc, test_expire_count);
	tcase_add_test(tc, test_move);
	tcase_add_test(tc, test_invalid_source);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_fair_eviction);
	tcase_add_test(tc, test_owner_counts);
	tcase_add_test(tc, test_full_reclaims_aged);
	tcase_add_test(tc, test_flush_owner);
	tcase_add_test(tc, test_remap);
	tcase_add_test(tc, test_set_aging);
	tcase_add_test(tc, test_churn);
	tcase_add_test(tc, test_churn_expire);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_keyed_hash);
	tcase_add_test(tc, test_threads);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(fdb_suite());
}
