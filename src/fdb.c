/* Open addressing with linear probing. Deletion shifts the rest of the
 * cluster back instead of leaving tombstones, so probe chains never rot
 * under churn. The table is sized once (load <= 1/2) and never grows: the
 * source MACs come from the wire, so memory must not follow them.
 *
 * Threads (fdb.h): lookups are lock-free under a sequence lock, retried
 * when a writer ran meanwhile; writers (a new MAC, a move, aging, reload)
 * take the mutex and make the sequence odd while they change slots. Every
 * slot field is read and written with relaxed atomics, so a reader racing
 * a writer sees old or new values, never torn ones, and only acts on what
 * an unchanged sequence confirms. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fdb.h"

#define FDB_MAX_ENTRIES	(1U << 24)
/* A lookup that keeps meeting writers takes the mutex instead. */
#define FDB_READ_TRIES	8
/* key: the MAC in the low 48 bits, and this bit, so that 0 is free. */
#define KEY_USED	(UINT64_C(1) << 48)

struct fdb_slot {
	uint64_t		 key;
	const struct peer	*owner;
	uint64_t		 last_seen_ms;
};

struct fdb {
	size_t			 mask;		/* slots - 1 */
	size_t			 count;		/* atomic */
	uint32_t		 max_entries;
	uint64_t		 aging_ms;	/* atomic */
	uint64_t		 seq;		/* odd while a writer works */
	pthread_mutex_t		 lock;		/* writers */
	struct fdb_stats	 stats;		/* atomic */
	/* Keyed so hostile source MACs cannot aim at one probe chain. */
	uint8_t			 key[crypto_shorthash_KEYBYTES];
	struct fdb_slot		 slots[];
};

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define COUNT(p, n)	__atomic_fetch_add((p), (n), __ATOMIC_RELAXED)

static uint64_t
mac_key(const uint8_t mac[6])
{
	uint64_t k = KEY_USED;

	for (int i = 0; i < 6; i++)
		k |= (uint64_t)mac[i] << (8 * (5 - i));
	return k;
}

static void
key_mac(uint64_t k, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(k >> (8 * (5 - i)));
}

static size_t
fdb_home(const struct fdb *f, uint64_t key)
{
	uint8_t mac[6], out[crypto_shorthash_BYTES];
	uint64_t h;

	key_mac(key, mac);
	crypto_shorthash(out, mac, sizeof(mac), f->key);
	memcpy(&h, out, sizeof(h));
	return (size_t)h & f->mask;
}

/* A clock that steps back must not age everything out at once. */
static bool
aged(const struct fdb *f, uint64_t last_seen, uint64_t now_ms)
{
	return now_ms > last_seen && now_ms - last_seen >= LOAD(&f->aging_ms);
}

static void
write_begin(struct fdb *f)
{
	pthread_mutex_lock(&f->lock);
	STORE(&f->seq, f->seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
write_end(struct fdb *f)
{
	__atomic_store_n(&f->seq, f->seq + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&f->lock);
}

/* What a probe for key found: the slot, or none; and an aged slot on the
 * chain (where a new key may go when the table is full). */
struct probe {
	bool			 found;
	size_t			 at;
	const struct peer	*owner;
	uint64_t		 last_seen;
	bool			 stale;
	size_t			 stale_at;
};

/* Walks key's chain, at most the whole table: a reader racing a writer
 * may see no free slot on its way. */
static void
probe(const struct fdb *f, uint64_t key, size_t home, uint64_t now,
    struct probe *p)
{
	size_t i = home;

	memset(p, 0, sizeof(*p));
	for (size_t n = 0; n <= f->mask; n++, i = (i + 1) & f->mask) {
		const struct fdb_slot *s = &f->slots[i];
		uint64_t k = LOAD(&s->key);

		if (k == 0) {
			p->at = i;
			return;
		}
		if (k == key) {
			p->found = true;
			p->at = i;
			p->owner = LOAD(&s->owner);
			p->last_seen = LOAD(&s->last_seen_ms);
			return;
		}
		if (!p->stale && aged(f, LOAD(&s->last_seen_ms), now)) {
			p->stale = true;
			p->stale_at = i;
		}
	}
}

/* A probe no writer interfered with: lock-free, unless writers keep
 * coming, then under the mutex. */
static void
probe_read(struct fdb *f, uint64_t key, size_t home, uint64_t now,
    struct probe *p)
{
	for (int tries = 0; tries < FDB_READ_TRIES; tries++) {
		uint64_t s1 = __atomic_load_n(&f->seq, __ATOMIC_ACQUIRE);

		if (s1 & 1)
			continue;
		probe(f, key, home, now, p);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (LOAD(&f->seq) == s1)
			return;
	}
	pthread_mutex_lock(&f->lock);
	probe(f, key, home, now, p);
	pthread_mutex_unlock(&f->lock);
}

static void
slot_set(struct fdb_slot *s, uint64_t key, const struct peer *owner,
    uint64_t last_seen)
{
	STORE(&s->key, key);
	STORE(&s->owner, owner);
	STORE(&s->last_seen_ms, last_seen);
}

static void
slot_copy(struct fdb_slot *to, const struct fdb_slot *from)
{
	slot_set(to, LOAD(&from->key), LOAD(&from->owner),
	    LOAD(&from->last_seen_ms));
}

/* Backward-shift deletion, under the writer's lock: walk the cluster
 * after the hole and pull back every entry whose home does not lie
 * between the hole and itself. */
static void
fdb_remove_at(struct fdb *f, size_t hole)
{
	size_t i, home;
	uint64_t k;

	for (i = (hole + 1) & f->mask; (k = LOAD(&f->slots[i].key)) != 0;
	    i = (i + 1) & f->mask) {
		home = fdb_home(f, k);
		if (((i - home) & f->mask) >= ((i - hole) & f->mask)) {
			slot_copy(&f->slots[hole], &f->slots[i]);
			hole = i;
		}
	}
	slot_set(&f->slots[hole], 0, NULL, 0);
	STORE(&f->count, f->count - 1);
}

/* Starts just after a free slot: no cluster then straddles the start, and
 * a shift only moves entries not yet visited into the slot just examined,
 * which is examined again. */
static size_t
fdb_remove_if(struct fdb *f,
    bool (*pred)(const struct fdb *, const struct fdb_slot *, const void *),
    const void *arg)
{
	size_t start, i, n, removed = 0;

	write_begin(f);
	for (start = 0; LOAD(&f->slots[start].key) != 0; start++)
		;
	for (n = 1; n <= f->mask; n++) {
		i = (start + n) & f->mask;
		while (LOAD(&f->slots[i].key) != 0 &&
		    pred(f, &f->slots[i], arg)) {
			fdb_remove_at(f, i);
			removed++;
		}
	}
	write_end(f);
	return removed;
}

struct fdb *
fdb_create(uint32_t max_entries, uint64_t aging_ms)
{
	struct fdb *f;
	size_t nslots;

	if (max_entries == 0 || max_entries > FDB_MAX_ENTRIES || aging_ms == 0)
		return NULL;
	if (sodium_init() < 0)
		return NULL;
	for (nslots = 1; nslots < 2 * (size_t)max_entries; nslots <<= 1)
		;
	if ((f = calloc(1, sizeof(*f) + nslots * sizeof(f->slots[0]))) == NULL)
		return NULL;
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		free(f);
		return NULL;
	}
	f->mask = nslots - 1;
	f->max_entries = max_entries;
	f->aging_ms = aging_ms;
	randombytes_buf(f->key, sizeof(f->key));
	return f;
}

void
fdb_destroy(struct fdb *f)
{
	if (f == NULL)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* The slow path of fdb_learn, under the writer's lock: the probe again,
 * as the table may have changed since the lock-free one. */
static enum fdb_learn_result
fdb_learn_locked(struct fdb *f, uint64_t key, size_t home,
    const struct peer *owner, uint64_t now)
{
	struct fdb_slot *s;
	struct probe p;
	enum fdb_learn_result r = FDB_LEARNED;

	probe(f, key, home, now, &p);
	if (p.found) {
		s = &f->slots[p.at];
		if (aged(f, p.last_seen, now))
			COUNT(&f->stats.learned, 1);
		else if (p.owner == owner)
			r = FDB_REFRESHED;
		else {
			COUNT(&f->stats.moved, 1);
			r = FDB_MOVED;
		}
		STORE(&s->owner, owner);
		STORE(&s->last_seen_ms, now);
		return r;
	}
	/* p.at is the free slot ending the chain. When full, an aged entry
	 * on the chain can give up its slot: the new MAC then sits before
	 * that free slot, where its own probe finds it. */
	if (f->count == f->max_entries) {
		if (!p.stale) {
			COUNT(&f->stats.full, 1);
			return FDB_FULL;
		}
		COUNT(&f->stats.expired, 1);
		p.at = p.stale_at;
	} else
		STORE(&f->count, f->count + 1);
	slot_set(&f->slots[p.at], key, owner, now);
	COUNT(&f->stats.learned, 1);
	return FDB_LEARNED;
}

enum fdb_learn_result
fdb_learn(struct fdb *f, const uint8_t mac[6], const struct peer *owner,
    uint64_t now_ms)
{
	uint64_t key = mac_key(mac);
	size_t home = fdb_home(f, key);
	enum fdb_learn_result r;
	struct probe p;

	if (!mac_is_valid_source(mac))
		return FDB_INVALID;
	/* Known, same owner, alive: one store, no lock. Should a writer have
	 * moved the slot meanwhile, another entry lives a little longer. */
	probe_read(f, key, home, now_ms, &p);
	if (p.found && p.owner == owner && !aged(f, p.last_seen, now_ms)) {
		if (p.last_seen != now_ms)
			STORE(&f->slots[p.at].last_seen_ms, now_ms);
		return FDB_REFRESHED;
	}
	/* A flood of new MACs into a full table must not queue the workers
	 * on the mutex: nothing on the chain may give way. */
	if (!p.found && !p.stale && LOAD(&f->count) == f->max_entries) {
		COUNT(&f->stats.full, 1);
		return FDB_FULL;
	}
	write_begin(f);
	r = fdb_learn_locked(f, key, home, owner, now_ms);
	write_end(f);
	return r;
}

bool
fdb_lookup(const struct fdb *f, const uint8_t mac[6], uint64_t now_ms,
    const struct peer **owner)
{
	uint64_t key = mac_key(mac);
	struct probe p;

	/* The mutex of a const table is still ours to take. */
	probe_read((struct fdb *)f, key, fdb_home(f, key), now_ms, &p);
	if (!p.found || aged(f, p.last_seen, now_ms))
		return false;
	*owner = p.owner;
	return true;
}

static bool
pred_aged(const struct fdb *f, const struct fdb_slot *s, const void *now)
{
	return aged(f, LOAD(&s->last_seen_ms), *(const uint64_t *)now);
}

size_t
fdb_expire(struct fdb *f, uint64_t now_ms)
{
	size_t n;

	n = fdb_remove_if(f, pred_aged, &now_ms);
	COUNT(&f->stats.expired, n);
	return n;
}

static bool
pred_owner(const struct fdb *f, const struct fdb_slot *s, const void *owner)
{
	return LOAD(&s->owner) == owner;
}

size_t
fdb_flush_owner(struct fdb *f, const struct peer *owner)
{
	return fdb_remove_if(f, pred_owner, owner);
}

size_t
fdb_remap(struct fdb *f, const struct peer *(*map)(const struct peer *,
    void *), void *arg)
{
	/* The table's own address is never a peer's: it marks the entries
	 * whose owner has no successor, removed in one pass afterwards. */
	const struct peer *gone = (const struct peer *)(const void *)f;

	write_begin(f);
	for (size_t i = 0; i <= f->mask; i++) {
		struct fdb_slot *s = &f->slots[i];
		const struct peer *was = LOAD(&s->owner), *to;

		if (LOAD(&s->key) == 0 || was == NULL)
			continue;
		to = map(was, arg);
		STORE(&s->owner, to != NULL ? to : gone);
	}
	write_end(f);
	return fdb_flush_owner(f, gone);
}

void
fdb_set_aging(struct fdb *f, uint64_t aging_ms)
{
	if (aging_ms > 0)
		STORE(&f->aging_ms, aging_ms);
}

size_t
fdb_count(const struct fdb *f)
{
	return LOAD(&f->count);
}

size_t
fdb_capacity(const struct fdb *f)
{
	return f->max_entries;
}

uint64_t
fdb_aging_ms(const struct fdb *f)
{
	return LOAD(&f->aging_ms);
}

struct fdb_stats
fdb_stats(const struct fdb *f)
{
	struct fdb_stats st = {
		.learned = LOAD(&f->stats.learned),
		.moved = LOAD(&f->stats.moved),
		.full = LOAD(&f->stats.full),
		.expired = LOAD(&f->stats.expired),
	};

	return st;
}

void
fdb_foreach(const struct fdb *f, uint64_t now_ms,
    void (*fn)(const struct fdb_entry *, void *), void *arg)
{
	struct fdb *w = (struct fdb *)f;

	/* Under the mutex: a consistent listing, and no slot moves under
	 * the walk. */
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i <= f->mask; i++) {
		const struct fdb_slot *s = &f->slots[i];
		struct fdb_entry e;
		uint64_t k = LOAD(&s->key);

		if (k == 0)
			continue;
		e.owner = LOAD(&s->owner);
		e.last_seen_ms = LOAD(&s->last_seen_ms);
		if (aged(f, e.last_seen_ms, now_ms))
			continue;
		key_mac(k, e.mac);
		fn(&e, arg);
	}
	pthread_mutex_unlock(&w->lock);
}

bool
mac_is_multicast(const uint8_t mac[6])
{
	return (mac[0] & 0x01) != 0;
}

bool
mac_is_valid_source(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !mac_is_multicast(mac) && memcmp(mac, zero, sizeof(zero)) != 0;
}
