#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"

static const char vxlan_entry[] =
    "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
    "\"encap\":\"vxlan\",\"key\":123,\"port\":4789,\"mtu\":1450,"
    "\"public_key\":null,\"encryption\":null}";

static enum member_refusal
decode(const char *name, const char *json, struct member *m)
{
	return member_decode(name, json, strlen(json), m);
}

START_TEST(test_decode_vxlan)
{
	struct member m;
	char buf[64];

	ck_assert_int_eq(decode("box-2", vxlan_entry, &m), MEMBER_OK);
	ck_assert_str_eq(m.name, "box-2");
	ck_assert_uint_eq(m.n_addrs, 1);
	ck_assert_str_eq(addr_format(&m.addrs[0], buf, sizeof(buf)),
	    "192.0.2.2");
	ck_assert_int_eq(m.tun.encap, ENCAP_VXLAN);
	ck_assert(m.tun.has_key);
	ck_assert_uint_eq(m.tun.key, 123);
	ck_assert_uint_eq(m.tun.port, 4789);
	ck_assert_uint_eq(m.mtu, 1450);
	ck_assert(!m.encrypted);
	ck_assert(!m.has_public_key);
}
END_TEST

START_TEST(test_round_trip)
{
	static const char *const entries[] = {
		vxlan_entry,
		"{\"version\":1,\"name\":\"box-2\",\"addresses\":"
		"[\"2001:db8::2\",\"192.0.2.2\"],\"encap\":\"gretap\","
		"\"public_key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
		"\"encryption\":{\"cipher\":\"aes256-gcm\",\"transport\":"
		"\"udp\",\"handshake_port\":4797},\"future\":[1,2]}",
		"{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
		"\"encap\":\"geneve\",\"key\":0}",
	};
	/* A low-order point is no key. */
	static const char low[] = "{\"version\":1,\"name\":\"box-2\","
	    "\"addresses\":[\"192.0.2.2\"],\"encap\":\"vxlan\",\"key\":1,"
	    "\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}";
	struct member m, again;
	char *json;

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		ck_assert_int_eq(decode("box-2", entries[i], &m), MEMBER_OK);
		ck_assert_ptr_nonnull(json = member_encode(&m));
		ck_assert_int_eq(decode("box-2", json, &again), MEMBER_OK);
		ck_assert_mem_eq(&m, &again, sizeof(m));
		free(json);
	}
	ck_assert_int_eq(decode("box-2", entries[1], &m), MEMBER_OK);
	ck_assert(m.has_public_key);
	ck_assert_uint_eq(m.public_key[31], 31);
	ck_assert(m.encrypted);
	ck_assert_int_eq(m.cipher, AEAD_AES256_GCM);
	ck_assert_int_eq(m.transport, ESP_TRANSPORT_UDP);
	ck_assert(!m.tun.has_key);
	ck_assert_uint_eq(m.tun.port, 0);
	ck_assert_int_eq(decode("box-2", entries[2], &m), MEMBER_OK);
	ck_assert_uint_eq(m.tun.port, 6081);	/* geneve's default */
	ck_assert_int_eq(decode("box-2", low, &m), MEMBER_WRONG_TYPE);
}
END_TEST

static const struct bad {
	const char		*json;
	enum member_refusal	 why;
} bad[] = {
	{ "", MEMBER_MALFORMED },
	{ "{", MEMBER_MALFORMED },
	{ "[1]", MEMBER_MALFORMED },
	{ "\"box-2\"", MEMBER_MALFORMED },
	{ "{\"name\":\"box-2\",\"name\":\"box-2\"}", MEMBER_MALFORMED },
	{ "{\"version\":1,\"name\":\"box-3\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":1}", MEMBER_BAD_NAME },
	{ "{\"version\":1,\"name\":7}", MEMBER_WRONG_TYPE },
	{ "{\"version\":2,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":1}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":\"192.0.2.2\","
	  "\"encap\":\"vxlan\",\"key\":1}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[],"
	  "\"encap\":\"vxlan\",\"key\":1}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"a\",\"b\","
	  "\"c\",\"d\",\"e\"],\"encap\":\"vxlan\",\"key\":1}",
	  MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.300\"],"
	  "\"encap\":\"vxlan\",\"key\":1}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"l2tp\",\"key\":1}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":16777216}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\"}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":\"1\"}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":1,\"port\":0}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"gretap\",\"port\":4789}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":1,\"mtu\":100000}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":1,\"public_key\":\"AAEC\"}",
	  MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":1,\"encryption\":{\"cipher\":\"rot13\","
	  "\"transport\":\"ip\",\"handshake_port\":1}}", MEMBER_WRONG_TYPE },
	{ "{\"version\":1,\"name\":\"box-2\",\"addresses\":[\"192.0.2.2\"],"
	  "\"encap\":\"vxlan\",\"key\":1,\"encryption\":true}",
	  MEMBER_WRONG_TYPE },
};

START_TEST(test_refused)
{
	struct member m;

	ck_assert_int_eq(decode("box-2", bad[_i].json, &m), bad[_i].why);
}
END_TEST

START_TEST(test_oversized)
{
	size_t len = MEMBER_VALUE_MAX + 1;
	char *big = malloc(len);
	struct member m;

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', len);
	memcpy(big, vxlan_entry, strlen(vxlan_entry));
	ck_assert_int_eq(member_decode("box-2", big, len, &m),
	    MEMBER_OVERSIZED);
	ck_assert_int_eq(member_decode("box-2", big, len - 1, &m), MEMBER_OK);
	free(big);
}
END_TEST

START_TEST(test_name_of_key)
{
	static const char pre[] = "/ovtund/n1/members/";
	char name[64], key[128];

	ck_assert_int_eq(member_name_of_key("/ovtund/n1/members/box-1", 24,
	    pre, name), MEMBER_OK);
	ck_assert_str_eq(name, "box-1");
	/* a NUL, a slash, nothing, too long, another prefix */
	ck_assert_int_eq(member_name_of_key("/ovtund/n1/members/b\0x", 22,
	    pre, name), MEMBER_BAD_NAME);
	ck_assert_int_eq(member_name_of_key("/ovtund/n1/members/a/b", 22,
	    pre, name), MEMBER_BAD_NAME);
	ck_assert_int_eq(member_name_of_key(pre, strlen(pre), pre, name),
	    MEMBER_BAD_NAME);
	ck_assert_int_eq(member_name_of_key("/ovtund/n1/members/..", 21,
	    pre, name), MEMBER_BAD_NAME);
	snprintf(key, sizeof(key), "%s%064d", pre, 0);
	ck_assert_int_eq(member_name_of_key(key, strlen(key), pre, name),
	    MEMBER_BAD_NAME);
	ck_assert_int_eq(member_name_of_key("/ovtund/n2/members/box-1", 24,
	    pre, name), MEMBER_BAD_NAME);
}
END_TEST

static struct config *
local_config(sa_family_t fam, bool enc)
{
	struct config *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->local.family = fam;
	c->enc.enabled = enc;
	c->enc.handshake_port = 4797;
	strcpy(c->enc.psk, "secret");
	return c;
}

START_TEST(test_to_peer)
{
	static const char v6[] = "{\"version\":1,\"name\":\"box-2\","
	    "\"addresses\":[\"2001:db8::2\"],\"encap\":\"vxlan\",\"key\":1}";
	static const char enc[] = "{\"version\":1,\"name\":\"box-2\","
	    "\"addresses\":[\"2001:db8::2\",\"192.0.2.2\"],\"encap\":\"vxlan\","
	    "\"key\":1,\"encryption\":{\"cipher\":\"aes256-gcm\","
	    "\"transport\":\"udp\",\"handshake_port\":4797}}";
	struct config *plain = local_config(AF_INET, false);
	struct config *crypt = local_config(AF_INET, true);
	struct peer_config pc;
	struct member m;
	char buf[64];

	ck_assert_int_eq(decode("box-2", vxlan_entry, &m), MEMBER_OK);
	ck_assert_int_eq(member_to_peer(&m, plain, AF_INET, &pc), MEMBER_OK);
	ck_assert_str_eq(pc.name, "box-2");
	ck_assert_int_eq(pc.source, PEER_ETCD);
	ck_assert_uint_eq(pc.tun.key, 123);
	ck_assert_uint_eq(pc.mtu, 1450);
	/* no address of our family; encryption on one side only */
	ck_assert_int_eq(member_to_peer(&m, plain, AF_INET6, &pc),
	    MEMBER_MISMATCH);
	ck_assert_int_eq(member_to_peer(&m, crypt, AF_INET, &pc),
	    MEMBER_MISMATCH);
	ck_assert_int_eq(decode("box-2", v6, &m), MEMBER_OK);
	ck_assert_int_eq(member_to_peer(&m, plain, AF_INET, &pc),
	    MEMBER_MISMATCH);
	ck_assert_int_eq(decode("box-2", enc, &m), MEMBER_OK);
	ck_assert_int_eq(member_to_peer(&m, plain, AF_INET, &pc),
	    MEMBER_MISMATCH);
	/* the address of our family, our PSK, its cipher and transport */
	ck_assert_int_eq(member_to_peer(&m, crypt, AF_INET, &pc), MEMBER_OK);
	ck_assert_str_eq(addr_format(&pc.remote, buf, sizeof(buf)),
	    "192.0.2.2");
	ck_assert_str_eq(pc.enc.psk, "secret");
	ck_assert_int_eq(pc.enc.cipher, AEAD_AES256_GCM);
	ck_assert_int_eq(pc.enc.transport, ESP_TRANSPORT_UDP);
	crypt->enc.handshake_port = 5000;
	ck_assert_int_eq(member_to_peer(&m, crypt, AF_INET, &pc),
	    MEMBER_MISMATCH);
	free(plain);
	free(crypt);
}
END_TEST

/* Key mode: a private key of ours; entries need a key, get encrypted
 * with the defaults when there is no encryption block. */
START_TEST(test_to_peer_key_mode)
{
	static const char keyed[] = "{\"version\":1,\"name\":\"box-2\","
	    "\"addresses\":[\"192.0.2.2\"],\"encap\":\"vxlan\",\"key\":1,"
	    "\"public_key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
	    "\"encryption\":{\"cipher\":\"chacha20-poly1305\","
	    "\"transport\":\"ip\",\"handshake_port\":4797}}";
	static uint8_t priv[32] = { 1 };
	struct config *c = local_config(AF_INET, false);
	struct peer_config pc;
	struct member m;

	c->private_key = priv;
	memset(c->public_key, 7, sizeof(c->public_key));
	ck_assert_int_eq(decode("box-2", vxlan_entry, &m), MEMBER_OK);
	ck_assert_int_eq(member_to_peer(&m, c, AF_INET, &pc), MEMBER_NO_KEY);
	ck_assert_int_eq(decode("box-2", keyed, &m), MEMBER_OK);
	ck_assert_int_eq(member_to_peer(&m, c, AF_INET, &pc), MEMBER_OK);
	ck_assert(pc.has_public_key);
	ck_assert_uint_eq(pc.public_key[5], 5);
	ck_assert_uint_eq(pc.local_public_key[0], 7);
	ck_assert(pc.enc.enabled);
	ck_assert_str_eq(pc.enc.psk, "");
	/* our own key under another name is not a peer */
	memcpy(c->public_key, m.public_key, sizeof(c->public_key));
	ck_assert_int_eq(member_to_peer(&m, c, AF_INET, &pc), MEMBER_CLASH);
	/* plain entries cannot be key-mode peers */
	memset(c->public_key, 7, sizeof(c->public_key));
	m.encrypted = false;
	ck_assert_int_eq(member_to_peer(&m, c, AF_INET, &pc), MEMBER_MISMATCH);
	free(c);
}
END_TEST

START_TEST(test_refusal_names)
{
	for (unsigned r = 0; r < MEMBER__COUNT; r++)
		ck_assert_str_ne(member_refusal_name(r), "invalid");
	ck_assert_str_eq(member_refusal_name(MEMBER__COUNT), "invalid");
}
END_TEST

static Suite *
member_suite(void)
{
	Suite *s = suite_create("member");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_decode_vxlan);
	tcase_add_test(tc, test_round_trip);
	tcase_add_loop_test(tc, test_refused, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_name_of_key);
	tcase_add_test(tc, test_to_peer);
	tcase_add_test(tc, test_to_peer_key_mode);
	tcase_add_test(tc, test_refusal_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(member_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
