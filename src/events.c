#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "emit.h"
#include "events.h"
#include "wire.h"

static const char *const names[EVENT__COUNT] = {
#define EVENT_NAME(id, name)	[EVENT_##id] = name,
	EVENT_TYPES(EVENT_NAME)
#undef EVENT_NAME
};

const char *
event_name(enum event_type type)
{
	return type < EVENT__COUNT ? names[type] : "unknown";
}

struct events_sub {
	struct bufferevent	*bev;
	bool			 json;
	uint64_t		 missed;	/* since it was last told */
	struct events_sub	*next, *prev;
};

/* A MAC event on its way from a worker to the main thread. */
struct mac_event {
	enum event_type	 type;
	uint8_t		 mac[ETH_ALEN];
	char		 peer[sizeof(((struct peer_config *)0)->name)];
};

#define MAC_QUEUE_MAX	256	/* per tick */

static struct {
	struct events_sub	*subs;
	unsigned		 n_subs;	/* atomic reads */
	uint64_t		 seq;
	/* The workers' channel: a worker that finds it locked or full
	 * counts its event in lost instead of waiting. */
	pthread_mutex_t		 lock;
	struct mac_event	 queue[MAC_QUEUE_MAX];
	unsigned		 n_queued;
	uint64_t		 lost[EVENT__COUNT];	/* atomic */
	/* The rate limit of single MAC events, and what it summed up. */
	uint64_t		 window_ms;
	unsigned		 in_window;
	uint64_t		 summed[EVENT__COUNT];
} hub = { .lock = PTHREAD_MUTEX_INITIALIZER };

bool
events_wanted(void)
{
	return __atomic_load_n(&hub.n_subs, __ATOMIC_RELAXED) > 0;
}

unsigned
events_subscribers(void)
{
	return hub.n_subs;
}

static uint64_t
realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Text values are quoted when they would not read as one word. */
static void
text_value(struct evbuffer *out, const char *s)
{
	bool quote = *s == '\0' || strpbrk(s, " \t\"=\\") != NULL;

	if (quote)
		evbuffer_add(out, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			evbuffer_add_printf(out, "\\%c", c);
		else
			evbuffer_add(out, c < 0x20 || c == 0x7f ? "?" : s, 1);
	}
	if (quote)
		evbuffer_add(out, "\"", 1);
}

static void
format_text(struct evbuffer *out, uint64_t time_ms, enum event_type type,
    const struct event_field *f, unsigned n)
{
	time_t secs = (time_t)(time_ms / 1000);
	struct tm tm;
	char stamp[32];

	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	evbuffer_add_printf(out, "%s.%03uZ %s", stamp,
	    (unsigned)(time_ms % 1000), event_name(type));
	for (unsigned i = 0; i < n; i++) {
		evbuffer_add_printf(out, " %s=", f[i].key);
		if (f[i].is_num)
			evbuffer_add_printf(out, "%llu",
			    (unsigned long long)f[i].num);
		else
			text_value(out, f[i].str != NULL ? f[i].str : "");
	}
	evbuffer_add(out, "\n", 1);
}

static void
format_json(struct evbuffer *out, uint64_t seq, uint64_t time_ms,
    enum event_type type, const struct event_field *f, unsigned n)
{
	struct emit *e = emit_new(out, true);

	if (e == NULL)
		return;
	emit_object_begin(e, NULL);
	emit_u64(e, "seq", seq);
	emit_u64(e, "time_ms", time_ms);
	emit_str(e, "event", event_name(type));
	for (unsigned i = 0; i < n; i++) {
		if (f[i].is_num)
			emit_u64(e, f[i].key, f[i].num);
		else
			emit_str(e, f[i].key, f[i].str != NULL ? f[i].str : "");
	}
	emit_object_end(e);
	emit_free(e);
	evbuffer_add(out, "\n", 1);
}

static void
deliver(struct events_sub *sub, uint64_t seq, uint64_t time_ms,
    enum event_type type, const struct event_field *f, unsigned n)
{
	struct evbuffer *out = bufferevent_get_output(sub->bev);

	if (sub->json)
		format_json(out, seq, time_ms, type, f, n);
	else
		format_text(out, time_ms, type, f, n);
}

void
events_emit(enum event_type type, const struct event_field *f, unsigned n)
{
	uint64_t time_ms, seq;

	if (hub.subs == NULL)
		return;
	time_ms = realtime_ms();
	seq = ++hub.seq;
	for (struct events_sub *sub = hub.subs; sub != NULL;
	    sub = sub->next) {
		struct evbuffer *out = bufferevent_get_output(sub->bev);

		if (evbuffer_get_length(out) >= EVENTS_SUB_BUFFER) {
			sub->missed++;
			continue;
		}
		if (sub->missed > 0) {
			const struct event_field missed[] = {
				EVF_NUM("count", sub->missed),
			};

			deliver(sub, seq, time_ms, EVENT_MISSED, missed, 1);
			sub->missed = 0;
		}
		deliver(sub, seq, time_ms, type, f, n);
	}
}

void
events_mac(enum event_type type, const uint8_t *mac, const char *peer)
{
	struct mac_event *ev;

	if (!events_wanted())
		return;
	if (pthread_mutex_trylock(&hub.lock) != 0) {
		__atomic_fetch_add(&hub.lost[type], 1, __ATOMIC_RELAXED);
		return;
	}
	if (hub.n_queued == MAC_QUEUE_MAX) {
		pthread_mutex_unlock(&hub.lock);
		__atomic_fetch_add(&hub.lost[type], 1, __ATOMIC_RELAXED);
		return;
	}
	ev = &hub.queue[hub.n_queued++];
	ev->type = type;
	memcpy(ev->mac, mac, ETH_ALEN);
	snprintf(ev->peer, sizeof(ev->peer), "%s", peer != NULL ? peer :
	    "local");
	pthread_mutex_unlock(&hub.lock);
}

static void
emit_mac(const struct mac_event *ev)
{
	char mac[18];
	const uint8_t *m = ev->mac;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
	    m[0], m[1], m[2], m[3], m[4], m[5]);
	EVENT(ev->type, EVF_STR("mac", mac), EVF_STR("peer", ev->peer));
}

/* What the rate limit held back in the last second, in one event. */
static void
emit_summary(void)
{
	EVENT(EVENT_MAC_SUMMARY,
	    EVF_NUM("learned", hub.summed[EVENT_MAC_LEARNED]),
	    EVF_NUM("moved", hub.summed[EVENT_MAC_MOVED]));
	memset(hub.summed, 0, sizeof(hub.summed));
}

void
events_drain(uint64_t now_ms)
{
	static struct mac_event batch[MAC_QUEUE_MAX];
	unsigned n;
	bool summed = false;

	pthread_mutex_lock(&hub.lock);
	n = hub.n_queued;
	memcpy(batch, hub.queue, n * sizeof(batch[0]));
	hub.n_queued = 0;
	pthread_mutex_unlock(&hub.lock);
	if (now_ms - hub.window_ms >= 1000) {
		for (unsigned t = 0; t < EVENT__COUNT; t++)
			summed |= hub.summed[t] > 0;
		if (summed)
			emit_summary();
		hub.window_ms = now_ms;
		hub.in_window = 0;
	}
	for (unsigned t = 0; t < EVENT__COUNT; t++)
		hub.summed[t] += __atomic_exchange_n(&hub.lost[t], 0,
		    __ATOMIC_RELAXED);
	for (unsigned i = 0; i < n; i++) {
		if (hub.in_window < EVENTS_MAC_RATE) {
			hub.in_window++;
			emit_mac(&batch[i]);
		} else {
			hub.summed[batch[i].type]++;
		}
	}
}

struct events_sub *
events_subscribe(struct bufferevent *bev, bool json)
{
	struct events_sub *sub;

	if (hub.n_subs >= EVENTS_SUBSCRIBERS_MAX ||
	    (sub = calloc(1, sizeof(*sub))) == NULL)
		return NULL;
	sub->bev = bev;
	sub->json = json;
	sub->next = hub.subs;
	if (sub->next != NULL)
		sub->next->prev = sub;
	hub.subs = sub;
	__atomic_store_n(&hub.n_subs, hub.n_subs + 1, __ATOMIC_RELAXED);
	return sub;
}

void
events_unsubscribe(struct events_sub *sub)
{
	if (sub == NULL)
		return;
	if (sub->prev != NULL)
		sub->prev->next = sub->next;
	else
		hub.subs = sub->next;
	if (sub->next != NULL)
		sub->next->prev = sub->prev;
	__atomic_store_n(&hub.n_subs, hub.n_subs - 1, __ATOMIC_RELAXED);
	free(sub);
}
