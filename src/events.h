/* The event stream: what happens to peers, keys, the MAC table and the
 * configuration, as it happens, for `ovtunctl monitor` (one line, or one
 * JSON object, per event).
 *
 * One hub per process, like the log. The main thread reports with
 * EVENT(); the workers report MAC table changes with events_mac(), which
 * never blocks them: it drops into a bounded channel the main thread
 * drains every tick, and what does not fit, or comes faster than
 * EVENTS_MAC_RATE a second, is summed up in one "mac_summary" event.
 * Each subscriber has a bounded buffer of its own; a slow one loses
 * events (and is told how many with an "events_missed" event), it never
 * holds up the daemon. With no subscriber, reporting costs a load. */
#ifndef OVT_EVENTS_H
#define OVT_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

struct bufferevent;
struct event_base;

/* The event types and their names on the stream. New ones go here. */
#define EVENT_TYPES(X)							\
	X(PEER_UP,		"peer_up")	/* peer, reason */	\
	X(PEER_DOWN,		"peer_down")	/* peer, reason */	\
	X(PEER_ADDED,		"peer_added")	/* peer (a reload) */	\
	X(PEER_REMOVED,		"peer_removed")	/* peer (a reload) */	\
	X(HANDSHAKE_DONE,	"handshake_completed")	/* peer, spi */	\
	X(HANDSHAKE_FAILED,	"handshake_failed")	/* peer, reason */ \
	X(REKEY,		"rekey")	/* peer, spi */		\
	X(SA_EXPIRED,		"sa_expired")	/* peer, spi, dir */	\
	X(MAC_LEARNED,		"mac_learned")	/* mac, peer */		\
	X(MAC_MOVED,		"mac_moved")	/* mac, peer (new) */	\
	X(MAC_AGED,		"mac_aged")	/* count */		\
	X(MAC_EVICTED,		"mac_evicted")	/* count */		\
	X(MAC_SUMMARY,		"mac_summary")	/* learned, moved */	\
	X(PATH_MTU,		"path_mtu_changed") /* peer, from_bytes, ... */ \
	X(RELOAD_APPLIED,	"reload_applied")	/* summary */	\
	X(RELOAD_REFUSED,	"reload_refused")	/* reason */	\
	X(MISSED,		"events_missed")	/* count */

enum event_type {
#define EVENT_ENUM(id, name)	EVENT_##id,
	EVENT_TYPES(EVENT_ENUM)
#undef EVENT_ENUM
	EVENT__COUNT
};

const char	*event_name(enum event_type);

/* A field of an event: a string, or a number (its unit in its key). */
struct event_field {
	const char	*key;
	const char	*str;
	uint64_t	 num;
	bool		 is_num;
};
#define EVF_STR(k, v)	{ .key = (k), .str = (v) }
#define EVF_NUM(k, v)	{ .key = (k), .num = (v), .is_num = true }

/* Main thread only:
 *   EVENT(EVENT_PEER_DOWN, EVF_STR("peer", p->cfg.name),
 *       EVF_STR("reason", "silent"));
 * At least one field. */
#define EVENT(type, ...)						\
	events_emit((type), (const struct event_field[]){ __VA_ARGS__ },\
	    sizeof((const struct event_field[]){ __VA_ARGS__ }) /	\
	    sizeof(struct event_field))
void	events_emit(enum event_type, const struct event_field *, unsigned n);

/* Whether anyone listens (any thread): callers may skip building an
 * event nobody reads. */
bool	events_wanted(void);

/* Workers: a MAC learned or moved behind peer (NULL: the local TAP).
 * Never blocks. */
#define EVENTS_MAC_RATE	100	/* single MAC events a second, then sums */
void	events_mac(enum event_type, const uint8_t *mac, const char *peer);
/* Main thread, every tick: passes the workers' MAC events on. */
void	events_drain(uint64_t now_ms);

/* Subscribers: bev is a connection the caller owns; events are appended
 * to its output, as JSON lines or text lines. The caller unsubscribes
 * before freeing bev. NULL when there are too many. */
#define EVENTS_SUBSCRIBERS_MAX	16
#define EVENTS_SUB_BUFFER	(64u << 10)	/* bytes queued, at most */
struct events_sub;
struct events_sub *events_subscribe(struct bufferevent *bev, bool json);
void		 events_unsubscribe(struct events_sub *);
unsigned	 events_subscribers(void);

#endif
