/* The control socket server: accepts ovtunctl connections, reads one
 * bounded request each, answers it and closes. */
#ifndef OVT_CTL_H
#define OVT_CTL_H

#include <stddef.h>
#include <stdint.h>

struct daemon;
struct emit;
struct ctl_server;

/* Creates d->ctl, the socket at path, mode 0600, or 0660 for group when
 * it is not ""; refuses when another daemon answers there. Returns 0 or a
 * negative errno, with why in err. */
int		 ctl_open(struct daemon *d, const char *path,
		    const char *group, char *err, size_t errlen);
/* Closes every client and removes the socket file. */
void		 ctl_close(struct ctl_server *);

/* Who sent the command being handled, for the log: "the control socket
 * (pid 42, uid 0)". */
const char	*ctl_requester(const struct ctl_server *);

/* One handler per command (ctl-cmd.c); 0 or a negative errno, with the
 * reason in the output when the handler can say more than errno. arg is
 * the request's argument ("" when none). */
typedef int	 ctl_handler(struct daemon *, struct emit *, uint32_t flags,
		     const char *arg);
ctl_handler	*ctl_handler_for(unsigned command);

#endif
