/* config_load() on arbitrary file contents, then config_free(): memory
 * errors and leaks show up under ASan/LSan. A refused file must come
 * with its one "FILE[:LINE]: message"; an accepted one must hold what
 * the loader promises. */
#include <net/if.h>
#include <stdbool.h>
#include <unistd.h>

#include "config.h"

#include "fuzz.h"

static void
check_config(const struct config *c)
{
	size_t len = strnlen(c->interface, sizeof(c->interface));

	FUZZ_CHECK(len > 0 && len < sizeof(c->interface));
	FUZZ_CHECK(strnlen(c->control, sizeof(c->control)) <
	    sizeof(c->control) && c->control[0] == '/');
	FUZZ_CHECK(c->mac_aging >= 1 && c->mac_aging <= 86400);
	FUZZ_CHECK(c->mac_table_size >= 1 && c->mac_table_size <= 16777216);
	FUZZ_CHECK(c->mtu == 0 || (c->mtu >= 576 && c->mtu <= 9000));
	FUZZ_CHECK((c->n_peers == 0) == (c->peers == NULL));
	FUZZ_CHECK(c->tun.encap == ENCAP_GRETAP || c->tun.port != 0);
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct peer_config *p = &c->peers[i];

		len = strnlen(p->name, sizeof(p->name));
		FUZZ_CHECK(len > 0 && len < sizeof(p->name));
		FUZZ_CHECK(p->remote.family == AF_INET ||
		    p->remote.family == AF_INET6);
		FUZZ_CHECK(p->remote.family == c->peers[0].remote.family);
		FUZZ_CHECK(p->tun.encap == ENCAP_GRETAP ||
		    (p->tun.has_key && p->tun.key <= 0xffffff));
		FUZZ_CHECK((p->tun.encap == ENCAP_GRETAP) ==
		    (p->tun.port == 0));
		for (size_t j = 0; j < i; j++) {
			FUZZ_CHECK(strcmp(p->name, c->peers[j].name) != 0);
			FUZZ_CHECK(!addr_equal(&p->remote,
			    &c->peers[j].remote));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char path[] = "/tmp/ovtund-fuzz-config.XXXXXX";
	char err[512];
	struct config *c;
	size_t off = 0;
	ssize_t w;
	int fd;

	if ((fd = mkstemp(path)) == -1) {
		perror("mkstemp");
		abort();
	}
	while (off < n) {
		if ((w = write(fd, d + off, n - off)) <= 0) {
			perror("write");
			unlink(path);
			abort();
		}
		off += (size_t)w;
	}
	close(fd);
	memset(err, 'x', sizeof(err));
	c = config_load(path, err, sizeof(err));
	unlink(path);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (c == NULL) {
		/* The message names the file first. */
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		FUZZ_CHECK(err[strlen(path)] == ':');
		FUZZ_CHECK(strlen(err) > strlen(path) + 2);
	} else {
		FUZZ_CHECK(err[0] == '\0');
		FUZZ_CHECK(strcmp(c->path, path) == 0);
		check_config(c);
	}
	config_free(c);
	return 0;
}
