/* The metrics endpoint's HTTP side: libevent's evhttp on the main thread,
 * bounded like the control socket. evhttp bounds a request's size and
 * idle time itself; what it cannot bound, the number of connections and
 * the whole life of one that never finishes a request, is done here:
 * every connection's bufferevent is made by us (evhttp_set_bevcb) and
 * held by one reference more, so that a sweep can tell when evhttp has
 * let it go (its callbacks are cleared), count the living, stop
 * accepting at METRICS_CONNS_MAX, and shut down one that has had no
 * finished request for METRICS_DEADLINE_SEC. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "clock.h"
#include "expo.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "ovtund.h"

struct metrics_conn {
	struct bufferevent	*bev;
	uint64_t		 since_ms;	/* accepted, or last answered */
};

struct metrics_server {
	struct daemon		*d;
	struct evhttp		*http;
	struct evconnlistener	*listener;
	struct event		*sweep;
	char			 path[sizeof(((struct config *)0)->metrics)];
	struct metrics_conn	 conns[METRICS_CONNS_MAX];
	unsigned		 n_conns;
	bool			 accepting;
};

/* Forgets the connections evhttp is done with, ends those past their
 * deadline, and accepts again when there is room. */
static void
sweep(struct metrics_server *m)
{
	uint64_t now = clock_ms();

	for (unsigned i = 0; i < m->n_conns;) {
		struct metrics_conn *c = &m->conns[i];
		bufferevent_data_cb readcb;

		bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
		if (readcb == NULL) {
			bufferevent_decref(c->bev);
			*c = m->conns[--m->n_conns];
			continue;
		}
		/* evhttp sees the end of the stream and frees it; the next
		 * sweep forgets it. */
		if (now - c->since_ms >= METRICS_DEADLINE_SEC * 1000)
			shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
		i++;
	}
	if (!m->accepting && m->n_conns < METRICS_CONNS_MAX &&
	    evconnlistener_enable(m->listener) == 0)
		m->accepting = true;
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	sweep(arg);
}

/* evhttp asks for a new connection's bufferevent: it owns it, we keep a
 * reference to see when it lets it go. Without CLOSE_ON_FREE evhttp
 * closes the socket itself when it is done. */
static struct bufferevent *
new_conn(struct event_base *base, void *arg)
{
	struct metrics_server *m = arg;
	struct bufferevent *bev;

	sweep(m);
	if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		return NULL;
	bufferevent_incref(bev);
	m->conns[m->n_conns++] = (struct metrics_conn){ bev, clock_ms() };
	if (m->n_conns == METRICS_CONNS_MAX) {
		/* The rest wait in the kernel's backlog, or are refused
		 * there. */
		evconnlistener_disable(m->listener);
		m->accepting = false;
		log_rl(LOG_WARNING, "metrics: %u connections, not accepting "
		    "more for now", METRICS_CONNS_MAX);
	}
	return bev;
}

/* A finished request restarts its connection's deadline. */
static void
conn_answered(struct metrics_server *m, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon != NULL ?
	    evhttp_connection_get_bufferevent(evcon) : NULL;

	for (unsigned i = 0; i < m->n_conns; i++)
		if (m->conns[i].bev == bev)
			m->conns[i].since_ms = clock_ms();
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *body = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	if (body != NULL)
		evbuffer_add_printf(body, "%s\n", text);
	evhttp_send_reply(req, code, reason, body);
	if (body != NULL)
		evbuffer_free(body);
}

static void
free_text(const void *data, size_t len, void *arg)
{
	free((void *)data);
}

static void
serve_metrics(struct metrics_server *m, struct evhttp_request *req)
{
	const char *accept = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Accept");
	bool om = expo_wants_openmetrics(accept);
	struct evbuffer *body;
	char *text = NULL;
	size_t len = 0;
	double pause_s = 0;
	FILE *out = open_memstream(&text, &len);

	if (out == NULL || metrics_write(m->d, out, om, &pause_s) < 0) {
		if (out != NULL)
			fclose(out);
		free(text);
		reply_text(req, HTTP_INTERNAL, "Internal Server Error",
		    "out of memory");
		return;
	}
	fclose(out);
	/* The reply takes the text as it is; it is freed once sent. */
	if ((body = evbuffer_new()) == NULL ||
	    evbuffer_add_reference(body, text, len, free_text, NULL) < 0) {
		evbuffer_free(body);
		free(text);
		reply_text(req, HTTP_INTERNAL, "Internal Server Error",
		    "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", om ? EXPO_CONTENT_TYPE_OM :
	    EXPO_CONTENT_TYPE_TEXT);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
	log_debug("metrics: %zu bytes (%s), workers paused %.0f us", len,
	    om ? "openmetrics" : "text", pause_s * 1e6);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct metrics_server *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	conn_answered(m, req);
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		reply_text(req, HTTP_NOTFOUND, "Not Found",
		    "not found: the metrics are at /metrics");
	} else if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed",
		    "only GET and HEAD");
	} else {
		serve_metrics(m, req);
	}
}

static int
open_socket(const char *spec)
{
	struct ovt_addr a;
	uint16_t port;

	switch (listen_parse(spec, &a, &port)) {
	case 0:
		return tcp_listen(&a, port, METRICS_BACKLOG);
	case 1:
		/* As open as 127.0.0.1 would be: the directory decides. */
		return unix_listen(spec, 0666, METRICS_BACKLOG);
	default:
		return -EINVAL;
	}
}

int
metrics_open(struct daemon *d, const char *spec, char *err, size_t errlen)
{
	static const struct timeval every = { 1, 0 };
	struct evhttp_bound_socket *bound = NULL;
	struct metrics_server *m;
	int fd;

	if ((fd = open_socket(spec)) < 0) {
		snprintf(err, errlen, "metrics %s: %s", spec,
		    fd == -EADDRINUSE ? "address in use" : strerror(-fd));
		return fd;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->http = evhttp_new(d->base)) == NULL ||
	    (bound = evhttp_accept_socket_with_handle(m->http, fd)) == NULL) {
		close(fd);
		fd = -1;
	}
	if (fd < 0 || (m->sweep = event_new(d->base, -1, EV_PERSIST, on_sweep,
	    m)) == NULL || event_add(m->sweep, &every) < 0) {
		snprintf(err, errlen, "metrics %s: libevent: out of memory",
		    spec);
		if (spec[0] == '/')
			unlink(spec);
		metrics_close(m);
		return -ENOMEM;
	}
	m->d = d;
	m->listener = evhttp_bound_socket_get_listener(bound);
	m->accepting = true;
	if (spec[0] == '/')
		snprintf(m->path, sizeof(m->path), "%s", spec);
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, METRICS_BODY_MAX);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_SEC);
	/* The common methods reach on_request, which answers 405 to all but
	 * GET and HEAD; evhttp answers 501 to the rest. */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_bevcb(m->http, new_conn, m);
	evhttp_set_gencb(m->http, on_request, m);
	d->metrics = m;
	return 0;
}

void
metrics_close(struct metrics_server *m)
{
	if (m == NULL)
		return;
	if (m->sweep != NULL)
		event_free(m->sweep);
	/* evhttp frees its connections; then ours are the last
	 * references. */
	if (m->http != NULL)
		evhttp_free(m->http);
	for (unsigned i = 0; i < m->n_conns; i++)
		bufferevent_decref(m->conns[i].bev);
	if (m->path[0] != '\0' && unlink(m->path) < 0)
		log_info("metrics socket %s: not removed: %s", m->path,
		    strerror(errno));
	free(m);
}
