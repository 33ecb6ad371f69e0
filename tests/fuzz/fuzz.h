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

/* A harness's input read as a program: numbers big-endian, and zeros
 * once it runs out, so that every input is a valid program. */
struct fuzz_rd {
	const uint8_t	*p;
	size_t		 n;
};

static inline uint8_t
fuzz_get8(struct fuzz_rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static inline uint16_t
fuzz_get16(struct fuzz_rd *r)
{
	uint16_t hi = fuzz_get8(r);

	return (uint16_t)(hi << 8 | fuzz_get8(r));
}

static inline uint32_t
fuzz_get32(struct fuzz_rd *r)
{
	uint32_t hi = fuzz_get16(r);

	return hi << 16 | fuzz_get16(r);
}

static inline uint64_t
fuzz_get64(struct fuzz_rd *r)
{
	uint64_t hi = fuzz_get32(r);

	return hi << 32 | fuzz_get32(r);
}

/* Up to len bytes into b; returns how many the input still had. */
static inline size_t
fuzz_take(struct fuzz_rd *r, uint8_t *b, size_t len)
{
	size_t k = len < r->n ? len : r->n;

	memcpy(b, r->p, k);
	r->p += k;
	r->n -= k;
	return k;
}

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
