/* A client of etcd's v3 JSON gateway (/v3/...): HTTP by libcurl's multi
 * interface, driven by the daemon's libevent loop, JSON by jansson. One
 * endpoint at a time (etcd_next_endpoint moves on); requests are POSTs of
 * a JSON body, answered once (unary) or by a stream of JSON messages, one
 * a line (/v3/watch). Every answer is bounded in size. */
#ifndef OVT_ETCD_H
#define OVT_ETCD_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"

struct event_base;
struct etcd;
struct etcd_call;

/* A reply (a unary one, or one message of a stream), or err set and reply
 * NULL: the call is over then (a stream's end is an error too). The
 * reply is the callback's to json_decref. */
typedef void	 etcd_reply_fn(json_t *reply, const char *err, void *arg);

struct etcd	*etcd_new(struct event_base *, const struct etcd_params *,
		     char *err, size_t errlen);
/* Cancels every call, without calling back. */
void		 etcd_free(struct etcd *);

/* POSTs body (which it takes) to path on the current endpoint. A unary
 * call gives up after timeout_ms; a stream lasts until cancelled, the
 * connection breaks or max bytes of one message. NULL: out of memory. */
struct etcd_call *etcd_post(struct etcd *, const char *path, json_t *body,
		     bool stream, unsigned timeout_ms, size_t max,
		     etcd_reply_fn *, void *arg);
void		 etcd_cancel(struct etcd_call *);
/* The same, blocking, for the last words at shutdown: 0 on HTTP 200. */
int		 etcd_post_sync(struct etcd *, const char *path, json_t *body,
		     unsigned timeout_ms);
void		 etcd_cancel_all(struct etcd *);

void		 etcd_next_endpoint(struct etcd *);
const char	*etcd_endpoint(const struct etcd *);
/* The auth token sent with every call from now on ("": none). */
void		 etcd_set_token(struct etcd *, const char *token);

/* etcd's JSON carries bytes as base64 and 64-bit numbers as strings. */
json_t		*etcd_b64(const void *buf, size_t len);
/* Decodes a base64 string member into buf (size max); -1 if it is not. */
int		 etcd_unb64(json_t *v, void *buf, size_t max, size_t *len);
/* An int64 member ("123" or 123), or def when absent. -1 if malformed. */
int		 etcd_int(json_t *obj, const char *key, long long def,
		     long long *out);

#endif
