/* The MAC table: which peer each learned MAC lives behind, or the local TAP.
 * Bounded in size, entries age out, and a MAC seen behind a new owner moves
 * there, as in a Linux bridge. Time is passed in by the caller, so tests
 * drive aging with their own clock.
 *
 * Threads: every function may be called from any thread at once. The
 * workers' calls on every frame take no lock: fdb_lookup, and fdb_learn
 * of a known MAC with the same owner (a refresh), or of a new one when
 * the table is full. Learning a new MAC, a move, fdb_expire, fdb_remap,
 * fdb_flush_owner and fdb_foreach take the table's mutex; lookups running
 * meanwhile retry, lock-free, and take the mutex only after a few
 * retries. */
#ifndef OVT_FDB_H
#define OVT_FDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peer;

/* owner == NULL means "behind the local TAP". */
struct fdb_entry {
	uint8_t			 mac[6];
	const struct peer	*owner;
	uint64_t		 last_seen_ms;
};

enum fdb_learn_result {
	FDB_REFRESHED,		/* known, same owner, timestamp updated */
	FDB_LEARNED,		/* new entry */
	FDB_MOVED,		/* known, owner changed */
	FDB_FULL,		/* new, but the table is at its limit */
	FDB_INVALID,		/* multicast/broadcast or all-zero source */
};

struct fdb_stats {
	uint64_t	learned;
	uint64_t	moved;
	uint64_t	full;		/* MACs not learned: table at its limit */
	uint64_t	expired;
};

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
 * when map returns NULL. Returns how many went. */
size_t		 fdb_remap(struct fdb *, const struct peer *(*map)(
		     const struct peer *, void *), void *arg);
void		 fdb_set_aging(struct fdb *, uint64_t aging_ms);
size_t		 fdb_count(const struct fdb *);
size_t		 fdb_capacity(const struct fdb *);	/* max_entries */
uint64_t	 fdb_aging_ms(const struct fdb *);
/* A snapshot of the totals. */
struct fdb_stats fdb_stats(const struct fdb *);
/* Calls fn for every live entry, in no particular order. */
void		 fdb_foreach(const struct fdb *, uint64_t now_ms,
		     void (*fn)(const struct fdb_entry *, void *), void *arg);

/* Multicast (incl. broadcast) or all-zero: never a valid source MAC. */
bool		 mac_is_valid_source(const uint8_t mac[6]);
bool		 mac_is_multicast(const uint8_t mac[6]);

#endif
