/* The key log: every new SA's keys, one line each in the format of
 * Wireshark's esp_sa table, so captures can be decrypted. A debugging aid
 * that hands out every key: off unless `keylog` is configured. */
#ifndef OVT_KEYLOG_H
#define OVT_KEYLOG_H

#include <stddef.h>

struct peer;
struct session_sa;

/* The datapath's callback: appends the SA's esp_sa line to the file at
 * path (arg). ChaCha20-Poly1305, which Wireshark cannot decrypt, comes out
 * as a comment line with the same fields. */
void	keylog_append(void *path, const struct peer *,
	    const struct session_sa *);

#endif
