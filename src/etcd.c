/* etcd's v3 JSON gateway over libcurl's multi interface in the libevent
 * loop: curl says which sockets to watch and when to wake it up, libevent
 * tells it when they are ready. Replies are handed out from the loop,
 * never from inside a curl callback, so a callback may post or cancel
 * calls freely. */
#include <curl/curl.h>
#include <event2/event.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "log.h"

#define CONNECT_TIMEOUT_MS	2000
#define REPLY_SYNC_MAX		65536

struct etcd_call {
	struct etcd		*e;
	struct etcd_call	*prev, *next;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	char			*buf;		/* what came, not yet handed out */
	size_t			 len, cap, max;
	bool			 stream;
	bool			 too_big;
	etcd_reply_fn		*cb;
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
};

struct etcd {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct etcd_call	*calls;
	const struct etcd_params *p;
	unsigned		 cur;		/* endpoint */
	char			 auth[600];	/* "Authorization: TOKEN" */
};

static void
call_free(struct etcd_call *c)
{
	struct etcd *e = c->e;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		e->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	curl_multi_remove_handle(e->multi, c->easy);
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	free(c->body);
	free(c->buf);
	free(c);
}

void
etcd_cancel(struct etcd_call *c)
{
	if (c != NULL)
		call_free(c);
}

void
etcd_cancel_all(struct etcd *e)
{
	while (e->calls != NULL)
		call_free(e->calls);
}

/* Bounded: a unary reply, or one message of a stream, above max bytes
 * aborts the call. */
static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	struct etcd_call *c = arg;
	size_t want = c->len + n, cap;
	char *grown;

	(void)size;	/* always 1 */
	if (want > c->max) {
		c->too_big = true;
		return 0;
	}
	if (want + 1 > c->cap) {
		cap = c->cap ? c->cap : 4096;
		while (cap < want + 1)
			cap *= 2;
		if ((grown = realloc(c->buf, cap)) == NULL)
			return 0;
		c->buf = grown;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, data, n);
	c->len = want;
	c->buf[c->len] = '\0';
	return n;
}

/* The gateway's error, {"error": ..., "message": ..., "code": N}, as
 * text; for a stream it comes as {"error": {...}}. */
static const char *
gateway_error(json_t *j)
{
	json_t *inner = json_object_get(j, "error");
	const char *msg;

	if (json_is_object(inner))
		j = inner;
	msg = json_string_value(json_object_get(j, "message"));
	if (msg == NULL)
		msg = json_string_value(json_object_get(j, "error"));
	return msg;
}

/* Hands out the first complete line of a stream's. */
static void
deliver_line(struct etcd_call *c)
{
	char *nl = memchr(c->buf, '\n', c->len), msg[256];
	size_t used = nl - c->buf + 1;
	etcd_reply_fn *cb = c->cb;
	void *arg = c->arg;
	const char *err = NULL;
	json_t *j;

	j = json_loadb(c->buf, used - 1, 0, NULL);
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	if (j != NULL && (err = gateway_error(j)) == NULL &&
	    json_is_object(json_object_get(j, "result"))) {
		cb(j, NULL, arg);
		return;
	}
	snprintf(msg, sizeof(msg), "stream: %s", j == NULL ? "not JSON" :
	    err ? err : "no result");
	json_decref(j);
	call_free(c);
	cb(NULL, msg, arg);
}

/* One line at a time, starting over after each: a callback may cancel
 * any call. */
static void
deliver_streams(struct etcd *e)
{
	struct etcd_call *c;

again:
	for (c = e->calls; c != NULL; c = c->next) {
		if (c->stream && c->len > 0 &&
		    memchr(c->buf, '\n', c->len) != NULL) {
			deliver_line(c);
			goto again;
		}
	}
}

static void
finish(struct etcd_call *c, CURLcode rc)
{
	etcd_reply_fn *cb = c->cb;
	void *arg = c->arg;
	long status = 0;
	json_t *j = NULL;
	const char *gw = NULL;
	char err[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (c->too_big)
		snprintf(err, sizeof(err), "reply larger than %zu bytes",
		    c->max);
	else if (rc != CURLE_OK)
		snprintf(err, sizeof(err), "%s", c->errbuf[0] ? c->errbuf :
		    curl_easy_strerror(rc));
	else if (c->stream)
		snprintf(err, sizeof(err), "stream ended");
	else if ((j = json_loadb(c->buf ? c->buf : "", c->len, 0, NULL)) ==
	    NULL || !json_is_object(j))
		snprintf(err, sizeof(err), "HTTP %ld, %s", status,
		    j == NULL ? "not JSON" : "not an object");
	else if ((gw = gateway_error(j)) != NULL || status != 200)
		snprintf(err, sizeof(err), "HTTP %ld: %s", status,
		    gw ? gw : "?");
	else
		err[0] = '\0';
	if (err[0] != '\0') {
		json_decref(j);
		j = NULL;
	}
	call_free(c);
	cb(j, j == NULL ? err : NULL, arg);
}

static bool
alive(const struct etcd *e, const struct etcd_call *c)
{
	for (const struct etcd_call *i = e->calls; i != NULL; i = i->next)
		if (i == c)
			return true;
	return false;
}

static void
process(struct etcd *e)
{
	struct etcd_call *c;
	CURLcode rc;
	CURLMsg *m;
	int left;

	deliver_streams(e);
	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &c);
		rc = m->data.result;
		/* Whatever complete lines a stream left come first; their
		 * callbacks may cancel c. */
		deliver_streams(e);
		if (alive(e, c))
			finish(c, rc);
	}
}

static void
on_socket_ready(evutil_socket_t fd, short what, void *arg)
{
	struct etcd *e = arg;
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(e->multi, fd, flags, &running);
	process(e);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct etcd *e = arg;
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	process(e);
}

/* curl: watch s for what (or no longer). */
static int
on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct etcd *e = arg;
	struct event *ev = sockp;
	short flags = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(e->multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		flags |= EV_READ;
	if (what & CURL_POLL_OUT)
		flags |= EV_WRITE;
	if (ev != NULL)
		event_del(ev);
	else if ((ev = event_new(e->base, s, flags, on_socket_ready,
	    e)) == NULL)
		return -1;
	event_assign(ev, e->base, s, flags, on_socket_ready, e);
	curl_multi_assign(e->multi, s, ev);
	return event_add(ev, NULL);
}

static int
on_timeout_change(CURLM *multi, long ms, void *arg)
{
	struct etcd *e = arg;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms < 0)
		return event_del(e->timer);
	return evtimer_add(e->timer, &tv);
}

struct etcd *
etcd_new(struct event_base *base, const struct etcd_params *p, char *err,
    size_t errlen)
{
	struct etcd *e;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl failed to initialize");
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->multi = curl_multi_init()) == NULL ||
	    (e->timer = evtimer_new(base, on_timer, e)) == NULL) {
		snprintf(err, errlen, "out of memory");
		etcd_free(e);
		return NULL;
	}
	e->base = base;
	e->p = p;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timeout_change);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	return e;
}

void
etcd_free(struct etcd *e)
{
	if (e == NULL)
		return;
	etcd_cancel_all(e);
	if (e->multi != NULL)
		curl_multi_cleanup(e->multi);
	if (e->timer != NULL)
		event_free(e->timer);
	sodium_memzero(e->auth, sizeof(e->auth));
	free(e);
}

void
etcd_next_endpoint(struct etcd *e)
{
	e->cur = (e->cur + 1) % e->p->n_endpoints;
}

const char *
etcd_endpoint(const struct etcd *e)
{
	return e->p->endpoints[e->cur];
}

void
etcd_set_token(struct etcd *e, const char *token)
{
	sodium_memzero(e->auth, sizeof(e->auth));
	if (token[0] != '\0')
		snprintf(e->auth, sizeof(e->auth), "Authorization: %s", token);
}

static int
setup_easy(struct etcd *e, struct etcd_call *c, const char *path,
    unsigned timeout_ms)
{
	const struct etcd_params *p = e->p;
	char url[sizeof(p->endpoints[0]) + 64];
	CURL *h = c->easy;

	snprintf(url, sizeof(url), "%s%s", etcd_endpoint(e), path);
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before larger bodies. */
	if (c->headers != NULL)
		c->headers = curl_slist_append(c->headers, "Expect:");
	if (c->headers != NULL && e->auth[0] != '\0')
		c->headers = curl_slist_append(c->headers, e->auth);
	if (c->headers == NULL)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_PRIVATE, c);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
	if (!c->stream)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	if (p->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, p->ca_file);
	if (p->cert_file[0] != '\0') {
		curl_easy_setopt(h, CURLOPT_SSLCERT, p->cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, p->key_file);
	}
	return 0;
}

struct etcd_call *
etcd_post(struct etcd *e, const char *path, json_t *body, bool stream,
    unsigned timeout_ms, size_t max, etcd_reply_fn *cb, void *arg)
{
	struct etcd_call *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(body);
		return NULL;
	}
	c->e = e;
	c->stream = stream;
	c->max = max;
	c->cb = cb;
	c->arg = arg;
	c->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (c->body == NULL || (c->easy = curl_easy_init()) == NULL ||
	    setup_easy(e, c, path, timeout_ms) == -1) {
		curl_easy_cleanup(c->easy);
		curl_slist_free_all(c->headers);
		free(c->body);
		free(c);
		return NULL;
	}
	c->next = e->calls;
	if (e->calls != NULL)
		e->calls->prev = c;
	e->calls = c;
	if (curl_multi_add_handle(e->multi, c->easy) != CURLM_OK) {
		call_free(c);
		return NULL;
	}
	return c;
}

json_t *
etcd_b64(const void *buf, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);
	json_t *j;

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, n, buf, len, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(s);
	free(s);
	return j;
}

int
etcd_unb64(json_t *v, void *buf, size_t max, size_t *len)
{
	const char *s = json_string_value(v);

	*len = 0;
	if (v == NULL)
		return 0;	/* etcd leaves empty values out */
	if (s == NULL || sodium_base642bin(buf, max, s, json_string_length(v),
	    NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return 0;
}

int
etcd_int(json_t *obj, const char *key, long long def, long long *out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	char *end;

	*out = def;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if ((s = json_string_value(v)) == NULL || *s == '\0')
		return -1;
	*out = strtoll(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

int
etcd_post_sync(struct etcd *e, const char *path, json_t *body,
    unsigned timeout_ms)
{
	struct etcd_call c = { .e = e, .max = REPLY_SYNC_MAX };
	long status = 0;
	int rc = -1;

	c.body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (c.body != NULL && (c.easy = curl_easy_init()) != NULL &&
	    setup_easy(e, &c, path, timeout_ms) == 0 &&
	    curl_easy_perform(c.easy) == CURLE_OK &&
	    curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &status) ==
	    CURLE_OK && status == 200)
		rc = 0;
	curl_easy_cleanup(c.easy);
	curl_slist_free_all(c.headers);
	free(c.body);
	free(c.buf);
	return rc;
}
