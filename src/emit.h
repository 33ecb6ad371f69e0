/* Structured output for control replies, as JSON or as text for people:
 * lists of objects become aligned tables, other objects "key: value" lines.
 * The command handlers describe the data once and get both.
 *
 * JSON is type-stable (ovtunctl(8), JSON, has the schema): a key has one
 * type in every answer, numbers are numbers with the unit in the name
 * (age_s), what is absent is null, and the outermost object of every
 * answer starts with "version": EMIT_JSON_VERSION. */
#ifndef OVT_EMIT_H
#define OVT_EMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Raised when a key changes type or meaning or goes away, not when one
 * is added. */
#define EMIT_JSON_VERSION	1

struct evbuffer;
struct emit;

struct emit	*emit_new(struct evbuffer *out, bool json);
/* Flushes what is pending (an unfinished table) and frees e. */
void		 emit_free(struct emit *);

void	emit_object_begin(struct emit *, const char *key);
void	emit_object_end(struct emit *);
void	emit_list_begin(struct emit *, const char *key);
void	emit_list_end(struct emit *);
void	emit_str(struct emit *, const char *key, const char *val);
void	emit_u64(struct emit *, const char *key, uint64_t val);
void	emit_bool(struct emit *, const char *key, bool val);
/* Absent: null in JSON, text (e.g. "-", "never") for people. */
void	emit_null(struct emit *, const char *key, const char *text);
/* A message that is the whole answer of a failed command: under JSON the
 * object {"version": .., "error": msg}, else the line itself. */
void	emit_error(struct emit *, const char *msg);

#endif
