#include <errno.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "socket.h"
#include "tap.h"
#include "worker.h"

#define WORKER_EVENTS	32
#define WORKER_REQUESTS	64

unsigned
workers_count(unsigned configured)
{
	cpu_set_t cpus;
	int n;

	if (configured != 0)
		return configured;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) < 0 ||
	    (n = CPU_COUNT(&cpus)) < 1)
		return 1;
	return n > CONFIG_WORKERS_AUTO_MAX ? CONFIG_WORKERS_AUTO_MAX :
	    (unsigned)n;
}

static int
watch(struct worker *w, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int
worker_watch(struct worker *w, struct sock *s)
{
	return watch(w, s->fd, s);
}

void
worker_unwatch(struct worker *w, struct sock *s)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
}

int
workers_init(struct workers *ws, unsigned n, struct dp_shared *sh,
    const int *tap_fds)
{
	int ret;

	memset(ws, 0, sizeof(*ws));
	if ((ws->w = calloc(n, sizeof(*ws->w))) == NULL)
		return -ENOMEM;
	ws->n = n;
	if ((ret = pthread_mutex_init(&ws->lock, NULL)) != 0 ||
	    (ret = pthread_cond_init(&ws->cond, NULL)) != 0) {
		free(ws->w);
		ws->w = NULL;
		return -ret;
	}
	ws->main_inbox = sh->main_inbox;
	for (unsigned i = 0; i < n; i++) {
		ws->w[i].id = i;
		ws->w[i].all = ws;
		ws->w[i].epfd = -1;
		ws->w[i].inbox.wake_fd = -1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &ws->w[i];

		if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
			return -errno;
		if ((ret = dp_inbox_init(&w->inbox)) < 0 ||
		    (ret = dp_init(&w->dp, i, sh, tap_fds[i])) < 0 ||
		    (ret = watch(w, w->inbox.wake_fd, &w->inbox)) < 0 ||
		    (ret = watch(w, tap_fds[i], &w->dp.tap_fd)) < 0)
			return ret;
	}
	return 0;
}

/* Between two batches: parks while the main thread has the workers
 * paused. */
static void
worker_checkpoint(struct worker *w)
{
	struct workers *ws = w->all;

	if (!__atomic_load_n(&ws->pause, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&ws->lock);
	ws->parked++;
	pthread_cond_broadcast(&ws->cond);
	while (ws->pause)
		pthread_cond_wait(&ws->cond, &ws->lock);
	ws->parked--;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
}

static void
worker_requests(struct worker *w, uint64_t now)
{
	struct dp_request r[WORKER_REQUESTS];
	unsigned n = dp_inbox_take(&w->inbox, r, WORKER_REQUESTS);

	for (unsigned i = 0; i < n; i++)
		dp_worker_request(&w->dp, &r[i], now);
}

/* The TAP is gone (its namespace deleted, say): the main thread ends the
 * daemon; this worker stops reading it. */
static void
worker_tap_gone(struct worker *w, int err)
{
	struct dp_request r = { .type = DP_REQ_TAP_GONE, .error = -err };

	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->dp.tap_fd, NULL);
	dp_post(w->all->main_inbox, &r);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct workers *ws = w->all;
	struct epoll_event ev[WORKER_EVENTS];

	while (!__atomic_load_n(&ws->stop, __ATOMIC_ACQUIRE)) {
		uint64_t now;
		int n, ret;

		worker_checkpoint(w);
		if ((n = epoll_wait(w->epfd, ev, WORKER_EVENTS, -1)) < 0) {
			if (errno != EINTR)
				log_rl(LOG_ERR, "worker %u: epoll: %m", w->id);
			continue;
		}
		now = clock_ms();
		for (int i = 0; i < n; i++) {
			void *what = ev[i].data.ptr;

			if (what == &w->inbox)
				worker_requests(w, now);
			else if (what == &w->dp.tap_fd) {
				if ((ret = dp_tap_readable(&w->dp, now)) < 0)
					worker_tap_gone(w, ret);
			} else
				dp_sock_readable(&w->dp, what, now);
		}
	}
	return NULL;
}

int
workers_start(struct workers *ws)
{
	sigset_t all, old;
	int ret = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < ws->n && ret == 0; i++) {
		ret = -pthread_create(&ws->w[i].thread, NULL, worker_main,
		    &ws->w[i]);
		ws->w[i].started = ret == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ws->running = true;
	return ret;
}

void
workers_stop(struct workers *ws)
{
	if (ws->w == NULL)
		return;
	__atomic_store_n(&ws->stop, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].started)
			dp_inbox_wake(&ws->w[i].inbox);
	for (unsigned i = 0; i < ws->n; i++) {
		if (ws->w[i].started)
			pthread_join(ws->w[i].thread, NULL);
		ws->w[i].started = false;
	}
	ws->running = false;
}

void
workers_free(struct workers *ws)
{
	if (ws->w == NULL)
		return;
	workers_stop(ws);
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		dp_free(&w->dp);
		dp_inbox_free(&w->inbox);
		if (w->epfd >= 0)
			close(w->epfd);
	}
	pthread_cond_destroy(&ws->cond);
	pthread_mutex_destroy(&ws->lock);
	free(ws->w);
	ws->w = NULL;
}

void
workers_pause(struct workers *ws)
{
	if (ws->depth++ > 0 || !ws->running)
		return;
	pthread_mutex_lock(&ws->lock);
	__atomic_store_n(&ws->pause, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < ws->n; i++)
		dp_inbox_wake(&ws->w[i].inbox);
	while (ws->parked < ws->n)
		pthread_cond_wait(&ws->cond, &ws->lock);
	pthread_mutex_unlock(&ws->lock);
}

/* Returns once every worker runs again, so that the next pause counts
 * only workers it parked itself. */
void
workers_resume(struct workers *ws)
{
	if (ws->depth == 0 || --ws->depth > 0 || !ws->running)
		return;
	pthread_mutex_lock(&ws->lock);
	__atomic_store_n(&ws->pause, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&ws->cond);
	while (ws->parked > 0)
		pthread_cond_wait(&ws->cond, &ws->lock);
	pthread_mutex_unlock(&ws->lock);
}
