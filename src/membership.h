/* Fleet membership through etcd: our entry PREFIX/members/NAME under a
 * lease kept alive, the other members ranged and watched, each one a peer
 * applied through the reload's path (daemon_apply). A snapshot of the
 * members in state_file lets a daemon start while etcd is unreachable. */
#ifndef OVT_MEMBERSHIP_H
#define OVT_MEMBERSHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "member.h"

struct daemon;
struct membership;

/* What `ovtunctl show` says about it. */
struct membership_status {
	const char	*endpoint;	/* the one in use */
	const char	*state;
	bool		 registered;
	long long	 lease;		/* 0: none */
	long long	 ttl_left_s;	/* -1: unknown */
	long long	 revision;	/* last seen, 0: none yet */
	size_t		 members_seen;	/* valid entries, ours left out */
	size_t		 members_applied;
	uint64_t	 refused[MEMBER__COUNT];	/* entries, since start */
	unsigned	 not_applied[MEMBER__COUNT];	/* now */
	uint64_t	 reconnects;
	const char	*last_error;	/* NULL: none */
};

/* Loads the snapshot; the daemon's base must exist. */
struct membership *membership_new(struct daemon *, char *err, size_t errlen);
/* Registers, ranges and watches from now on. */
void	membership_start(struct membership *);
/* clean: revoke our lease (our entry goes at once), save the snapshot. */
void	membership_free(struct membership *, bool clean);

/* base (a configuration whose file peers count) with the members as
 * peers after them; NULL: out of memory. */
struct config *membership_merge(struct membership *, const struct config *base);
void	membership_status(const struct membership *, struct membership_status *);

#endif
