/* Peers to TAP: a batch of recvmmsg (UDP GRO datagrams split again),
 * each packet's peer found by its source address, decapsulated (and
 * opened) and checked, its source learned behind the peer, then written
 * to the TAP, merged by GRO with offloads on. Handshake messages go to
 * the session (the main thread reads the handshake sockets). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sodium.h>

#include "byteorder.h"
#include "codec.h"
#include "dp-private.h"
#include "log.h"
#include "peer.h"
#include "pmtu.h"
#include "session.h"
#include "tap.h"

/* The TAP expects the virtio_net_hdr when offloads are on (all zero: a
 * plain frame); counts what went through. */
int
dp_tap_writev(struct datapath *dp, const uint8_t *vnet, const struct iovec *iov,
    unsigned n, size_t len, unsigned segs)
{
	static const uint8_t plain[VNET_HDR_LEN];
	struct iovec all[1 + GRO_MAX_SEGS];
	ssize_t got;

	if (n > GRO_MAX_SEGS)
		return -1;
	all[0].iov_base = (void *)(vnet != NULL ? vnet : plain);
	all[0].iov_len = VNET_HDR_LEN;
	memcpy(all + 1, iov, n * sizeof(*iov));
	if (dp->tap->vnet)
		got = writev(dp->tap_fd, all, (int)n + 1);
	else
		got = writev(dp->tap_fd, all + 1, (int)n);
	if (got < 0) {
		log_rl(LOG_WARNING, "%s: write: %m", dp->tap->name);
		return -1;
	}
	dp->c.tap_tx_packets += segs;
	dp->c.tap_tx_bytes += len;
	dp->c.tap_superframes_tx += segs > 1;
	return 0;
}

int
dp_tap_write(struct datapath *dp, const uint8_t *frame, size_t len)
{
	struct iovec iov = { (void *)frame, len };

	return dp_tap_writev(dp, NULL, &iov, 1, len, 1);
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

/* With offloads on, consecutive segments of a TCP flow leave as one
 * superframe: one write instead of dozens. GRO holds the received
 * buffers themselves; what it holds goes out before they are reused
 * (dp_sock_batch) and at the end of the receive (dp_sock_readable). */
static unsigned
dp_gro_write(struct datapath *dp, const struct gro_out *out, int n)
{
	unsigned failed = 0;

	for (int i = 0; i < n; i++)
		if (dp_tap_writev(dp, out[i].vnet, out[i].iov, out[i].n_iov,
		    out[i].len, out[i].segs) < 0)
			failed++;
	return failed;
}

static enum drop_reason
dp_gro_add(struct datapath *dp, struct pkt *p, bool csum_verified)
{
	struct gro_out out[GRO_ADD_MAX_OUT];
	int n = gro_add(dp->gro, p->data, p->len, csum_verified, out);

	return dp_gro_write(dp, out, n) > 0 ? DROP_TAP_WRITE_ERROR :
	    DROP_NONE;
}

/* Only a worker's data path writes to the TAP. */
static bool
dp_gro_on(const struct datapath *dp)
{
	return dp->gro != NULL && dp->tap->tso;
}

static void
dp_gro_flush(struct datapath *dp)
{
	struct gro_out out[GRO_FLOWS];
	int n = gro_flush(dp->gro, out);

	dp->c.drops[DROP_TAP_WRITE_ERROR] += dp_gro_write(dp, out, n);
}

/* The common end of every receive path: a decapsulated frame from peer
 * goes to the TAP, and its source MAC is learned behind the peer.
 * csum_verified: an outer check covered the frame (see gro_add). */
static enum drop_reason
dp_deliver(struct datapath *dp, struct peer *peer, struct pkt *p,
    bool csum_verified, uint64_t now)
{
	struct peer_counters *c = &peer->c[dp->id];
	const uint8_t *src = p->data + ETH_SRC_OFF;
	enum drop_reason why;

	if ((why = dp_check_frame(dp, p)) != DROP_NONE)
		return why;
	/* The other direction of MSS clamping: SYNs coming in. */
	if (peer->cfg.pmtu.clamp_mss && tcp_mss_clamp(p->data, p->len,
	    peer_frame_max(peer), peer->cfg.pmtu.mss_cap))
		dp->c.mss_clamped++;
	c->rx_packets++;
	c->rx_bytes += p->len;
	/* Read without a pause, for plain peers' up and down. */
	__atomic_store_n(&c->last_rx_ms, now, __ATOMIC_RELAXED);
	if (dp->rx_learned_peer != peer ||
	    memcmp(dp->rx_learned_mac, src, ETH_ALEN) != 0) {
		dp_learn(dp, src, peer, now);
		dp->rx_learned_peer = peer;
		memcpy(dp->rx_learned_mac, src, ETH_ALEN);
	}
	if (dp_gro_on(dp))
		return dp_gro_add(dp, p, csum_verified);
	if (dp_tap_write(dp, p->data, p->len) < 0)
		return DROP_TAP_WRITE_ERROR;
	return DROP_NONE;
}

static enum drop_reason
dp_rx_tunnel(struct datapath *dp, const struct sock *s, struct peer *peer,
    struct pkt *p, const struct sock_rx *meta, uint64_t now)
{
	enum drop_reason why;

	if (peer->session != NULL)
		return DROP_NOT_ENCRYPTED;
	if ((s->kind == SOCK_GRE) != (peer->cfg.tun.encap == ENCAP_GRETAP) ||
	    (s->kind == SOCK_UDP && s->port != peer->cfg.tun.port))
		return DROP_WRONG_ENCAP;
	if ((why = decap(p, &peer->cfg.tun)) != DROP_NONE)
		return why;
	return dp_deliver(dp, peer, p, meta->csum_verified, now);
}

/* Strips the UDP header ESP protected; it must be the peer's port. */
static enum drop_reason
udp_pull(struct pkt *p, const struct peer *peer)
{
	if (p->len < UDP_HLEN)
		return DROP_TOO_SHORT;
	if (be16_get(p->data + 2) != peer->cfg.tun.port ||
	    be16_get(p->data + 4) != p->len)
		return DROP_WRONG_ENCAP;
	pkt_pull(p, UDP_HLEN);
	return DROP_NONE;
}

static enum drop_reason
dp_rx_esp(struct datapath *dp, struct peer *peer, struct pkt *p,
    uint64_t now)
{
	struct dp_request confirm = { .type = DP_REQ_CONFIRM,
	    .session = peer->session };
	enum drop_reason why;
	uint8_t next_header;
	bool gre = peer->cfg.tun.encap == ENCAP_GRETAP;

	if (peer->session == NULL)
		return DROP_WRONG_ENCAP;
	why = session_open(peer->session, dp->id, p, &next_header, now,
	    &confirm.spi);
	if (confirm.spi != 0)
		dp_post(dp->sh->main_inbox, &confirm);
	if (why != DROP_NONE || next_header == IPPROTO_NONE)
		return why;
	if (next_header != (gre ? IPPROTO_GRE : IPPROTO_UDP))
		return DROP_WRONG_ENCAP;
	if (!gre && (why = udp_pull(p, peer)) != DROP_NONE)
		return why;
	if ((why = decap(p, &peer->cfg.tun)) != DROP_NONE)
		return why;
	/* The ICV covered the frame, as WireGuard trusts its AEAD. */
	return dp_deliver(dp, peer, p, true, now);
}

/* An initiation that passed mac1, while the port is under load, needs
 * the cookie of its source in mac2: else it gets that cookie, sealed to
 * it, and costs no public key work. */
static enum drop_reason
dp_rx_guard(struct datapath *dp, struct peer *peer, const struct pkt *p,
    const struct ovt_addr *src, uint64_t now)
{
	uint8_t fresh[32], cookie[COOKIE_LEN], nonce[COOKIE_NONCE_LEN];
	uint8_t msg[COOKIE_REPLY_LEN];
	const struct hs_peer *hs = peer->session->hs;
	struct pkt *reply;

	if (dp->guard == NULL || hs_msg_type(p->data, p->len) != HS_MSG_INIT ||
	    hs_precheck(hs, p->data, p->len) != HS_EV_NONE)
		return DROP_NONE;
	if (hs_guard_rotate_due(dp->guard, now)) {
		randombytes_buf(fresh, sizeof(fresh));
		hs_guard_rotate(dp->guard, now, fresh);
		sodium_memzero(fresh, sizeof(fresh));
	}
	switch (hs_guard_check(dp->guard, now, src, sizeof(*src), p->data,
	    p->len, cookie)) {
	case HS_GUARD_PASS:
		return DROP_NONE;
	case HS_GUARD_LIMITED:
		return DROP_HS_RATE_LIMITED;
	case HS_GUARD_COOKIE:
		break;
	}
	randombytes_buf(nonce, sizeof(nonce));
	hs_cookie_reply(hs, p->data, cookie, nonce, msg);
	reply = dp_scratch(dp);
	pkt_set(reply, msg, sizeof(msg));
	dp_sock_queue(dp, peer->hs_sock, reply, &peer->hs_dst,
	    peer->hs_dst_len);
	return DROP_HS_UNDER_LOAD;
}

static enum drop_reason
dp_rx_handshake(struct datapath *dp, struct peer *peer, struct pkt *p,
    const struct ovt_addr *src, uint64_t now)
{
	struct session_out out = { 0 };
	enum drop_reason why;

	if (peer->session == NULL)
		return DROP_NOT_ENCRYPTED;
	if ((why = dp_rx_guard(dp, peer, p, src, now)) != DROP_NONE)
		return why;
	why = session_handshake(peer->session, p->data, p->len, now, &out);
	if (why == DROP_HS_AUTH_FAILED) {
		/* The exchange binds more than the psk: say all a
		 * mismatch can be, and this end's side of it, for the
		 * operator to hold against the other end's log. */
		log_rl(LOG_WARNING, "peer %s: key exchange failed to "
		    "authenticate: the two ends differ in psk (or key "
		    "pairs), or in encap, key/VNI or cipher, which it binds; "
		    "this end has encap %s, key %u%s, cipher %s",
		    peer->cfg.name, encap_name(peer->cfg.tun.encap),
		    peer->cfg.tun.key, peer->cfg.tun.has_key ? "" :
		    " (none)", aead_cipher_name(peer->session->cipher));
		EVENT(EVENT_HANDSHAKE_FAILED, EVF_STR("peer", peer->cfg.name),
		    EVF_STR("reason", drop_name(why)));
	}
	dp_session_out(dp, peer, &out, now);
	return why;
}

static enum drop_reason
dp_rx_by_role(struct datapath *dp, struct sock *s, struct peer *peer,
    struct pkt *p, const struct sock_rx *meta, uint64_t now)
{
	switch (s->role) {
	case ROLE_TUNNEL:
		return dp_rx_tunnel(dp, s, peer, p, meta, now);
	case ROLE_ESP:
		return dp_rx_esp(dp, peer, p, now);
	case ROLE_HANDSHAKE:
		return dp_rx_handshake(dp, peer, p, &meta->src, now);
	}
	return DROP_NONE;
}

static enum drop_reason
dp_from_peer(struct datapath *dp, struct sock *s, struct pkt *p,
    const struct sock_rx *meta, uint64_t now)
{
	struct peer *peer;
	enum drop_reason why;

	if ((why = sock_strip_outer(s, p)) != DROP_NONE)
		return why;
	if ((peer = peer_lookup(dp->peers, &meta->src)) == NULL)
		return DROP_UNKNOWN_PEER;
	why = meta->truncated ? DROP_FRAME_TOO_BIG :
	    dp_rx_by_role(dp, s, peer, p, meta, now);
	if (why != DROP_NONE) {
		peer->c[dp->id].rx_drops++;
		peer->c[dp->id].drops[why]++;
	}
	return why;
}

static void
dp_sock_batch(struct datapath *dp, struct sock *s, uint64_t now)
{
	unsigned n;

	/* This receive may reuse the buffers GRO holds. */
	if (!sock_rx_pending(s) && dp_gro_on(dp))
		dp_gro_flush(dp);
	for (size_t i = 0; i < SOCK_BATCH; i++)
		pkt_reset(dp->batch[i]);
	n = sock_recv(s, dp->batch, dp->rx_meta, SOCK_BATCH);
	if (n > 0)
		dp_count_batch(dp, DP_RX, n);
	for (unsigned i = 0; i < n; i++) {
		struct pkt *p = dp->batch[i];
		enum drop_reason why;

		dp->c.sock_rx_packets++;
		dp->c.sock_rx_bytes += p->len;
		dp->c.sock_rx_coalesced += dp->rx_meta[i].coalesced;
		why = dp_from_peer(dp, s, p, &dp->rx_meta[i], now);
		if (why != DROP_NONE)
			dp_drop(dp, why);
	}
	/* Replies and frames released by new keys. */
	dp_flush(dp);
}

/* Datagrams the kernel coalesced (UDP GRO) may fill several batches; what
 * one receive brought is finished here, as the fd will not wake for it.
 * Superframes may span the batches of one receive from the kernel. */
void
dp_sock_readable(struct datapath *dp, struct sock *s, uint64_t now)
{
	/* Nothing but this receive learns until it returns. */
	dp->rx_learned_peer = NULL;
	do
		dp_sock_batch(dp, s, now);
	while (sock_rx_pending(s));
	if (dp_gro_on(dp))
		dp_gro_flush(dp);
}
