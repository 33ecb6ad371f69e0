/* The control protocol's untrusted edges: the request header check, and
 * the rendering of fuzzer-chosen strings and numbers by emit.c.
 *
 * Input: a struct ctl_request (zero-padded if short), whose CTL_FLAG_JSON
 * picks the mode, then a program of emit calls. The program is kept to
 * what the command handlers may do: the reply is one object; in an
 * object every value has a key; in JSON, list items have none; in text,
 * lists hold objects (rows of a table) and nothing else.
 *
 * JSON output is parsed by a strict RFC 8259 parser (UTF-8 included) and
 * must yield exactly the tokens emitted, strings byte for byte. Text
 * output must at least be whole lines. Define FUZZ_CTL_RAW_BYTES to let
 * strings hold raw non-UTF-8 bytes (to look past that known issue).
 * FUZZ_CTL_PRINT in the environment prints every rendering. */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>

#include <event2/buffer.h>

#include "ctl-proto.h"
#include "emit.h"

#include "fuzz.h"

/* emit.c tracks 8 levels; handlers use 3. Deeper is outside the API. */
#ifndef DEPTH_MAX
#define DEPTH_MAX	8
#endif
#define STR_MAX		64

/* ---- the request header ---- */

static void
check_request(const uint8_t *d, size_t n)
{
	struct ctl_request req;
	bool want;

	memset(&req, 0, sizeof(req));
	memcpy(&req, d, n < sizeof(req) ? n : sizeof(req));
	want = req.magic == 0x4f565443u && req.version == 1 &&
	    (uint64_t)req.arg_len + sizeof(req) <= CTL_REQUEST_MAX;
	FUZZ_CHECK((ctl_request_check(&req) == 0) == want);
}

/* ---- what the harness emitted, as tokens ---- */

enum tok { T_OBJ, T_END_OBJ, T_LIST, T_END_LIST, T_KEY, T_STR, T_NUM,
	T_TRUE, T_FALSE, T_NULL };

struct token {
	enum tok	 t;
	char		*s;	/* T_KEY, T_STR: the string */
	uint64_t	 n;	/* T_NUM */
};

struct tokens {
	struct token	*v;
	size_t		 n, cap;
};

static void
tok_add(struct tokens *ts, enum tok t, const char *s, uint64_t n)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 64;
		ts->v = realloc(ts->v, ts->cap * sizeof(*ts->v));
		FUZZ_CHECK(ts->v != NULL);
	}
	ts->v[ts->n].t = t;
	ts->v[ts->n].s = s ? strdup(s) : NULL;
	ts->v[ts->n].n = n;
	ts->n++;
}

static void
tok_free(struct tokens *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free(ts->v[i].s);
	free(ts->v);
}

/* ---- a strict JSON parser, checking against the expected tokens ---- */

struct parser {
	const uint8_t		*s, *end;
	const struct tokens	*want;
	size_t			 next;	/* index into want */
};

static const uint8_t *json_start;

#define JCHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "bad JSON at offset %td: %s\n",		\
		    ps->s - json_start, #cond);				\
		abort();						\
	}								\
} while (0)

static void
ws(struct parser *ps)
{
	while (ps->s < ps->end && (*ps->s == ' ' || *ps->s == '\t' ||
	    *ps->s == '\n' || *ps->s == '\r'))
		ps->s++;
}

static const struct token *
expect(struct parser *ps, enum tok t)
{
	const struct token *tk;

	JCHECK(ps->next < ps->want->n);
	tk = &ps->want->v[ps->next++];
	JCHECK(tk->t == t);
	return tk;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned
hex4(struct parser *ps)
{
	unsigned v = 0;

	JCHECK(ps->end - ps->s >= 4);
	for (int i = 0; i < 4; i++) {
		int h = hexval(*ps->s++);

		JCHECK(h >= 0);
		v = v << 4 | (unsigned)h;
	}
	return v;
}

static size_t
utf8_put(uint8_t *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

#ifndef FUZZ_CTL_RAW_BYTES
/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if there is none. */
static size_t
utf8_len(const uint8_t *s, const uint8_t *end)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if ((size_t)(end - s) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}
#endif

#ifndef FUZZ_CTL_RAW_BYTES
/* What JSON must carry for s: s itself where it is UTF-8, U+FFFD for
 * each byte that is not (RFC 8259 8.1 wants UTF-8). */
static size_t
expected_text(const char *s, uint8_t *buf)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + strlen(s);
	size_t o = 0;

	while (p < end) {
		size_t n = utf8_len(p, end);

		if (n == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			continue;
		}
		memcpy(buf + o, p, n);
		o += n;
		p += n;
	}
	return o;
}
#endif

/* A string token: decoded, it must be exactly the expected bytes. */
static void
string(struct parser *ps, enum tok t)
{
	const struct token *tk = expect(ps, t);
	uint8_t out[4 * STR_MAX + 8];
#ifdef FUZZ_CTL_RAW_BYTES
	const uint8_t *expected = (const uint8_t *)tk->s;
	size_t o = 0, want = strlen(tk->s);
#else
	uint8_t expected[3 * STR_MAX + 8];
	size_t o = 0, want = expected_text(tk->s, expected);
#endif

	JCHECK(ps->s < ps->end && *ps->s == '"');
	ps->s++;
	for (;;) {
		uint8_t c;

		JCHECK(ps->s < ps->end);
		c = *ps->s;
		JCHECK(o + 4 <= sizeof(out));
		if (c == '"') {
			ps->s++;
			break;
		}
		JCHECK(c >= 0x20);
		if (c == '\\') {
			ps->s++;
			JCHECK(ps->s < ps->end);
			c = *ps->s++;
			switch (c) {
			case '"': case '\\': case '/':
				out[o++] = c;
				break;
			case 'b': out[o++] = '\b'; break;
			case 'f': out[o++] = '\f'; break;
			case 'n': out[o++] = '\n'; break;
			case 'r': out[o++] = '\r'; break;
			case 't': out[o++] = '\t'; break;
			case 'u': {
				unsigned cp = hex4(ps), lo;

				JCHECK(cp < 0xdc00 || cp > 0xdfff);
				if (cp >= 0xd800 && cp <= 0xdbff) {
					JCHECK(ps->end - ps->s >= 2 &&
					    ps->s[0] == '\\' && ps->s[1] == 'u');
					ps->s += 2;
					lo = hex4(ps);
					JCHECK(lo >= 0xdc00 && lo <= 0xdfff);
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
				}
				o += utf8_put(out + o, cp);
				break;
			}
			default:
				JCHECK(!"unknown escape");
			}
			continue;
		}
#ifdef FUZZ_CTL_RAW_BYTES
		out[o++] = *ps->s++;
#else
		{
			size_t n = utf8_len(ps->s, ps->end);

			JCHECK(n > 0);
			memcpy(out + o, ps->s, n);
			o += n;
			ps->s += n;
		}
#endif
	}
	JCHECK(o == want && memcmp(out, expected, want) == 0);
}

static void value(struct parser *, int depth);

static void
number(struct parser *ps)
{
	const struct token *tk = expect(ps, T_NUM);
	const uint8_t *b = ps->s;
	uint64_t v = 0;

	/* Only what emit_u64 may write: a non-negative integer, no
	 * leading zero; it must fit and be the value emitted. */
	while (ps->s < ps->end && isdigit(*ps->s)) {
		JCHECK(v <= (UINT64_MAX - (*ps->s - '0')) / 10);
		v = v * 10 + (uint64_t)(*ps->s - '0');
		ps->s++;
	}
	JCHECK(ps->s > b && (ps->s - b == 1 || *b != '0'));
	JCHECK(v == tk->n);
}

static void
literal(struct parser *ps, const char *lit, enum tok t)
{
	size_t n = strlen(lit);

	expect(ps, t);
	JCHECK((size_t)(ps->end - ps->s) >= n && memcmp(ps->s, lit, n) == 0);
	ps->s += n;
}

static void
container(struct parser *ps, int depth, bool obj)
{
	uint8_t close = obj ? '}' : ']';

	JCHECK(depth < 64);
	expect(ps, obj ? T_OBJ : T_LIST);
	ps->s++;
	ws(ps);
	if (ps->s < ps->end && *ps->s == close) {
		ps->s++;
		expect(ps, obj ? T_END_OBJ : T_END_LIST);
		return;
	}
	for (;;) {
		if (obj) {
			string(ps, T_KEY);
			ws(ps);
			JCHECK(ps->s < ps->end && *ps->s == ':');
			ps->s++;
			ws(ps);
		}
		value(ps, depth + 1);
		ws(ps);
		JCHECK(ps->s < ps->end);
		if (*ps->s == ',') {
			ps->s++;
			ws(ps);
			continue;
		}
		JCHECK(*ps->s == close);
		ps->s++;
		expect(ps, obj ? T_END_OBJ : T_END_LIST);
		return;
	}
}

static void
value(struct parser *ps, int depth)
{
	JCHECK(ps->s < ps->end);
	switch (*ps->s) {
	case '{':
		container(ps, depth, true);
		break;
	case '[':
		container(ps, depth, false);
		break;
	case '"':
		string(ps, T_STR);
		break;
	case 't':
		literal(ps, "true", T_TRUE);
		break;
	case 'f':
		literal(ps, "false", T_FALSE);
		break;
	case 'n':
		literal(ps, "null", T_NULL);
		break;
	default:
		number(ps);
	}
}

static void
check_json(const uint8_t *s, size_t len, const struct tokens *want)
{
	struct parser p = { s, s + len, want, 0 }, *ps = &p;

	json_start = s;
	ws(ps);
	value(ps, 0);
	ws(ps);
	JCHECK(ps->s == ps->end);
	JCHECK(ps->next == want->n);
}

/* ---- the program ---- */

/* A length-prefixed string; a NUL in it ends the C string early. */
static void
str(struct fuzz_rd *in, char out[STR_MAX + 1])
{
	size_t len = fuzz_get8(in) % (STR_MAX + 1);

	if (len > in->n)
		len = in->n;
	memcpy(out, in->p, len);
	out[len] = '\0';
	in->p += len;
	in->n -= len;
}

enum frame { F_OBJ, F_LIST };

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct ctl_request req;
	struct fuzz_rd in;
	struct evbuffer *out = evbuffer_new();
	struct emit *e;
	struct tokens ts = { 0 };
	enum frame stack[DEPTH_MAX];
	int depth = 0;
	bool json;
	size_t len;
	uint8_t *s;

	check_request(d, n);
	memset(&req, 0, sizeof(req));
	memcpy(&req, d, n < sizeof(req) ? n : sizeof(req));
	json = (req.flags & CTL_FLAG_JSON) != 0;
	in.p = d + (n < sizeof(req) ? n : sizeof(req));
	in.n = n - (n < sizeof(req) ? n : sizeof(req));

	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK((e = emit_new(out, json)) != NULL);
	emit_object_begin(e, NULL);
	tok_add(&ts, T_OBJ, NULL, 0);
	if (json) {
		/* Every JSON answer opens with its schema's version. */
		tok_add(&ts, T_KEY, "version", 0);
		tok_add(&ts, T_NUM, NULL, EMIT_JSON_VERSION);
	}
	stack[depth++] = F_OBJ;
	while (in.n > 0) {
		uint8_t op = fuzz_get8(&in) % 7;
		enum frame top = stack[depth - 1];
		char key[STR_MAX + 1], val[STR_MAX + 1];
		const char *k = NULL;
		uint64_t u = 0;

		/* Text tables hold rows (objects) only. */
		if (!json && top == F_LIST && op != 2)
			op = 0;
		if (op == 2) {
			if (depth == 1)
				continue;
			if (stack[--depth] == F_OBJ) {
				emit_object_end(e);
				tok_add(&ts, T_END_OBJ, NULL, 0);
			} else {
				emit_list_end(e);
				tok_add(&ts, T_END_LIST, NULL, 0);
			}
			continue;
		}
		if ((op == 0 || op == 1) && depth == DEPTH_MAX)
			continue;
		if (top == F_OBJ) {
			str(&in, key);
			k = key;
			tok_add(&ts, T_KEY, key, 0);
		}
		switch (op) {
		case 0:
			emit_object_begin(e, k);
			tok_add(&ts, T_OBJ, NULL, 0);
			stack[depth++] = F_OBJ;
			break;
		case 1:
			emit_list_begin(e, k);
			tok_add(&ts, T_LIST, NULL, 0);
			stack[depth++] = F_LIST;
			break;
		case 3:
			str(&in, val);
			emit_str(e, k, val);
			tok_add(&ts, T_STR, val, 0);
			break;
		case 4:
			for (int i = 0; i < 8; i++)
				u = u << 8 | fuzz_get8(&in);
			emit_u64(e, k, u);
			tok_add(&ts, T_NUM, NULL, u);
			break;
		case 5:
			if (fuzz_get8(&in) & 1) {
				emit_bool(e, k, true);
				tok_add(&ts, T_TRUE, NULL, 0);
			} else {
				emit_bool(e, k, false);
				tok_add(&ts, T_FALSE, NULL, 0);
			}
			break;
		case 6:
			emit_null(e, k, "-");
			tok_add(&ts, T_NULL, NULL, 0);
			break;
		}
	}
	while (depth > 0) {
		if (stack[--depth] == F_OBJ) {
			emit_object_end(e);
			tok_add(&ts, T_END_OBJ, NULL, 0);
		} else {
			emit_list_end(e);
			tok_add(&ts, T_END_LIST, NULL, 0);
		}
	}
	emit_free(e);

	len = evbuffer_get_length(out);
	s = evbuffer_pullup(out, -1);
	FUZZ_CHECK(len == 0 || s != NULL);
	if (getenv("FUZZ_CTL_PRINT") != NULL) {
		fwrite(s, 1, len, stdout);
		fputs(json ? "\n---\n" : "---\n", stdout);
	}
	if (json)
		check_json(s, len, &ts);
	else
		FUZZ_CHECK(len == 0 || s[len - 1] == '\n');
	tok_free(&ts);
	evbuffer_free(out);
	return 0;
}
