/* Anti-replay window: the RFC 4303 §3.4.3 rules over the RFC 6479 ring of
 * blocks, and the RFC 4303 Appendix A2 inference of the ESN high half. The
 * window holds [top - size + 1, top]; a bit is set once that sequence
 * number has been accepted. */
#include <errno.h>
#include <string.h>

#include "replay.h"

#define BLOCK_MASK	(REPLAY_BLOCKS - 1)

_Static_assert((REPLAY_BLOCKS & BLOCK_MASK) == 0,
    "the ring size must be a power of two");
_Static_assert(REPLAY_WINDOW_MAX + 64 <= REPLAY_BITS,
    "the ring must hold the largest window and the top block");

static inline size_t
block(uint64_t seq)
{
	return (seq >> 6) & BLOCK_MASK;
}

static inline uint64_t
bit(uint64_t seq)
{
	return (uint64_t)1 << (seq & 63);
}

int
replay_init(struct replay *w, unsigned size)
{
	if (size < REPLAY_WINDOW_MIN || size > REPLAY_WINDOW_MAX)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->size = size;
	return 0;
}

/* Leaves the window alone, so a forged packet costs no state. Sequence
 * number 0 is never sent (RFC 4303 §3.3.3: the first is 1), so it lies
 * below every window. */
enum drop_reason
replay_check(const struct replay *w, uint64_t seq)
{
	if (seq == 0)
		return DROP_ESP_TOO_OLD;
	if (seq > w->top)
		return DROP_NONE;
	if (w->top - seq >= w->size)
		return DROP_ESP_TOO_OLD;
	if (w->ring[block(seq)] & bit(seq))
		return DROP_ESP_REPLAY;
	return DROP_NONE;
}

/* Only for a seq that passed replay_check and then authenticated. Moving
 * the top ahead clears the blocks it enters (the whole ring at most): they
 * still hold bits from REPLAY_BITS sequence numbers ago. */
void
replay_update(struct replay *w, uint64_t seq)
{
	uint64_t cur = w->top >> 6, n;

	if (seq > w->top) {
		n = (seq >> 6) - cur;
		if (n > REPLAY_BLOCKS)
			n = REPLAY_BLOCKS;
		for (; n > 0; n--)
			w->ring[(cur + n) & BLOCK_MASK] = 0;
		w->top = seq;
	}
	w->ring[block(seq)] |= bit(seq);
}

/* RFC 4303 Appendix A2.2: the high half that puts seq_lo in or ahead of the
 * window. A guess that is wrong (a forgery, or a sender more than 2^32
 * ahead) fails the ICV, which covers the high half. */
uint64_t
replay_esn_seq(const struct replay *w, uint32_t seq_lo)
{
	uint32_t hi = (uint32_t)(w->top >> 32), lo = (uint32_t)w->top;
	uint32_t bottom = lo - (w->size - 1);	/* wraps in case B */

	if (lo >= w->size - 1) {
		/* Case A, the window within one subspace: below it means
		 * the sender has moved on to the next. */
		if (seq_lo < bottom)
			hi++;
	} else if (seq_lo >= bottom && hi > 0) {
		/* Case B, the window's bottom in the previous subspace. */
		hi--;
	}
	return (uint64_t)hi << 32 | seq_lo;
}
