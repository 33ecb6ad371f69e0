/* The Prometheus exposition formats, written: the classic text format
 * (version 0.0.4) and OpenMetrics 1.0, whichever the scraper asked for.
 * Pure: it writes to a stdio stream and knows no metric of ovtund's, so
 * unit tests hold it to the formats. A family is declared once, then its
 * samples follow it, all together, as both formats require.
 *
 *   expo_family(x, "ovtund_rx_packets", EXPO_COUNTER, "Packets ...");
 *   expo_u64(x, NULL, labels, n, value);   ->  ovtund_rx_packets_total{...}
 */
#ifndef OVT_EXPO_H
#define OVT_EXPO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum expo_type {
	EXPO_COUNTER,		/* samples get _total */
	EXPO_GAUGE,
	EXPO_INFO,		/* samples get _info, value 1 */
	EXPO_HISTOGRAM,		/* the caller gives _bucket, _sum, _count */
};

struct expo_label {
	const char	*name;		/* [a-zA-Z_][a-zA-Z0-9_]* */
	const char	*value;		/* any UTF-8; escaped here */
};

struct expo {
	FILE		*out;
	bool		 openmetrics;
	const char	*family;
	enum expo_type	 type;
};

#define EXPO_CONTENT_TYPE_TEXT	"text/plain; version=0.0.4; charset=utf-8"
#define EXPO_CONTENT_TYPE_OM \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Whether an HTTP Accept header asks for OpenMetrics (NULL: no). */
bool	expo_wants_openmetrics(const char *accept);

void	expo_init(struct expo *, FILE *out, bool openmetrics);
/* name is the family's: without _total (counters) or _info (info). */
void	expo_family(struct expo *, const char *name, enum expo_type,
	    const char *help);
/* A sample of the current family; suffix is "_bucket", "_sum" or
 * "_count" for histograms and NULL otherwise. */
void	expo_u64(struct expo *, const char *suffix,
	    const struct expo_label *, unsigned n_labels, uint64_t value);
void	expo_double(struct expo *, const char *suffix,
	    const struct expo_label *, unsigned n_labels, double value);
/* A family of one sample without labels. */
void	expo_one(struct expo *, const char *name, enum expo_type,
	    const char *help, uint64_t value);
/* The end: OpenMetrics's "# EOF". */
void	expo_finish(struct expo *);

#endif
