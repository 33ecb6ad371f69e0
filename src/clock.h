/* The one clock the daemon reads: monotonic milliseconds. Modules below the
 * daemon take "now" as an argument, so tests pass their own time. */
#ifndef OVT_CLOCK_H
#define OVT_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
