/* A fleet member's entry in etcd (PREFIX/members/NAME): what a peer needs
 * to reach that host, as JSON. Pure: no sockets, no globals; the daemon,
 * the unit tests and the fuzzer drive the same functions.
 *
 *   {"version": 1, "name": "box-1", "addresses": ["192.0.2.1"],
 *    "encap": "vxlan", "key": 123, "port": 4789, "mtu": 1450,
 *    "public_key": null,
 *    "encryption": {"cipher": "chacha20-poly1305", "transport": "ip",
 *                   "handshake_port": 4797}}
 *
 * key is null for gretap without a key; encryption null when the tunnels
 * are plain; unknown members are ignored (newer writers may add some). */
#ifndef OVT_MEMBER_H
#define OVT_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define MEMBER_VERSION		1
#define MEMBER_VALUE_MAX	2048	/* bytes of JSON: larger is refused */
#define MEMBER_ADDRS_MAX	ETCD_ADVERTISE_MAX
#define MEMBER_PUBLIC_KEY_LEN	32	/* X25519 */

struct member {
	char			name[64];
	struct ovt_addr		addrs[MEMBER_ADDRS_MAX];
	unsigned		n_addrs;
	struct tunnel_params	tun;
	unsigned		mtu;		/* its TAP's; 0: not said */
	bool			has_public_key;
	uint8_t			public_key[MEMBER_PUBLIC_KEY_LEN];
	bool			encrypted;
	enum aead_cipher	cipher;
	enum esp_transport	transport;
	uint16_t		handshake_port;
};

/* Why an entry is not a peer; each counted under its name. */
enum member_refusal {
	MEMBER_OK,
	MEMBER_OVERSIZED,	/* value above MEMBER_VALUE_MAX */
	MEMBER_MALFORMED,	/* not a JSON object, or duplicate members */
	MEMBER_WRONG_TYPE,	/* a member missing, of the wrong type or range */
	MEMBER_BAD_NAME,	/* key not PREFIX/members/NAME, or name differs */
	MEMBER_NO_KEY,		/* key mode, and no valid public key */
	MEMBER_MISMATCH,	/* no address of our family, or encryption
				 * settings we cannot speak */
	MEMBER_CLASH,		/* a static peer (or one registered first) has
				 * its name, address or key; or the key is ours */
	MEMBER_LIMIT,		/* member_limit reached */
	MEMBER__COUNT
};

const char		*member_refusal_name(enum member_refusal);

/* The NAME of key (len bytes) if it is "members_prefix" NAME, NAME being
 * a valid peer name; else MEMBER_BAD_NAME. */
enum member_refusal	 member_name_of_key(const char *key, size_t len,
			     const char *members_prefix, char name[64]);
/* Decodes value (len bytes, not NUL-terminated) of the entry of name. */
enum member_refusal	 member_decode(const char *name, const void *value,
			     size_t len, struct member *m);
/* The entry as JSON, NUL-terminated, malloc'd; NULL: out of memory. */
char			*member_encode(const struct member *m);
/* The encryption our peers get: the top-level block, or in key mode
 * without one the defaults, or none. */
void			 member_encryption(const struct config *cfg,
			     struct encryption_params *enc);
/* The peer m is for us (our configuration cfg): an address of our
 * family, our key exchange settings; in key mode (a private_key_file)
 * its public key, which it must have. */
enum member_refusal	 member_to_peer(const struct member *m,
			     const struct config *cfg, sa_family_t family,
			     struct peer_config *out);

#endif
