/* Member entries: JSON (jansson) <-> struct member, strictly typed and
 * bounded; see member.h for the format. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "member.h"

#define NAME_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"abcdefghijklmnopqrstuvwxyz0123456789_.-"

static const char *const refusal_names[MEMBER__COUNT] = {
	[MEMBER_OK] = "ok",
	[MEMBER_OVERSIZED] = "oversized",
	[MEMBER_MALFORMED] = "malformed",
	[MEMBER_WRONG_TYPE] = "wrong_type",
	[MEMBER_BAD_NAME] = "bad_name",
	[MEMBER_NO_KEY] = "no_public_key",
	[MEMBER_MISMATCH] = "mismatch",
	[MEMBER_CLASH] = "static_clash",
	[MEMBER_LIMIT] = "over_limit",
};

const char *
member_refusal_name(enum member_refusal r)
{
	return (unsigned)r < MEMBER__COUNT ? refusal_names[r] : "invalid";
}

/* S is LEN bytes, not a C string: a key as etcd sent it. */
static bool
name_chars_only(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(NAME_CHARS, s[i]) == NULL)
			return false;
	return true;
}

static bool
valid_name(const char *s, size_t len)
{
	return len > 0 && len < sizeof(((struct member *)0)->name) &&
	    name_chars_only(s, len) &&
	    !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' &&
	    s[1] == '.');
}

enum member_refusal
member_name_of_key(const char *key, size_t len, const char *members_prefix,
    char name[64])
{
	size_t plen = strlen(members_prefix);

	if (len <= plen || memcmp(key, members_prefix, plen) != 0 ||
	    !valid_name(key + plen, len - plen))
		return MEMBER_BAD_NAME;
	memcpy(name, key + plen, len - plen);
	name[len - plen] = '\0';
	return MEMBER_OK;
}

/* An integer member in [min, max]; absent only when optional. */
static bool
get_uint(json_t *obj, const char *key, json_int_t min, json_int_t max,
    bool optional, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v)) {
		*out = -1;
		return optional;
	}
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return *out >= min && *out <= max;
}

/* One of names (NULL-terminated), as its index. */
static bool
get_enum(json_t *obj, const char *key, const char *(*name_of)(int), int n,
    int *out)
{
	const char *s = json_string_value(json_object_get(obj, key));

	for (int i = 0; s != NULL && i < n; i++) {
		if (strcmp(s, name_of(i)) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

static const char *
encap_at(int i)
{
	return encap_name((enum encap)i);
}

static const char *
cipher_at(int i)
{
	return aead_cipher_name((enum aead_cipher)i);
}

static const char *
transport_at(int i)
{
	return transport_name((enum esp_transport)i);
}

static const uint16_t default_port[] = {
	[ENCAP_GRETAP] = 0, [ENCAP_VXLAN] = 4789, [ENCAP_GENEVE] = 6081,
};

static bool
decode_tunnel(json_t *o, struct member *m)
{
	json_int_t key, port, mtu;
	int e;

	if (!get_enum(o, "encap", encap_at, ENCAP_GENEVE + 1, &e))
		return false;
	m->tun.encap = (enum encap)e;
	if (!get_uint(o, "key", 0, e == ENCAP_GRETAP ? UINT32_MAX : 0xffffff,
	    e == ENCAP_GRETAP, &key))
		return false;
	m->tun.has_key = key >= 0;
	m->tun.key = key >= 0 ? (uint32_t)key : 0;
	if (e == ENCAP_GRETAP) {
		if (json_object_get(o, "port") != NULL &&
		    !json_is_null(json_object_get(o, "port")))
			return false;
		m->tun.port = 0;
	} else {
		if (!get_uint(o, "port", 1, 65535, true, &port))
			return false;
		m->tun.port = port >= 0 ? (uint16_t)port : default_port[e];
	}
	if (!get_uint(o, "mtu", 576, 9000, true, &mtu))
		return false;
	m->mtu = mtu >= 0 ? (unsigned)mtu : 0;
	return true;
}

static bool
decode_addresses(json_t *o, struct member *m)
{
	json_t *list = json_object_get(o, "addresses"), *v;
	size_t i;

	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > MEMBER_ADDRS_MAX)
		return false;
	json_array_foreach(list, i, v) {
		if (!json_is_string(v) ||
		    addr_parse(json_string_value(v), &m->addrs[i]) == -1)
			return false;
	}
	m->n_addrs = json_array_size(list);
	return true;
}

static bool
decode_encryption(json_t *o, struct member *m)
{
	json_t *enc = json_object_get(o, "encryption");
	json_int_t port;
	int c, t;

	if (enc == NULL || json_is_null(enc))
		return true;
	if (!json_is_object(enc) ||
	    !get_enum(enc, "cipher", cipher_at, AEAD__CIPHERS, &c) ||
	    !get_enum(enc, "transport", transport_at, ESP_TRANSPORT_UDP + 1,
	    &t) || !get_uint(enc, "handshake_port", 1, 65535, false, &port))
		return false;
	m->encrypted = true;
	m->cipher = (enum aead_cipher)c;
	m->transport = (enum esp_transport)t;
	m->handshake_port = (uint16_t)port;
	return true;
}

/* A public key: null/absent, or an X25519 key in base64 that is not a
 * low-order point (which any key agrees with). */
static bool
decode_public_key(json_t *o, struct member *m)
{
	json_t *v = json_object_get(o, "public_key");
	const char *s = json_string_value(v);

	if (v == NULL || json_is_null(v))
		return true;
	if (s == NULL || key_from_base64(m->public_key, s,
	    json_string_length(v)) == -1 || key_low_order(m->public_key))
		return false;
	m->has_public_key = true;
	return true;
}

enum member_refusal
member_decode(const char *name, const void *value, size_t len,
    struct member *m)
{
	enum member_refusal r = MEMBER_WRONG_TYPE;
	json_error_t jerr;
	json_int_t version;
	json_t *o, *v;

	memset(m, 0, sizeof(*m));
	if (len > MEMBER_VALUE_MAX)
		return MEMBER_OVERSIZED;
	o = json_loadb(value, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		return MEMBER_MALFORMED;
	}
	v = json_object_get(o, "name");
	if (!json_is_string(v))
		goto out;
	if (strcmp(json_string_value(v), name) != 0 ||
	    strlen(name) >= sizeof(m->name)) {
		r = MEMBER_BAD_NAME;
		goto out;
	}
	memcpy(m->name, name, strlen(name) + 1);
	if (get_uint(o, "version", MEMBER_VERSION, MEMBER_VERSION, false,
	    &version) && decode_addresses(o, m) && decode_tunnel(o, m) &&
	    decode_encryption(o, m) && decode_public_key(o, m))
		r = MEMBER_OK;
out:
	json_decref(o);
	return r;
}

char *
member_encode(const struct member *m)
{
	char abuf[INET6_ADDRSTRLEN], kbuf[sodium_base64_ENCODED_LEN(
	    MEMBER_PUBLIC_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];
	json_t *o, *addrs, *enc = json_null(), *pk = json_null();
	char *out = NULL;

	addrs = json_array();
	for (unsigned i = 0; addrs != NULL && i < m->n_addrs; i++)
		json_array_append_new(addrs, json_string(addr_format(
		    &m->addrs[i], abuf, sizeof(abuf))));
	if (m->encrypted)
		enc = json_pack("{s:s, s:s, s:i}",
		    "cipher", aead_cipher_name(m->cipher),
		    "transport", transport_name(m->transport),
		    "handshake_port", (int)m->handshake_port);
	if (m->has_public_key)
		pk = json_string(sodium_bin2base64(kbuf, sizeof(kbuf),
		    m->public_key, sizeof(m->public_key),
		    sodium_base64_VARIANT_ORIGINAL));
	o = json_pack("{s:i, s:s, s:o*, s:s, s:o, s:o, s:o, s:o, s:o}",
	    "version", MEMBER_VERSION,
	    "name", m->name,
	    "addresses", addrs,
	    "encap", encap_name(m->tun.encap),
	    "key", m->tun.has_key ? json_integer(m->tun.key) : json_null(),
	    "port", m->tun.encap == ENCAP_GRETAP ? json_null() :
	    json_integer(m->tun.port),
	    "mtu", m->mtu ? json_integer(m->mtu) : json_null(),
	    "public_key", pk,
	    "encryption", enc);
	if (o != NULL)
		out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return out;
}

void
member_encryption(const struct config *cfg, struct encryption_params *enc)
{
	if (cfg->enc.enabled)
		*enc = cfg->enc;
	else if (cfg->private_key != NULL)
		enc_defaults(enc);
	else
		memset(enc, 0, sizeof(*enc));
}

enum member_refusal
member_to_peer(const struct member *m, const struct config *cfg,
    sa_family_t family, struct peer_config *out)
{
	bool key_mode = cfg->private_key != NULL;
	unsigned i;

	/* Key mode: a peer is named by its key; ours is not a peer. */
	if (key_mode && !m->has_public_key)
		return MEMBER_NO_KEY;
	if (key_mode && sodium_memcmp(m->public_key, cfg->public_key,
	    KEY_LEN) == 0)
		return MEMBER_CLASH;
	memset(out, 0, sizeof(*out));
	member_encryption(cfg, &out->enc);
	for (i = 0; i < m->n_addrs; i++)
		if (family == 0 || m->addrs[i].family == family)
			break;
	if (i == m->n_addrs || m->encrypted != out->enc.enabled ||
	    (m->encrypted &&
	    m->handshake_port != out->enc.handshake_port))
		return MEMBER_MISMATCH;
	memcpy(out->name, m->name, sizeof(out->name));
	out->source = PEER_ETCD;
	out->remote = m->addrs[i];
	out->tun = m->tun;
	if (key_mode) {
		out->has_public_key = true;
		memcpy(out->public_key, m->public_key, KEY_LEN);
		memcpy(out->local_public_key, cfg->public_key, KEY_LEN);
	}
	if (m->encrypted) {
		out->enc.cipher = m->cipher;
		out->enc.transport = m->transport;
	}
	out->pmtu = cfg->pmtu;
	out->mtu = m->mtu;
	return MEMBER_OK;
}
