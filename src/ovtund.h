/* The daemon's state: one struct, owned by main(), handed to the event
 * callbacks and the control commands. */
#ifndef OVT_OVTUND_H
#define OVT_OVTUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "datapath.h"
#include "peer.h"
#include "session.h"
#include "tap.h"
#include "worker.h"

struct event;
struct event_base;
struct ctl_server;
struct metrics_server;
struct membership;
struct underlay_class;

/* Reloads, for the metrics. */
struct reload_stats {
	uint64_t	ok, failed;
	uint64_t	last_s;		/* Unix time of the last, 0: none */
	bool		last_ok;
};

struct daemon {
	struct event_base	*base;
	struct config		*cfg;
	struct tap		 tap;
	struct peer_table	 peers;
	struct fdb		*fdb;
	struct underlay_class	**classes;	/* see underlay.h */
	size_t			 n_classes;
	struct workers		 workers;
	struct dp_shared	 shared;	/* the data paths' */
	struct dp_inbox		 inbox;		/* the workers' requests */
	struct session_gate	 gate;		/* pauses the workers */
	struct datapath		 dp;		/* the main thread's */
	struct ctl_server	*ctl;
	struct metrics_server	*metrics;	/* NULL: off */
	struct membership	*ms;		/* etcd { }, or NULL */
	struct event		**events;	/* TAP, timers, signals */
	size_t			 n_events;
	uint64_t		 started_ms;
	const char		*control_arg;	/* -s: instead of control */
	char			 pidfile[sizeof(((struct config *)0)->control) + 4];
	struct reload_stats	 reloads;
	uint64_t		 fdb_evicted_told;	/* to the event stream */
	int			 exit_status;	/* main()'s, once the loop ends */
};

/* What the command line overrides in a configuration just loaded. */
void	daemon_apply_options(const struct daemon *, struct config *);
/* Points the data path's key log at the configuration's, if any. */
void	daemon_apply_keylog(struct daemon *);
/* The counters of every thread's data path, added up (workers paused). */
void	daemon_counters(const struct daemon *, struct dp_counters *);

/* What a reload did, or why it was refused. */
struct reload_result {
	size_t	peers, added, changed, unchanged, removed;
	char	msg[1024];	/* the summary, or why it was refused */
};

/* Re-reads the configuration file and applies it (reload.c), for who
 * ("SIGHUP", "ovtunctl (pid 42, uid 0)"), logs the outcome and tells
 * systemd (RELOADING=1 ... READY=1, STATUS=). On error (a negative errno)
 * the running configuration stays and r->msg says why. */
int	daemon_reload(struct daemon *, const char *who, struct reload_result *);
/* Applies next (which it takes): its peers replace the running ones,
 * unchanged ones carried over; the reload's path, which etcd's member
 * changes take too. r counts what changed (from zero); on error the
 * running peers stay and r->msg says why. */
int	daemon_apply(struct daemon *, struct config *next,
	    struct reload_result *r);

#endif
