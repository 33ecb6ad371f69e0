/* What the metrics are: the daemon's counters copied with the workers
 * paused (as `ovtunctl stats` reads them), then written as Prometheus
 * families with the workers running again. Names follow the Prometheus
 * conventions: ovtund_ prefix, base units, _total counters, labels of
 * low cardinality (peer, direction, reason, result, worker), never a MAC
 * address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "events.h"
#include "expo.h"
#include "fdb.h"
#include "metrics.h"
#include "ovtund.h"

/* What is read with the workers paused; the rest (fdb, sessions,
 * configuration) is the main thread's or read atomically. */
struct snapshot {
	struct dp_counters	*threads;	/* workers, then main */
	unsigned		 n_threads;
	struct peer_counters	*peers;
	size_t			 n_peers;
	double			 pause_s;	/* how long they waited */
};

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
snapshot_take(struct daemon *d, struct snapshot *s)
{
	double t0;

	s->n_threads = d->workers.n + 1;
	s->n_peers = d->peers.n;
	s->threads = calloc(s->n_threads, sizeof(*s->threads));
	s->peers = calloc(s->n_peers + 1, sizeof(*s->peers));
	if (s->threads == NULL || s->peers == NULL)
		return -1;
	t0 = mono_s();
	workers_pause(&d->workers);
	for (unsigned i = 0; i < d->workers.n; i++)
		s->threads[i] = d->workers.w[i].dp.c;
	s->threads[d->workers.n] = d->dp.c;
	for (size_t i = 0; i < s->n_peers; i++)
		peer_counters_sum(&d->peers.peers[i], &s->peers[i]);
	workers_resume(&d->workers);
	s->pause_s = mono_s() - t0;
	return 0;
}

static void
snapshot_free(struct snapshot *s)
{
	free(s->threads);
	free(s->peers);
}

/* A worker's number, or "main" for the main thread's data path (the key
 * exchange's packets). */
static const char *
thread_name(const struct snapshot *s, unsigned i, char *buf, size_t len)
{
	if (i + 1 == s->n_threads)
		return "main";
	snprintf(buf, len, "%u", i);
	return buf;
}

static void
write_build(struct expo *x, const struct daemon *d)
{
	const struct expo_label version[] = { { "version", PACKAGE_VERSION } };
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	expo_family(x, "ovtund_build", EXPO_INFO,
	    "The running ovtund's version.");
	expo_u64(x, NULL, version, 1, 1);
	expo_family(x, "ovtund_start_time_seconds", EXPO_GAUGE,
	    "When the daemon started, Unix time.");
	expo_double(x, NULL, NULL, 0, (double)now.tv_sec - (double)(
	    clock_ms() - d->started_ms) / 1000);
}

/* Per thread: packets and bytes of the TAP and the underlay. */
static void
write_threads(struct expo *x, const struct snapshot *s)
{
	static const struct {
		const char	*name, *help;
		size_t		 rx, tx;	/* offsets in dp_counters */
	} fam[] = {
#define OFF(m)	offsetof(struct dp_counters, m)
		{ "ovtund_tap_packets", "Frames read from (rx) and written "
		  "to (tx) the TAP, by thread.", OFF(tap_rx_packets),
		  OFF(tap_tx_packets) },
		{ "ovtund_tap_bytes", "Bytes of those frames.",
		  OFF(tap_rx_bytes), OFF(tap_tx_bytes) },
		{ "ovtund_underlay_packets", "Packets received from (rx) and "
		  "queued to (tx) the underlay, by thread.",
		  OFF(sock_rx_packets), OFF(sock_tx_packets) },
		{ "ovtund_underlay_bytes", "Bytes of those packets.",
		  OFF(sock_rx_bytes), OFF(sock_tx_bytes) },
		{ "ovtund_tap_superframes", "TCP superframes: read and cut "
		  "(rx), merged and written (tx).", OFF(tap_superframes_rx),
		  OFF(tap_superframes_tx) },
#undef OFF
	};
	char num[16];

	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		expo_family(x, fam[f].name, EXPO_COUNTER, fam[f].help);
		for (unsigned i = 0; i < s->n_threads; i++) {
			const char *c = (const char *)&s->threads[i];
			struct expo_label l[] = {
				{ "worker", thread_name(s, i, num,
				    sizeof(num)) },
				{ "direction", "rx" },
			};

			expo_u64(x, NULL, l, 2, *(const uint64_t *)(c +
			    fam[f].rx));
			l[1].value = "tx";
			expo_u64(x, NULL, l, 2, *(const uint64_t *)(c +
			    fam[f].tx));
		}
	}
}

/* Batch sizes by thread and direction, as a histogram. */
static void
write_batches(struct expo *x, const struct snapshot *s)
{
	static const char *const le[DP_BATCH_BUCKETS] = {
		"1", "2", "4", "8", "16", "32", "64", "+Inf",
	};
	static const char *const dirs[] = { "rx", "tx" };
	char num[16];

	expo_family(x, "ovtund_batch_packets", EXPO_HISTOGRAM,
	    "Packets per batch: datagrams per receive from the underlay "
	    "(rx), frames per wake-up of the TAP (tx).");
	for (unsigned i = 0; i < s->n_threads; i++)
		for (unsigned dir = DP_RX; dir <= DP_TX; dir++) {
			const struct dp_counters *c = &s->threads[i];
			struct expo_label l[] = {
				{ "worker", thread_name(s, i, num,
				    sizeof(num)) },
				{ "direction", dirs[dir] },
				{ "le", NULL },
			};
			uint64_t cum = 0;

			for (unsigned b = 0; b < DP_BATCH_BUCKETS; b++) {
				cum += c->batches[dir][b];
				l[2].value = le[b];
				expo_u64(x, "_bucket", l, 3, cum);
			}
			expo_u64(x, "_sum", l, 2, c->batch_packets[dir]);
			expo_u64(x, "_count", l, 2, cum);
		}
}

/* Daemon-wide counters: the threads' added up. */
static void
write_totals(struct expo *x, const struct snapshot *s)
{
	struct dp_counters sum = { 0 };
	const struct expo_label frag[] = { { "type", "frag_needed" } };
	const struct expo_label big[] = { { "type", "packet_too_big" } };

	for (unsigned i = 0; i < s->n_threads; i++)
		dp_counters_add(&sum, &s->threads[i]);
	expo_family(x, "ovtund_drops", EXPO_COUNTER,
	    "Packets and frames dropped, by reason (see ovtunctl(8)).");
	for (unsigned r = DROP_NONE + 1; r < DROP__COUNT; r++) {
		const struct expo_label l[] = { { "reason", drop_name(r) } };

		expo_u64(x, NULL, l, 1, sum.drops[r]);
	}
	expo_one(x, "ovtund_flooded_frames", EXPO_COUNTER,
	    "Frames sent to every peer (broadcast, multicast, unknown).",
	    sum.flooded);
	expo_one(x, "ovtund_underlay_rx_coalesced", EXPO_COUNTER,
	    "Datagrams the kernel handed over coalesced (UDP GRO).",
	    sum.sock_rx_coalesced);
	expo_family(x, "ovtund_icmp_sent", EXPO_COUNTER,
	    "ICMP answers to frames too big for their peer's path.");
	expo_u64(x, NULL, frag, 1, sum.icmp_frag_needed_sent);
	expo_u64(x, NULL, big, 1, sum.icmp6_too_big_sent);
	expo_one(x, "ovtund_icmp_rate_limited", EXPO_COUNTER,
	    "ICMP answers not sent for the rate limit.",
	    sum.icmp_rate_limited);
	expo_one(x, "ovtund_mss_clamped", EXPO_COUNTER,
	    "TCP SYNs whose MSS was lowered to fit the path.",
	    sum.mss_clamped);
	expo_one(x, "ovtund_outer_fragmented", EXPO_COUNTER,
	    "Frames sent for the kernel to fragment the outer packet.",
	    sum.outer_fragmented);
}

static void
write_fdb(struct expo *x, const struct daemon *d)
{
	const struct fdb_stats st = fdb_stats(d->fdb);

	expo_one(x, "ovtund_fdb_entries", EXPO_GAUGE,
	    "MAC addresses in the table.",
	    fdb_count(d->fdb));
	expo_one(x, "ovtund_fdb_entries_max", EXPO_GAUGE,
	    "The table's limit (mac_table_size).",
	    fdb_capacity(d->fdb));
	expo_one(x, "ovtund_fdb_learned", EXPO_COUNTER,
	    "MAC addresses learned.",
	    st.learned);
	expo_one(x, "ovtund_fdb_moved", EXPO_COUNTER,
	    "MAC addresses that moved to another peer or the TAP.",
	    st.moved);
	expo_one(x, "ovtund_fdb_aged", EXPO_COUNTER,
	    "MAC addresses aged out (mac_aging).",
	    st.expired);
	expo_one(x, "ovtund_fdb_evicted", EXPO_COUNTER,
	    "Live entries a full table gave up to a new MAC (from the owner "
	    "holding the most).",
	    st.evicted);
	expo_family(x, "ovtund_peer_fdb_entries", EXPO_GAUGE,
	    "MAC addresses behind each peer; peer=\"local\": behind the TAP.");
	for (size_t i = 0; i <= d->peers.n; i++) {
		const struct peer *p = i < d->peers.n ? &d->peers.peers[i] :
		    NULL;
		const struct expo_label l[] = { { "peer", p != NULL ?
		    p->cfg.name : "local" } };

		expo_u64(x, NULL, l, 1, fdb_owner_count(d->fdb, p));
	}
}

/* One family over every peer: value(peer, counters) each. */
typedef double peer_value(const struct peer *, const struct peer_counters *,
		    uint64_t now_ms, double now_s);

static void
write_peers(struct expo *x, const struct daemon *d, const struct snapshot *s,
    const char *name, enum expo_type type, const char *help,
    peer_value *value, bool encrypted_only)
{
	uint64_t now_ms = clock_ms();
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	expo_family(x, name, type, help);
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &d->peers.peers[i];
		const struct expo_label l[] = { { "peer", p->cfg.name } };

		if (encrypted_only && p->session == NULL)
			continue;
		expo_double(x, NULL, l, 1, value(p, &s->peers[i], now_ms,
		    (double)ts.tv_sec + (double)ts.tv_nsec / 1e9));
	}
}

/* Encrypted: has keys and was heard within 30 s; plain: heard within a
 * MAC aging time (as the event stream says). */
static double
peer_up(const struct peer *p, const struct peer_counters *c, uint64_t now,
    double now_s)
{
	return (p->session != NULL ? p->session->state :
	    p->report.state) == SESSION_UP;
}

static double
peer_last_rx(const struct peer *p, const struct peer_counters *c,
    uint64_t now, double now_s)
{
	uint64_t last = p->session != NULL ? __atomic_load_n(
	    &p->session->last_rx_ms, __ATOMIC_RELAXED) : 0;

	if (c->last_rx_ms > last)
		last = c->last_rx_ms;
	return last == 0 ? 0 : now_s - (double)(now - last) / 1000;
}

static double
peer_path_mtu(const struct peer *p, const struct peer_counters *c,
    uint64_t now, double now_s)
{
	return p->path_mtu;
}

static double
peer_mtu(const struct peer *p, const struct peer_counters *c, uint64_t now,
    double now_s)
{
	return (double)(peer_frame_max(p) - ETH_HLEN);
}

static double
peer_rekeys(const struct peer *p, const struct peer_counters *c,
    uint64_t now, double now_s)
{
	return (double)p->report.rekeys;
}

static double
peer_initiations(const struct peer *p, const struct peer_counters *c,
    uint64_t now, double now_s)
{
	return (double)p->session->stats.initiations;
}

/* The current outbound SA's age. */
static double
peer_sa_age(const struct peer *p, const struct peer_counters *c,
    uint64_t now, double now_s)
{
	const struct session *s = p->session;

	for (unsigned i = 0; i < SESSION_SAS_MAX; i++)
		if (s->sas[i].sa != NULL && s->sas[i].sa == s->tx)
			return (double)(now - s->sas[i].created_ms) / 1000;
	return 0;
}

/* A counter family by peer and direction: the counters at offsets rx and
 * tx of each peer's. */
static void
write_peer_directions(struct expo *x, const struct daemon *d,
    const struct snapshot *s, const char *name, const char *help,
    size_t rx, size_t tx)
{
	expo_family(x, name, EXPO_COUNTER, help);
	for (size_t i = 0; i < s->n_peers; i++) {
		const char *c = (const char *)&s->peers[i];
		struct expo_label l[] = {
			{ "peer", d->peers.peers[i].cfg.name },
			{ "direction", "rx" },
		};

		expo_u64(x, NULL, l, 2, *(const uint64_t *)(c + rx));
		l[1].value = "tx";
		expo_u64(x, NULL, l, 2, *(const uint64_t *)(c + tx));
	}
}

/* Per peer: traffic, drops, handshakes and SAs, state, path MTU. */
static void
write_peer_traffic(struct expo *x, const struct daemon *d,
    const struct snapshot *s)
{
	expo_family(x, "ovtund_peer_info", EXPO_GAUGE,
	    "The configured peers: encapsulation and encryption.");
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &d->peers.peers[i];
		const struct expo_label l[] = {
			{ "peer", p->cfg.name },
			{ "encap", encap_name(p->cfg.tun.encap) },
			{ "encryption", p->session == NULL ? "none" :
			    aead_cipher_name(p->session->cipher) },
		};

		expo_u64(x, NULL, l, 3, 1);
	}
	write_peer_directions(x, d, s, "ovtund_peer_packets",
	    "Packets from (rx) and to (tx) each peer.",
	    offsetof(struct peer_counters, rx_packets),
	    offsetof(struct peer_counters, tx_packets));
	write_peer_directions(x, d, s, "ovtund_peer_bytes",
	    "Bytes of those packets (the inner frames).",
	    offsetof(struct peer_counters, rx_bytes),
	    offsetof(struct peer_counters, tx_bytes));
	/* Only the reasons that happened: most never do for a peer. */
	expo_family(x, "ovtund_peer_drops", EXPO_COUNTER,
	    "Drops of a peer's packets and of frames to it, by reason.");
	for (size_t i = 0; i < s->n_peers; i++)
		for (unsigned r = DROP_NONE + 1; r < DROP__COUNT; r++) {
			const struct expo_label l[] = {
				{ "peer", d->peers.peers[i].cfg.name },
				{ "reason", drop_name(r) },
			};

			if (s->peers[i].drops[r] != 0)
				expo_u64(x, NULL, l, 2, s->peers[i].drops[r]);
		}
}

static void
write_peer_sessions(struct expo *x, const struct daemon *d,
    const struct snapshot *s)
{
	expo_family(x, "ovtund_peer_handshakes", EXPO_COUNTER,
	    "Key exchanges by result: completed, timeout (a peer that was "
	    "never up gave up), auth_failed (psk, encap, key or cipher "
	    "differ).");
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &d->peers.peers[i];
		struct expo_label l[] = { { "peer", p->cfg.name },
		    { "result", "completed" } };

		if (p->session == NULL)
			continue;
		expo_u64(x, NULL, l, 2, p->session->stats.handshakes);
		l[1].value = "timeout";
		expo_u64(x, NULL, l, 2, p->report.hs_timeouts);
		l[1].value = "auth_failed";
		expo_u64(x, NULL, l, 2, s->peers[i].drops[DROP_HS_AUTH_FAILED]);
	}
	write_peers(x, d, s, "ovtund_peer_handshake_initiations",
	    EXPO_COUNTER, "Key exchange messages sent to start one, "
	    "retransmissions included.", peer_initiations, true);
	write_peers(x, d, s, "ovtund_peer_rekeys", EXPO_COUNTER,
	    "New keys replacing keys.", peer_rekeys, true);
	expo_family(x, "ovtund_peer_sas", EXPO_GAUGE,
	    "ESP SAs, by direction.");
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct peer *p = &d->peers.peers[i];
		struct expo_label l[] = { { "peer", p->cfg.name },
		    { "direction", "rx" } };
		unsigned in = 0, out = 0;

		for (unsigned j = 0; p->session != NULL &&
		    j < SESSION_SAS_MAX; j++)
			if (p->session->sas[j].sa == NULL)
				continue;
			else if (p->session->sas[j].inbound)
				in++;
			else
				out++;
		if (p->session == NULL)
			continue;
		expo_u64(x, NULL, l, 2, in);
		l[1].value = "tx";
		expo_u64(x, NULL, l, 2, out);
	}
	write_peers(x, d, s, "ovtund_peer_sa_age_seconds", EXPO_GAUGE,
	    "Age of the SA the peer's packets are sent with.", peer_sa_age,
	    true);
}

static void
write_peer_state(struct expo *x, const struct daemon *d,
    const struct snapshot *s)
{
	write_peers(x, d, s, "ovtund_peer_up", EXPO_GAUGE,
	    "1 when the peer is up: encrypted, it has keys and was heard "
	    "within 30 s; plain, heard within mac_aging.", peer_up, false);
	write_peers(x, d, s, "ovtund_peer_last_rx_timestamp_seconds",
	    EXPO_GAUGE, "When the peer was last heard from, Unix time "
	    "(0: never).", peer_last_rx, false);
	write_peers(x, d, s, "ovtund_peer_path_mtu_bytes", EXPO_GAUGE,
	    "The underlay route's MTU toward the peer.", peer_path_mtu,
	    false);
	write_peers(x, d, s, "ovtund_peer_mtu_bytes", EXPO_GAUGE,
	    "The overlay's IP MTU toward the peer (untagged frames).",
	    peer_mtu, false);
}

static void
write_daemon(struct expo *x, const struct daemon *d, const struct snapshot *s)
{
	const struct expo_label ok[] = { { "result", "applied" } };
	const struct expo_label refused[] = { { "result", "refused" } };

	expo_family(x, "ovtund_reloads", EXPO_COUNTER,
	    "Configuration reloads, applied or refused.");
	expo_u64(x, NULL, ok, 1, d->reloads.ok);
	expo_u64(x, NULL, refused, 1, d->reloads.failed);
	expo_one(x, "ovtund_last_reload_timestamp_seconds", EXPO_GAUGE,
	    "When the last reload was tried, Unix time (0: never).",
	    d->reloads.last_s);
	expo_one(x, "ovtund_last_reload_successful", EXPO_GAUGE,
	    "1 when the last reload was applied (or none was tried).",
	    d->reloads.last_s == 0 ||
	    d->reloads.last_ok);
	expo_family(x, "ovtund_workers", EXPO_GAUGE, "Worker threads.");
	expo_u64(x, NULL, NULL, 0, d->workers.n);
	expo_one(x, "ovtund_event_subscribers", EXPO_GAUGE,
	    "Clients of ovtunctl monitor.",
	    events_subscribers());
	expo_family(x, "ovtund_scrape_pause_seconds", EXPO_GAUGE,
	    "How long this scrape paused the workers to copy counters.");
	expo_double(x, NULL, NULL, 0, s->pause_s);
}

int
metrics_write(struct daemon *d, FILE *out, bool openmetrics,
    double *pause_s)
{
	struct snapshot s = { 0 };
	struct expo x;

	if (snapshot_take(d, &s) < 0) {
		snapshot_free(&s);
		return -1;
	}
	*pause_s = s.pause_s;
	expo_init(&x, out, openmetrics);
	write_build(&x, d);
	write_threads(&x, &s);
	write_batches(&x, &s);
	write_totals(&x, &s);
	write_fdb(&x, d);
	write_peer_traffic(&x, d, &s);
	write_peer_sessions(&x, d, &s);
	write_peer_state(&x, d, &s);
	write_daemon(&x, d, &s);
	expo_finish(&x);
	snapshot_free(&s);
	return ferror(out) ? -1 : 0;
}
