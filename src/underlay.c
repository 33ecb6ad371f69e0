#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "clock.h"
#include "ovtund.h"
#include "underlay.h"
#include "worker.h"

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct underlay_sock *u = arg;

	dp_sock_readable(&u->d->dp, &u->s, clock_ms());
}

static void
usock_free(struct daemon *d, struct underlay_sock *u)
{
	if (u->ev != NULL)
		event_free(u->ev);
	else if (u->rx)
		worker_unwatch(&d->workers.w[u->worker], &u->s);
	sock_close(&u->s);
	free(u);
}

/* Opens one socket of class c for worker (-1: the main thread), which
 * reads it when rx. */
static struct underlay_sock *
usock_open(struct daemon *d, struct underlay_class *c, int worker,
    uint16_t port, unsigned flags, bool rx, char *err, size_t errlen)
{
	struct underlay_sock *u, **grown;
	struct ovt_addr local = d->cfg->local;

	if (local.family == 0)
		local.family = c->family;
	grown = realloc(c->socks, (c->n_socks + 1) * sizeof(*grown));
	if (grown == NULL || (u = calloc(1, sizeof(*u))) == NULL) {
		if (grown != NULL)
			c->socks = grown;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->socks = grown;
	u->d = d;
	u->worker = worker;
	/* offload = no turns every offload off, UDP GSO and GRO included. */
	if (d->cfg->offload)
		flags |= SOCK_F_OFFLOAD;
	if (!rx)
		flags |= SOCK_F_SEND_ONLY;
	if (sock_open(&u->s, c->kind, &local, port, flags, err, errlen) < 0) {
		free(u);
		return NULL;
	}
	u->s.role = c->role;
	if (rx && worker < 0) {
		u->ev = event_new(d->base, u->s.fd, EV_READ | EV_PERSIST,
		    on_readable, u);
		if (u->ev == NULL || event_add(u->ev, NULL) < 0) {
			snprintf(err, errlen, "libevent: cannot watch a socket");
			usock_free(d, u);
			return NULL;
		}
	} else if (rx && worker_watch(&d->workers.w[worker], &u->s) < 0) {
		snprintf(err, errlen, "epoll: cannot watch a socket");
		sock_close(&u->s);
		free(u);
		return NULL;
	}
	u->rx = rx;
	c->socks[c->n_socks++] = u;
	return u;
}

/* Worker w's sockets of class c: see underlay.h. */
static int
class_open_worker(struct daemon *d, struct underlay_class *c, unsigned w,
    char *err, size_t errlen)
{
	unsigned share = d->workers.n > 1 ? SOCK_F_REUSEPORT : 0;
	struct sock_pool *pool = &c->pool[w];
	struct underlay_sock *u;
	bool raw = c->kind != SOCK_UDP;

	u = usock_open(d, c, (int)w, c->port, raw ? 0 : share,
	    !raw || w == 0, err, errlen);
	if (u == NULL)
		return -1;
	if (raw || c->role == ROLE_ESP) {
		pool->s[pool->n++] = &u->s;
		return 0;
	}
	/* Worker 0 takes ports from the kernel; the others join them. */
	for (unsigned i = 0; i < UNDERLAY_SOURCE_PORTS; i++) {
		if ((u = usock_open(d, c, (int)w, c->source_ports[i],
		    SOCK_F_REUSEPORT, false, err, errlen)) == NULL)
			return -1;
		c->source_ports[i] = u->s.port;
		pool->s[pool->n++] = &u->s;
	}
	return 0;
}

static void
class_free(struct daemon *d, struct underlay_class *c)
{
	for (size_t i = 0; i < c->n_socks; i++)
		usock_free(d, c->socks[i]);
	free(c->socks);
	free(c);
}

static struct underlay_class *
class_open(struct daemon *d, enum sock_kind kind, enum sock_role role,
    sa_family_t family, uint16_t port, char *err, size_t errlen)
{
	struct underlay_class *c, **grown;
	int ret = 0;

	grown = realloc(d->classes, (d->n_classes + 1) * sizeof(*grown));
	if (grown == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		if (grown != NULL)
			d->classes = grown;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->classes = grown;
	c->kind = kind;
	c->role = role;
	c->family = family;
	c->port = port;
	if (role == ROLE_HANDSHAKE)
		ret = usock_open(d, c, -1, port, 0, true, err, errlen) != NULL ?
		    0 : -1;
	for (unsigned w = 0; role != ROLE_HANDSHAKE && ret == 0 &&
	    w < d->workers.n; w++)
		ret = class_open_worker(d, c, w, err, errlen);
	if (ret < 0) {
		class_free(d, c);
		return NULL;
	}
	d->classes[d->n_classes++] = c;
	return c;
}

/* The class of that kind, family and port, opened if need be. One port
 * serves one role: a clash is a configuration error. */
static struct underlay_class *
class_get(struct daemon *d, enum sock_kind kind, enum sock_role role,
    sa_family_t family, uint16_t port, char *err, size_t errlen)
{
	for (size_t i = 0; i < d->n_classes; i++) {
		struct underlay_class *c = d->classes[i];

		if (c->kind != kind || c->family != family || c->port != port)
			continue;
		if (c->role != role) {
			snprintf(err, errlen, "UDP port %u cannot serve both "
			    "tunnels and %s", port, role == ROLE_HANDSHAKE ?
			    "the key exchange" : "ESP");
			return NULL;
		}
		return c;
	}
	return class_open(d, kind, role, family, port, err, errlen);
}

int
underlay_attach(struct daemon *d, struct peer *p, char *err, size_t errlen)
{
	const struct encryption_params *enc = &p->cfg.enc;
	sa_family_t family = p->cfg.remote.family;
	struct underlay_class *hs;

	if (!enc->enabled) {
		bool gre = p->cfg.tun.encap == ENCAP_GRETAP;

		p->uc = class_get(d, gre ? SOCK_GRE : SOCK_UDP, ROLE_TUNNEL,
		    family, gre ? 0 : p->cfg.tun.port, err, errlen);
		return p->uc != NULL ? 0 : -1;
	}
	if (enc->transport == ESP_TRANSPORT_UDP)
		p->uc = class_get(d, SOCK_UDP, ROLE_ESP, family, ESP_UDP_PORT,
		    err, errlen);
	else
		p->uc = class_get(d, SOCK_ESP, ROLE_ESP, family, 0, err,
		    errlen);
	if (p->uc == NULL)
		return -1;
	hs = class_get(d, SOCK_UDP, ROLE_HANDSHAKE, family,
	    enc->handshake_port, err, errlen);
	if (hs == NULL)
		return -1;
	p->hs_sock = &hs->socks[0]->s;
	return 0;
}

static bool
in_use(const struct daemon *d, const struct underlay_class *c)
{
	for (size_t i = 0; i < d->peers.n; i++) {
		const struct peer *p = &d->peers.peers[i];

		if (p->uc == c || (c->role == ROLE_HANDSHAKE &&
		    p->hs_sock == &c->socks[0]->s))
			return true;
	}
	return false;
}

void
underlay_prune(struct daemon *d)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->n_classes; i++) {
		if (in_use(d, d->classes[i]))
			d->classes[kept++] = d->classes[i];
		else
			class_free(d, d->classes[i]);
	}
	d->n_classes = kept;
}

void
underlay_close_all(struct daemon *d)
{
	for (size_t i = 0; i < d->n_classes; i++)
		class_free(d, d->classes[i]);
	free(d->classes);
	d->classes = NULL;
	d->n_classes = 0;
}
