/* The worker threads: each runs the data path (datapath.h) over its own
 * TAP queue and underlay sockets in a loop of its own (epoll), while the
 * main thread keeps libevent for the control socket, the timers, the
 * signals and the key exchange.
 *
 * The main thread changes what the workers read (the peer table on a
 * reload, a session's SAs, a snapshot of their counters for ovtunctl)
 * only with them paused: workers_pause returns once every worker is
 * parked between two batches, workers_resume lets them go. Pauses nest.
 * Everything else crosses threads as atomics or as requests in the
 * inboxes. */
#ifndef OVT_WORKER_H
#define OVT_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "datapath.h"

struct sock;
struct workers;

struct worker {
	unsigned		 id;
	struct workers		*all;
	pthread_t		 thread;
	bool			 started;
	int			 epfd;
	struct dp_inbox		 inbox;	/* the main thread's requests */
	struct datapath		 dp;
};

struct workers {
	struct worker	*w;
	unsigned	 n;
	bool		 running;	/* threads started */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 pause;		/* atomic: park at the next batch */
	bool		 stop;		/* atomic: leave the loop */
	unsigned	 parked;	/* workers parked, under lock */
	unsigned	 depth;		/* the main thread's pauses */
	struct dp_inbox	*main_inbox;	/* where the TAP's loss goes */
};

/* How many workers "workers = auto" (0) or n means here. */
unsigned	workers_count(unsigned configured);
/* Sets up n workers, their epoll sets and data paths; each dp still
 * needs its tap, peers, fdb and frame_max. */
int		workers_init(struct workers *, unsigned n, struct dp_shared *,
		    const int *tap_fds);
/* Starts the threads, with every signal blocked: they are the main
 * thread's. */
int		workers_start(struct workers *);
/* Stops and joins the threads. */
void		workers_stop(struct workers *);
/* Frees everything, once the threads are stopped and no socket of theirs
 * is left (underlay_close_all). */
void		workers_free(struct workers *);

void		workers_pause(struct workers *);
void		workers_resume(struct workers *);

/* Adds s to (removes it from) what a worker reads. */
int		worker_watch(struct worker *, struct sock *);
void		worker_unwatch(struct worker *, struct sock *);

#endif
