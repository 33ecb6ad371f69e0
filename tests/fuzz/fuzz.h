/* Shared by the fuzz harnesses: the libFuzzer entry points, a check that
 * aborts whatever NDEBUG says, packets laid out so AddressSanitizer sees
 * a codec read past either end of the bytes it was given, and the checks
 * every tunnel codec must pass whatever its header. */
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
	pkt_reset(p);
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

/* A frame as encap gets it: at the headroom of a buffer of its own. */
static inline struct pkt *
fuzz_pkt_frame(const uint8_t *frame, size_t len)
{
	struct pkt *q = malloc(sizeof(*q));

	FUZZ_CHECK(q != NULL);
	FUZZ_CHECK(pkt_set(q, frame, len) == 0);
	return q;
}

/* The packet holds frame again, where fuzz_pkt_frame put it. */
static inline void
fuzz_pkt_is_frame(const struct pkt *q, const uint8_t *frame, size_t len)
{
	FUZZ_CHECK(q->len == len && q->data == q->buf + PKT_HEADROOM);
	FUZZ_CHECK(memcmp(q->data, frame, len) == 0);
}
#endif

#ifdef OVT_CODEC_H
typedef enum drop_reason (*fuzz_decap_fn)(struct pkt *, struct tunnel_hdr *);

/* What holds for every codec's decap of the n bytes at d: a drop leaves
 * the packet and the record untouched, a pass strips a header (*hlen
 * bytes) and nothing else. The verdict goes to *r, what the header said
 * to *th; the packet is returned for the caller to check on and free,
 * NULL if d cannot be one. */
static inline struct pkt *
fuzz_decap(fuzz_decap_fn decap, const uint8_t *d, size_t n,
    struct tunnel_hdr *th, enum drop_reason *r, size_t *hlen)
{
	struct tunnel_hdr canary;
	struct pkt *p;
	uint8_t *start;

	if ((p = fuzz_pkt_at_end(d, n)) == NULL)
		return NULL;
	start = p->data;
	memset(&canary, 0xa5, sizeof(canary));
	memset(th, 0xa5, sizeof(*th));
	fuzz_pkt_guard(p);
	*r = decap(p, th);
	fuzz_pkt_unguard(p);
	if (*r != DROP_NONE) {
		FUZZ_CHECK(p->data == start && p->len == n);
		FUZZ_CHECK(memcmp(p->data, d, n) == 0);
		FUZZ_CHECK(memcmp(th, &canary, sizeof(*th)) == 0);
		*hlen = 0;
		return p;
	}
	FUZZ_CHECK(p->data >= start && p->data <= start + n);
	*hlen = (size_t)(p->data - start);
	FUZZ_CHECK(p->len == n - *hlen);
	FUZZ_CHECK(memcmp(p->data, d + *hlen, p->len) == 0);
	return p;
}

/* Decap of what encap made of frame (from fuzz_pkt_frame): on a pass the
 * frame must be back where it was. The verdict is the caller's to check. */
static inline enum drop_reason
fuzz_redecap(fuzz_decap_fn decap, struct pkt *q, struct tunnel_hdr *th,
    const uint8_t *frame, size_t len)
{
	enum drop_reason r;

	memset(th, 0, sizeof(*th));
	if ((r = decap(q, th)) == DROP_NONE)
		fuzz_pkt_is_frame(q, frame, len);
	return r;
}
#endif

#endif
