#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>
#include <string.h>

#include "esp.h"
#include "events.h"
#include "key.h"
#include "log.h"
#include "peer.h"
#include "session.h"
#include "socket.h"
#include "wire.h"

static int
addr_cmp(const struct ovt_addr *a, const struct ovt_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->family == AF_INET6)
		return memcmp(&a->v6, &b->v6, sizeof(a->v6));
	return memcmp(&a->v4, &b->v4, sizeof(a->v4));
}

static int
peer_cmp(const void *a, const void *b)
{
	const struct peer *pa = *(struct peer *const *)a;
	const struct peer *pb = *(struct peer *const *)b;

	return addr_cmp(&pa->cfg.remote, &pb->cfg.remote);
}

/* The destination port of a peer's tunnel packets: its encap's, unless
 * ESP carries them (IP protocol 50 has no ports; ESP-in-UDP uses 4500). */
static uint16_t
peer_data_port(const struct peer_config *pc)
{
	if (!pc->enc.enabled)
		return pc->tun.port;
	return pc->enc.transport == ESP_TRANSPORT_UDP ? ESP_UDP_PORT : 0;
}

int
peer_table_init(struct peer_table *t, const struct config *cfg,
    unsigned n_counters)
{
	memset(t, 0, sizeof(*t));
	t->n_counters = n_counters;
	if (cfg->n_peers == 0)
		return 0;
	t->peers = calloc(cfg->n_peers, sizeof(*t->peers));
	t->by_addr = calloc(cfg->n_peers, sizeof(*t->by_addr));
	if (t->peers == NULL || t->by_addr == NULL) {
		peer_table_free(t);
		return -ENOMEM;
	}
	t->n = cfg->n_peers;
	for (size_t i = 0; i < t->n; i++) {
		struct peer *p = &t->peers[i];

		p->c = aligned_alloc(_Alignof(struct peer_counters),
		    n_counters * sizeof(*p->c));
		if (p->c == NULL) {
			peer_table_free(t);
			return -ENOMEM;
		}
		memset(p->c, 0, n_counters * sizeof(*p->c));
		p->n_counters = n_counters;
		p->cfg = cfg->peers[i];
		p->dst_len = sockaddr_from(&p->dst, &p->cfg.remote,
		    peer_data_port(&p->cfg));
		if (p->cfg.enc.enabled)
			p->hs_dst_len = sockaddr_from(&p->hs_dst,
			    &p->cfg.remote, p->cfg.enc.handshake_port);
		p->local = cfg->local;
		p->mtu_cap = cfg->mtu;
		/* A member's frames larger than its TAP would be dropped
		 * there: answer them here. */
		if (p->cfg.mtu != 0 && (p->mtu_cap == 0 ||
		    p->cfg.mtu < p->mtu_cap))
			p->mtu_cap = p->cfg.mtu;
		p->path_mtu = 0;
		peer_path_mtu_refresh(p);
		t->by_addr[i] = p;
	}
	qsort(t->by_addr, t->n, sizeof(*t->by_addr), peer_cmp);
	return 0;
}

void
peer_table_free(struct peer_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		session_free(t->peers[i].session);
		free(t->peers[i].c);
	}
	free(t->peers);
	free(t->by_addr);
	memset(t, 0, sizeof(*t));
}

static int
lookup_cmp(const void *key, const void *elem)
{
	return addr_cmp(key, &(*(struct peer *const *)elem)->cfg.remote);
}

struct peer *
peer_lookup(const struct peer_table *t, const struct ovt_addr *addr)
{
	struct peer **found;

	if (t->n == 0)
		return NULL;
	found = bsearch(addr, t->by_addr, t->n, sizeof(*t->by_addr),
	    lookup_cmp);
	return found != NULL ? *found : NULL;
}

unsigned
encap_overhead(const struct tunnel_params *tun,
    const struct encryption_params *enc, sa_family_t family)
{
	unsigned n = family == AF_INET6 ? IPV6_HLEN : IPV4_HLEN_MIN;

	switch (tun->encap) {
	case ENCAP_GRETAP:
		n += GRE_HLEN_BASE + (tun->has_key ? GRE_HLEN_OPT : 0);
		break;
	case ENCAP_VXLAN:
		n += UDP_HLEN + VXLAN_HLEN;
		break;
	case ENCAP_GENEVE:
		n += UDP_HLEN + GENEVE_HLEN;
		break;
	}
	if (enc != NULL && enc->enabled)
		n += ESP_OVERHEAD_MAX + (enc->transport == ESP_TRANSPORT_UDP ?
		    UDP_HLEN : 0);
	return n;
}

/* The largest frame for the path: the underlay MTU less the outer
 * headers, and no more than the configured mtu (plus Ethernet) allows. */
static void
peer_set_path_mtu(struct peer *p, unsigned path_mtu)
{
	unsigned over = encap_overhead(&p->cfg.tun, &p->cfg.enc,
	    p->cfg.remote.family);
	size_t min = ETH_HLEN + IPV4_MIN_MTU;
	size_t max = path_mtu > over + min ? path_mtu - over : min;

	if (p->mtu_cap != 0 && max > p->mtu_cap + ETH_HLEN)
		max = p->mtu_cap + ETH_HLEN;
	p->path_mtu = path_mtu;
	__atomic_store_n(&p->frame_max, max, __ATOMIC_RELAXED);
}

size_t
peer_frame_max(const struct peer *p)
{
	return __atomic_load_n(&p->frame_max, __ATOMIC_RELAXED);
}

void
peer_counters_sum(const struct peer *p, struct peer_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; p->c != NULL && i < p->n_counters; i++) {
		const struct peer_counters *c = &p->c[i];

		sum->rx_packets += c->rx_packets;
		sum->rx_bytes += c->rx_bytes;
		sum->tx_packets += c->tx_packets;
		sum->tx_bytes += c->tx_bytes;
		sum->rx_drops += c->rx_drops;
		for (unsigned r = 0; r < DROP__COUNT; r++)
			sum->drops[r] += c->drops[r];
		if (c->last_rx_ms > sum->last_rx_ms)
			sum->last_rx_ms = c->last_rx_ms;
		if (c->last_tx_ms > sum->last_tx_ms)
			sum->last_tx_ms = c->last_tx_ms;
	}
}

void
peer_counters_take(struct peer *p, const struct peer *was)
{
	memcpy(p->c, was->c, p->n_counters * sizeof(*p->c));
	p->report = was->report;
}

static void
format_spi(char *buf, size_t len, uint32_t spi)
{
	snprintf(buf, len, "0x%08x", spi);
}

static bool
session_has_spi(const struct session *s, uint32_t spi)
{
	for (unsigned i = 0; i < SESSION_SAS_MAX; i++)
		if (s->sas[i].sa != NULL && s->sas[i].sa->spi == spi)
			return true;
	return false;
}

/* SAs the session no longer has: retired after a rekey, or with their
 * peer gone down. */
static void
report_expired(struct peer *p)
{
	const struct session *s = p->session;
	struct peer_report *r = &p->report;
	char spi[11];

	for (unsigned i = 0; i < SESSION_SAS_MAX; i++) {
		if (r->spis[i] == 0 || session_has_spi(s, r->spis[i]))
			continue;
		format_spi(spi, sizeof(spi), r->spis[i]);
		EVENT(EVENT_SA_EXPIRED, EVF_STR("peer", p->cfg.name),
		    EVF_STR("spi", spi),
		    EVF_STR("dir", r->inbound[i] ? "in" : "out"));
	}
	for (unsigned i = 0; i < SESSION_SAS_MAX; i++) {
		r->spis[i] = s->sas[i].sa != NULL ? s->sas[i].sa->spi : 0;
		r->inbound[i] = s->sas[i].inbound;
	}
}

static void
report_state(struct peer *p)
{
	struct peer_report *r = &p->report;
	enum session_state now = p->session->state;
	const char *name = p->cfg.name;

	if (now == r->state)
		return;
	if (now == SESSION_UP)
		EVENT(EVENT_PEER_UP, EVF_STR("peer", name),
		    EVF_STR("reason", r->state == SESSION_DOWN ?
		    "heard_again" : "handshake"));
	else if (r->state == SESSION_UP && now == SESSION_DOWN)
		EVENT(EVENT_PEER_DOWN, EVF_STR("peer", name),
		    EVF_STR("reason", "silent"),
		    EVF_NUM("silent_s", SESSION_DEAD_MS / 1000));
	else if (r->state == SESSION_HANDSHAKING && now == SESSION_DOWN) {
		r->hs_timeouts++;
		EVENT(EVENT_HANDSHAKE_FAILED, EVF_STR("peer", name),
		    EVF_STR("reason", "timeout"));
	}
	r->state = now;
}

void
peer_report_activity(struct peer *p, uint64_t now, uint64_t idle_ms)
{
	struct peer_report *r = &p->report;
	uint64_t last = 0;
	enum session_state state;

	for (unsigned i = 0; i < p->n_counters; i++) {
		uint64_t t = __atomic_load_n(&p->c[i].last_rx_ms,
		    __ATOMIC_RELAXED);

		if (t > last)
			last = t;
	}
	state = last == 0 ? SESSION_NEW : now - last < idle_ms ? SESSION_UP :
	    SESSION_DOWN;
	if (state == r->state)
		return;
	if (state == SESSION_UP)
		EVENT(EVENT_PEER_UP, EVF_STR("peer", p->cfg.name),
		    EVF_STR("reason", "heard"));
	else if (state == SESSION_DOWN)
		EVENT(EVENT_PEER_DOWN, EVF_STR("peer", p->cfg.name),
		    EVF_STR("reason", "idle"),
		    EVF_NUM("silent_s", idle_ms / 1000));
	r->state = state;
}

void
peer_report_session(struct peer *p, const struct session_out *out)
{
	struct peer_report *r = &p->report;
	char spi[11];

	if (out->unanswered)
		EVENT(EVENT_HANDSHAKE_FAILED, EVF_STR("peer", p->cfg.name),
		    EVF_STR("reason", "no_answer"));
	for (unsigned i = 0; i < out->n_new_sas; i++) {
		const struct session_sa *ss = out->new_sas[i];

		if (ss->inbound)
			continue;
		format_spi(spi, sizeof(spi), ss->sa->spi);
		EVENT(EVENT_HANDSHAKE_DONE, EVF_STR("peer", p->cfg.name),
		    EVF_STR("spi", spi));
		if (r->keyed) {
			r->rekeys++;
			EVENT(EVENT_REKEY, EVF_STR("peer", p->cfg.name),
			    EVF_STR("spi", spi));
		}
		r->keyed = true;
	}
	report_expired(p);
	report_state(p);
}

bool
peer_path_mtu_refresh(struct peer *p)
{
	int mtu = route_lookup(&p->local, &p->cfg.remote, NULL);
	unsigned was = p->path_mtu;

	if (mtu <= 0)
		mtu = was != 0 ? (int)was : UNDERLAY_MTU_FALLBACK;
	if ((unsigned)mtu == was)
		return false;
	peer_set_path_mtu(p, (unsigned)mtu);
	if (was != 0) {
		log_notice("peer %s: underlay path MTU %u -> %d: frames up to "
		    "%zu bytes", p->cfg.name, was, mtu, p->frame_max);
		EVENT(EVENT_PATH_MTU, EVF_STR("peer", p->cfg.name),
		    EVF_NUM("from_bytes", was),
		    EVF_NUM("to_bytes", (unsigned)mtu),
		    EVF_NUM("frame_max_bytes", p->frame_max));
	}
	return true;
}

static void
env_random(void *arg, void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

static uint64_t
env_realtime_ns(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* New inbound SPIs must be unique across all peers: the SPI is how a
 * packet finds its SA. */
static bool
env_spi_in_use(void *arg, uint32_t spi)
{
	const struct peer_table *t = arg;

	for (size_t i = 0; i < t->n; i++) {
		const struct session *s = t->peers[i].session;

		for (unsigned j = 0; s != NULL && j < SESSION_SAS_MAX; j++)
			if (s->sas[j].sa != NULL && s->sas[j].sa->spi == spi)
				return true;
	}
	return false;
}

/* What both ends must agree on, bound into every handshake: a peer set
 * up for another segment, encap or cipher fails to authenticate rather
 * than exchanging frames nobody can read. */
static size_t
session_context(const struct peer_config *pc, char *buf, size_t len)
{
	int n = snprintf(buf, len, "encap=%s key=%s%u cipher=%d",
	    encap_name(pc->tun.encap), pc->tun.has_key ? "" : "none/",
	    pc->tun.key, (int)pc->enc.cipher);

	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* An underlay endpoint as the PSK-mode prologue binds it: the family,
 * the address and the port. */
static size_t
endpoint_bytes(uint8_t out[1 + 16 + 2], const struct ovt_addr *a,
    uint16_t port)
{
	size_t alen = a->family == AF_INET6 ? 16 : 4;

	out[0] = a->family == AF_INET6 ? 6 : 4;
	memcpy(out + 1, a->family == AF_INET6 ? (const void *)&a->v6 :
	    (const void *)&a->v4, alen);
	out[1 + alen] = port >> 8;
	out[2 + alen] = port & 0xff;
	return 3 + alen;
}

/* With a PSK alone, a handshake holds only between these two endpoints;
 * key-mode peers are bound by their keys and may roam. */
static void
bind_endpoints(struct peer *p)
{
	uint8_t local[19], remote[19];
	size_t llen, rlen;

	if (p->cfg.has_public_key)
		return;
	llen = endpoint_bytes(local, &p->src, p->cfg.enc.handshake_port);
	rlen = endpoint_bytes(remote, &p->cfg.remote,
	    p->cfg.enc.handshake_port);
	hs_peer_bind(p->session->hs, local, llen, remote, rlen);
}

/* The 32-byte PSK of a passphrase: none (zeros, key mode without one) is
 * WireGuard's default; a key as `ovtunctl genpsk` prints it is used as it
 * is; anything else is stretched with Argon2id, which is slow on purpose. */
static int
psk_key(uint8_t psk[HS_KEY_LEN], const char *passphrase)
{
	if (passphrase[0] == '\0') {
		sodium_memzero(psk, HS_KEY_LEN);
		return 0;
	}
	if (key_from_base64(psk, passphrase, strlen(passphrase)) == 0)
		return 0;
	return hs_psk_derive(psk, passphrase);
}

int
peer_table_start_sessions(struct peer_table *t, const struct peer_table *live,
    const struct config *cfg, const struct session_gate *gate, char *err,
    size_t errlen)
{
	struct hs_env env = { env_random, env_realtime_ns, env_spi_in_use,
	    (void *)live };
	uint8_t *psk = sodium_malloc(HS_KEY_LEN);
	struct hs_static *st = sodium_malloc(sizeof(*st));
	const char *derived_from = NULL;
	char ctx[128];

	if (psk == NULL || st == NULL) {
		sodium_free(psk);
		sodium_free(st);
		snprintf(err, errlen, "out of locked memory for keys");
		return -ENOMEM;
	}
	if (cfg->private_key != NULL)
		memcpy(st->local_private, cfg->private_key, HS_KEY_LEN);
	for (size_t i = 0; i < t->n; i++) {
		struct peer *p = &t->peers[i];

		if (!p->cfg.enc.enabled || p->session != NULL)
			continue;
		/* Derive once per passphrase. */
		if (derived_from == NULL ||
		    strcmp(derived_from, p->cfg.enc.psk) != 0) {
			if (psk_key(psk, p->cfg.enc.psk) < 0)
				break;
			derived_from = p->cfg.enc.psk;
		}
		if (route_lookup(&cfg->local, &p->cfg.remote, &p->src) < 0)
			p->src = cfg->local;
		memcpy(st->peer_public, p->cfg.public_key, HS_KEY_LEN);
		/* Each thread seals and opens in its own lane: its counters'
		 * index. */
		p->session = session_new(&p->cfg.enc, psk,
		    p->cfg.has_public_key ? st : NULL, ctx,
		    session_context(&p->cfg, ctx, sizeof(ctx)), &env,
		    t->n_counters);
		if (p->session == NULL)
			break;
		bind_endpoints(p);
		p->session->owner = p;
		p->session->gate = gate;
	}
	sodium_free(psk);
	sodium_free(st);
	for (size_t i = 0; i < t->n; i++) {
		if (t->peers[i].cfg.enc.enabled &&
		    t->peers[i].session == NULL) {
			snprintf(err, errlen, "peer %s: cannot set up its "
			    "encryption (out of memory)", t->peers[i].cfg.name);
			return -ENOMEM;
		}
	}
	return 0;
}
