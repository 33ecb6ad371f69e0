#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "codec.h"
#include "datapath.h"
#include "fdb.h"
#include "log.h"
#include "peer.h"
#include "tap.h"
#include "wire.h"

int
dp_init(struct datapath *dp)
{
	for (size_t i = 0; i < SOCK_BATCH; i++) {
		dp->batch[i] = malloc(sizeof(struct pkt));
		dp->flood[i] = malloc(sizeof(struct pkt));
		if (dp->batch[i] == NULL || dp->flood[i] == NULL)
			return -ENOMEM;
	}
	return 0;
}

void
dp_free(struct datapath *dp)
{
	for (size_t i = 0; i < SOCK_BATCH; i++) {
		free(dp->batch[i]);
		free(dp->flood[i]);
		dp->batch[i] = dp->flood[i] = NULL;
	}
}

static void
dp_drop(struct datapath *dp, enum drop_reason why)
{
	dp->c.drops[why]++;
}

/* Sends what the batch queued, touching only the sockets it used. */
static void
dp_flush(struct datapath *dp)
{
	while (dp->pending != NULL) {
		struct sock *s = dp->pending;

		dp->c.drops[DROP_TX_ERROR] += sock_flush(s);
		dp->pending = s->next_pending;
		s->pending = false;
		s->next_pending = NULL;
	}
	dp->n_flood = 0;
}

static int
encap(struct pkt *p, const struct tunnel_params *tun)
{
	switch (tun->encap) {
	case ENCAP_GRETAP:
		return gre_encap(p, tun->has_key, tun->key);
	case ENCAP_VXLAN:
		return vxlan_encap(p, tun->key);
	case ENCAP_GENEVE:
		return geneve_encap(p, tun->key, NULL, 0);
	}
	return -EINVAL;
}

static enum drop_reason
decap(struct pkt *p, const struct tunnel_params *tun)
{
	struct tunnel_hdr hdr;
	enum drop_reason why;

	switch (tun->encap) {
	case ENCAP_GRETAP:
		why = gre_decap(p, &hdr);
		break;
	case ENCAP_VXLAN:
		why = vxlan_decap(p, &hdr);
		break;
	case ENCAP_GENEVE:
		why = geneve_decap(p, &hdr);
		break;
	default:
		return DROP_WRONG_ENCAP;
	}
	if (why != DROP_NONE)
		return why;
	if (hdr.has_key != tun->has_key || (tun->has_key &&
	    hdr.key != tun->key))
		return DROP_WRONG_KEY;
	return DROP_NONE;
}

/* Wraps p for peer and queues it; p stays owned by the batch until the
 * flush at the end of it. */
static void
dp_send(struct datapath *dp, struct peer *peer, struct pkt *p, uint64_t now)
{
	size_t inner = p->len;

	if (encap(p, &peer->cfg.tun) < 0) {
		dp_drop(dp, DROP_NO_HEADROOM);
		return;
	}
	peer->c.tx_packets++;
	peer->c.tx_bytes += inner;
	peer->c.last_tx_ms = now;
	dp->c.sock_tx_packets++;
	dp->c.sock_tx_bytes += p->len;
	if (!peer->sock->pending) {
		peer->sock->pending = true;
		peer->sock->next_pending = dp->pending;
		dp->pending = peer->sock;
	}
	dp->c.drops[DROP_TX_ERROR] += sock_queue(peer->sock, p,
	    (const struct sockaddr *)&peer->dst, peer->dst_len);
}

/* Head-end replication: a copy for every peer but the last, which takes
 * the frame itself. The copies come from a pool the size of a batch; when
 * it runs dry, what is queued goes out first. */
static void
dp_flood(struct datapath *dp, struct pkt *p, uint64_t now)
{
	struct peer_table *t = dp->peers;

	if (t->n == 0) {
		dp_drop(dp, DROP_NO_PEERS);
		return;
	}
	dp->c.flooded++;
	for (size_t i = 0; i + 1 < t->n; i++) {
		struct pkt *copy;

		if (dp->n_flood == SOCK_BATCH)
			dp_flush(dp);
		copy = dp->flood[dp->n_flood++];
		pkt_set(copy, p->data, p->len);
		dp_send(dp, &t->peers[i], copy, now);
	}
	dp_send(dp, &t->peers[t->n - 1], p, now);
}

/* A frame's size and source address, whichever side it came from. */
static enum drop_reason
dp_check_frame(const struct datapath *dp, const struct pkt *p)
{
	size_t max = dp->frame_max;

	if (p->len < ETH_HLEN_)
		return DROP_RUNT_FRAME;
	/* An 802.1Q tag may ride on top of a full-MTU payload. */
	if (p->len > max - ETH_VLAN_HLEN && !(p->data[12] == 0x81 &&
	    p->data[13] == 0x00))
		return DROP_FRAME_TOO_BIG;
	if (p->len > max)
		return DROP_FRAME_TOO_BIG;
	if (!mac_is_valid_source(p->data + 6))
		return DROP_BAD_SOURCE_MAC;
	return DROP_NONE;
}

static void
dp_from_tap(struct datapath *dp, struct pkt *p, uint64_t now)
{
	const struct peer *owner;
	enum drop_reason why;

	if ((why = dp_check_frame(dp, p)) != DROP_NONE) {
		dp_drop(dp, why);
		return;
	}
	fdb_learn(dp->fdb, p->data + 6, NULL, now);
	if (mac_is_multicast(p->data) ||
	    !fdb_lookup(dp->fdb, p->data, now, &owner))
		dp_flood(dp, p, now);
	else if (owner == NULL)
		dp_drop(dp, DROP_LOCAL_DESTINATION);
	else
		dp_send(dp, (struct peer *)owner, p, now);
}

/* The TAP is gone (its namespace was deleted, say) rather than busy. */
static bool
tap_is_gone(int err)
{
	return err == EBADFD || err == EIO || err == ENODEV || err == ENXIO;
}

int
dp_tap_readable(struct datapath *dp, uint64_t now)
{
	unsigned n;
	int ret = 0;

	for (n = 0; n < SOCK_BATCH; n++) {
		struct pkt *p = dp->batch[n];
		ssize_t got;

		pkt_reset(p);
		got = read(dp->tap->fd, p->data, pkt_tailroom(p));
		if (got < 0) {
			if (tap_is_gone(errno))
				ret = -errno;
			else if (errno != EAGAIN && errno != EINTR)
				log_rl(LOG_WARNING, "%s: read: %m",
				    dp->tap->name);
			break;
		}
		p->len = (size_t)got;
		dp->c.tap_rx_packets++;
		dp->c.tap_rx_bytes += p->len;
	}
	for (unsigned i = 0; i < n; i++)
		dp_from_tap(dp, dp->batch[i], now);
	dp_flush(dp);
	return ret;
}

static enum drop_reason
dp_from_peer(struct datapath *dp, struct sock *s, struct pkt *p,
    const struct sock_rx *meta, uint64_t now)
{
	struct peer *peer;
	enum drop_reason why;

	if (meta->truncated)
		return DROP_FRAME_TOO_BIG;
	if ((why = sock_strip_outer(s, p)) != DROP_NONE)
		return why;
	if ((peer = peer_lookup(dp->peers, &meta->src)) == NULL)
		return DROP_UNKNOWN_PEER;
	if ((s->kind == SOCK_GRE) != (peer->cfg.tun.encap == ENCAP_GRETAP) ||
	    (s->kind == SOCK_UDP && s->port != peer->cfg.tun.port)) {
		peer->c.rx_drops++;
		return DROP_WRONG_ENCAP;
	}
	if ((why = decap(p, &peer->cfg.tun)) == DROP_NONE)
		why = dp_check_frame(dp, p);
	if (why != DROP_NONE) {
		peer->c.rx_drops++;
		return why;
	}
	peer->c.rx_packets++;
	peer->c.rx_bytes += p->len;
	peer->c.last_rx_ms = now;
	fdb_learn(dp->fdb, p->data + 6, peer, now);
	if (write(dp->tap->fd, p->data, p->len) < 0) {
		log_rl(LOG_WARNING, "%s: write: %m", dp->tap->name);
		return DROP_TAP_WRITE_ERROR;
	}
	dp->c.tap_tx_packets++;
	dp->c.tap_tx_bytes += p->len;
	return DROP_NONE;
}

void
dp_sock_readable(struct datapath *dp, struct sock *s, uint64_t now)
{
	unsigned n;

	for (size_t i = 0; i < SOCK_BATCH; i++)
		pkt_reset(dp->batch[i]);
	n = sock_recv(s, dp->batch, dp->rx_meta, SOCK_BATCH);
	for (unsigned i = 0; i < n; i++) {
		struct pkt *p = dp->batch[i];
		enum drop_reason why;

		dp->c.sock_rx_packets++;
		dp->c.sock_rx_bytes += p->len;
		why = dp_from_peer(dp, s, p, &dp->rx_meta[i], now);
		if (why != DROP_NONE)
			dp_drop(dp, why);
	}
}
