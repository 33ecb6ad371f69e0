/* Live reload: the new file is loaded and checked in full before anything
 * changes; peers whose name, address and tunnel are unchanged keep their
 * counters, socket and learned MACs, so their traffic loses nothing. What
 * the TAP or the sockets were built from needs a restart instead. etcd's
 * members change the peers the same way (daemon_apply). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "clock.h"
#include "events.h"
#include "fdb.h"
#include "log.h"
#include "membership.h"
#include "ovtund.h"
#include "underlay.h"

/* The first setting that cannot change without a restart, or NULL. */
static const char *
restart_only_change(const struct config *a, const struct config *b)
{
	if (strcmp(a->interface, b->interface) != 0)
		return "interface";
	if (a->mtu != b->mtu)
		return "mtu";
	if (strcmp(a->netns, b->netns) != 0)
		return "netns";
	if (!addr_equal(&a->address, &b->address) ||
	    a->prefixlen != b->prefixlen)
		return "address";
	if (strcmp(a->bridge, b->bridge) != 0)
		return "bridge";
	if (memcmp(a->mac, b->mac, sizeof(a->mac)) != 0)
		return "mac";
	if (!addr_equal(&a->local, &b->local))
		return "local";
	if (strcmp(a->control, b->control) != 0)
		return "control";
	if (a->mac_table_size != b->mac_table_size)
		return "mac_table_size";
	if (a->offload != b->offload)
		return "offload";
	if (a->workers != b->workers)
		return "workers";
	if (strcmp(a->user, b->user) != 0)
		return "user";
	if (strcmp(a->control_group, b->control_group) != 0)
		return "control_group";
	if (strcmp(a->metrics, b->metrics) != 0)
		return "metrics";
	if (!etcd_params_equal(&a->etcd, &b->etcd))
		return "etcd";
	return NULL;
}

static bool
same_encryption(const struct encryption_params *a,
    const struct encryption_params *b)
{
	if (a->enabled != b->enabled)
		return false;
	return !a->enabled || (strcmp(a->psk, b->psk) == 0 &&
	    a->cipher == b->cipher && a->transport == b->transport &&
	    a->rekey_after == b->rekey_after &&
	    a->replay_window == b->replay_window &&
	    a->handshake_port == b->handshake_port &&
	    a->engine == b->engine);
}

static bool
same_tunnel(const struct peer_config *a, const struct peer_config *b)
{
	return addr_equal(&a->remote, &b->remote) &&
	    a->has_public_key == b->has_public_key &&
	    memcmp(a->public_key, b->public_key, sizeof(a->public_key)) == 0 &&
	    memcmp(a->local_public_key, b->local_public_key,
	    sizeof(a->local_public_key)) == 0 &&
	    a->tun.encap == b->tun.encap && a->tun.has_key == b->tun.has_key &&
	    a->tun.key == b->tun.key && a->tun.port == b->tun.port &&
	    same_encryption(&a->enc, &b->enc);
}

/* old peer index -> its successor in the new table, or NULL. */
struct succession {
	const struct peer_table	 *old;
	struct peer		**next;
};

static const struct peer *
successor(const struct peer *old, void *arg)
{
	const struct succession *s = arg;

	return s->next[old - s->old->peers];
}

/* Appends " name" to the list of one kind of change, bounded. */
static void
note(char *list, size_t len, const char *name)
{
	size_t used = strlen(list);

	if (used + 1 < len)
		snprintf(list + used, len - used, " %s", name);
}

struct changes {
	char	added[256], changed[256], removed[256];
};

/* Pairs every new peer with its namesake; an unchanged one shares its
 * sockets and session, which move over for good in take_over. */
static void
carry_over(struct peer_table *fresh, struct succession *s,
    struct reload_result *n, struct changes *ch)
{
	for (size_t i = 0; i < fresh->n; i++) {
		struct peer *p = &fresh->peers[i];
		size_t j;

		for (j = 0; j < s->old->n; j++)
			if (strcmp(s->old->peers[j].cfg.name, p->cfg.name) == 0)
				break;
		if (j == s->old->n) {
			n->added++;
			note(ch->added, sizeof(ch->added), p->cfg.name);
		} else if (!same_tunnel(&s->old->peers[j].cfg, &p->cfg)) {
			n->changed++;
			note(ch->changed, sizeof(ch->changed), p->cfg.name);
		} else {
			const struct peer *was = &s->old->peers[j];

			n->unchanged++;
			p->uc = was->uc;
			p->hs_sock = was->hs_sock;
			p->src = was->src;
			p->session = was->session;
			s->next[j] = p;
		}
	}
}

/* With the workers paused: the unchanged peers' counters, and their keys,
 * which the old table then must not free. */
static void
take_over(struct succession *s)
{
	for (size_t j = 0; j < s->old->n; j++) {
		struct peer *was = &s->old->peers[j], *p = s->next[j];

		if (p == NULL)
			continue;
		peer_counters_take(p, was);
		if (p->session != NULL)
			p->session->owner = p;
		was->session = NULL;
	}
}

/* Requests about the sessions about to go must not outlive them. */
static void
forget_requests(struct daemon *d, const struct peer_table *old)
{
	for (size_t j = 0; j < old->n; j++) {
		const struct session *gone = old->peers[j].session;

		if (gone == NULL)
			continue;
		dp_inbox_forget(&d->inbox, gone);
		for (unsigned w = 0; w < d->workers.n; w++)
			dp_inbox_forget(&d->workers.w[w].inbox, gone);
	}
}

/* Sockets and key exchanges for the peers that are new or changed. */
static int
attach_new(struct daemon *d, struct peer_table *fresh,
    const struct config *next, char *msg, size_t msglen)
{
	int ret;

	for (size_t i = 0; i < fresh->n; i++)
		if (fresh->peers[i].uc == NULL && (ret = underlay_attach(d,
		    &fresh->peers[i], msg, msglen)) < 0)
			return ret;
	return peer_table_start_sessions(fresh, &d->peers, next, &d->gate,
	    msg, msglen);
}

/* The peers a reload brought and took away, for the event stream; a
 * changed peer is both. */
static void
report_peers(const struct peer_table *old, const struct succession *s,
    const struct peer_table *fresh)
{
	for (size_t j = 0; j < old->n; j++)
		if (s->next[j] == NULL)
			EVENT(EVENT_PEER_REMOVED,
			    EVF_STR("peer", old->peers[j].cfg.name));
	for (size_t i = 0; i < fresh->n; i++) {
		bool carried = false;

		for (size_t j = 0; j < old->n && !carried; j++)
			carried = s->next[j] == &fresh->peers[i];
		if (!carried)
			EVENT(EVENT_PEER_ADDED,
			    EVF_STR("peer", fresh->peers[i].cfg.name));
	}
}

/* The peers of old with no namesake in fresh. */
static size_t
note_removed(const struct peer_table *old, const struct peer_table *fresh,
    struct changes *ch)
{
	size_t n = 0;

	for (size_t j = 0; j < old->n; j++) {
		size_t i;

		for (i = 0; i < fresh->n; i++)
			if (strcmp(old->peers[j].cfg.name,
			    fresh->peers[i].cfg.name) == 0)
				break;
		if (i == fresh->n) {
			n++;
			note(ch->removed, sizeof(ch->removed),
			    old->peers[j].cfg.name);
		}
	}
	return n;
}

static int
apply(struct daemon *d, struct reload_result *r)
{
	struct config *next, *merged;
	const char *fixed;

	if ((next = config_load(d->cfg->path, r->msg, sizeof(r->msg))) == NULL)
		return -EINVAL;
	daemon_apply_options(d, next);
	if (next->warning[0] != '\0')
		log_warn("%s", next->warning);
	if ((fixed = restart_only_change(d->cfg, next)) != NULL) {
		snprintf(r->msg, sizeof(r->msg), "%s changed: restart ovtund "
		    "to apply it", fixed);
		config_free(next);
		return -EINVAL;
	}
	/* The members stay: they are checked against the new file. */
	if (d->ms != NULL) {
		merged = membership_merge(d->ms, next);
		config_free(next);
		if ((next = merged) == NULL) {
			snprintf(r->msg, sizeof(r->msg), "out of memory");
			return -ENOMEM;
		}
	}
	return daemon_apply(d, next, r);
}

int
daemon_apply(struct daemon *d, struct config *next, struct reload_result *r)
{
	struct peer_table fresh, old;
	struct succession s = { .old = &d->peers };
	struct changes ch = { "", "", "" };
	int ret;

	s.next = calloc(d->peers.n + 1, sizeof(*s.next));
	if (s.next == NULL || peer_table_init(&fresh, next,
	    d->peers.n_counters) < 0) {
		snprintf(r->msg, sizeof(r->msg), "out of memory");
		free(s.next);
		config_free(next);
		return -ENOMEM;
	}
	/* New sockets and sessions first, with the traffic still going: the
	 * PSK's Argon2id takes its time. */
	carry_over(&fresh, &s, r, &ch);
	if ((ret = attach_new(d, &fresh, next, r->msg, sizeof(r->msg))) < 0) {
		/* Undo: the shared sessions stay with the running peers. */
		for (size_t j = 0; j < d->peers.n; j++)
			if (s.next[j] != NULL)
				s.next[j]->session = NULL;
		peer_table_free(&fresh);
		workers_pause(&d->workers);
		underlay_prune(d);
		workers_resume(&d->workers);
		free(s.next);
		config_free(next);
		return ret;
	}
	r->removed = note_removed(&d->peers, &fresh, &ch);
	workers_pause(&d->workers);
	take_over(&s);
	forget_requests(d, &d->peers);
	fdb_remap(d->fdb, successor, &s);
	fdb_set_aging(d->fdb, (uint64_t)next->mac_aging * 1000);
	old = d->peers;
	d->peers = fresh;
	report_peers(&old, &s, &d->peers);
	peer_table_free(&old);
	underlay_prune(d);
	workers_resume(&d->workers);
	config_free(d->cfg);
	d->cfg = next;
	daemon_apply_keylog(d);
	dp_start_sessions(&d->dp, clock_ms());
	free(s.next);
	r->peers = d->peers.n;
	snprintf(r->msg, sizeof(r->msg), "%zu peers: %zu added%s%s, %zu "
	    "changed%s%s, %zu unchanged, %zu removed%s%s", r->peers,
	    r->added, r->added ? ":" : "", ch.added, r->changed,
	    r->changed ? ":" : "", ch.changed, r->unchanged, r->removed,
	    r->removed ? ":" : "", ch.removed);
	return 0;
}

int
daemon_reload(struct daemon *d, const char *who, struct reload_result *r)
{
	struct timespec ts;
	int ret;

	memset(r, 0, sizeof(*r));
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading "
	    "(%s)", (unsigned long long)clock_ms() * 1000, who);
	ret = apply(d, r);
	clock_gettime(CLOCK_REALTIME, &ts);
	d->reloads.last_s = (uint64_t)ts.tv_sec;
	d->reloads.last_ok = ret == 0;
	if (ret < 0) {
		d->reloads.failed++;
		EVENT(EVENT_RELOAD_REFUSED, EVF_STR("reason", r->msg));
		log_err("reload asked by %s refused, running configuration "
		    "kept: %s", who, r->msg);
		sd_notifyf(0, "READY=1\nSTATUS=%zu peers; reload asked by %s "
		    "refused: %.200s", d->peers.n, who, r->msg);
	} else {
		d->reloads.ok++;
		EVENT(EVENT_RELOAD_APPLIED, EVF_STR("summary", r->msg));
		log_notice("reload asked by %s: %s", who, r->msg);
		sd_notifyf(0, "READY=1\nSTATUS=%zu peers; reloaded (%s): "
		    "%.200s", d->peers.n, who, r->msg);
	}
	return ret;
}
