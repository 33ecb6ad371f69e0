/* ovtund: options, configuration, setup, the event loop and teardown. Only
 * main() decides to exit; everything below it returns errors. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "clock.h"
#include "ctl.h"
#include "events.h"
#include "fdb.h"
#include "keylog.h"
#include "log.h"
#include "metrics.h"
#include "preflight.h"
#include "membership.h"
#include "privs.h"
#include "ovtund.h"
#include "socket.h"
#include "underlay.h"
#include "wire.h"
#include "worker.h"

#define DEFAULT_CONFIG		SYSCONFDIR "/ovtund.conf"
#define FDB_SWEEP_MS		1000
/* Handshake retransmissions, rekeying and keepalives are checked this
 * often; their own timeouts are seconds. */
#define TICK_MS			100

struct options {
	const char	*config;
	const char	*control;	/* overrides the file's control */
	int		 foreground;
	int		 check_only;
	int		 verbosity;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ovtund [-fhtVv] [-c file] [-s socket]\n"
	    "  -c file  configuration (default " DEFAULT_CONFIG ")\n"
	    "  -s, --control socket\n"
	    "           control socket, instead of the file's control\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -t       check the configuration and exit\n"
	    "  -v       more verbose logging (repeatable)\n"
	    "  -V, --version  print the version and exit\n");
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "control", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const struct config *c = NULL;
	int ch;

	o->config = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:fhs:tvV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			if (optarg[0] != '/' ||
			    strlen(optarg) >= sizeof(c->control)) {
				fprintf(stderr, "ovtund: -s %s: not an absolute "
				    "path of at most %zu bytes\n", optarg,
				    sizeof(c->control) - 1);
				return -1;
			}
			o->control = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 't':
			o->check_only = 1;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'V':
			printf("ovtund %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The TAP MTU: as configured, or the smallest that fits every peer's
 * route once its encapsulation is added. */
static unsigned
derive_mtu(const struct config *cfg)
{
	unsigned best = 0;

	if (cfg->mtu != 0)
		return cfg->mtu;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct peer_config *p = &cfg->peers[i];
		int route = route_lookup(&cfg->local, &p->remote, NULL);
		unsigned fit;

		if (route <= 0)
			route = UNDERLAY_MTU_FALLBACK;
		fit = (unsigned)route - encap_overhead(&p->tun, &p->enc,
		    p->remote.family) - ETH_HLEN;
		if (best == 0 || fit < best)
			best = fit;
	}
	if (best == 0)
		best = UNDERLAY_MTU_FALLBACK - encap_overhead(&cfg->tun,
		    &cfg->enc, cfg->local.family ? cfg->local.family :
		    AF_INET) - ETH_HLEN;
	return best;
}

static int
add_event(struct daemon *d, evutil_socket_t fd, short what,
    event_callback_fn cb, void *arg, const struct timeval *tv)
{
	struct event **grown, *ev;

	grown = realloc(d->events, (d->n_events + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	d->events = grown;
	if ((ev = event_new(d->base, fd, what, cb, arg)) == NULL)
		return -ENOMEM;
	d->events[d->n_events++] = ev;
	return event_add(ev, tv) < 0 ? -EINVAL : 0;
}

#define MAIN_REQUESTS	64

/* What the workers ask: key exchanges, and the end when the TAP is gone. */
static void
on_inbox(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct dp_request r[MAIN_REQUESTS];
	unsigned n = dp_inbox_take(&d->inbox, r, MAIN_REQUESTS);
	uint64_t now = clock_ms();

	for (unsigned i = 0; i < n; i++) {
		if (r[i].type != DP_REQ_TAP_GONE) {
			dp_main_request(&d->dp, &r[i], now);
			continue;
		}
		log_err("%s: the TAP device is gone (%s); exiting",
		    d->tap.name, strerror(r[i].error));
		d->exit_status = 1;
		event_base_loopbreak(d->base);
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t now = clock_ms();

	dp_timer(&d->dp, now);
	events_drain(now);
}

static void
on_fdb_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t now = clock_ms();
	size_t aged = fdb_expire(d->fdb, now);
	uint64_t evicted = fdb_stats(d->fdb).evicted;

	/* A plain peer counts as up while it is heard from within a MAC
	 * aging time, as `ovtunctl peers` says "active". */
	for (size_t i = 0; i < d->peers.n; i++)
		if (d->peers.peers[i].session == NULL)
			peer_report_activity(&d->peers.peers[i], now,
			    fdb_aging_ms(d->fdb));
	if (aged > 0)
		EVENT(EVENT_MAC_AGED, EVF_NUM("count", aged));
	/* Evictions happen in the workers, by the thousand in a flood:
	 * said as a count, once a sweep. */
	if (evicted > d->fdb_evicted_told)
		EVENT(EVENT_MAC_EVICTED, EVF_NUM("count",
		    evicted - d->fdb_evicted_told));
	d->fdb_evicted_told = evicted;
}

/* systemd's watchdog (WatchdogSec=): fed only once every worker has
 * answered a pause, so a wedged worker stops the feeding as surely as a
 * wedged main loop, and systemd restarts the daemon. */
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	workers_pause(&d->workers);
	workers_resume(&d->workers);
	sd_notify(0, "WATCHDOG=1");
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(d->base);
}

static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct reload_result r;

	daemon_reload(arg, "SIGHUP", &r);
}

static int
setup_events(struct daemon *d)
{
	static const struct timeval sweep = { FDB_SWEEP_MS / 1000, 0 };
	static const struct timeval tick = { 0, TICK_MS * 1000 };
	struct timeval watchdog;
	uint64_t watchdog_us;
	int ret;

	ret = add_event(d, d->inbox.wake_fd, EV_READ | EV_PERSIST, on_inbox,
	    d, NULL);
	if (ret == 0)
		ret = add_event(d, -1, EV_PERSIST, on_fdb_sweep, d, &sweep);
	if (ret == 0)
		ret = add_event(d, -1, EV_PERSIST, on_tick, d, &tick);
	if (ret == 0 && sd_watchdog_enabled(0, &watchdog_us) > 0) {
		/* Twice per period, as sd_watchdog_enabled(3) advises. */
		watchdog.tv_sec = (time_t)(watchdog_us / 2000000);
		watchdog.tv_usec = (suseconds_t)(watchdog_us / 2 % 1000000);
		ret = add_event(d, -1, EV_PERSIST, on_watchdog, d, &watchdog);
	}
	if (ret == 0)
		ret = add_event(d, SIGTERM, EV_SIGNAL | EV_PERSIST, on_stop, d,
		    NULL);
	if (ret == 0)
		ret = add_event(d, SIGINT, EV_SIGNAL | EV_PERSIST, on_stop, d,
		    NULL);
	if (ret == 0)
		ret = add_event(d, SIGHUP, EV_SIGNAL | EV_PERSIST, on_reload,
		    d, NULL);
	return ret;
}

void
daemon_apply_options(const struct daemon *d, struct config *cfg)
{
	if (d->control_arg != NULL)
		snprintf(cfg->control, sizeof(cfg->control), "%s",
		    d->control_arg);
}

/* The PID file: beside the control socket, its name with .pid for .sock
 * (/run/ovtund/lab.sock: /run/ovtund/lab.pid), so that each instance has
 * its own and `kill $(cat ...)` signals that one. */
static int
pidfile_write(struct daemon *d, char *err, size_t errlen)
{
	const char *ctl = d->cfg->control;
	size_t len = strlen(ctl);
	char buf[32];
	int fd, n, ret;

	if (len > 5 && strcmp(ctl + len - 5, ".sock") == 0)
		len -= 5;
	snprintf(d->pidfile, sizeof(d->pidfile), "%.*s.pid", (int)len, ctl);
	fd = open(d->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		ret = -errno;
		snprintf(err, errlen, "pid file %s: %s", d->pidfile,
		    strerror(-ret));
		if (fd >= 0)
			close(fd);
		d->pidfile[0] = '\0';
		return ret;
	}
	close(fd);
	return 0;
}

void
daemon_counters(const struct daemon *d, struct dp_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < d->workers.n; i++)
		dp_counters_add(sum, &d->workers.w[i].dp.c);
	dp_counters_add(sum, &d->dp.c);
}

static void
gate_pause(void *arg)
{
	workers_pause(arg);
}

static void
gate_resume(void *arg)
{
	workers_resume(arg);
}

/* The workers, each with its TAP queue, and the main thread's data path;
 * the flow hash key. */
static int
setup_datapaths(struct daemon *d, unsigned n, char *err, size_t errlen)
{
	struct datapath *dps[CONFIG_WORKERS_MAX + 1];
	int ret;

	d->shared.n_workers = n;
	d->shared.main_inbox = &d->inbox;
	randombytes_buf(d->shared.flow_key, sizeof(d->shared.flow_key));
	if ((ret = dp_inbox_init(&d->inbox)) < 0 ||
	    (ret = workers_init(&d->workers, n, &d->shared, d->tap.fds)) < 0 ||
	    (ret = dp_init(&d->dp, n, &d->shared, -1)) < 0) {
		snprintf(err, errlen, "cannot set up the workers: %s",
		    strerror(-ret));
		return ret;
	}
	d->shared.send_inbox = &d->workers.w[0].inbox;
	for (unsigned i = 0; i < n; i++)
		dps[i] = &d->workers.w[i].dp;
	dps[n] = &d->dp;
	for (unsigned i = 0; i <= n; i++) {
		dps[i]->tap = &d->tap;
		dps[i]->peers = &d->peers;
		dps[i]->fdb = d->fdb;
		dps[i]->frame_max = d->tap.mtu + ETH_HLEN + VLAN_HLEN;
	}
	d->gate = (struct session_gate){ gate_pause, gate_resume,
	    &d->workers };
	return 0;
}

void
daemon_apply_keylog(struct daemon *d)
{
	d->dp.keylog = NULL;
	d->dp.keylog_arg = d->cfg->keylog;
	if (d->cfg->keylog[0] == '\0')
		return;
	log_warn("keylog %s: writing every ESP key there; a debugging aid "
	    "that defeats the encryption", d->cfg->keylog);
	d->dp.keylog = keylog_append;
}

/* etcd { }: the members of the last snapshot join the file's peers, so
 * the daemon starts with them even while etcd is unreachable. */
static int
setup_membership(struct daemon *d, char *err, size_t errlen)
{
	struct config *merged;

	if (!d->cfg->etcd.enabled)
		return 0;
	if ((d->ms = membership_new(d, err, errlen)) == NULL)
		return -1;
	if ((merged = membership_merge(d->ms, d->cfg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	config_free(d->cfg);
	d->cfg = merged;
	return 0;
}

static int
setup(struct daemon *d, char *err, size_t errlen)
{
	const struct config *cfg;
	unsigned n;
	int ret;

	if ((d->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "libevent: cannot create event base");
		return -ENOMEM;
	}
	if (setup_membership(d, err, errlen) < 0)
		return -ENOMEM;
	cfg = d->cfg;
	n = workers_count(cfg->workers);
	d->fdb = fdb_create(cfg->mac_table_size,
	    (uint64_t)cfg->mac_aging * 1000);
	if (d->fdb == NULL || peer_table_init(&d->peers, cfg, n + 1) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((ret = tap_open(&d->tap, cfg, derive_mtu(cfg), n, err,
	    errlen)) < 0) {
		preflight_blame(cfg, NULL, cfg->netns[0] ? "netns" : cfg->bridge[0] ?
		    "bridge" : "interface", err, errlen);
		return ret;
	}
	if ((ret = setup_datapaths(d, n, err, errlen)) < 0)
		return ret;
	for (size_t i = 0; i < d->peers.n; i++) {
		if ((ret = underlay_attach(d, &d->peers.peers[i], err,
		    errlen)) < 0) {
			preflight_blame(cfg, &cfg->peers[i], "remote", err,
			    errlen);
			return ret;
		}
	}
	if ((ret = peer_table_start_sessions(&d->peers, &d->peers, cfg,
	    &d->gate, err, errlen)) < 0)
		return ret;
	daemon_apply_keylog(d);
	if ((ret = ctl_open(d, cfg->control, cfg->control_group, err,
	    errlen)) < 0 || (ret = pidfile_write(d, err, errlen)) < 0) {
		preflight_blame(cfg, NULL, "control", err, errlen);
		return ret;
	}
	if (cfg->metrics[0] != '\0' &&
	    (ret = metrics_open(d, cfg->metrics, err, errlen)) < 0) {
		preflight_blame(cfg, NULL, "metrics", err, errlen);
		return ret;
	}
	if ((ret = setup_events(d)) < 0) {
		snprintf(err, errlen, "libevent: cannot add events: %s",
		    strerror(-ret));
		return ret;
	}
	/* Everything that needs root is done: the TAP exists and lives in
	 * its namespace, and the sockets are bound. */
	if (cfg->user[0] == '\0')
		log_warn("no user configured: staying root");
	else if ((ret = privs_drop(cfg->user, err, errlen)) < 0)
		return ret;
	/* Threads started after the drop have no more than it left. */
	if ((ret = workers_start(&d->workers)) < 0) {
		snprintf(err, errlen, "cannot start the workers: %s",
		    strerror(-ret));
		return ret;
	}
	return 0;
}

static void
teardown(struct daemon *d, bool clean)
{
	/* A clean stop revokes our lease: the others drop us at once. */
	membership_free(d->ms, clean);
	workers_stop(&d->workers);
	for (size_t i = 0; i < d->n_events; i++)
		event_free(d->events[i]);
	free(d->events);
	ctl_close(d->ctl);
	/* As for the socket: after the drop the directory may refuse. */
	if (d->pidfile[0] != '\0' && unlink(d->pidfile) < 0)
		log_info("pid file %s: not removed: %s", d->pidfile,
		    strerror(errno));
	metrics_close(d->metrics);
	underlay_close_all(d);
	workers_free(&d->workers);
	dp_inbox_free(&d->inbox);
	if (d->base != NULL)
		event_base_free(d->base);
	tap_close(&d->tap);
	dp_free(&d->dp);
	fdb_destroy(d->fdb);
	peer_table_free(&d->peers);
	config_free(d->cfg);
}

/* Forks into the background. The parent waits for the child to report
 * whether setup worked, so `ovtund` exits non-zero when the daemon could
 * not start and zero only once it serves. */
static int
daemonize(int *ready_fd)
{
	int fds[2];
	pid_t pid;
	char status = 1;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if ((pid = fork()) < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	if (setsid() < 0)
		return -errno;
	*ready_fd = fds[1];
	return 0;
}

static void
report_ready(int ready_fd, int ok)
{
	char status = ok ? 0 : 1;
	int null;

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &status, 1) != 1)
		log_warn("cannot report readiness to the parent");
	close(ready_fd);
	if (ok && (null = open("/dev/null", O_RDWR)) >= 0) {
		log_to_syslog();
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

/* Which engine seals each cipher a peer uses, and why: at start-up, so
 * the self-benchmark of crypto_engine = auto runs before any traffic. */
static void
log_crypto_engines(const struct config *cfg)
{
	bool used[AEAD__CIPHERS] = { false };

	for (size_t i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].enc.enabled)
			used[cfg->peers[i].enc.cipher] = true;
	for (int c = 0; c < AEAD__CIPHERS; c++) {
		if (!used[c])
			continue;
		log_notice("%s: auto picks %s (sealed GB/s: libsodium %.2f, "
		    "openssl %.2f)", aead_cipher_name(c),
		    aead_engine_name(aead_auto(c)),
		    aead_measured_gbps(c, AEAD_LIBSODIUM),
		    aead_measured_gbps(c, AEAD_OPENSSL));
	}
}

static void
log_started(const struct daemon *d)
{
	log_notice("%s: up, mtu %u, encap %s, %zu peer%s, %u worker%s, "
	    "control %s", d->tap.name, d->tap.mtu,
	    encap_name(d->cfg->tun.encap), d->peers.n,
	    d->peers.n == 1 ? "" : "s", d->workers.n,
	    d->workers.n == 1 ? "" : "s", d->cfg->control);
	log_crypto_engines(d->cfg);
}


int
main(int argc, char **argv)
{
	struct daemon d = { .inbox = { .wake_fd = -1 } };
	struct options o = { 0 };
	char err[512];
	int ready_fd = -1, ok, ret;

	if (parse_options(argc, argv, &o) < 0)
		return 1;
	log_init(o.verbosity);
	if (sodium_init() < 0) {
		log_err("libsodium failed to initialise");
		return 1;
	}
	d.control_arg = o.control;
	if ((d.cfg = config_load(o.config, err, sizeof(err))) != NULL)
		daemon_apply_options(&d, d.cfg);
	if (d.cfg == NULL || preflight(d.cfg, err, sizeof(err)) < 0) {
		log_err("%s", err);
		config_free(d.cfg);
		return 1;
	}
	if (d.cfg->warning[0] != '\0')
		log_warn("%s", d.cfg->warning);
	if (o.check_only) {
		printf("%s: ok\n", o.config);
		config_free(d.cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!o.foreground && (ret = daemonize(&ready_fd)) < 0) {
		log_err("cannot daemonize: %s", strerror(-ret));
		return 1;
	}
	d.started_ms = clock_ms();
	ok = setup(&d, err, sizeof(err)) == 0;
	if (!ok)
		log_err("%s", err);
	report_ready(ready_fd, ok);
	if (ok) {
		log_started(&d);
		dp_start_sessions(&d.dp, clock_ms());
		if (d.ms != NULL)
			membership_start(d.ms);
		sd_notify(0, "READY=1");
		event_base_dispatch(d.base);
		sd_notify(0, "STOPPING=1");
	}
	teardown(&d, ok);
	return ok ? d.exit_status : 1;
}
