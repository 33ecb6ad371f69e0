#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "preflight.h"

#define NETNS_RUN_DIR	"/var/run/netns"

struct check {
	const struct config	*cfg;
	char			*err;
	size_t			 errlen;
};

static int __attribute__((format(printf, 3, 4)))
fail(struct check *c, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (line > 0)
		n = snprintf(c->err, c->errlen, "%s:%d: ", c->cfg->path, line);
	else
		n = snprintf(c->err, c->errlen, "%s: ", c->cfg->path);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
preflight_blame(const struct config *cfg, const struct peer_config *peer,
    const char *key, char *err, size_t errlen)
{
	struct check c = { cfg, err, errlen };
	int line = config_line(cfg, peer, key);
	char msg[512];

	if (line == 0 && peer != NULL)
		line = peer->line;
	snprintf(msg, sizeof(msg), "%s", err);
	fail(&c, line, "%s", msg);
}

static int
check_netns(struct check *c)
{
	const struct config *cfg = c->cfg;
	char path[sizeof(NETNS_RUN_DIR) + sizeof(cfg->netns) + 1];
	struct stat st;

	if (cfg->netns[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, cfg->netns);
	if (stat(path, &st) < 0)
		return fail(c, config_line(cfg, NULL, "netns"),
		    "netns %s: there is no such network namespace (%s: %s; "
		    "`ip netns add %s` makes one)", cfg->netns, path,
		    strerror(errno), cfg->netns);
	return 0;
}

static int
check_bridge(struct check *c)
{
	const struct config *cfg = c->cfg;

	if (cfg->bridge[0] == '\0' || if_nametoindex(cfg->bridge) != 0)
		return 0;
	return fail(c, config_line(cfg, NULL, "bridge"), "bridge %s: no such "
	    "interface in this network namespace", cfg->bridge);
}

/* Binding a socket to it, then closing it, is how to ask whether the
 * address is this host's. */
static int
check_local(struct check *c)
{
	const struct config *cfg = c->cfg;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char a[INET6_ADDRSTRLEN];
	socklen_t len;
	int fd, ret = 0;

	if (cfg->local.family == 0)
		return 0;
	if (cfg->local.family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr = cfg->local.v4;
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = cfg->local.v6;
		len = sizeof(*sin6);
	}
	if ((fd = socket(cfg->local.family, SOCK_DGRAM | SOCK_CLOEXEC,
	    0)) < 0)
		return 0;	/* no such family here: the start will say */
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		ret = fail(c, config_line(cfg, NULL, "local"), "local %s: %s%s",
		    addr_format(&cfg->local, a, sizeof(a)), strerror(errno),
		    errno == EADDRNOTAVAIL ? " (no interface in this network "
		    "namespace has it)" : "");
	close(fd);
	return ret;
}

/* Whether uid/gid (no supplementary groups: the privilege drop sets
 * none) may reach path and use it as mode says (R_OK, W_OK): every
 * directory on the way searchable, the file itself by its mode bits. */
static bool
permitted(const char *path, uid_t uid, gid_t gid, int mode)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;
	unsigned need;

	if (uid == 0)
		return true;
	if (strlen(path) >= sizeof(dir))
		return false;
	memcpy(dir, path, strlen(path) + 1);
	for (slash = strchr(dir + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (stat(dir, &st) < 0)
			return false;
		need = st.st_uid == uid ? S_IXUSR : st.st_gid == gid ?
		    S_IXGRP : S_IXOTH;
		if (!(st.st_mode & need))
			return false;
		*slash = '/';
	}
	if (stat(path, &st) < 0)
		return false;
	need = 0;
	if (mode & R_OK)
		need |= st.st_uid == uid ? S_IRUSR : st.st_gid == gid ?
		    S_IRGRP : S_IROTH;
	if (mode & W_OK)
		need |= st.st_uid == uid ? S_IWUSR : st.st_gid == gid ?
		    S_IWGRP : S_IWOTH;
	return (st.st_mode & need) == need;
}

/* A reload reads the file and the psk files again, as user. */
static int
check_user_files(struct check *c)
{
	const struct config *cfg = c->cfg;
	const struct passwd *pw;
	int line;

	if (cfg->user[0] == '\0')
		return 0;
	if ((pw = getpwnam(cfg->user)) == NULL)
		return fail(c, config_line(cfg, NULL, "user"), "user %s: no "
		    "such user", cfg->user);
	line = config_line(cfg, NULL, "user");
	if (!permitted(cfg->path, pw->pw_uid, pw->pw_gid, R_OK))
		return fail(c, line, "user %s cannot read %s, so reloads would "
		    "fail: give it (or its group) read access", cfg->user,
		    cfg->path);
	if (cfg->enc.psk_file[0] != '\0' && !permitted(cfg->enc.psk_file,
	    pw->pw_uid, pw->pw_gid, R_OK))
		return fail(c, config_line(cfg, NULL, "psk_file"), "user %s "
		    "cannot read %s, so reloads would fail: make the user own "
		    "it", cfg->user, cfg->enc.psk_file);
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct peer_config *p = &cfg->peers[i];

		if (p->enc.psk_file[0] == '\0' || permitted(p->enc.psk_file,
		    pw->pw_uid, pw->pw_gid, R_OK))
			continue;
		line = config_line(cfg, p, "psk_file");
		return fail(c, line ? line : config_line(cfg, NULL,
		    "psk_file"), "user %s cannot read %s, so reloads would "
		    "fail: make the user own it", cfg->user, p->enc.psk_file);
	}
	return 0;
}

int
preflight(const struct config *cfg, char *err, size_t errlen)
{
	struct check c = { cfg, err, errlen };

	if (check_netns(&c) < 0 || check_bridge(&c) < 0 ||
	    check_local(&c) < 0 || check_user_files(&c) < 0)
		return -1;
	return 0;
}
