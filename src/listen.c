/* Listening sockets for the daemon's local services (the control socket,
 * the metrics endpoint): unix sockets created safely, TCP on one
 * address. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"

/* A socket file left behind by a crashed daemon may be replaced; one that
 * a live daemon answers on may not. */
static int
claim_path(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (ret == 0)
		return -EADDRINUSE;
	return unlink(path) < 0 ? -errno : 0;
}

/* Creates the socket's directory if it is missing (/run/ovtund is made by
 * systemd's RuntimeDirectory, but not when run by hand). */
static void
make_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warn("mkdir %s: %s", dir, strerror(errno));
}

int
unix_listen(const char *path, mode_t mode, int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, ret = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	make_dir(path);
	if ((ret = claim_path(path)) < 0)
		return ret;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The socket must never exist with a looser mode, even briefly. */
	old_mask = umask(~mode & 0777);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		ret = -errno;
	umask(old_mask);
	if (ret == 0 && listen(fd, backlog) < 0)
		ret = -errno;
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

int
tcp_listen(const struct ovt_addr *a, uint16_t port, int backlog)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	if (a->family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr = a->v4;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = a->v6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	}
	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restart binds again at once, whatever TIME_WAIT is left; the
	 * accepted sockets inherit TCP_NODELAY: an answer goes out as it is
	 * written, not after the client's delayed ACK. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    (a->family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, backlog) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}
