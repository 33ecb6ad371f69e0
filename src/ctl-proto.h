/* The control protocol, shared by ovtund and ovtunctl: one request and one
 * reply per connection (the daemon reads nothing after the first), each
 * a fixed header and its payload, over a unix stream socket, in host byte order (both ends are on the
 * same host). The daemon formats the answer (text or JSON), so the client
 * stays a thin pipe and every command prints the same from any client. */
#ifndef OVT_CTL_PROTO_H
#define OVT_CTL_PROTO_H

#include <stdint.h>

#define CTL_MAGIC		0x4f565443u	/* "OVTC" */
#define CTL_VERSION		1
#define CTL_REQUEST_MAX		4096		/* header + argument */
#define CTL_RESPONSE_MAX	(64u << 20)
/* A response of this length streams until either end closes (monitor). */
#define CTL_STREAM		UINT32_MAX
/* The daemon closes a client idle this long, either way; the client waits
 * twice as long for the daemon, which may be busy with a slow command (a
 * reload deriving a PSK) before it reads or answers. */
#define CTL_TIMEOUT_SEC		5
#define CTL_CLIENT_TIMEOUT_SEC	(2 * CTL_TIMEOUT_SEC)

enum ctl_command {
	CTL_PEERS = 1,
	CTL_FDB,
	CTL_STATS,
	CTL_SHOW,
	CTL_RELOAD,
	CTL_SA,
	CTL_MONITOR,
	CTL__COUNT,
};

#define CTL_FLAG_JSON		0x1
#define CTL_FLAG_KEYS		0x2	/* sa: include the keys */

struct ctl_request {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	command;	/* enum ctl_command */
	uint32_t	flags;
	uint32_t	arg_len;	/* bytes of argument that follow */
};

enum ctl_status {
	CTL_OK = 0,
	CTL_ERR_BAD_REQUEST,
	CTL_ERR_UNKNOWN_COMMAND,
	CTL_ERR_FAILED,
};

struct ctl_response {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	status;		/* enum ctl_status */
	uint32_t	len;		/* bytes of output that follow */
	uint32_t	reserved;
};

/* Checks a request header read off the socket: 0 when it is well formed
 * (the argument may still be on its way), -1 otherwise. */
static inline int
ctl_request_check(const struct ctl_request *req)
{
	if (req->magic != CTL_MAGIC || req->version != CTL_VERSION)
		return -1;
	if (req->arg_len > CTL_REQUEST_MAX - sizeof(*req))
		return -1;
	return 0;
}

/* The verbs, in one table: ovtunctl parses and documents from it, the
 * daemon names commands from it. */
struct ctl_verb {
	const char		*name;
	enum ctl_command	 command;
	const char		*help;
};

static const struct ctl_verb ctl_verbs[] = {
	{ "peers", CTL_PEERS, "configured peers, their state and counters" },
	{ "fdb",   CTL_FDB,   "learned MAC addresses, where each lives, age" },
	{ "stats", CTL_STATS, "counters, including every drop reason" },
	{ "show",  CTL_SHOW,  "effective configuration and TAP state" },
	{ "reload", CTL_RELOAD, "re-read the configuration file (as SIGHUP)" },
	{ "sa",    CTL_SA,    "ESP SAs; --keys adds their keys (debugging)" },
	{ "monitor", CTL_MONITOR, "events as they happen, until interrupted" },
};
#define CTL_N_VERBS	(sizeof(ctl_verbs) / sizeof(ctl_verbs[0]))

#endif
