/* Structured output for control replies, as JSON or as text for people:
 * lists of objects become aligned tables, other objects "key: value" lines.
 * The command handlers describe the data once and get both. */
#ifndef OVT_EMIT_H
#define OVT_EMIT_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
