/* Open addressing with linear probing. Deletion shifts the rest of the
 * cluster back instead of leaving tombstones, so probe chains never rot
 * under churn. The table is sized once (load <= 1/2) and never grows: the
 * source MACs come from the wire, so memory must not follow them. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fdb.h"

#define FDB_MAX_ENTRIES	(1U << 24)

struct fdb {
	size_t			 mask;		/* slots - 1 */
	size_t			 count;
	uint32_t		 max_entries;
	uint64_t		 aging_ms;
	struct fdb_stats	 stats;
	/* Keyed so hostile source MACs cannot aim at one probe chain. */
	uint8_t			 key[crypto_shorthash_KEYBYTES];
	/* An all-zero MAC is never learned, so it marks a free slot. */
	struct fdb_entry	 slots[];
};

static bool
slot_free(const struct fdb_entry *e)
{
	static const uint8_t zero[6];

	return memcmp(e->mac, zero, sizeof(zero)) == 0;
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

/* A clock that steps back must not age everything out at once. */
static bool
fdb_aged(const struct fdb *f, const struct fdb_entry *e, uint64_t now_ms)
{
	return now_ms > e->last_seen_ms &&
	    now_ms - e->last_seen_ms >= f->aging_ms;
}

static const struct fdb_entry *
fdb_find(const struct fdb *f, const uint8_t mac[6])
{
	const struct fdb_entry *e;
	size_t i;

	for (i = fdb_home(f, mac); !slot_free(e = &f->slots[i]);
	    i = (i + 1) & f->mask)
		if (memcmp(e->mac, mac, 6) == 0)
			return e;
	return NULL;
}

/* Backward-shift deletion: walk the cluster after the hole and pull back
 * every entry whose home does not lie between the hole and itself. */
static void
fdb_remove_at(struct fdb *f, size_t hole)
{
	size_t i, home;

	for (i = (hole + 1) & f->mask; !slot_free(&f->slots[i]);
	    i = (i + 1) & f->mask) {
		home = fdb_home(f, f->slots[i].mac);
		if (((i - home) & f->mask) >= ((i - hole) & f->mask)) {
			f->slots[hole] = f->slots[i];
			hole = i;
		}
	}
	memset(&f->slots[hole], 0, sizeof(f->slots[hole]));
	f->count--;
}

/* Starts just after a free slot: no cluster then straddles the start, and
 * a shift only moves entries not yet visited into the slot just examined,
 * which is examined again. */
static size_t
fdb_remove_if(struct fdb *f,
    bool (*pred)(const struct fdb *, const struct fdb_entry *, const void *),
    const void *arg)
{
	size_t start, i, n, removed = 0;

	for (start = 0; !slot_free(&f->slots[start]); start++)
		;
	for (n = 1; n <= f->mask; n++) {
		i = (start + n) & f->mask;
		while (!slot_free(&f->slots[i]) && pred(f, &f->slots[i], arg)) {
			fdb_remove_at(f, i);
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
	if ((f = calloc(1, sizeof(*f) + nslots * sizeof(f->slots[0]))) == NULL)
		return NULL;
	f->mask = nslots - 1;
	f->max_entries = max_entries;
	f->aging_ms = aging_ms;
	randombytes_buf(f->key, sizeof(f->key));
	return f;
}

void
fdb_destroy(struct fdb *f)
{
	free(f);
}

static enum fdb_learn_result
fdb_update(struct fdb *f, struct fdb_entry *e, const struct peer *owner,
    uint64_t now_ms)
{
	enum fdb_learn_result r;

	if (fdb_aged(f, e, now_ms)) {
		f->stats.learned++;
		r = FDB_LEARNED;
	} else if (e->owner == owner) {
		r = FDB_REFRESHED;
	} else {
		f->stats.moved++;
		r = FDB_MOVED;
	}
	e->owner = owner;
	e->last_seen_ms = now_ms;
	return r;
}

enum fdb_learn_result
fdb_learn(struct fdb *f, const uint8_t mac[6], const struct peer *owner,
    uint64_t now_ms)
{
	struct fdb_entry *e, *stale = NULL;
	size_t i;

	if (!mac_is_valid_source(mac))
		return FDB_INVALID;
	for (i = fdb_home(f, mac); !slot_free(e = &f->slots[i]);
	    i = (i + 1) & f->mask) {
		if (memcmp(e->mac, mac, 6) == 0)
			return fdb_update(f, e, owner, now_ms);
		if (stale == NULL && fdb_aged(f, e, now_ms))
			stale = e;
	}
	/* e is the free slot ending the chain. When full, an aged entry on
	 * the chain can give up its slot: the new MAC then sits before that
	 * free slot, where its own probe finds it. */
	if (f->count == f->max_entries) {
		if (stale == NULL) {
			f->stats.full++;
			return FDB_FULL;
		}
		f->stats.expired++;
		e = stale;
	} else
		f->count++;
	memcpy(e->mac, mac, 6);
	e->owner = owner;
	e->last_seen_ms = now_ms;
	f->stats.learned++;
	return FDB_LEARNED;
}

bool
fdb_lookup(const struct fdb *f, const uint8_t mac[6], uint64_t now_ms,
    const struct peer **owner)
{
	const struct fdb_entry *e;

	if ((e = fdb_find(f, mac)) == NULL || fdb_aged(f, e, now_ms))
		return false;
	*owner = e->owner;
	return true;
}

static bool
pred_aged(const struct fdb *f, const struct fdb_entry *e, const void *now)
{
	return fdb_aged(f, e, *(const uint64_t *)now);
}

size_t
fdb_expire(struct fdb *f, uint64_t now_ms)
{
	size_t n;

	n = fdb_remove_if(f, pred_aged, &now_ms);
	f->stats.expired += n;
	return n;
}

static bool
pred_owner(const struct fdb *f, const struct fdb_entry *e, const void *owner)
{
	return e->owner == owner;
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

	for (size_t i = 0; i <= f->mask; i++) {
		struct fdb_entry *e = &f->slots[i];
		const struct peer *to;

		if (slot_free(e) || e->owner == NULL)
			continue;
		to = map(e->owner, arg);
		e->owner = to != NULL ? to : gone;
	}
	return fdb_flush_owner(f, gone);
}

void
fdb_set_aging(struct fdb *f, uint64_t aging_ms)
{
	if (aging_ms > 0)
		f->aging_ms = aging_ms;
}

size_t
fdb_count(const struct fdb *f)
{
	return f->count;
}

size_t
fdb_capacity(const struct fdb *f)
{
	return f->max_entries;
}

uint64_t
fdb_aging_ms(const struct fdb *f)
{
	return f->aging_ms;
}

const struct fdb_stats *
fdb_stats(const struct fdb *f)
{
	return &f->stats;
}

void
fdb_foreach(const struct fdb *f, uint64_t now_ms,
    void (*fn)(const struct fdb_entry *, void *), void *arg)
{
	size_t i;

	for (i = 0; i <= f->mask; i++)
		if (!slot_free(&f->slots[i]) && !fdb_aged(f, &f->slots[i], now_ms))
			fn(&f->slots[i], arg);
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
