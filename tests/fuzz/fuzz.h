/* Shared by the fuzz harnesses: the libFuzzer entry points, a check that
 * aborts whatever NDEBUG says, and packets laid out so AddressSanitizer
 * sees a codec read past either end of the bytes it was given. */
#ifndef OVT_FUZZ_H
#define OVT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* A failed property is a crash, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#if defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define FUZZ_ASAN 1
# endif
#endif
#if defined(__SANITIZE_ADDRESS__)
# define FUZZ_ASAN 1
#endif

#ifdef FUZZ_ASAN
# include <sanitizer/asan_interface.h>
# define FUZZ_POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
# define FUZZ_UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
# define FUZZ_POISON(p, n)	((void)(p), (void)(n))
# define FUZZ_UNPOISON(p, n)	((void)(p), (void)(n))
#endif

#ifdef OVT_PKT_H
/* The end of the buffer: what lies after it in struct pkt (padding, if
 * any) is poisoned, so the allocation is as good as ending there. */
static inline struct pkt *
fuzz_pkt_at_end(const uint8_t *b, size_t len)
{
	struct pkt *p;

	if (len > PKT_BUF_SIZE - PKT_HEADROOM)
		return NULL;
	if ((p = malloc(sizeof(*p))) == NULL)
		return NULL;
	p->data = p->buf + PKT_BUF_SIZE - len;
	p->len = len;
	memcpy(p->data, b, len);
	FUZZ_POISON(p->buf + PKT_BUF_SIZE,
	    sizeof(*p) - offsetof(struct pkt, buf) - PKT_BUF_SIZE);
	return p;
}

/* Decap must not look in front of the packet either: the headroom is
 * poisoned while it runs (ASan may leave the granule holding the first
 * byte open). */
static inline void
fuzz_pkt_guard(const struct pkt *p)
{
	FUZZ_POISON(p->buf, (size_t)(p->data - p->buf));
}

static inline void
fuzz_pkt_unguard(const struct pkt *p)
{
	FUZZ_UNPOISON(p->buf, (size_t)(p->data - p->buf));
}
#endif

#endif
