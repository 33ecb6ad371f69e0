#include <stdlib.h>
#include <string.h>

#include "peer.h"
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

int
peer_table_init(struct peer_table *t, const struct config *cfg)
{
	memset(t, 0, sizeof(*t));
	if (cfg->n_peers == 0)
		return 0;
	t->peers = calloc(cfg->n_peers, sizeof(*t->peers));
	t->by_addr = calloc(cfg->n_peers, sizeof(*t->by_addr));
	if (t->peers == NULL || t->by_addr == NULL) {
		peer_table_free(t);
		return -1;
	}
	t->n = cfg->n_peers;
	for (size_t i = 0; i < t->n; i++) {
		struct peer *p = &t->peers[i];

		p->cfg = cfg->peers[i];
		p->dst_len = sockaddr_from(&p->dst, &p->cfg.remote,
		    p->cfg.tun.port);
		t->by_addr[i] = p;
	}
	qsort(t->by_addr, t->n, sizeof(*t->by_addr), peer_cmp);
	return 0;
}

void
peer_table_free(struct peer_table *t)
{
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
encap_overhead(const struct tunnel_params *tun, sa_family_t family)
{
	unsigned ip = family == AF_INET6 ? IPV6_HLEN : IPV4_HLEN_MIN;

	switch (tun->encap) {
	case ENCAP_GRETAP:
		return ip + GRE_HLEN_BASE + (tun->has_key ? GRE_HLEN_OPT : 0);
	case ENCAP_VXLAN:
		return ip + UDP_HLEN + VXLAN_HLEN;
	case ENCAP_GENEVE:
		return ip + UDP_HLEN + GENEVE_HLEN;
	}
	return ip;
}
