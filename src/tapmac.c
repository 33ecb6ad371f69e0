#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tapmac.h"

#define MACHINE_ID_PATH	"/etc/machine-id"
#define MACHINE_ID_LEN	32	/* hex digits, machine-id(5) */

void
tap_mac_derive(const char *machine_id, const char *ifname, const char *netns,
    const struct ovt_addr *local, uint8_t mac[6])
{
	static const char domain[] = "ovtund tap mac v1";
	crypto_generichash_state st;
	uint8_t family = (uint8_t)local->family;

	/* Each part with its terminating NUL, so that no two different
	 * inputs hash the same bytes. */
	crypto_generichash_init(&st, NULL, 0, 6);
	crypto_generichash_update(&st, (const uint8_t *)domain,
	    sizeof(domain));
	crypto_generichash_update(&st, (const uint8_t *)machine_id,
	    strlen(machine_id) + 1);
	crypto_generichash_update(&st, (const uint8_t *)ifname,
	    strlen(ifname) + 1);
	crypto_generichash_update(&st, (const uint8_t *)netns,
	    strlen(netns) + 1);
	crypto_generichash_update(&st, &family, 1);
	crypto_generichash_update(&st, (const uint8_t *)&local->v6,
	    local->family == AF_INET ? sizeof(local->v4) :
	    local->family == AF_INET6 ? sizeof(local->v6) : 0);
	crypto_generichash_final(&st, mac, 6);
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u);	/* unicast, local */
}

static int
read_machine_id(char id[MACHINE_ID_LEN + 1], char *err, size_t errlen)
{
	ssize_t n;
	int fd;

	if ((fd = open(MACHINE_ID_PATH, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", MACHINE_ID_PATH,
		    strerror(errno));
		return -1;
	}
	n = read(fd, id, MACHINE_ID_LEN);
	close(fd);
	if (n != MACHINE_ID_LEN ||
	    strspn(id, "0123456789abcdef") < MACHINE_ID_LEN) {
		snprintf(err, errlen, "%s: not a machine id", MACHINE_ID_PATH);
		return -1;
	}
	id[MACHINE_ID_LEN] = '\0';
	return 0;
}

int
tap_mac_for(const struct config *cfg, uint8_t mac[6], char *err,
    size_t errlen)
{
	static const uint8_t unset[6];
	char id[MACHINE_ID_LEN + 1] = "";

	if (memcmp(cfg->mac, unset, sizeof(unset)) != 0) {
		memcpy(mac, cfg->mac, 6);
		return 0;
	}
	if (read_machine_id(id, err, errlen) < 0)
		return -1;
	tap_mac_derive(id, cfg->interface, cfg->netns, &cfg->local, mac);
	return 0;
}
