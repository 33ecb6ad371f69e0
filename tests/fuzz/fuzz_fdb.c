/* The MAC table against a reference model: a plain array, searched
 * linearly. The input is a table size, an aging time, a hash key and a
 * program of learn/lookup/expire/flush/remap/set_aging/clock steps; after
 * every step the table must agree with the model on every entry, the
 * count and the statistics.
 *
 * The one thing the model cannot predict is which entry a learn into a
 * full table evicts (an aged one on the chain or met first, else one of a
 * sample of the victim's): it accepts any aged entry (counted expired) or
 * any live one of an owner holding the most entries, the learner itself
 * when it holds as many (counted evicted: fair eviction), and asks the
 * table which one went, through lookups at time 0 (a clock that steps
 * back ages nothing). Each owner's count must match the model's. */
#include <stdbool.h>

#include <sodium.h>

#include "fdb.h"

#include "fuzz.h"

#define MAX_ENTRIES	64
#define N_PEERS		4

/* Stand-ins for peers: the table only compares their addresses. */
static const char peer_storage[N_PEERS];
#define PEER(i)	((const struct peer *)(const void *)&peer_storage[i])

struct ment {
	uint8_t			 mac[6];
	const struct peer	*owner;
	uint64_t		 last;
};

struct model {
	struct ment		 e[MAX_ENTRIES];
	size_t			 n, max;
	uint64_t		 aging;
	struct fdb_stats	 st;
};

/* ---- a deterministic randombytes, so the hash key is the input's ---- */

static uint8_t key_seed[2];

static void
det_buf(void *const buf, const size_t size)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(key_seed[0] + i * (key_seed[1] | 1));
}

static uint32_t
det_random(void)
{
	uint32_t v;

	det_buf(&v, sizeof(v));
	return v;
}

static const char *
det_name(void)
{
	return "ovtund-fuzz";
}

static struct randombytes_implementation det_impl = {
	.implementation_name = det_name,
	.random = det_random,
	.buf = det_buf,
};

/* ---- the model ---- */

static bool
aged(const struct model *m, const struct ment *e, uint64_t now)
{
	return now > e->last && now - e->last >= m->aging;
}

static struct ment *
mfind(struct model *m, const uint8_t mac[6])
{
	for (size_t i = 0; i < m->n; i++)
		if (memcmp(m->e[i].mac, mac, 6) == 0)
			return &m->e[i];
	return NULL;
}

static void
mremove(struct model *m, size_t i)
{
	m->e[i] = m->e[--m->n];
}

static bool
valid_source(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return (mac[0] & 1) == 0 && memcmp(mac, zero, 6) != 0;
}

static size_t
mcount(const struct model *m, const struct peer *owner)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->e[i].owner == owner;
	return n;
}

static const struct peer *owner_of(uint8_t b);

/* ---- agreement ---- */

struct walk {
	const struct model	*m;
	uint64_t		 now;
	bool			 seen[MAX_ENTRIES];
	size_t			 n;
};

static void
walk_fn(const struct fdb_entry *fe, void *arg)
{
	struct walk *w = arg;
	const struct model *m = w->m;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (memcmp(m->e[i].mac, fe->mac, 6) == 0)
			break;
	FUZZ_CHECK(i < m->n);
	FUZZ_CHECK(!w->seen[i]);
	w->seen[i] = true;
	w->n++;
	FUZZ_CHECK(fe->owner == m->e[i].owner);
	FUZZ_CHECK(fe->last_seen_ms == m->e[i].last);
	FUZZ_CHECK(!aged(m, &m->e[i], w->now));
}

static void
check_agree(const struct fdb *f, const struct model *m, uint64_t now)
{
	const struct fdb_stats st = fdb_stats(f);
	const struct peer *owner;
	struct walk w;
	size_t live = 0;

	FUZZ_CHECK(fdb_count(f) == m->n);
	FUZZ_CHECK(fdb_capacity(f) == m->max);
	FUZZ_CHECK(fdb_aging_ms(f) == m->aging);
	FUZZ_CHECK(st.learned == m->st.learned);
	FUZZ_CHECK(st.moved == m->st.moved);
	FUZZ_CHECK(st.evicted == m->st.evicted);
	FUZZ_CHECK(st.expired == m->st.expired);
	for (size_t i = 0; i < m->n; i++) {
		const struct ment *e = &m->e[i];
		bool found = fdb_lookup(f, e->mac, now, &owner);

		FUZZ_CHECK(found == !aged(m, e, now));
		FUZZ_CHECK(!found || owner == e->owner);
		/* Time 0 ages nothing: every entry is there. */
		FUZZ_CHECK(fdb_lookup(f, e->mac, 0, &owner));
		FUZZ_CHECK(owner == e->owner);
		live += !aged(m, e, now);
	}
	for (int k = 0; k <= N_PEERS; k++)
		FUZZ_CHECK(fdb_owner_count(f, owner_of((uint8_t)k)) ==
		    mcount(m, owner_of((uint8_t)k)));
	memset(&w, 0, sizeof(w));
	w.m = m;
	w.now = now;
	fdb_foreach(f, now, walk_fn, &w);
	FUZZ_CHECK(w.n == live);
	memset(&w, 0, sizeof(w));
	w.m = m;
	w.now = 0;
	fdb_foreach(f, 0, walk_fn, &w);
	FUZZ_CHECK(w.n == m->n);
}

/* ---- the operations ---- */

/* A small pool, so MACs come back; plus the invalid kinds. */
static void
mac_of(uint8_t b, uint8_t mac[6])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

	b %= 80;
	if (b == 77)
		memcpy(mac, bcast, 6);
	else if (b == 78)
		memcpy(mac, mcast, 6);
	else
		memcpy(mac, (uint8_t[6]){ 0x02, 0, 0, 0, b >> 4, b & 0xf }, 6);
	if (b == 79)
		memset(mac, 0, 6);
}

static const struct peer *
owner_of(uint8_t b)
{
	b %= N_PEERS + 1;
	return b == 0 ? NULL : PEER(b - 1);
}

static void
do_learn(struct fdb *f, struct model *m, const uint8_t mac[6],
    const struct peer *owner, uint64_t now)
{
	enum fdb_learn_result r = fdb_learn(f, mac, owner, now);
	struct ment *e;
	const struct peer *o;
	size_t gone = m->n, i, most = 0;

	if (!valid_source(mac)) {
		FUZZ_CHECK(r == FDB_INVALID);
		return;
	}
	if ((e = mfind(m, mac)) != NULL) {
		if (aged(m, e, now)) {
			FUZZ_CHECK(r == FDB_LEARNED);
			m->st.learned++;
		} else if (e->owner == owner) {
			FUZZ_CHECK(r == FDB_REFRESHED);
		} else {
			FUZZ_CHECK(r == FDB_MOVED);
			m->st.moved++;
		}
		e->owner = owner;
		e->last = now;
		return;
	}
	if (m->n < m->max) {
		FUZZ_CHECK(r == FDB_LEARNED);
		m->st.learned++;
		e = &m->e[m->n++];
		goto fill;
	}
	/* Full, yet learned: exactly one entry made room. */
	FUZZ_CHECK(r == FDB_LEARNED);
	for (i = 0; i < m->n; i++) {
		if (!fdb_lookup(f, m->e[i].mac, 0, &o)) {
			FUZZ_CHECK(gone == m->n);
			gone = i;
		}
		if (mcount(m, m->e[i].owner) > most)
			most = mcount(m, m->e[i].owner);
	}
	FUZZ_CHECK(gone < m->n);
	if (aged(m, &m->e[gone], now)) {
		m->st.expired++;
	} else {
		/* Fair: from an owner holding the most, the learner first. */
		FUZZ_CHECK(mcount(m, m->e[gone].owner) == most);
		FUZZ_CHECK(mcount(m, owner) < most || m->e[gone].owner == owner);
		m->st.evicted++;
	}
	m->st.learned++;
	e = &m->e[gone];
fill:
	memcpy(e->mac, mac, 6);
	e->owner = owner;
	e->last = now;
}

static const struct peer *remap_to[N_PEERS];

static const struct peer *
remap_fn(const struct peer *p, void *arg)
{
	FUZZ_CHECK(arg == remap_to);
	for (int i = 0; i < N_PEERS; i++)
		if (p == PEER(i))
			return remap_to[i];
	FUZZ_CHECK(!"remap of an owner never given");
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static bool init;
	struct fuzz_rd in = { d, n };
	struct model *m;
	struct fdb *f;
	uint64_t now = 1000000;
	size_t i, cnt;

	if (!init) {
		FUZZ_CHECK(randombytes_set_implementation(&det_impl) == 0);
		FUZZ_CHECK(sodium_init() >= 0);
		FUZZ_CHECK(fdb_create(0, 1) == NULL);
		FUZZ_CHECK(fdb_create(1, 0) == NULL);
		init = true;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return 0;
	m->max = 1 + fuzz_get8(&in) % MAX_ENTRIES;
	m->aging = 1 + (fuzz_get8(&in) | (uint64_t)fuzz_get8(&in) << 8) % 1024;
	key_seed[0] = fuzz_get8(&in);
	key_seed[1] = fuzz_get8(&in);
	FUZZ_CHECK((f = fdb_create((uint32_t)m->max, m->aging)) != NULL);
	check_agree(f, m, now);

	while (in.n > 0) {
		uint8_t op = fuzz_get8(&in) % 9, a, b;
		uint8_t mac[6];

		switch (op) {
		case 0:
		case 1:
			a = fuzz_get8(&in);
			b = fuzz_get8(&in);
			mac_of(a, mac);
			do_learn(f, m, mac, owner_of(b), now);
			break;
		case 2: {
			const struct peer *o;
			struct ment *e;

			mac_of(fuzz_get8(&in), mac);
			e = mfind(m, mac);
			if (e == NULL || aged(m, e, now)) {
				FUZZ_CHECK(!fdb_lookup(f, mac, now, &o));
			} else {
				FUZZ_CHECK(fdb_lookup(f, mac, now, &o));
				FUZZ_CHECK(o == e->owner);
			}
			break;
		}
		case 3:
			for (i = cnt = 0; i < m->n; )
				if (aged(m, &m->e[i], now))
					mremove(m, i), cnt++;
				else
					i++;
			m->st.expired += cnt;
			FUZZ_CHECK(fdb_expire(f, now) == cnt);
			break;
		case 4: {
			const struct peer *o = owner_of(fuzz_get8(&in));

			for (i = cnt = 0; i < m->n; )
				if (m->e[i].owner == o)
					mremove(m, i), cnt++;
				else
					i++;
			FUZZ_CHECK(fdb_flush_owner(f, o) == cnt);
			break;
		}
		case 5:
			a = fuzz_get8(&in);
			b = fuzz_get8(&in);
			for (int k = 0; k < N_PEERS; k++)
				remap_to[k] = owner_of((uint8_t)((a | b << 8) >>
				    (3 * k)) & 7);
			for (i = cnt = 0; i < m->n; ) {
				const struct peer *o = m->e[i].owner;
				int k;

				if (o == NULL) {
					i++;
					continue;
				}
				for (k = 0; o != PEER(k); k++)
					;
				if (remap_to[k] == NULL) {
					mremove(m, i), cnt++;
				} else {
					m->e[i].owner = remap_to[k];
					i++;
				}
			}
			FUZZ_CHECK(fdb_remap(f, remap_fn, remap_to) == cnt);
			break;
		case 6: {
			uint64_t ms = fuzz_get8(&in) | (uint64_t)fuzz_get8(&in) << 8;

			fdb_set_aging(f, ms);
			if (ms > 0)
				m->aging = ms;
			break;
		}
		case 7:
			a = fuzz_get8(&in);
			if (a == 0xff)
				now += (uint64_t)1 << 40;
			else if (a & 0x80)
				now -= now < (a & 0x7fu) * 16 ? now :
				    (a & 0x7fu) * 16;
			else
				now += a;
			break;
		case 8:
			/* A clock far back, then forward again. */
			now = fuzz_get8(&in) == 0 ? 0 : now + 4096;
			break;
		}
		check_agree(f, m, now);
	}
	fdb_destroy(f);
	free(m);
	return 0;
}
