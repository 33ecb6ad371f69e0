/* Open addressing with linear probing. Deletion shifts the rest of the
 * cluster back instead of leaving tombstones, so probe chains never rot
 * under churn. The table is sized once (load <= 1/2) and never grows: the
 * source MACs come from the wire, so memory must not follow them.
 *
 * Readers take no lock: every field they see change is one word, loaded
 * atomically, and a sequence count, odd while a writer is at work, tells
 * them to look again. Writers hold the lock. The one exception is the
 * refresh of a known entry's timestamp, done by workers without the lock
 * and out of the sequence. It claims the slot with a bit in its key: a
 * refresh must never land on a slot that has changed hands since its
 * probe, so a writer moving, replacing or removing an entry claims the
 * slot first.
 *
 * A full table takes a new MAC anyway: an aged entry on its chain makes
 * room if there is one, else the owner holding the most entries (the
 * learner itself on a tie) gives up the oldest of a few of them, as in
 * Open vSwitch. A flooding peer then evicts its own entries and nobody
 * else's. The counts per owner live beside the table, under the lock. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fdb.h"

#define FDB_MAX_ENTRIES	(1U << 24)
/* A reader racing writers that long queues on the lock instead. */
#define FDB_READ_TRIES	64
#define FDB_NO_SLOT	SIZE_MAX
/* Entries of the evicted owner an eviction compares, oldest goes. */
#define FDB_EVICT_SAMPLE 8

/* The sequence orders everything else, so single fields need no more. */
#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ADD(p, n)	__atomic_fetch_add((p), (n), __ATOMIC_RELAXED)

/* Held by a refresher, or by a writer shutting refreshers out. */
#define FDB_CLAIMED	(1ULL << 63)

struct fdb_slot {
	/* The MAC's 48 bits, compared in one load, and FDB_CLAIMED. An
	 * all-zero MAC is never learned, so key 0 marks a free slot. */
	uint64_t		 key;
	const struct peer	*owner;
	uint64_t		 last_seen_ms;
};

struct fdb_owner {
	const struct peer	*owner;
	uint32_t		 entries;
};

struct fdb {
	/* What every probe reads; written only under the lock. */
	uint32_t		 seq;		/* odd while a writer works */
	uint32_t		 max_entries;
	size_t			 mask;		/* slots - 1 */
	size_t			 count;
	uint64_t		 aging_ms;
	struct fdb_slot		*slots;
	/* Keyed so hostile source MACs cannot aim at one probe chain. */
	uint8_t			 key[crypto_shorthash_KEYBYTES];
	/* A line apart: workers queueing on the lock, and what writers
	 * count, do not take the above from the readers. */
	pthread_mutex_t		 lock __attribute__((aligned(64)));
	struct fdb_stats	 stats;
	/* Under the lock, never read by a probe: the entries of each owner
	 * that has any. There are never more owners than entries, so
	 * max_entries records always suffice. */
	struct fdb_owner	*owners;	/* n_owners, packed */
	uint32_t		*owner_index;	/* mask + 1: 1 + record, 0 free */
	size_t			 n_owners;
	size_t			 evict_hand;	/* where the next eviction looks */
};

/* What one pass over a key's probe chain saw. */
struct fdb_probe {
	size_t			 slot;	/* the key's, else the free one after */
	size_t			 stale;	/* an aged entry on the way, or none */
	size_t			 count;
	bool			 found;
	bool			 aged;	/* found, but aged out */
	const struct peer	*owner;
	uint64_t		 last_seen_ms;
};

static uint64_t
mac_key(const uint8_t mac[6])
{
	return (uint64_t)mac[0] << 40 | (uint64_t)mac[1] << 32 |
	    (uint64_t)mac[2] << 24 | (uint64_t)mac[3] << 16 |
	    (uint64_t)mac[4] << 8 | mac[5];
}

static void
key_mac(uint64_t key, uint8_t mac[6])
{
	int i;

	for (i = 5; i >= 0; i--, key >>= 8)
		mac[i] = (uint8_t)key;
}

static size_t
fdb_home(const struct fdb *f, const uint8_t mac[6])
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, mac, 6, f->key);
	memcpy(&h, out, sizeof(h));
	return (size_t)h & f->mask;
}

static uint64_t
slot_key(const struct fdb *f, size_t i)
{
	return LOAD(&f->slots[i].key) & ~FDB_CLAIMED;
}

/* A clock that steps back must not age everything out at once. */
static bool
fdb_aged(uint64_t aging_ms, uint64_t last_seen_ms, uint64_t now_ms)
{
	return now_ms > last_seen_ms && now_ms - last_seen_ms >= aging_ms;
}

/* Readers hold the table const; the lock is what they may still take. */
static void
fdb_lock(const struct fdb *f)
{
	pthread_mutex_lock((pthread_mutex_t *)&f->lock);
}

static void
fdb_unlock(const struct fdb *f)
{
	pthread_mutex_unlock((pthread_mutex_t *)&f->lock);
}

/* One pass as a seqlock reader: false when a writer got in the way. A
 * chain never spans the table, but a pass torn by a writer might see
 * one that does, hence the bound. */
static bool
fdb_probe_once(const struct fdb *f, uint64_t key, size_t home,
    uint64_t now_ms, struct fdb_probe *p)
{
	const struct fdb_slot *s;
	uint64_t aging, k, last;
	uint32_t seq;
	size_t i, n;

	if ((seq = __atomic_load_n(&f->seq, __ATOMIC_ACQUIRE)) & 1)
		return false;
	aging = LOAD(&f->aging_ms);
	p->count = LOAD(&f->count);
	p->stale = FDB_NO_SLOT;
	p->found = false;
	for (i = home, n = 0; n <= f->mask; i = (i + 1) & f->mask, n++) {
		s = &f->slots[i];
		if ((k = slot_key(f, i)) == 0)
			break;
		last = LOAD(&s->last_seen_ms);
		if (k == key) {
			p->found = true;
			p->aged = fdb_aged(aging, last, now_ms);
			p->owner = LOAD(&s->owner);
			p->last_seen_ms = last;
			break;
		}
		if (p->stale == FDB_NO_SLOT && fdb_aged(aging, last, now_ms))
			p->stale = i;
	}
	p->slot = i;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&f->seq, __ATOMIC_RELAXED) == seq;
}

static void
fdb_probe(const struct fdb *f, uint64_t key, size_t home, uint64_t now_ms,
    struct fdb_probe *p)
{
	int tries;

	/* The last pass is under the lock, where no writer gets in the way. */
	for (tries = 0; !fdb_probe_once(f, key, home, now_ms, p); tries++)
		if (tries == FDB_READ_TRIES)
			fdb_lock(f);
	if (tries > FDB_READ_TRIES)
		fdb_unlock(f);
}

/* Writers, under the lock, bracket every change readers could see. */
static void
fdb_write_begin(struct fdb *f)
{
	STORE(&f->seq, LOAD(&f->seq) + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
fdb_write_end(struct fdb *f)
{
	__atomic_store_n(&f->seq, LOAD(&f->seq) + 1, __ATOMIC_RELEASE);
}

/* Fails while someone else holds the slot, or once it holds another key. */
static bool
fdb_try_claim(struct fdb *f, size_t i, uint64_t key)
{
	return __atomic_compare_exchange_n(&f->slots[i].key, &key,
	    key | FDB_CLAIMED, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Writers only: a refresher holds a claim for a few instructions. */
static void
fdb_claim(struct fdb *f, size_t i, uint64_t key)
{
	while (!fdb_try_claim(f, i, key))
		sched_yield();
}

/* Also how a slot takes a new key: whoever claims it next sees the
 * fields stored before. */
static void
fdb_release(struct fdb *f, size_t i, uint64_t key)
{
	__atomic_store_n(&f->slots[i].key, key, __ATOMIC_RELEASE);
}

/* Fills a claimed or free slot, and releases it. */
static void
fdb_set(struct fdb *f, size_t i, uint64_t key, const struct peer *owner,
    uint64_t now_ms)
{
	STORE(&f->slots[i].owner, owner);
	STORE(&f->slots[i].last_seen_ms, now_ms);
	fdb_release(f, i, key);
}

static void
fdb_rewrite(struct fdb *f, size_t i, uint64_t key, const struct peer *owner,
    uint64_t now_ms)
{
	fdb_write_begin(f);
	fdb_set(f, i, key, owner, now_ms);
	fdb_write_end(f);
}

typedef bool fdb_pred(const struct fdb *, const struct fdb_slot *,
    const void *);

/* Claims live slot i if pred holds, and still holds once no refresh can
 * change the entry under it. */
static bool
fdb_claim_if(struct fdb *f, size_t i, fdb_pred *pred, const void *arg)
{
	uint64_t key;

	if ((key = slot_key(f, i)) == 0 || !pred(f, &f->slots[i], arg))
		return false;
	fdb_claim(f, i, key);
	if (pred(f, &f->slots[i], arg))
		return true;
	fdb_release(f, i, key);
	return false;
}

/* Owners are our caller's pointers, not the wire's: a plain
 * multiplicative hash spreads them. */
static size_t
owner_home(const struct fdb *f, const struct peer *owner)
{
	return (size_t)(((uint64_t)(uintptr_t)owner *
	    0x9e3779b97f4a7c15ULL) >> 32) & f->mask;
}

/* The owner's index slot, or the free one where it would go. */
static size_t
owner_find(const struct fdb *f, const struct peer *owner)
{
	uint32_t rec;
	size_t i;

	for (i = owner_home(f, owner); (rec = f->owner_index[i]) != 0;
	    i = (i + 1) & f->mask)
		if (f->owners[rec - 1].owner == owner)
			break;
	return i;
}

/* An owner down to no entries goes: backward-shift deletion of its index
 * slot (as fdb_remove_at's), then the last record fills its place. */
static void
owner_forget(struct fdb *f, size_t slot)
{
	size_t i, hole = slot, rec = f->owner_index[slot] - 1, last;
	uint32_t r;

	for (i = (hole + 1) & f->mask; (r = f->owner_index[i]) != 0;
	    i = (i + 1) & f->mask) {
		if (((i - owner_home(f, f->owners[r - 1].owner)) & f->mask) >=
		    ((i - hole) & f->mask)) {
			f->owner_index[hole] = r;
			hole = i;
		}
	}
	f->owner_index[hole] = 0;
	if (rec != (last = --f->n_owners)) {
		f->owners[rec] = f->owners[last];
		f->owner_index[owner_find(f, f->owners[rec].owner)] =
		    (uint32_t)rec + 1;
	}
}

/* Under the lock, for every entry that gets or loses its owner. */
static void
owner_add(struct fdb *f, const struct peer *owner, int delta)
{
	size_t i = owner_find(f, owner);
	uint32_t rec = f->owner_index[i];

	if (rec == 0) {
		f->owners[f->n_owners] = (struct fdb_owner){ owner, 0 };
		f->owner_index[i] = rec = (uint32_t)++f->n_owners;
	}
	if ((f->owners[rec - 1].entries += delta) == 0)
		owner_forget(f, i);
}

/* The slot's entry changes owner (a move, an aged entry relearned, a
 * reload's remap). The old one's count falls first: the owners then
 * never outnumber the entries. */
static void
owner_change(struct fdb *f, size_t i, const struct peer *owner)
{
	const struct peer *old = LOAD(&f->slots[i].owner);

	if (old == owner)
		return;
	owner_add(f, old, -1);
	owner_add(f, owner, 1);
}

/* Backward-shift deletion of claimed slot hole: walk the cluster after
 * the hole and pull back every entry whose home does not lie between the
 * hole and itself. */
static void
fdb_remove_at(struct fdb *f, size_t hole)
{
	const struct fdb_slot *s;
	uint8_t mac[6];
	uint64_t key;
	size_t i, home;

	owner_add(f, LOAD(&f->slots[hole].owner), -1);
	for (i = (hole + 1) & f->mask; (key = slot_key(f, i)) != 0;
	    i = (i + 1) & f->mask) {
		key_mac(key, mac);
		home = fdb_home(f, mac);
		if (((i - home) & f->mask) >= ((i - hole) & f->mask)) {
			s = &f->slots[i];
			fdb_claim(f, i, key);
			fdb_set(f, hole, key, LOAD(&s->owner),
			    LOAD(&s->last_seen_ms));
			hole = i;
		}
	}
	fdb_set(f, hole, 0, NULL, 0);
	STORE(&f->count, LOAD(&f->count) - 1);
}

/* Starts just after a free slot: no cluster then straddles the start, and
 * a shift only moves entries not yet visited into the slot just examined,
 * which is examined again. Each removal is its own write, so readers
 * never wait for a whole sweep. */
static size_t
fdb_remove_if(struct fdb *f, fdb_pred *pred, const void *arg)
{
	size_t start, i, n, removed = 0;

	for (start = 0; slot_key(f, start) != 0; start++)
		;
	for (n = 1; n <= f->mask; n++) {
		i = (start + n) & f->mask;
		while (fdb_claim_if(f, i, pred, arg)) {
			fdb_write_begin(f);
			fdb_remove_at(f, i);
			fdb_write_end(f);
			removed++;
		}
	}
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
	if ((f = aligned_alloc(_Alignof(struct fdb), sizeof(*f))) == NULL)
		return NULL;
	memset(f, 0, sizeof(*f));
	/* Pages of the owner tables no owner hashes to are never touched,
	 * so never resident. */
	if ((f->slots = calloc(nslots, sizeof(f->slots[0]))) == NULL ||
	    (f->owners = calloc(max_entries, sizeof(f->owners[0]))) == NULL ||
	    (f->owner_index = calloc(nslots,
	    sizeof(f->owner_index[0]))) == NULL ||
	    pthread_mutex_init(&f->lock, NULL) != 0) {
		free(f->owner_index);
		free(f->owners);
		free(f->slots);
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
	free(f->owner_index);
	free(f->owners);
	free(f->slots);
	free(f);
}

/* The one write without the lock: a known entry, same owner, not aged,
 * gets a new timestamp. Readers see the old one or the new, both right. */
static bool
fdb_refresh(struct fdb *f, size_t i, uint64_t key, const struct peer *owner,
    uint64_t now_ms)
{
	struct fdb_slot *s = &f->slots[i];
	bool same;

	if (!fdb_try_claim(f, i, key))
		return false;
	same = LOAD(&s->owner) == owner && !fdb_aged(LOAD(&f->aging_ms),
	    LOAD(&s->last_seen_ms), now_ms);
	if (same)
		STORE(&s->last_seen_ms, now_ms);
	fdb_release(f, i, key);
	return same;
}

static enum fdb_learn_result
fdb_update(struct fdb *f, size_t i, uint64_t key, const struct peer *owner,
    uint64_t now_ms)
{
	const struct fdb_slot *s = &f->slots[i];
	enum fdb_learn_result r;

	fdb_claim(f, i, key);
	if (fdb_aged(LOAD(&f->aging_ms), LOAD(&s->last_seen_ms), now_ms)) {
		ADD(&f->stats.learned, 1);
		r = FDB_LEARNED;
	} else if (LOAD(&s->owner) == owner) {
		r = FDB_REFRESHED;
	} else {
		ADD(&f->stats.moved, 1);
		r = FDB_MOVED;
	}
	owner_change(f, i, owner);
	fdb_rewrite(f, i, key, owner, now_ms);
	return r;
}

static bool
pred_aged(const struct fdb *f, const struct fdb_slot *s, const void *now)
{
	return fdb_aged(LOAD(&f->aging_ms), LOAD(&s->last_seen_ms),
	    *(const uint64_t *)now);
}

/* Who gives up an entry to learner's new MAC: the owner holding the
 * most, learner itself if it holds as many. */
static const struct peer *
fdb_victim(const struct fdb *f, const struct peer *learner)
{
	const struct fdb_owner *top = NULL;
	uint32_t rec;
	size_t i;

	if ((rec = f->owner_index[owner_find(f, learner)]) != 0)
		top = &f->owners[rec - 1];
	for (i = 0; i < f->n_owners; i++)
		if (top == NULL || f->owners[i].entries > top->entries)
			top = &f->owners[i];
	return top->owner;
}

/* Removes an aged entry, the first one after where the last eviction
 * stopped, or, meeting none before it has seen a few of the victim's, the
 * oldest of those: evictions sweep the table. The victim holds at least
 * one entry, so there is one to find. */
static void
fdb_evict(struct fdb *f, const struct peer *learner, uint64_t now_ms)
{
	const struct peer *victim = fdb_victim(f, learner);
	uint64_t aging = LOAD(&f->aging_ms), last, oldest = 0;
	size_t i, n, seen = 0, pick = FDB_NO_SLOT;
	bool aged = false;

	for (i = f->evict_hand, n = 0; n <= f->mask && seen <
	    FDB_EVICT_SAMPLE && !aged; i = (i + 1) & f->mask, n++) {
		if (slot_key(f, i) == 0)
			continue;
		last = LOAD(&f->slots[i].last_seen_ms);
		if ((aged = fdb_aged(aging, last, now_ms))) {
			pick = i;
		} else if (LOAD(&f->slots[i].owner) == victim &&
		    (seen++ == 0 || last < oldest)) {
			oldest = last;
			pick = i;
		}
	}
	f->evict_hand = i;
	if (aged) {
		/* Unless a refresh just brought it back: look again. */
		if (!fdb_claim_if(f, pick, pred_aged, &now_ms)) {
			fdb_evict(f, learner, now_ms);
			return;
		}
		ADD(&f->stats.expired, 1);
	} else {
		fdb_claim(f, pick, slot_key(f, pick));
		ADD(&f->stats.evicted, 1);
	}
	fdb_write_begin(f);
	fdb_remove_at(f, pick);
	fdb_write_end(f);
}

static enum fdb_learn_result
fdb_learn_locked(struct fdb *f, uint64_t key, size_t home,
    const struct peer *owner, uint64_t now_ms)
{
	struct fdb_probe p;

	/* Under the lock the probe needs no second pass. */
	fdb_probe_once(f, key, home, now_ms, &p);
	if (p.found)
		return fdb_update(f, p.slot, key, owner, now_ms);
	if (p.count == f->max_entries) {
		/* An aged entry on the chain gives up its slot, and the new
		 * MAC sits before the free slot, where its own probe finds
		 * it. Unless a refresh just brought it back. */
		if (p.stale != FDB_NO_SLOT &&
		    fdb_claim_if(f, p.stale, pred_aged, &now_ms)) {
			owner_change(f, p.stale, owner);
			fdb_rewrite(f, p.stale, key, owner, now_ms);
			ADD(&f->stats.expired, 1);
			ADD(&f->stats.learned, 1);
			return FDB_LEARNED;
		}
		/* The shift moves the chain: look for the free slot again. */
		fdb_evict(f, owner, now_ms);
		fdb_probe_once(f, key, home, now_ms, &p);
	}
	owner_add(f, owner, 1);
	fdb_write_begin(f);
	fdb_set(f, p.slot, key, owner, now_ms);
	STORE(&f->count, p.count + 1);
	fdb_write_end(f);
	ADD(&f->stats.learned, 1);
	return FDB_LEARNED;
}

enum fdb_learn_result
fdb_learn(struct fdb *f, const uint8_t mac[6], const struct peer *owner,
    uint64_t now_ms)
{
	enum fdb_learn_result r;
	struct fdb_probe p;
	uint64_t key;
	size_t home;

	if (!mac_is_valid_source(mac))
		return FDB_INVALID;
	key = mac_key(mac);
	home = fdb_home(f, mac);
	fdb_probe(f, key, home, now_ms, &p);
	/* Most frames: a known MAC, same owner, often the same millisecond,
	 * which leaves the cache line clean. */
	if (p.found && !p.aged && p.owner == owner &&
	    (p.last_seen_ms == now_ms ||
	    fdb_refresh(f, p.slot, key, owner, now_ms)))
		return FDB_REFRESHED;
	fdb_lock(f);
	r = fdb_learn_locked(f, key, home, owner, now_ms);
	fdb_unlock(f);
	return r;
}

bool
fdb_lookup(const struct fdb *f, const uint8_t mac[6], uint64_t now_ms,
    const struct peer **owner)
{
	uint64_t key = mac_key(mac);
	struct fdb_probe p;

	fdb_probe(f, key, fdb_home(f, mac), now_ms, &p);
	if (!p.found || p.aged)
		return false;
	*owner = p.owner;
	return true;
}

size_t
fdb_expire(struct fdb *f, uint64_t now_ms)
{
	size_t n;

	fdb_lock(f);
	n = fdb_remove_if(f, pred_aged, &now_ms);
	ADD(&f->stats.expired, n);
	fdb_unlock(f);
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
	size_t n;

	fdb_lock(f);
	n = fdb_remove_if(f, pred_owner, owner);
	fdb_unlock(f);
	return n;
}

struct fdb_map {
	const struct peer	*(*fn)(const struct peer *, void *);
	void			*arg;
};

static bool
pred_unmapped(const struct fdb *f, const struct fdb_slot *s, const void *m)
{
	const struct fdb_map *map = m;
	const struct peer *owner = LOAD(&s->owner);

	return owner != NULL && map->fn(owner, map->arg) == NULL;
}

/* Removes first, then maps what is left: a pass that maps never shifts
 * an entry into a slot it has mapped already, and no reader ever sees an
 * owner that is neither the old peer nor the new. */
size_t
fdb_remap(struct fdb *f, const struct peer *(*map)(const struct peer *,
    void *), void *arg)
{
	const struct fdb_map m = { map, arg };
	const struct peer *owner;
	uint64_t key;
	size_t i, n;

	fdb_lock(f);
	n = fdb_remove_if(f, pred_unmapped, &m);
	for (i = 0; i <= f->mask; i++) {
		if ((key = slot_key(f, i)) == 0 ||
		    (owner = LOAD(&f->slots[i].owner)) == NULL)
			continue;
		owner = map(owner, arg);
		fdb_claim(f, i, key);
		owner_change(f, i, owner);
		fdb_rewrite(f, i, key, owner, LOAD(&f->slots[i].last_seen_ms));
	}
	fdb_unlock(f);
	return n;
}

/* One word, read once per probe: no sequence needed. The lock keeps it
 * steady through any one writer's work. */
void
fdb_set_aging(struct fdb *f, uint64_t aging_ms)
{
	if (aging_ms == 0)
		return;
	fdb_lock(f);
	STORE(&f->aging_ms, aging_ms);
	fdb_unlock(f);
}

size_t
fdb_count(const struct fdb *f)
{
	return LOAD(&f->count);
}

size_t
fdb_owner_count(const struct fdb *f, const struct peer *owner)
{
	uint32_t rec;
	size_t n;

	fdb_lock(f);
	rec = f->owner_index[owner_find(f, owner)];
	n = rec == 0 ? 0 : f->owners[rec - 1].entries;
	fdb_unlock(f);
	return n;
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
		.evicted = LOAD(&f->stats.evicted),
		.expired = LOAD(&f->stats.expired),
	};

	return st;
}

void
fdb_foreach(const struct fdb *f, uint64_t now_ms,
    void (*fn)(const struct fdb_entry *, void *), void *arg)
{
	struct fdb_entry ent;
	uint64_t key, aging;
	size_t i;

	fdb_lock(f);
	aging = LOAD(&f->aging_ms);
	for (i = 0; i <= f->mask; i++) {
		if ((key = slot_key(f, i)) == 0)
			continue;
		ent.last_seen_ms = LOAD(&f->slots[i].last_seen_ms);
		if (fdb_aged(aging, ent.last_seen_ms, now_ms))
			continue;
		key_mac(key, ent.mac);
		ent.owner = LOAD(&f->slots[i].owner);
		fn(&ent, arg);
	}
	fdb_unlock(f);
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
