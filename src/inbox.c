/* The threads' request queues (datapath.h): a mutex, since requests are
 * rare (key exchanges, the first frames to a peer without keys), and an
 * eventfd to wake the owner. */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "datapath.h"

/* A write fails only when the counter is full: the owner wakes anyway. */
static void
wake(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n;
}

int
dp_inbox_init(struct dp_inbox *b)
{
	int err;

	b->n = 0;
	if ((b->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	if ((err = pthread_mutex_init(&b->lock, NULL)) != 0) {
		close(b->wake_fd);
		b->wake_fd = -1;
		return -err;
	}
	return 0;
}

void
dp_inbox_free(struct dp_inbox *b)
{
	if (b->wake_fd < 0)
		return;
	pthread_mutex_destroy(&b->lock);
	close(b->wake_fd);
	b->wake_fd = -1;
}

void
dp_post(struct dp_inbox *b, const struct dp_request *r)
{
	bool first;

	pthread_mutex_lock(&b->lock);
	first = b->n == 0;
	if (b->n < DP_INBOX_MAX)
		b->req[b->n++] = *r;
	pthread_mutex_unlock(&b->lock);
	/* The first request wakes the owner, who takes them all. */
	if (first)
		wake(b->wake_fd);
}

void
dp_inbox_wake(struct dp_inbox *b)
{
	wake(b->wake_fd);
}

unsigned
dp_inbox_take(struct dp_inbox *b, struct dp_request *out, unsigned max)
{
	uint64_t count;
	unsigned n, i;

	if (read(b->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&b->lock);
	n = b->n < max ? b->n : max;
	for (i = 0; i < n; i++)
		out[i] = b->req[i];
	for (i = n; i < b->n; i++)
		b->req[i - n] = b->req[i];
	b->n -= n;
	/* What is left wakes the owner again. */
	if (b->n > 0)
		wake(b->wake_fd);
	pthread_mutex_unlock(&b->lock);
	return n;
}

void
dp_inbox_forget(struct dp_inbox *b, const struct session *s)
{
	unsigned kept = 0;

	pthread_mutex_lock(&b->lock);
	for (unsigned i = 0; i < b->n; i++)
		if (b->req[i].session != s)
			b->req[kept++] = b->req[i];
	b->n = kept;
	pthread_mutex_unlock(&b->lock);
}
