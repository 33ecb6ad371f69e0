#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Opens one socket of class c, on port, for worker (-1: the main thread),
 * which reads it unless flags has SOCK_F_SEND_ONLY; it joins c->socks. */
static int
usock_open(struct daemon *d, struct underlay_class *c, int worker,
    uint16_t port, unsigned flags, char *err, size_t errlen)
{
	struct underlay_sock *u, **grown;
	struct ovt_addr local = d->cfg->local;
	int ret;

	if (local.family == 0)
		local.family = c->key.family;
	grown = realloc(c->socks, (c->n_socks + 1) * sizeof(*grown));
	if (grown == NULL || (u = calloc(1, sizeof(*u))) == NULL) {
		if (grown != NULL)
			c->socks = grown;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->socks = grown;
	u->d = d;
	u->worker = worker;
	u->rx = !(flags & SOCK_F_SEND_ONLY);
	/* offload = no turns every offload off, UDP GSO and GRO included. */
	if (d->cfg->offload)
		flags |= SOCK_F_OFFLOAD;
	if ((ret = sock_open(&u->s, c->key.kind, &local, port, flags, err,
	    errlen)) < 0) {
		free(u);
		return ret;
	}
	u->s.role = c->key.role;
	if (u->rx && worker < 0) {
		u->ev = event_new(d->base, u->s.fd, EV_READ | EV_PERSIST,
		    on_readable, u);
		if (u->ev == NULL || event_add(u->ev, NULL) < 0) {
			snprintf(err, errlen, "libevent: cannot watch a socket");
			usock_free(d, u);
			return -ENOMEM;
		}
	} else if (u->rx && (ret = worker_watch(&d->workers.w[worker],
	    &u->s)) < 0) {
		snprintf(err, errlen, "epoll: cannot watch a socket: %s",
		    strerror(-ret));
		sock_close(&u->s);
		free(u);
		return ret;
	}
	c->socks[c->n_socks++] = u;
	return 0;
}

/* The socket usock_open opened last. */
static struct sock *
class_newest(const struct underlay_class *c)
{
	return &c->socks[c->n_socks - 1]->s;
}

/* Worker w's sockets of class c: see underlay.h. */
static int
class_open_worker(struct daemon *d, struct underlay_class *c, unsigned w,
    char *err, size_t errlen)
{
	unsigned flags = d->workers.n > 1 ? SOCK_F_REUSEPORT : 0;
	struct sock_pool *pool = &c->pool[w];
	bool raw = c->key.kind != SOCK_UDP;
	int ret;

	/* Every raw socket sees every packet: only worker 0's receives. */
	if (raw)
		flags = w == 0 ? 0 : SOCK_F_SEND_ONLY;
	if ((ret = usock_open(d, c, (int)w, c->key.port, flags, err,
	    errlen)) < 0)
		return ret;
	if (raw || c->key.role == ROLE_ESP) {
		pool->s[pool->n++] = class_newest(c);
		return 0;
	}
	/* Worker 0 takes ports from the kernel; the others join them. */
	for (unsigned i = 0; i < UNDERLAY_SOURCE_PORTS; i++) {
		if ((ret = usock_open(d, c, (int)w, c->source_ports[i],
		    SOCK_F_REUSEPORT | SOCK_F_SEND_ONLY, err, errlen)) < 0)
			return ret;
		c->source_ports[i] = class_newest(c)->port;
		pool->s[pool->n++] = class_newest(c);
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

/* Opens the class k; it joins d->classes. */
static int
class_open(struct daemon *d, const struct class_key *k, char *err,
    size_t errlen)
{
	struct underlay_class *c, **grown;
	int ret = 0;

	grown = realloc(d->classes, (d->n_classes + 1) * sizeof(*grown));
	if (grown == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		if (grown != NULL)
			d->classes = grown;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->classes = grown;
	c->key = *k;
	if (k->role == ROLE_HANDSHAKE)
		ret = usock_open(d, c, -1, k->port, 0, err, errlen);
	for (unsigned w = 0; k->role != ROLE_HANDSHAKE && ret == 0 &&
	    w < d->workers.n; w++)
		ret = class_open_worker(d, c, w, err, errlen);
	if (ret < 0) {
		class_free(d, c);
		return ret;
	}
	d->classes[d->n_classes++] = c;
	return 0;
}

/* The class k (*c), opened if need be. One port serves one role: a clash
 * is a configuration error. */
static int
class_get(struct daemon *d, const struct class_key *k,
    struct underlay_class **c, char *err, size_t errlen)
{
	int ret;

	for (size_t i = 0; i < d->n_classes; i++) {
		*c = d->classes[i];
		if ((*c)->key.kind != k->kind ||
		    (*c)->key.family != k->family || (*c)->key.port != k->port)
			continue;
		if ((*c)->key.role != k->role) {
			snprintf(err, errlen, "UDP port %u cannot serve both "
			    "tunnels and %s", k->port, k->role == ROLE_HANDSHAKE ?
			    "the key exchange" : "ESP");
			return -EADDRINUSE;
		}
		return 0;
	}
	if ((ret = class_open(d, k, err, errlen)) < 0)
		return ret;
	*c = d->classes[d->n_classes - 1];
	return 0;
}

int
underlay_attach(struct daemon *d, struct peer *p, char *err, size_t errlen)
{
	const struct encryption_params *enc = &p->cfg.enc;
	sa_family_t family = p->cfg.remote.family;
	bool gre = p->cfg.tun.encap == ENCAP_GRETAP;
	struct class_key tunnel = { gre ? SOCK_GRE : SOCK_UDP, ROLE_TUNNEL,
	    family, gre ? 0 : p->cfg.tun.port };
	struct class_key esp = { SOCK_ESP, ROLE_ESP, family, 0 };
	struct class_key hs = { SOCK_UDP, ROLE_HANDSHAKE, family,
	    enc->handshake_port };
	struct underlay_class *hc;
	int ret;

	if (!enc->enabled)
		return class_get(d, &tunnel, &p->uc, err, errlen);
	if (enc->transport == ESP_TRANSPORT_UDP) {
		esp.kind = SOCK_UDP;
		esp.port = ESP_UDP_PORT;
	}
	if ((ret = class_get(d, &esp, &p->uc, err, errlen)) < 0 ||
	    (ret = class_get(d, &hs, &hc, err, errlen)) < 0)
		return ret;
	p->hs_sock = &hc->socks[0]->s;
	return 0;
}

static bool
in_use(const struct daemon *d, const struct underlay_class *c)
{
	for (size_t i = 0; i < d->peers.n; i++) {
		const struct peer *p = &d->peers.peers[i];

		if (p->uc == c || (c->key.role == ROLE_HANDSHAKE &&
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
