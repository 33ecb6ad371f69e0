#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "clock.h"
#include "ovtund.h"
#include "underlay.h"

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct underlay_sock *u = arg;

	dp_sock_readable(&u->d->dp, &u->s, clock_ms());
}

static struct underlay_sock *
underlay_open(struct daemon *d, enum sock_kind kind, sa_family_t family,
    uint16_t port, char *err, size_t errlen)
{
	struct underlay_sock *u, **grown;
	struct ovt_addr local = d->cfg->local;

	if (local.family == 0)
		local.family = family;
	grown = realloc(d->usocks, (d->n_usocks + 1) * sizeof(*grown));
	if (grown == NULL || (u = calloc(1, sizeof(*u))) == NULL) {
		if (grown != NULL)
			d->usocks = grown;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->usocks = grown;
	u->d = d;
	if (sock_open(&u->s, kind, &local, port, err, errlen) < 0) {
		free(u);
		return NULL;
	}
	u->ev = event_new(d->base, u->s.fd, EV_READ | EV_PERSIST,
	    on_readable, u);
	if (u->ev == NULL || event_add(u->ev, NULL) < 0) {
		snprintf(err, errlen, "libevent: cannot watch a socket");
		if (u->ev != NULL)
			event_free(u->ev);
		sock_close(&u->s);
		free(u);
		return NULL;
	}
	d->usocks[d->n_usocks++] = u;
	return u;
}

int
underlay_attach(struct daemon *d, struct peer *p, char *err, size_t errlen)
{
	enum sock_kind kind = p->cfg.tun.encap == ENCAP_GRETAP ? SOCK_GRE :
	    SOCK_UDP;
	sa_family_t family = p->cfg.remote.family;
	uint16_t port = kind == SOCK_UDP ? p->cfg.tun.port : 0;
	struct underlay_sock *u;

	for (size_t i = 0; i < d->n_usocks; i++) {
		struct sock *s = &d->usocks[i]->s;

		if (s->kind == kind && s->family == family && s->port == port) {
			p->sock = s;
			return 0;
		}
	}
	if ((u = underlay_open(d, kind, family, port, err, errlen)) == NULL)
		return -1;
	p->sock = &u->s;
	return 0;
}

/* Only between batches, when the data path has flushed every queue. */
static void
underlay_free(struct underlay_sock *u)
{
	event_free(u->ev);
	sock_close(&u->s);
	free(u);
}

static bool
in_use(const struct daemon *d, const struct sock *s)
{
	for (size_t i = 0; i < d->peers.n; i++)
		if (d->peers.peers[i].sock == s)
			return true;
	return false;
}

void
underlay_prune(struct daemon *d)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->n_usocks; i++) {
		if (in_use(d, &d->usocks[i]->s))
			d->usocks[kept++] = d->usocks[i];
		else
			underlay_free(d->usocks[i]);
	}
	d->n_usocks = kept;
}

void
underlay_close_all(struct daemon *d)
{
	for (size_t i = 0; i < d->n_usocks; i++)
		underlay_free(d->usocks[i]);
	free(d->usocks);
	d->usocks = NULL;
	d->n_usocks = 0;
}
