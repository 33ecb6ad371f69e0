/* The metrics endpoint: GET /metrics in the Prometheus text format, or
 * OpenMetrics when the scraper's Accept header asks for it, served by
 * libevent's evhttp on the main thread (`metrics = ...` in the
 * configuration; off by default). The counters are read the way
 * `ovtunctl stats` reads them: copied with the workers paused, then
 * rendered (expo.h) with the workers running. */
#ifndef OVT_METRICS_H
#define OVT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct daemon;
struct metrics_server;

/* Bounds of the listener, like the control socket's. */
#define METRICS_CONNS_MAX	32	/* then the listener waits */
#define METRICS_BACKLOG		16
#define METRICS_TIMEOUT_SEC	3	/* idle, either way */
#define METRICS_DEADLINE_SEC	10	/* a connection without a finished
					 * request for this long is closed */
#define METRICS_HEADERS_MAX	8192	/* request line and headers */
#define METRICS_BODY_MAX	1024

/* Listens on spec (see listen_parse) and sets d->metrics; 0, or a
 * negative errno with why in err. */
int		 metrics_open(struct daemon *d, const char *spec, char *err,
		     size_t errlen);
void		 metrics_close(struct metrics_server *);

/* Writes every metric to out (metrics.c); *pause_s is how long the
 * workers were paused for it. 0, or -1 when out of memory. */
int		 metrics_write(struct daemon *, FILE *out, bool openmetrics,
		     double *pause_s);

#endif
