/* The MAC table: which peer each learned MAC lives behind, or the local TAP.
 * Bounded in size, entries age out, and a MAC seen behind a new owner moves
 * there, as in a Linux bridge. A full table makes room for a new MAC by
 * evicting an entry of the owner holding the most (Open vSwitch's fair
 * eviction), so no one peer can keep the others' MACs out. Time is passed
 * in by the caller, so tests drive aging with their own clock. */
#ifndef OVT_FDB_H
#define OVT_FDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peer;

/* What fdb_foreach shows of an entry: a copy, valid during the call.
 * owner == NULL means "behind the local TAP". */
struct fdb_entry {
	uint8_t			 mac[6];
	const struct peer	*owner;
	uint64_t		 last_seen_ms;
};

enum fdb_learn_result {
	FDB_REFRESHED,		/* known, same owner, timestamp updated */
	FDB_LEARNED,		/* new entry (a full table evicted one) */
	FDB_MOVED,		/* known, owner changed */
	FDB_INVALID,		/* multicast/broadcast or all-zero source */
};

struct fdb_stats {
	uint64_t	learned;
	uint64_t	moved;
	uint64_t	evicted;	/* live entries given up to a new MAC */
	uint64_t	expired;	/* aged entries removed or replaced */
};

/* Threads: workers call fdb_lookup and fdb_learn concurrently, the main
 * thread any function; none needs a lock around it.
 * - fdb_lookup, and fdb_learn's search, take no lock: they read under a
 *   sequence count and search again when a writer got in the way (one
 *   that keeps losing that race waits on the lock, once).
 * - fdb_learn of a known MAC, same owner, not aged, takes no lock either:
 *   most frames are that, from every worker. It writes only when the
 *   millisecond changes, so a burst leaves the shared cache line clean,
 *   and then claims just that slot (a compare-and-swap), so the write
 *   cannot land on an entry a writer is moving.
 * - Every other change takes the table's lock: a new MAC (and the
 *   eviction a full table makes for it), a move, an aged entry relearned,
 *   fdb_expire, fdb_flush_owner, fdb_remap, fdb_set_aging. So do
 *   fdb_foreach, for a consistent listing (its fn must not call back into
 *   the table), and fdb_owner_count.
 * - fdb_count, fdb_stats, fdb_capacity, fdb_aging_ms just read. */
struct fdb;

/* max_entries >= 1; aging_ms > 0. NULL on allocation failure. */
struct fdb	*fdb_create(uint32_t max_entries, uint64_t aging_ms);
void		 fdb_destroy(struct fdb *);

enum fdb_learn_result fdb_learn(struct fdb *, const uint8_t mac[6],
		     const struct peer *owner, uint64_t now_ms);
/* True when mac is known and not aged out; *owner is set then. */
bool		 fdb_lookup(const struct fdb *, const uint8_t mac[6],
		     uint64_t now_ms, const struct peer **owner);
/* Removes aged entries; returns how many. */
size_t		 fdb_expire(struct fdb *, uint64_t now_ms);
/* Forgets every entry behind owner (a peer removed by a reload). */
size_t		 fdb_flush_owner(struct fdb *, const struct peer *owner);
/* After a reload: every peer-owned entry moves to map(owner), or goes
 * when map returns NULL. Returns how many went. map may be called more
 * than once for an owner, under the table's lock: it must only look up. */
size_t		 fdb_remap(struct fdb *, const struct peer *(*map)(
		     const struct peer *, void *), void *arg);
void		 fdb_set_aging(struct fdb *, uint64_t aging_ms);
size_t		 fdb_count(const struct fdb *);
/* How many entries owner holds, aged ones not yet expired included. */
size_t		 fdb_owner_count(const struct fdb *, const struct peer *owner);
size_t		 fdb_capacity(const struct fdb *);	/* max_entries */
uint64_t	 fdb_aging_ms(const struct fdb *);
/* A snapshot: each counter read atomically, not all at one instant. */
struct fdb_stats fdb_stats(const struct fdb *);
/* Calls fn for every live entry, in no particular order. */
void		 fdb_foreach(const struct fdb *, uint64_t now_ms,
		     void (*fn)(const struct fdb_entry *, void *), void *arg);

/* Multicast (incl. broadcast) or all-zero: never a valid source MAC. */
bool		 mac_is_valid_source(const uint8_t mac[6]);
bool		 mac_is_multicast(const uint8_t mac[6]);

#endif
