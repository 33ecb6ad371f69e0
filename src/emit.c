#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "emit.h"

#define EMIT_DEPTH_MAX	8

enum frame_kind { FRAME_OBJECT, FRAME_LIST };

/* A text table being collected: every cell is kept until the list ends,
 * because column widths depend on every row. */
#define TABLE_COLS_MAX	32

struct table {
	char	 *header[TABLE_COLS_MAX];	/* the first row's keys */
	size_t	  n_cols;			/* fixed by the first row */
	char	**cells;			/* row-major values */
	size_t	  n_cells, cap;
};

struct emit {
	struct evbuffer	*out;
	bool		 json;
	int		 depth;
	enum frame_kind	 kind[EMIT_DEPTH_MAX];
	bool		 has_items[EMIT_DEPTH_MAX];
	int		 table_depth;	/* text: depth of the list, 0 = none */
	struct table	 table;
	bool		 table_header_done;	/* first row complete */
	unsigned	 overflow;	/* levels dropped past the maximum */
};

struct emit *
emit_new(struct evbuffer *out, bool json)
{
	struct emit *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->out = out;
	e->json = json;
	return e;
}

static void
table_clear(struct table *t)
{
	for (size_t i = 0; i < t->n_cols; i++)
		free(t->header[i]);
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

void
emit_free(struct emit *e)
{
	if (e == NULL)
		return;
	table_clear(&e->table);
	free(e);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Strings come from config files and peers' names: JSON gets them
 * escaped, with U+FFFD for bytes that are not UTF-8 (RFC 8259 8.1). */
static void
json_string(struct evbuffer *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	evbuffer_add(out, "\"", 1);
	while (*s != '\0') {
		size_t n = utf8_len(s);

		if (n == 0) {
			evbuffer_add(out, "\\ufffd", 6);
			n = 1;
		} else if (*s == '"' || *s == '\\') {
			evbuffer_add_printf(out, "\\%c", *s);
		} else if (*s < 0x20 || *s == 0x7f) {
			evbuffer_add_printf(out, "\\u%04x", *s);
		} else {
			evbuffer_add(out, s, n);
		}
		s += n;
	}
	evbuffer_add(out, "\"", 1);
}

/* Text for a terminal: control characters (escape sequences) become '?'. */
static char *
text_clean(const char *str)
{
	char *copy = strdup(str);

	for (char *c = copy; c != NULL && *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return copy;
}

/* JSON: the comma and key that come before any value. */
static void
json_prefix(struct emit *e, const char *key)
{
	if (e->depth > 0) {
		if (e->has_items[e->depth - 1])
			evbuffer_add(e->out, ",", 1);
		e->has_items[e->depth - 1] = true;
	}
	if (key != NULL && e->depth > 0 &&
	    e->kind[e->depth - 1] == FRAME_OBJECT) {
		json_string(e->out, key);
		evbuffer_add(e->out, ":", 1);
	}
}

static void
push(struct emit *e, enum frame_kind kind)
{
	e->kind[e->depth] = kind;
	e->has_items[e->depth] = false;
	e->depth++;
}

/* Nesting past EMIT_DEPTH_MAX is dropped, whole and balanced: a caller's
 * mistake costs output, never memory safety. */
static bool
too_deep_begin(struct emit *e)
{
	if (e->overflow == 0 && e->depth < EMIT_DEPTH_MAX)
		return false;
	e->overflow++;
	return true;
}

static bool
too_deep_end(struct emit *e)
{
	if (e->overflow == 0)
		return false;
	e->overflow--;
	return true;
}

static void
indent(struct emit *e)
{
	/* The outermost object is implicit in text, so it adds no indent. */
	for (int i = 1; i < e->depth; i++)
		evbuffer_add(e->out, "  ", 2);
}

static void
table_add(struct table *t, char *cell)
{
	if (cell == NULL)
		return;
	if (t->n_cells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **cells = realloc(t->cells, cap * sizeof(*cells));

		if (cells == NULL) {
			free(cell);
			return;
		}
		t->cells = cells;
		t->cap = cap;
	}
	t->cells[t->n_cells++] = cell;
}

static void
table_row(struct evbuffer *out, char *const *row, size_t n,
    const size_t *width)
{
	for (size_t col = 0; col < n; col++) {
		if (col + 1 < n)
			evbuffer_add_printf(out, "%-*s  ", (int)width[col],
			    row[col]);
		else
			evbuffer_add_printf(out, "%s\n", row[col]);
	}
}

static void
table_print(struct evbuffer *out, const struct table *t)
{
	size_t width[TABLE_COLS_MAX] = { 0 }, n = t->n_cols;

	if (n == 0) {
		evbuffer_add_printf(out, "(none)\n");
		return;
	}
	for (size_t col = 0; col < n; col++)
		width[col] = strlen(t->header[col]);
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t len = strlen(t->cells[i]);

		if (len > width[i % n])
			width[i % n] = len;
	}
	table_row(out, t->header, n, width);
	for (size_t i = 0; i + n <= t->n_cells; i += n)
		table_row(out, t->cells + i, n, width);
}

/* Text: a scalar becomes a table cell inside a list, a line elsewhere.
 * The first row's keys become the header; later rows must have the same
 * shape, which the handlers guarantee. */
static void
text_scalar(struct emit *e, const char *key, const char *val)
{
	struct table *t = &e->table;

	if (e->table_depth == 0) {
		indent(e);
		char *clean = text_clean(val);

		evbuffer_add_printf(e->out, "%s: %s\n", key, clean ? clean : "");
		free(clean);
		return;
	}
	if (!e->table_header_done) {
		char *h = t->n_cols < TABLE_COLS_MAX ? strdup(key) : NULL;

		if (h == NULL)
			return;
		for (char *c = h; *c != '\0'; c++)
			*c = (char)toupper((unsigned char)*c);
		t->header[t->n_cols++] = h;
	}
	table_add(t, text_clean(val));
}

void
emit_object_begin(struct emit *e, const char *key)
{
	if (too_deep_begin(e))
		return;
	if (e->json) {
		json_prefix(e, key);
		evbuffer_add(e->out, "{", 1);
	} else if (e->table_depth == 0 && key != NULL) {
		indent(e);
		evbuffer_add_printf(e->out, "%s:\n", key);
	}
	push(e, FRAME_OBJECT);
	if (e->json && e->depth == 1)
		emit_u64(e, "version", EMIT_JSON_VERSION);
}

void
emit_object_end(struct emit *e)
{
	if (too_deep_end(e))
		return;
	e->depth--;
	if (e->json)
		evbuffer_add(e->out, "}", 1);
	else if (e->table_depth != 0 && e->table.n_cols > 0)
		e->table_header_done = true;
}

void
emit_list_begin(struct emit *e, const char *key)
{
	if (too_deep_begin(e))
		return;
	if (e->json) {
		json_prefix(e, key);
		evbuffer_add(e->out, "[", 1);
	} else if (e->table_depth == 0) {
		e->table_depth = e->depth + 1;
	}
	push(e, FRAME_LIST);
}

void
emit_list_end(struct emit *e)
{
	if (too_deep_end(e))
		return;
	if (!e->json && e->table_depth == e->depth) {
		table_print(e->out, &e->table);
		table_clear(&e->table);
		e->table_depth = 0;
		e->table_header_done = false;
	}
	e->depth--;
	if (e->json)
		evbuffer_add(e->out, "]", 1);
}

void
emit_str(struct emit *e, const char *key, const char *val)
{
	if (e->overflow > 0)
		return;
	if (e->json) {
		json_prefix(e, key);
		json_string(e->out, val);
	} else {
		text_scalar(e, key, val);
	}
}

void
emit_u64(struct emit *e, const char *key, uint64_t val)
{
	char buf[24];

	if (e->overflow > 0)
		return;
	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	if (e->json) {
		json_prefix(e, key);
		evbuffer_add(e->out, buf, strlen(buf));
	} else {
		text_scalar(e, key, buf);
	}
}

void
emit_bool(struct emit *e, const char *key, bool val)
{
	if (e->overflow > 0)
		return;
	if (e->json) {
		json_prefix(e, key);
		evbuffer_add_printf(e->out, "%s", val ? "true" : "false");
	} else {
		text_scalar(e, key, val ? "yes" : "no");
	}
}

void
emit_null(struct emit *e, const char *key, const char *text)
{
	if (e->overflow > 0)
		return;
	if (e->json) {
		json_prefix(e, key);
		evbuffer_add(e->out, "null", 4);
	} else {
		text_scalar(e, key, text);
	}
}

void
emit_error(struct emit *e, const char *msg)
{
	if (!e->json) {
		evbuffer_add_printf(e->out, "%s\n", msg);
		return;
	}
	emit_object_begin(e, NULL);
	emit_str(e, "error", msg);
	emit_object_end(e);
}
