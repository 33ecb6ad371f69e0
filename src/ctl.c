#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ctl-proto.h"
#include "ctl.h"
#include "emit.h"
#include "events.h"
#include "listen.h"
#include "log.h"
#include "ovtund.h"

#define CTL_CLIENTS_MAX		128
#define CTL_DEADLINE_SEC	30	/* a whole request and reply, at most */
/* A burst of connections waits in the kernel rather than being refused
 * while the daemon is busy forwarding. */
#define CTL_BACKLOG		256
/* Replies are rendered whole; clients that do not read them must not
 * make the daemon hold more than this. */
#define CTL_PENDING_MAX		(32u << 20)
/* A monitor's socket buffer (the kernel doubles it); events beyond it
 * wait in the event hub's bounded buffer. */
#define CTL_MONITOR_SNDBUF	(16u << 10)

struct ctl_client {
	struct ctl_server	*srv;
	struct bufferevent	*bev;
	struct event		*deadline;
	struct events_sub	*sub;		/* a monitor's */
	struct ctl_client	*next, *prev;
	char			 who[64];	/* "ovtunctl (pid 42, uid 0)" */
	bool			 root;		/* uid 0, as SO_PEERCRED says */
};

struct ctl_server {
	struct daemon		*d;
	struct evconnlistener	*listener;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client	*clients;
	unsigned		 n_clients;
	const struct ctl_client	*running;	/* whose command runs now */
};

static void
client_free(struct ctl_client *c)
{
	struct ctl_server *srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_clients--;
	events_unsubscribe(c->sub);
	if (c->deadline != NULL)
		event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

/* What replies still wait in every client's output. */
static size_t
pending_bytes(const struct ctl_server *srv)
{
	size_t n = 0;

	for (const struct ctl_client *c = srv->clients; c != NULL;
	    c = c->next)
		n += evbuffer_get_length(bufferevent_get_output(c->bev));
	return n;
}

static void
client_reply(struct ctl_client *c, enum ctl_status status,
    struct evbuffer *body)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct ctl_response rsp = {
		.magic = CTL_MAGIC,
		.version = CTL_VERSION,
		.status = (uint16_t)status,
		.len = (uint32_t)evbuffer_get_length(body),
	};

	evbuffer_add(out, &rsp, sizeof(rsp));
	evbuffer_add_buffer(out, body);
	/* Nothing more is read: the client is done once the reply drains. */
	bufferevent_disable(c->bev, EV_READ);
}

/* The answer is msg, as JSON if the client asked for JSON. */
static void
client_error(struct ctl_client *c, enum ctl_status status, bool json,
    const char *msg)
{
	struct evbuffer *body = evbuffer_new();
	struct emit *e = body != NULL ? emit_new(body, json) : NULL;

	if (e == NULL) {
		evbuffer_free(body);
		client_free(c);
		return;
	}
	emit_error(e, msg);
	emit_free(e);
	client_reply(c, status, body);
	evbuffer_free(body);
}

/* A monitor: the reply is the event stream, for as long as the client
 * stays. It has no deadline and may idle; its buffer is bounded by the
 * event hub, which drops what a slow reader cannot take. */
static void
client_monitor(struct ctl_client *c, const struct ctl_request *req)
{
	struct ctl_response rsp = {
		.magic = CTL_MAGIC,
		.version = CTL_VERSION,
		.status = CTL_OK,
		.len = CTL_STREAM,
	};
	int sndbuf = CTL_MONITOR_SNDBUF;

	c->sub = events_subscribe(c->bev, req->flags & CTL_FLAG_JSON);
	if (c->sub == NULL) {
		client_error(c, CTL_ERR_FAILED, req->flags & CTL_FLAG_JSON,
		    "busy: too many monitors");
		return;
	}
	/* What the kernel holds for it counts too: keep that small. */
	setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_SNDBUF,
	    &sndbuf, sizeof(sndbuf));
	event_free(c->deadline);
	c->deadline = NULL;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	evbuffer_add(bufferevent_get_output(c->bev), &rsp, sizeof(rsp));
}

static void
client_run(struct ctl_client *c, const struct ctl_request *req,
    const char *arg)
{
	ctl_handler *handler = ctl_handler_for(req->command);
	bool json = req->flags & CTL_FLAG_JSON;
	struct evbuffer *body;
	struct emit *e;
	int ret;

	if (handler == NULL) {
		client_error(c, CTL_ERR_UNKNOWN_COMMAND, json,
		    "unknown command");
		return;
	}
	/* The keys are root's alone, never control_group's. */
	if ((req->flags & CTL_FLAG_KEYS) && !c->root) {
		log_warn("%s asked for the SA keys: refused, not root", c->who);
		client_error(c, CTL_ERR_FAILED, json, "--keys: only root may "
		    "read the keys");
		return;
	}
	if (pending_bytes(c->srv) > CTL_PENDING_MAX) {
		client_error(c, CTL_ERR_FAILED, json, "busy: replies to other "
		    "clients are still unread; try again");
		return;
	}
	body = evbuffer_new();
	e = body != NULL ? emit_new(body, json) : NULL;
	if (e == NULL) {
		evbuffer_free(body);
		client_error(c, CTL_ERR_FAILED, json, "out of memory");
		return;
	}
	c->srv->running = c;
	ret = handler(c->srv->d, e, req->flags, arg);
	c->srv->running = NULL;
	/* A failing handler may have said why; if not, errno says it. */
	if (ret < 0 && evbuffer_get_length(body) == 0)
		emit_error(e, strerror(-ret));
	emit_free(e);
	client_reply(c, ret < 0 ? CTL_ERR_FAILED : CTL_OK, body);
	evbuffer_free(body);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_request req;
	char argument[CTL_REQUEST_MAX];

	if (c->sub != NULL) {
		/* A monitor reads only to see the client leave. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (evbuffer_get_length(in) < sizeof(req))
		return;
	evbuffer_copyout(in, &req, sizeof(req));
	if (ctl_request_check(&req) < 0) {
		client_error(c, CTL_ERR_BAD_REQUEST, false,
		    "malformed request");
		return;
	}
	if (evbuffer_get_length(in) < sizeof(req) + req.arg_len)
		return;
	evbuffer_drain(in, sizeof(req));
	evbuffer_remove(in, argument, req.arg_len);
	argument[req.arg_len] = '\0';
	if (req.command == CTL_MONITOR)
		client_monitor(c, &req);
	else
		client_run(c, &req, argument);
}

static void
client_written(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;

	/* Reading is off only once a reply is queued, so an empty output
	 * buffer then means the reply is out. */
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		client_free(c);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	/* EOF, error or timeout: the client is gone or too slow. */
	client_free(arg);
}

static void
client_expired(evutil_socket_t fd, short what, void *arg)
{
	/* Idle timeouts restart with every byte; this one does not, so a
	 * client trickling a byte at a time cannot hold a slot for long. */
	client_free(arg);
}

/* Who connected, by the kernel's word (SO_PEERCRED), for the log. */
static void
client_name(struct ctl_client *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		snprintf(c->who, sizeof(c->who), "the control socket (pid "
		    "%ld, uid %lu)", (long)cred.pid, (unsigned long)cred.uid);
		c->root = cred.uid == 0;
	} else
		snprintf(c->who, sizeof(c->who), "the control socket");
}

const char *
ctl_requester(const struct ctl_server *srv)
{
	return srv != NULL && srv->running != NULL ? srv->running->who :
	    "the control socket";
}

static void
ctl_accept(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ctl_server *srv = arg;
	struct event_base *base = evconnlistener_get_base(listener);
	struct timeval timeout = { CTL_TIMEOUT_SEC, 0 };
	struct timeval deadline = { CTL_DEADLINE_SEC, 0 };
	struct ctl_client *c;

	if (srv->n_clients >= CTL_CLIENTS_MAX) {
		log_rl(LOG_WARNING, "control: too many clients, refusing one");
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	if ((c->deadline = evtimer_new(base, client_expired, c)) == NULL ||
	    evtimer_add(c->deadline, &deadline) < 0) {
		if (c->deadline != NULL)
			event_free(c->deadline);
		bufferevent_free(c->bev);
		free(c);
		return;
	}
	c->srv = srv;
	client_name(c, fd);
	c->next = srv->clients;
	if (c->next != NULL)
		c->next->prev = c;
	srv->clients = c;
	srv->n_clients++;
	bufferevent_setcb(c->bev, client_read, client_written, client_event,
	    c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_REQUEST_MAX);
	bufferevent_set_timeouts(c->bev, &timeout, &timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* control_group: the group may use the socket too (mode 0660). */
static int
ctl_share(const char *path, const char *group)
{
	struct group *gr = getgrnam(group);

	if (gr == NULL)
		return -ENOENT;
	if (chown(path, (uid_t)-1, gr->gr_gid) < 0 || chmod(path, 0660) < 0)
		return -errno;
	return 0;
}

int
ctl_open(struct daemon *d, const char *path, const char *group, char *err,
    size_t errlen)
{
	struct ctl_server *srv;
	int fd, ret;

	if ((fd = unix_listen(path, 0600, CTL_BACKLOG)) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    fd == -EADDRINUSE ? "another ovtund is listening there" :
		    strerror(-fd));
		return fd;
	}
	if (group[0] != '\0' && (ret = ctl_share(path, group)) < 0) {
		snprintf(err, errlen, "control socket %s: group %s: %s", path,
		    group, strerror(-ret));
		close(fd);
		unlink(path);
		return ret;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		close(fd);
		snprintf(err, errlen, "control socket: out of memory");
		return -ENOMEM;
	}
	srv->d = d;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	srv->listener = evconnlistener_new(d->base, ctl_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (srv->listener == NULL) {
		close(fd);
		unlink(path);
		free(srv);
		snprintf(err, errlen, "control socket: libevent listener");
		return -ENOMEM;
	}
	d->ctl = srv;
	return 0;
}

void
ctl_close(struct ctl_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->clients != NULL)
		client_free(srv->clients);
	evconnlistener_free(srv->listener);
	/* After the privilege drop the directory may no longer let us; the
	 * next start replaces a stale socket anyway. */
	if (unlink(srv->path) < 0)
		log_info("control socket %s: not removed: %s", srv->path,
		    strerror(errno));
	free(srv);
}
