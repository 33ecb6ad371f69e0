#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <sodium.h>

#include "esp.h"
#include "keylog.h"
#include "log.h"
#include "peer.h"
#include "session.h"

/* The line, without its newline; its length, or -1 if buf is too small. */
static int
keylog_format(char *buf, size_t len, const struct peer *peer,
    const struct session_sa *ss)
{
	char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
	char hex[2 * ESP_KEYMAT_LEN + 1];
	bool aes = ss->sa->aead.cipher == AEAD_AES256_GCM;
	int n;

	addr_format(&peer->src, local, sizeof(local));
	addr_format(&peer->cfg.remote, remote, sizeof(remote));
	sodium_bin2hex(hex, sizeof(hex), ss->keymat, ESP_KEYMAT_LEN);
	n = snprintf(buf, len, "%s\"%s\",\"%s\",\"%s\",\"0x%08x\",\"%s\","
	    "\"0x%s\",\"NULL\",\"\"", aes ? "" : "# ",
	    peer->cfg.remote.family == AF_INET6 ? "IPv6" : "IPv4",
	    ss->inbound ? remote : local, ss->inbound ? local : remote,
	    ss->sa->spi, aes ? "AES-GCM with 16 octet ICV [RFC4106]" :
	    "ChaCha20-Poly1305 [RFC7634]", hex);
	sodium_memzero(hex, sizeof(hex));
	return n < 0 || (size_t)n >= len ? -1 : n;
}

void
keylog_append(void *path, const struct peer *peer,
    const struct session_sa *ss)
{
	char line[512];
	struct stat st;
	int fd, n;

	if ((n = keylog_format(line, sizeof(line), peer, ss)) < 0)
		return;
	line[n++] = '\n';
	/* Never through a symbolic link, and never into a file others may
	 * read: keys written there would be theirs. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0)
		log_rl(LOG_WARNING, "keylog %s: %m", (const char *)path);
	else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0)
		log_rl(LOG_WARNING, "keylog %s: not a regular file of mode 0600 "
		    "or 0400 (group or others may read it): no key written",
		    (const char *)path);
	else if (write(fd, line, (size_t)n) != n)
		log_rl(LOG_WARNING, "keylog %s: %m", (const char *)path);
	if (fd >= 0)
		close(fd);
	sodium_memzero(line, sizeof(line));
}
