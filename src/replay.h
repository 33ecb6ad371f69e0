/* ESP anti-replay window, RFC 4303 §3.4.3, kept as the ring of 64-bit
 * blocks of RFC 6479 so that a jump ahead clears whole words instead of
 * shifting bits. Sequence numbers are 64-bit throughout; without ESN the
 * high half is simply zero. Check before the ICV, update after it. */
#ifndef OVT_REPLAY_H
#define OVT_REPLAY_H

#include <stdint.h>

#include "drop.h"

#define REPLAY_WINDOW_MIN	64
#define REPLAY_WINDOW_MAX	8192
#define REPLAY_WINDOW_DEFAULT	1024

/* The ring is one power-of-two size for every window: it must hold the
 * window plus the block the top sequence number is in, and a fixed mask
 * keeps the index arithmetic free of divisions. */
#define REPLAY_BLOCKS		256
#define REPLAY_BITS		(REPLAY_BLOCKS * 64)

struct replay {
	uint64_t	 top;		/* highest authenticated; 0: none yet */
	uint32_t	 size;		/* window, in sequence numbers */
	uint64_t	 ring[REPLAY_BLOCKS];
};

int		 replay_init(struct replay *, unsigned size);
enum drop_reason replay_check(const struct replay *, uint64_t seq);
void		 replay_update(struct replay *, uint64_t seq);
uint64_t	 replay_esn_seq(const struct replay *, uint32_t seq_lo);

#endif
