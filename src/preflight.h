/* What start-up would trip over, checked without side effects before it
 * starts, by `ovtund -t` as well: the namespace, bridge and local address
 * exist here, and the files a reload reads again are readable by `user`.
 * Errors are "FILE:LINE: message", blaming the setting at fault. */
#ifndef OVT_PREFLIGHT_H
#define OVT_PREFLIGHT_H

#include <stddef.h>

#include "config.h"

int	preflight(const struct config *, char *err, size_t errlen);

/* Puts "FILE:LINE: " in front of the message in err, for the errors of
 * start-up: the line of key in peer's block if peer is not NULL (else of
 * the block itself), or at the top level ("FILE: " if it is not set). */
void	preflight_blame(const struct config *, const struct peer_config *peer,
	    const char *key, char *err, size_t errlen);

#endif
