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
underlay_open(struct daemon *d, enum sock_kind kind, enum sock_role role,
    sa_family_t family, uint16_t port, char *err, size_t errlen)
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
	/* offload = no turns every offload off, UDP GSO and GRO included. */
	if (sock_open(&u->s, kind, &local, port, d->cfg->offload, err,
	    errlen) < 0) {
		free(u);
		return NULL;
	}
	u->s.role = role;
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

/* The socket of that kind, family and port, opened if need be. One port
 * serves one role: a clash is a configuration error. */
static struct sock *
underlay_get(struct daemon *d, enum sock_kind kind, enum sock_role role,
    sa_family_t family, uint16_t port, char *err, size_t errlen)
{
	struct underlay_sock *u;

	for (size_t i = 0; i < d->n_usocks; i++) {
		struct sock *s = &d->usocks[i]->s;

		if (s->kind != kind || s->family != family || s->port != port)
			continue;
		if (s->role != role) {
			snprintf(err, errlen, "UDP port %u cannot serve both "
			    "tunnels and %s", port, role == ROLE_HANDSHAKE ?
			    "the key exchange" : "ESP");
			return NULL;
		}
		return s;
	}
	u = underlay_open(d, kind, role, family, port, err, errlen);
	return u != NULL ? &u->s : NULL;
}

int
underlay_attach(struct daemon *d, struct peer *p, char *err, size_t errlen)
{
	const struct encryption_params *enc = &p->cfg.enc;
	sa_family_t family = p->cfg.remote.family;

	if (!enc->enabled) {
		bool gre = p->cfg.tun.encap == ENCAP_GRETAP;

		p->sock = underlay_get(d, gre ? SOCK_GRE : SOCK_UDP,
		    ROLE_TUNNEL, family, gre ? 0 : p->cfg.tun.port, err,
		    errlen);
		return p->sock != NULL ? 0 : -1;
	}
	if (enc->transport == ESP_TRANSPORT_UDP)
		p->sock = underlay_get(d, SOCK_UDP, ROLE_ESP, family,
		    ESP_UDP_PORT, err, errlen);
	else
		p->sock = underlay_get(d, SOCK_ESP, ROLE_ESP, family, 0, err,
		    errlen);
	if (p->sock == NULL)
		return -1;
	p->hs_sock = underlay_get(d, SOCK_UDP, ROLE_HANDSHAKE, family,
	    enc->handshake_port, err, errlen);
	return p->hs_sock != NULL ? 0 : -1;
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
		if (d->peers.peers[i].sock == s ||
		    d->peers.peers[i].hs_sock == s)
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
