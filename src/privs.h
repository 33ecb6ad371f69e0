/* Giving up root once the TAP and the sockets exist. */
#ifndef OVT_PRIVS_H
#define OVT_PRIVS_H

#include <stddef.h>

/* Becomes user (uid, gid, no supplementary groups), keeping only
 * CAP_NET_ADMIN and CAP_NET_RAW: a reload may open sockets for new peers
 * (raw ones for gretap and ESP) and size their buffers past the sysctl
 * limits. Returns 0, or a negative errno with why in err. */
int	privs_drop(const char *user, char *err, size_t errlen);

#endif
