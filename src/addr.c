#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

int
addr_parse(const char *s, struct ovt_addr *a)
{
	struct ovt_addr tmp;

	/* inet_pton() takes no scope ids ("fe80::1%eth0"), no IPv4 with
	 * fewer than four parts and no surrounding blanks: exactly what
	 * a configuration file should be held to. */
	memset(&tmp, 0, sizeof(tmp));
	if (inet_pton(AF_INET, s, &tmp.v4) == 1)
		tmp.family = AF_INET;
	else if (inet_pton(AF_INET6, s, &tmp.v6) == 1)
		tmp.family = AF_INET6;
	else
		return -1;
	*a = tmp;
	return 0;
}

const char *
addr_format(const struct ovt_addr *a, char *buf, size_t len)
{
	if (a->family == 0)
		snprintf(buf, len, "*");
	else if (inet_ntop(a->family, &a->v6, buf, len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

bool
addr_equal(const struct ovt_addr *a, const struct ovt_addr *b)
{
	if (a->family != b->family)
		return false;
	switch (a->family) {
	case AF_INET:
		return a->v4.s_addr == b->v4.s_addr;
	case AF_INET6:
		return memcmp(&a->v6, &b->v6, sizeof(a->v6)) == 0;
	default:
		return true;
	}
}
