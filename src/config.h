/* The configuration file (libconfuse) turned into one validated, immutable
 * struct. A reload loads a new struct and swaps it in; nothing here is
 * changed after config_load() returns. */
#ifndef OVT_CONFIG_H
#define OVT_CONFIG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "aead.h"

enum encap {
	ENCAP_GRETAP,
	ENCAP_VXLAN,
	ENCAP_GENEVE,
};

const char	*encap_name(enum encap);

/* One tunnel's parameters; the top level sets defaults, peers may
 * override any of them. */
struct tunnel_params {
	enum encap	encap;
	bool		has_key;	/* vxlan/geneve: always true (VNI) */
	uint32_t	key;		/* GRE key or VNI */
	uint16_t	port;		/* UDP port; 0 for gretap */
};

/* How the encrypted tunnels of a peer carry ESP. */
enum esp_transport {
	ESP_TRANSPORT_IP,	/* ESP as IP protocol 50 */
	ESP_TRANSPORT_UDP,	/* ESP-in-UDP, RFC 3948, port 4500 */
};

/* An encryption { } block: at the top level for every peer, or inside a
 * peer block, where it replaces the top-level one as a whole. */
struct encryption_params {
	bool			 enabled;	/* a block applies */
	char			 psk[256];	/* passphrase, from psk or psk_file */
	char			 psk_file[4096];	/* "": psk given inline */
	enum aead_cipher	 cipher;
	enum esp_transport	 transport;
	unsigned		 rekey_after;	/* seconds, 10..86400 */
	unsigned		 replay_window;	/* packets, 64..8192 */
	uint16_t		 handshake_port;	/* UDP, default 4797 */
	/* Which AEAD implementation: the block's crypto_engine, else the
	 * top level's. */
	enum aead_engine	 engine;
};

#define CONFIG_DEFAULT_REKEY		3600
#define CONFIG_DEFAULT_REPLAY_WINDOW	1024
#define CONFIG_DEFAULT_HANDSHAKE_PORT	4797
#define ESP_UDP_PORT			4500

/* An underlay address: the family says which member is valid. */
struct ovt_addr {
	sa_family_t	family;		/* AF_INET or AF_INET6, 0 = unset */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	};
};

/* Frames too big for a peer's path (see pmtu.h): the DF bit of the outer
 * IP header, MSS clamping, ICMP answers. Top level only; every peer
 * carries a copy. */
enum df_mode {
	DF_INHERIT,	/* from the inner IPv4 header; IPv6 inner: set */
	DF_SET,		/* always: the outer packet is never fragmented */
	DF_UNSET,	/* never: the kernel fragments the outer packet */
};

struct pmtu_params {
	enum df_mode	df;
	bool		clamp_mss;	/* rewrite the MSS of TCP SYNs */
	unsigned	mss_cap;	/* clamp_mss = N: N at most; 0: path */
	bool		icmp;		/* answer too big frames with ICMP */
};

/* Where each setting of one level (the top, or a peer with its encryption
 * block) was read, 0 if it was not: the checks made once the file is
 * loaded (preflight.c) blame their FILE:LINE by it. See config_line(). */
#define CONFIG_KEYS_MAX	64
/* Where a peer comes from: the file, or an etcd member entry. */
enum peer_source {
	PEER_FILE,
	PEER_ETCD,
};

struct peer_config {
	char			name[64];
	enum peer_source	source;
	struct ovt_addr		remote;
	/* Key mode: the peer's X25519 public key, and ours (from the top
	 * level's private_key_file), so that a peer compares equal across a
	 * reload only with the same pair of keys. */
	bool			has_public_key;
	uint8_t			public_key[32];
	uint8_t			local_public_key[32];
	struct tunnel_params	tun;
	struct encryption_params enc;	/* effective: own block or inherited */
	struct pmtu_params	pmtu;	/* the top level's */
	unsigned		mtu;	/* etcd: the member's TAP MTU, 0: none */
	int			line;	/* where the peer block starts */
	int			key_line[CONFIG_KEYS_MAX];
};

#define ETCD_ENDPOINTS_MAX	16
#define ETCD_ADVERTISE_MAX	4
#define ETCD_DEFAULT_TTL	10
#define ETCD_DEFAULT_MEMBER_LIMIT	1024
#define ETCD_MEMBER_LIMIT_MAX	65536

/* The etcd { } block: fleet membership (membership.h). */
struct etcd_params {
	bool		 enabled;
	char		 endpoints[ETCD_ENDPOINTS_MAX][256];	/* URLs */
	unsigned	 n_endpoints;
	char		 prefix[192];	/* "/ovtund/NET", no trailing '/' */
	char		 name[64];	/* our member name: the host name */
	unsigned	 ttl;		/* lease, seconds, 2..300 */
	struct ovt_addr	 advertise[ETCD_ADVERTISE_MAX];	/* default: local */
	unsigned	 n_advertise;
	char		 ca_file[4096];		/* "" = the system's CAs */
	char		 cert_file[4096];	/* client certificate, or "" */
	char		 key_file[4096];
	char		 username[128];		/* "" = no auth */
	char		 password[256];		/* from password_file */
	unsigned	 member_limit;
	char		 state_file[4096];	/* the membership snapshot */
};

struct config {
	char			path[4096];
	char			interface[IFNAMSIZ];
	unsigned		mtu;		/* 0: derive from the underlay */
	char			netns[256];	/* "" = stay in our netns */
	struct ovt_addr		address;	/* TAP address, family 0 = none */
	unsigned		prefixlen;
	char			bridge[IFNAMSIZ];	/* "" = none */
	uint8_t			mac[6];		/* the TAP's; zero: derived */
	struct tunnel_params	tun;		/* defaults for every peer */
	struct ovt_addr		local;		/* family 0: wildcard */
	char			control[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned		mac_aging;	/* seconds */
	unsigned		mac_table_size;
	struct encryption_params enc;		/* the top-level block */
	char			private_key_file[4096];	/* "" = none */
	uint8_t			*private_key;	/* sodium_malloc'd, or NULL */
	uint8_t			public_key[32];	/* of private_key */
	/* The first thing worth a warning that is not an error, as
	 * "FILE:LINE: ...", or "" (a short passphrase). */
	char			warning[512];
	char			keylog[4096];	/* "" = off (debugging aid) */
	bool			offload;	/* TSO/GRO with the TAP (default) */
	unsigned		workers;	/* data path threads; 0: auto */
	enum aead_engine	crypto_engine;	/* for blocks that set none */
	char			user[33];	/* "" = stay root */
	char			control_group[33];	/* "" = socket 0600 */
	/* The metrics endpoint: "" = off, "ADDR:PORT", "[ADDR6]:PORT", or
	 * an absolute path of a unix socket (see listen_parse). */
	char			metrics[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct pmtu_params	pmtu;
	struct etcd_params	etcd;
	struct peer_config	*peers;		/* the file's, then etcd's */
	size_t			 n_peers;
	int			 key_line[CONFIG_KEYS_MAX];	/* top level */
};

#define CONFIG_DEFAULT_CONTROL	"/run/ovtund/ovtund.sock"
#define CONFIG_DEFAULT_AGING	300
#define CONFIG_DEFAULT_TABLE	8192
/* Worker threads, each with a TAP queue of its own: at most this many,
 * and with workers = auto one per CPU up to CONFIG_WORKERS_AUTO_MAX. */
#define CONFIG_WORKERS_MAX	64
#define CONFIG_WORKERS_AUTO_MAX	16

/* Loads and validates path. On error returns NULL and writes one message,
 * "FILE:LINE: what is wrong", into err. */
struct config	*config_load(const char *path, char *err, size_t errlen);
void		 config_free(struct config *);
/* The line where key was set: in peer's block (and its encryption block)
 * if peer is not NULL, else at the top level (and its encryption block);
 * 0 if it was not set there. */
int		 config_line(const struct config *, const struct peer_config *peer,
		    const char *key);
/* A copy of base with its file peers and then the n extra peers (etcd
 * members); base's own etcd peers are left out. NULL: out of memory. */
struct config	*config_with_peers(const struct config *base,
		     const struct peer_config *extra, size_t n);

/* An encryption block's defaults, no key: key mode's peers without one. */
void		 enc_defaults(struct encryption_params *);
bool		 etcd_params_equal(const struct etcd_params *,
		     const struct etcd_params *);
const char	*transport_name(enum esp_transport);

/* Parses "192.0.2.1" or "2001:db8::1"; 0 on success. */
int		 addr_parse(const char *, struct ovt_addr *);
/* Formats into buf (INET6_ADDRSTRLEN at least). */
const char	*addr_format(const struct ovt_addr *, char *buf, size_t len);
bool		 addr_equal(const struct ovt_addr *, const struct ovt_addr *);
/* Parses a listening address: "192.0.2.1:9477" or "[2001:db8::1]:9477"
 * (a port from 1 to 65535) gives 0, with *a and *port set; an absolute
 * path (a unix socket) gives 1; anything else -1. */
int		 listen_parse(const char *, struct ovt_addr *a, uint16_t *port);

#endif
