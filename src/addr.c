#include <arpa/inet.h>
#include <stdlib.h>
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

int
listen_parse(const char *s, struct ovt_addr *a, uint16_t *port)
{
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon;
	size_t len;
	unsigned long p;

	if (s[0] == '/')
		return 1;
	if ((colon = strrchr(s, ':')) == NULL ||
	    (len = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	if (host[0] == '[') {
		/* An IPv6 address, and only one, goes in brackets. */
		if (len < 3 || host[len - 1] != ']')
			return -1;
		host[len - 1] = '\0';
		if (addr_parse(host + 1, a) < 0 || a->family != AF_INET6)
			return -1;
	} else if (addr_parse(host, a) < 0 || a->family != AF_INET) {
		return -1;
	}
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || p == 0 || p > 65535)
		return -1;
	*port = (uint16_t)p;
	return 0;
}
