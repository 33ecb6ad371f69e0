#include <inttypes.h>
#include <string.h>

#include "expo.h"

bool
expo_wants_openmetrics(const char *accept)
{
	return accept != NULL &&
	    strstr(accept, "application/openmetrics-text") != NULL;
}

void
expo_init(struct expo *x, FILE *out, bool openmetrics)
{
	x->out = out;
	x->openmetrics = openmetrics;
	x->family = NULL;
	x->type = EXPO_GAUGE;
}

/* Backslash and newline escaped, and in label values (quoted) the double
 * quote too; both formats agree. */
static void
put_escaped(FILE *out, const char *s, bool quoted)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '"' && quoted)
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

static const char *
type_name(const struct expo *x)
{
	switch (x->type) {
	case EXPO_COUNTER:
		return "counter";
	case EXPO_INFO:
		return x->openmetrics ? "info" : "gauge";
	case EXPO_HISTOGRAM:
		return "histogram";
	default:
		return "gauge";
	}
}

/* The classic format names a family by its samples' name, OpenMetrics
 * without the _total or _info. */
static const char *
family_suffix(const struct expo *x)
{
	if (x->openmetrics)
		return "";
	return x->type == EXPO_COUNTER ? "_total" :
	    x->type == EXPO_INFO ? "_info" : "";
}

void
expo_family(struct expo *x, const char *name, enum expo_type type,
    const char *help)
{
	x->family = name;
	x->type = type;
	fprintf(x->out, "# HELP %s%s ", name, family_suffix(x));
	put_escaped(x->out, help, false);
	fprintf(x->out, "\n# TYPE %s%s %s\n", name, family_suffix(x),
	    type_name(x));
}

static void
put_name(struct expo *x, const char *suffix, const struct expo_label *l,
    unsigned n)
{
	if (suffix == NULL)
		suffix = x->type == EXPO_COUNTER ? "_total" :
		    x->type == EXPO_INFO ? "_info" : "";
	fprintf(x->out, "%s%s", x->family, suffix);
	if (n == 0)
		return;
	fputc('{', x->out);
	for (unsigned i = 0; i < n; i++) {
		fprintf(x->out, "%s%s=\"", i > 0 ? "," : "", l[i].name);
		put_escaped(x->out, l[i].value, true);
		fputc('"', x->out);
	}
	fputc('}', x->out);
}

void
expo_u64(struct expo *x, const char *suffix, const struct expo_label *l,
    unsigned n, uint64_t value)
{
	put_name(x, suffix, l, n);
	fprintf(x->out, " %" PRIu64 "\n", value);
}

void
expo_double(struct expo *x, const char *suffix, const struct expo_label *l,
    unsigned n, double value)
{
	put_name(x, suffix, l, n);
	fprintf(x->out, " %.15g\n", value);
}

void
expo_one(struct expo *x, const char *name, enum expo_type type,
    const char *help, uint64_t value)
{
	expo_family(x, name, type, help);
	expo_u64(x, NULL, NULL, 0, value);
}

void
expo_finish(struct expo *x)
{
	if (x->openmetrics)
		fputs("# EOF\n", x->out);
	fflush(x->out);
}
