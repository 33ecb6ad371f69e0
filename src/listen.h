/* Listening sockets for the daemon's local services (listen.c). */
#ifndef OVT_LISTEN_H
#define OVT_LISTEN_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* A unix stream socket at path, with mode (never looser, even briefly),
 * its directory made if missing. A stale socket file is replaced; one a
 * live process answers on gives -EADDRINUSE. Returns the non-blocking,
 * listening fd or a negative errno. */
int	unix_listen(const char *path, mode_t mode, int backlog);
/* A TCP socket on a:port (IPv6: that family only). */
int	tcp_listen(const struct ovt_addr *a, uint16_t port, int backlog);

#endif
