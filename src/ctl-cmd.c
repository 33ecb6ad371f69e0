/* The control commands, one handler each: they describe the daemon's state
 * to an emitter, which renders it as a table or as JSON. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "clock.h"
#include "ctl-proto.h"
#include "ctl.h"
#include "emit.h"
#include "fdb.h"
#include "key.h"
#include "offload.h"
#include "membership.h"
#include "ovtund.h"
#include "session.h"
#include "wire.h"

#include <sodium.h>

static const char *
peer_state(const struct peer *p, const struct peer_counters *c, uint64_t now,
    uint64_t aging_ms)
{
	if (p->session != NULL)
		return session_state_name(p->session->state);
	/* Without keepalives, a peer counts as active while it has been
	 * heard from within one MAC aging time. */
	if (c->last_rx_ms == 0)
		return "silent";
	return now - c->last_rx_ms < aging_ms ? "active" : "idle";
}

/* Seconds since then, or null (shown "never") when then is 0. */
static void
emit_age(struct emit *e, const char *key, uint64_t then, uint64_t now)
{
	if (then == 0)
		emit_null(e, key, "never");
	else
		emit_u64(e, key, then < now ? (now - then) / 1000 : 0);
}

/* A GRE key or VNI, null for GRE without a key; the UDP port, null for
 * GRE, which has none. */
static void
emit_tunnel(struct emit *e, const struct tunnel_params *t)
{
	emit_str(e, "encap", encap_name(t->encap));
	if (t->has_key)
		emit_u64(e, "key", t->key);
	else
		emit_null(e, "key", "none");
	if (t->encap == ENCAP_GRETAP)
		emit_null(e, "port", "-");
	else
		emit_u64(e, "port", t->port);
}

/* Where the peer's packets go now: its tunnel's destination address. */
static const char *
endpoint_format(const struct peer *p, char *buf, size_t len)
{
	const struct sockaddr_storage *ss = &p->dst;
	const void *a = ss->ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	if (inet_ntop(ss->ss_family, a, buf, len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

/* The workers' counters are read while they are paused. */
static int
cmd_peers(struct daemon *d, struct emit *e, uint32_t flags,
    const char *arg)
{
	uint64_t now = clock_ms();
	char abuf[INET6_ADDRSTRLEN], kbuf[KEY_B64_LEN + 1];

	workers_pause(&d->workers);
	emit_object_begin(e, NULL);
	emit_list_begin(e, "peers");
	for (size_t i = 0; i < d->peers.n; i++) {
		const struct peer *p = &d->peers.peers[i];
		struct peer_counters c;

		peer_counters_sum(p, &c);
		emit_object_begin(e, NULL);
		emit_str(e, "name", p->cfg.name);
		emit_str(e, "source", p->cfg.source == PEER_ETCD ? "etcd" :
		    "file");
		emit_str(e, "remote", addr_format(&p->cfg.remote, abuf,
		    sizeof(abuf)));
		emit_tunnel(e, &p->cfg.tun);
		emit_str(e, "state", peer_state(p, &c, now,
		    fdb_aging_ms(d->fdb)));
		/* The underlay route's MTU, and the overlay's IP MTU it
		 * leaves (untagged frames). */
		emit_u64(e, "path_mtu", p->path_mtu);
		emit_u64(e, "mtu", peer_frame_max(p) - ETH_HLEN);
		emit_u64(e, "rx_packets", c.rx_packets);
		emit_u64(e, "rx_bytes", c.rx_bytes);
		emit_u64(e, "tx_packets", c.tx_packets);
		emit_u64(e, "tx_bytes", c.tx_bytes);
		emit_u64(e, "rx_drops", c.rx_drops);
		emit_u64(e, "fdb_entries", fdb_owner_count(d->fdb, p));
		emit_age(e, "last_rx_s", c.last_rx_ms, now);
		if (p->session == NULL)
			emit_null(e, "encryption", "none");
		else
			emit_str(e, "encryption",
			    aead_cipher_name(p->session->cipher));
		emit_u64(e, "handshakes", p->session != NULL ?
		    p->session->stats.handshakes : 0);
		emit_str(e, "endpoint", endpoint_format(p, abuf,
		    sizeof(abuf)));
		if (p->cfg.has_public_key) {
			key_to_base64(kbuf, p->cfg.public_key);
			emit_str(e, "public_key", kbuf);
		} else {
			emit_null(e, "public_key", "-");
		}
		emit_object_end(e);
	}
	emit_list_end(e);
	emit_object_end(e);
	workers_resume(&d->workers);
	return 0;
}

static const char *
mac_format(const uint8_t *m, char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
	    m[3], m[4], m[5]);
	return buf;
}

struct fdb_walk {
	struct emit	*e;
	uint64_t	 now;
};

static void
emit_fdb_entry(const struct fdb_entry *ent, void *arg)
{
	struct fdb_walk *w = arg;
	char mac[18], abuf[INET6_ADDRSTRLEN];

	emit_object_begin(w->e, NULL);
	emit_str(w->e, "mac", mac_format(ent->mac, mac));
	/* The TAP's own side has no peer: null, "local" for people, which
	 * no peer may be called (config.c). */
	if (ent->owner != NULL) {
		emit_str(w->e, "peer", ent->owner->cfg.name);
		emit_str(w->e, "remote", addr_format(&ent->owner->cfg.remote,
		    abuf, sizeof(abuf)));
	} else {
		emit_null(w->e, "peer", "local");
		emit_null(w->e, "remote", "-");
	}
	/* A worker may refresh an entry after w->now was read. */
	emit_u64(w->e, "age_s", ent->last_seen_ms < w->now ?
	    (w->now - ent->last_seen_ms) / 1000 : 0);
	emit_object_end(w->e);
}

static int
cmd_fdb(struct daemon *d, struct emit *e, uint32_t flags,
    const char *arg)
{
	struct fdb_walk w = { e, clock_ms() };

	emit_object_begin(e, NULL);
	emit_list_begin(e, "fdb");
	fdb_foreach(d->fdb, w.now, emit_fdb_entry, &w);
	emit_list_end(e);
	emit_object_end(e);
	return 0;
}

/* How the traffic spreads over the workers: what each read and wrote. */
static void
emit_workers(struct emit *e, const struct dp_counters *per, unsigned n)
{
	emit_list_begin(e, "workers");
	for (unsigned i = 0; i < n; i++) {
		emit_object_begin(e, NULL);
		emit_u64(e, "worker", i);
		emit_u64(e, "tap_rx_packets", per[i].tap_rx_packets);
		emit_u64(e, "tap_tx_packets", per[i].tap_tx_packets);
		emit_u64(e, "underlay_rx_packets", per[i].sock_rx_packets);
		emit_u64(e, "underlay_tx_packets", per[i].sock_tx_packets);
		emit_object_end(e);
	}
	emit_list_end(e);
}

/* stats --peer NAME: the peer's traffic, and its drops by reason: of
 * its packets, and of frames to it. */
static int
cmd_peer_stats(struct daemon *d, struct emit *e, const char *name)
{
	const struct peer *p = NULL;
	struct peer_counters c;
	char msg[128];

	for (size_t i = 0; i < d->peers.n && p == NULL; i++)
		if (strcmp(d->peers.peers[i].cfg.name, name) == 0)
			p = &d->peers.peers[i];
	if (p == NULL) {
		snprintf(msg, sizeof(msg), "no peer named '%s'", name);
		emit_object_begin(e, NULL);
		emit_str(e, "error", msg);
		emit_object_end(e);
		return -ENOENT;
	}
	workers_pause(&d->workers);
	peer_counters_sum(p, &c);
	workers_resume(&d->workers);
	emit_object_begin(e, NULL);
	emit_str(e, "peer", p->cfg.name);
	emit_u64(e, "rx_packets", c.rx_packets);
	emit_u64(e, "rx_bytes", c.rx_bytes);
	emit_u64(e, "tx_packets", c.tx_packets);
	emit_u64(e, "tx_bytes", c.tx_bytes);
	emit_u64(e, "rx_drops", c.rx_drops);
	emit_object_begin(e, "drops");
	for (unsigned i = DROP_NONE + 1; i < DROP__COUNT; i++)
		emit_u64(e, drop_name(i), c.drops[i]);
	emit_object_end(e);
	emit_object_end(e);
	return 0;
}

static int
cmd_stats(struct daemon *d, struct emit *e, uint32_t flags,
    const char *arg)
{
	const struct fdb_stats st = fdb_stats(d->fdb), *fs = &st;
	struct dp_counters sum, *c = &sum, *per;
	struct gro_stats gro = { 0 };

	if (arg[0] != '\0')
		return cmd_peer_stats(d, e, arg);
	if ((per = calloc(d->workers.n, sizeof(*per))) == NULL)
		return -ENOMEM;
	workers_pause(&d->workers);
	daemon_counters(d, &sum);
	for (unsigned i = 0; i < d->workers.n; i++) {
		per[i] = d->workers.w[i].dp.c;
		gro_stats_add(&gro, &d->workers.w[i].dp.gro->stats);
	}
	workers_resume(&d->workers);
	emit_object_begin(e, NULL);
	emit_u64(e, "uptime_s", (clock_ms() - d->started_ms) / 1000);
	emit_u64(e, "tap_rx_packets", c->tap_rx_packets);
	emit_u64(e, "tap_rx_bytes", c->tap_rx_bytes);
	emit_u64(e, "tap_tx_packets", c->tap_tx_packets);
	emit_u64(e, "tap_tx_bytes", c->tap_tx_bytes);
	emit_u64(e, "underlay_rx_packets", c->sock_rx_packets);
	emit_u64(e, "underlay_rx_bytes", c->sock_rx_bytes);
	emit_u64(e, "underlay_tx_packets", c->sock_tx_packets);
	emit_u64(e, "underlay_tx_bytes", c->sock_tx_bytes);
	emit_u64(e, "flooded", c->flooded);
	emit_u64(e, "tap_superframes_rx", c->tap_superframes_rx);
	emit_u64(e, "tap_superframes_tx", c->tap_superframes_tx);
	emit_u64(e, "tap_gro_segments_merged", gro.merged);
	emit_u64(e, "tap_gro_frames_passed", gro.passed);
	emit_u64(e, "tap_gro_flows_evicted", gro.evicted);
	emit_u64(e, "underlay_rx_coalesced", c->sock_rx_coalesced);
	emit_u64(e, "icmp_frag_needed_sent", c->icmp_frag_needed_sent);
	emit_u64(e, "icmp6_packet_too_big_sent", c->icmp6_too_big_sent);
	emit_u64(e, "icmp_rate_limited", c->icmp_rate_limited);
	emit_u64(e, "mss_clamped", c->mss_clamped);
	emit_u64(e, "outer_fragmented", c->outer_fragmented);
	emit_object_begin(e, "fdb");
	emit_u64(e, "entries", fdb_count(d->fdb));
	emit_u64(e, "limit", fdb_capacity(d->fdb));
	emit_u64(e, "learned", fs->learned);
	emit_u64(e, "moved", fs->moved);
	emit_u64(e, "expired", fs->expired);
	emit_u64(e, "evicted", fs->evicted);
	emit_u64(e, "local_entries", fdb_owner_count(d->fdb, NULL));
	emit_object_end(e);
	emit_object_begin(e, "drops");
	for (unsigned i = DROP_NONE + 1; i < DROP__COUNT; i++)
		emit_u64(e, drop_name(i), c->drops[i]);
	emit_object_end(e);
	emit_workers(e, per, d->workers.n);
	emit_object_end(e);
	free(per);
	return 0;
}

/* The AEAD engines here, with what the self-benchmark measured and which
 * one "auto" takes; only when a peer encrypts (the benchmark runs at the
 * first SA). */
static void
emit_crypto(struct emit *e, const struct config *cfg)
{
	bool encrypted = false;

	for (size_t i = 0; i < cfg->n_peers; i++)
		encrypted |= cfg->peers[i].enc.enabled;
	if (!encrypted)
		return;
	emit_list_begin(e, "aead");
	for (int c = 0; c < AEAD__CIPHERS; c++) {
		for (int en = AEAD_LIBSODIUM; en < AEAD__ENGINES; en++) {
			if (!aead_available(c, en))
				continue;
			emit_object_begin(e, NULL);
			emit_str(e, "cipher", aead_cipher_name(c));
			emit_str(e, "engine", aead_engine_name(en));
			emit_u64(e, "sealed_mb_s",
			    (uint64_t)(aead_measured_gbps(c, en) * 1000));
			emit_bool(e, "auto", aead_auto(c) == (enum aead_engine)en);
			emit_object_end(e);
		}
	}
	emit_list_end(e);
}

/* A name that may be unset: null, shown "-". */
static void
emit_str_or_null(struct emit *e, const char *key, const char *val)
{
	if (val[0] != '\0')
		emit_str(e, key, val);
	else
		emit_null(e, key, "-");
}

/* Entries refused as they arrive (counted since start), and members not
 * applied as things stand (a static peer's name or address, settings we
 * cannot speak). */
static void
emit_counts(struct emit *e, const char *key, const uint64_t *n,
    bool now)
{
	emit_object_begin(e, key);
	for (unsigned r = MEMBER_OK + 1; r < MEMBER__COUNT; r++)
		if ((r == MEMBER_CLASH || r == MEMBER_MISMATCH) == now)
			emit_u64(e, member_refusal_name(r), n[r]);
	emit_object_end(e);
}

/* Fleet membership: null without an etcd block. */
static void
emit_etcd(struct emit *e, const struct daemon *d)
{
	struct membership_status st;
	uint64_t not_applied[MEMBER__COUNT];

	if (d->ms == NULL) {
		emit_null(e, "etcd", "-");
		return;
	}
	membership_status(d->ms, &st);
	for (unsigned r = 0; r < MEMBER__COUNT; r++)
		not_applied[r] = st.not_applied[r];
	emit_object_begin(e, "etcd");
	emit_str(e, "name", d->cfg->etcd.name);
	emit_str(e, "prefix", d->cfg->etcd.prefix);
	emit_str(e, "endpoint", st.endpoint);
	emit_str(e, "state", st.state);
	emit_bool(e, "registered", st.registered);
	if (st.lease != 0)
		emit_u64(e, "lease_id", (uint64_t)st.lease);
	else
		emit_null(e, "lease_id", "-");
	emit_u64(e, "ttl_s", d->cfg->etcd.ttl);
	if (st.ttl_left_s >= 0)
		emit_u64(e, "ttl_left_s", (uint64_t)st.ttl_left_s);
	else
		emit_null(e, "ttl_left_s", "-");
	emit_u64(e, "revision", (uint64_t)st.revision);
	emit_u64(e, "members_seen", st.members_seen);
	emit_u64(e, "members_applied", st.members_applied);
	emit_u64(e, "member_limit", d->cfg->etcd.member_limit);
	emit_u64(e, "reconnects", st.reconnects);
	if (st.last_error != NULL)
		emit_str(e, "last_error", st.last_error);
	else
		emit_null(e, "last_error", "-");
	emit_counts(e, "refused", st.refused, false);
	emit_counts(e, "not_applied", not_applied, true);
	emit_object_end(e);
}

static int
cmd_show(struct daemon *d, struct emit *e, uint32_t flags,
    const char *arg)
{
	const struct config *cfg = d->cfg;
	char abuf[INET6_ADDRSTRLEN], prefix[INET6_ADDRSTRLEN + 8], mac[18];

	emit_object_begin(e, NULL);
	emit_str(e, "config", cfg->path);
	emit_u64(e, "pid", (uint64_t)getpid());
	emit_str(e, "interface", d->tap.name);
	emit_u64(e, "ifindex", d->tap.ifindex);
	emit_str(e, "mac", mac_format(d->tap.mac, mac));
	emit_bool(e, "mac_stable", d->tap.mac_stable);
	emit_u64(e, "mtu", d->tap.mtu);
	emit_str_or_null(e, "netns", cfg->netns);
	if (cfg->address.family != 0) {
		snprintf(prefix, sizeof(prefix), "%s/%u", addr_format(
		    &cfg->address, abuf, sizeof(abuf)), cfg->prefixlen);
		emit_str(e, "address", prefix);
	} else {
		emit_null(e, "address", "-");
	}
	emit_str_or_null(e, "bridge", cfg->bridge);
	emit_tunnel(e, &cfg->tun);
	if (cfg->local.family != 0)
		emit_str(e, "local", addr_format(&cfg->local, abuf,
		    sizeof(abuf)));
	else
		emit_null(e, "local", "any");
	emit_str(e, "control", cfg->control);
	emit_u64(e, "mac_aging_s", cfg->mac_aging);
	emit_u64(e, "mac_table_size", cfg->mac_table_size);
	emit_str(e, "offload", !d->tap.vnet ? "off" : d->tap.tso ?
	    "tso+gro" : "vnet header only");
	emit_u64(e, "peer_count", d->peers.n);
	emit_u64(e, "worker_count", d->workers.n);
	emit_str(e, "crypto_engine", aead_engine_name(cfg->crypto_engine));
	emit_crypto(e, cfg);
	emit_etcd(e, d);
	emit_object_end(e);
	return 0;
}

static int
cmd_reload(struct daemon *d, struct emit *e, uint32_t flags,
    const char *arg)
{
	struct reload_result r;

	if (daemon_reload(d, ctl_requester(d->ctl), &r) < 0) {
		emit_error(e, r.msg);
		return -EINVAL;
	}
	emit_object_begin(e, NULL);
	emit_bool(e, "reloaded", true);
	emit_str(e, "summary", r.msg);
	emit_u64(e, "peer_count", r.peers);
	emit_u64(e, "added", r.added);
	emit_u64(e, "changed", r.changed);
	emit_u64(e, "unchanged", r.unchanged);
	emit_u64(e, "removed", r.removed);
	emit_object_end(e);
	return 0;
}

static const char *
sa_role(const struct session *s, const struct session_sa *ss)
{
	if (ss->inbound)
		return "in";
	return ss->sa == s->tx ? "out" : "out-staged";
}

static void
emit_sa(struct emit *e, const struct peer *p, const struct session_sa *ss,
    uint64_t now, bool keys)
{
	const struct session *s = p->session;
	const struct esp_stats *st = &ss->sa->stats;
	char spi[11], hex[2 * ESP_KEYMAT_LEN + 1];

	snprintf(spi, sizeof(spi), "0x%08x", ss->sa->spi);
	emit_object_begin(e, NULL);
	emit_str(e, "peer", p->cfg.name);
	emit_str(e, "dir", sa_role(s, ss));
	emit_str(e, "spi", spi);
	emit_str(e, "cipher", aead_cipher_name(ss->sa->aead.cipher));
	emit_str(e, "engine", aead_engine_name(ss->sa->aead.engine));
	emit_u64(e, "age_s", (now - ss->created_ms) / 1000);
	emit_u64(e, "packets", st->packets);
	emit_u64(e, "bytes", st->bytes);
	emit_u64(e, "replay_drops", st->replay_drops);
	emit_u64(e, "auth_drops", st->auth_drops);
	if (ss->sa == s->tx)
		emit_u64(e, "rekey_in_s", session_rekey_in(s, now) / 1000);
	else
		emit_null(e, "rekey_in_s", "-");
	if (keys) {
		sodium_bin2hex(hex, sizeof(hex), ss->keymat, ESP_KEYMAT_LEN);
		emit_str(e, "key_salt", hex);
		sodium_memzero(hex, sizeof(hex));
	}
	emit_object_end(e);
}

static int
cmd_sa(struct daemon *d, struct emit *e, uint32_t flags,
    const char *arg)
{
	uint64_t now = clock_ms();

	workers_pause(&d->workers);
	emit_object_begin(e, NULL);
	emit_list_begin(e, "sas");
	for (size_t i = 0; i < d->peers.n; i++) {
		const struct peer *p = &d->peers.peers[i];

		for (unsigned j = 0; p->session != NULL &&
		    j < SESSION_SAS_MAX; j++)
			if (p->session->sas[j].sa != NULL)
				emit_sa(e, p, &p->session->sas[j], now,
				    flags & CTL_FLAG_KEYS);
	}
	emit_list_end(e);
	emit_object_end(e);
	workers_resume(&d->workers);
	return 0;
}

static ctl_handler *const handlers[CTL__COUNT] = {
	[CTL_PEERS] = cmd_peers,
	[CTL_FDB] = cmd_fdb,
	[CTL_STATS] = cmd_stats,
	[CTL_SHOW] = cmd_show,
	[CTL_RELOAD] = cmd_reload,
	[CTL_SA] = cmd_sa,
};

ctl_handler *
ctl_handler_for(unsigned command)
{
	return command < CTL__COUNT ? handlers[command] : NULL;
}
