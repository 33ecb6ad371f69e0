#include <sys/stat.h>

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define DATA(name)	TEST_DATADIR "/" name
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static char tmpconf[] = "/tmp/check_config.XXXXXX";

/* Writes text (len bytes, for embedded NULs) to a fresh temporary file. */
static const char *
write_conf(const char *text, size_t len)
{
	int fd;

	strcpy(tmpconf + strlen(tmpconf) - 6, "XXXXXX");
	fd = mkstemp(tmpconf);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return tmpconf;
}

static struct config *
load_ok(const char *path)
{
	char err[512];
	struct config *conf;

	conf = config_load(path, err, sizeof(err));
	ck_assert_msg(conf != NULL, "%s: %s", path, err);
	return conf;
}

static struct config *
load_text(const char *text)
{
	struct config *conf = load_ok(write_conf(text, strlen(text)));

	unlink(tmpconf);
	return conf;
}

/* Loads a bad file and asserts on the one message, and that the loader
 * wrote nothing to stderr (libconfuse would by default). */
static void
assert_fails(const char *path, int line, const char *phrase)
{
	char err[512], want[4200];
	struct stat st;
	FILE *cap;
	int saved;

	ck_assert_ptr_nonnull(cap = tmpfile());
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(cap), 2);
	ck_assert_ptr_null(config_load(path, err, sizeof(err)));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(fstat(fileno(cap), &st), 0);
	ck_assert_msg(st.st_size == 0, "the loader wrote to stderr");
	fclose(cap);

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
	else
		snprintf(want, sizeof(want), "%s: ", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "'%s' does not start with '%s'", err, want);
	ck_assert_msg(strstr(err + strlen(want), phrase) != NULL,
	    "'%s' does not say '%s'", err, phrase);
	ck_assert_msg(strchr(err, '\n') == NULL, "'%s' spans lines", err);
}

static const char *
fmt(const struct ovt_addr *a)
{
	static char buf[INET6_ADDRSTRLEN];

	return addr_format(a, buf, sizeof(buf));
}

static void
assert_tun(const struct tunnel_params *t, enum encap e, bool has_key,
    uint32_t key, uint16_t port)
{
	ck_assert_int_eq(t->encap, e);
	ck_assert_int_eq(t->has_key, has_key);
	ck_assert_uint_eq(t->key, key);
	ck_assert_uint_eq(t->port, port);
}

START_TEST(test_minimal_defaults)
{
	struct config *c = load_ok(DATA("minimal.conf"));

	ck_assert_str_eq(c->path, DATA("minimal.conf"));
	ck_assert_str_eq(c->interface, "ovt0");
	ck_assert_uint_eq(c->mtu, 0);
	ck_assert_str_eq(c->netns, "");
	ck_assert_int_eq(c->address.family, 0);
	ck_assert_str_eq(c->bridge, "");
	assert_tun(&c->tun, ENCAP_VXLAN, true, 0, 4789);
	ck_assert_int_eq(c->local.family, 0);
	ck_assert_str_eq(c->control, CONFIG_DEFAULT_CONTROL);
	ck_assert_uint_eq(c->mac_aging, CONFIG_DEFAULT_AGING);
	ck_assert_uint_eq(c->mac_table_size, CONFIG_DEFAULT_TABLE);
	ck_assert_uint_eq(c->n_peers, 1);
	ck_assert_str_eq(c->peers[0].name, "box-2");
	ck_assert_str_eq(fmt(&c->peers[0].remote), "192.168.56.12");
	ck_assert_int_eq(c->peers[0].line, 2);
	assert_tun(&c->peers[0].tun, ENCAP_VXLAN, true, 0, 4789);
	config_free(c);
}
END_TEST

START_TEST(test_full)
{
	struct config *c = load_ok(DATA("full.conf"));

	ck_assert_str_eq(c->interface, "tap-left.1");
	ck_assert_uint_eq(c->mtu, 1400);
	ck_assert_str_eq(c->netns, "left");
	ck_assert_str_eq(fmt(&c->address), "10.0.0.1");
	ck_assert_uint_eq(c->prefixlen, 24);
	assert_tun(&c->tun, ENCAP_GENEVE, true, 16777215, 6082);
	ck_assert_str_eq(fmt(&c->local), "192.168.56.11");
	ck_assert_str_eq(c->control, "/run/ovtund/left.sock");
	ck_assert_uint_eq(c->mac_aging, 86400);
	ck_assert_uint_eq(c->mac_table_size, 16777216);
	ck_assert_uint_eq(c->n_peers, 2);
	ck_assert_str_eq(c->peers[0].name, "box-2");
	ck_assert_int_eq(c->peers[0].line, 13);
	assert_tun(&c->peers[0].tun, ENCAP_GRETAP, true, 4294967295u, 0);
	ck_assert_str_eq(c->peers[1].name, "box-3");
	ck_assert_str_eq(fmt(&c->peers[1].remote), "192.168.56.13");
	ck_assert_int_eq(c->peers[1].line, 19);
	assert_tun(&c->peers[1].tun, ENCAP_GENEVE, true, 16777215, 6082);
	config_free(c);
}
END_TEST

START_TEST(test_inherit)
{
	struct config *c = load_ok(DATA("inherit.conf"));

	ck_assert_uint_eq(c->n_peers, 6);
	assert_tun(&c->tun, ENCAP_VXLAN, true, 5000, 9999);
	assert_tun(&c->peers[0].tun, ENCAP_VXLAN, true, 5000, 9999);
	/* Another encap: the key follows, the port does not. */
	assert_tun(&c->peers[1].tun, ENCAP_GENEVE, true, 5000, 6081);
	assert_tun(&c->peers[2].tun, ENCAP_GENEVE, true, 5000, 7000);
	assert_tun(&c->peers[3].tun, ENCAP_GRETAP, true, 5000, 0);
	assert_tun(&c->peers[4].tun, ENCAP_VXLAN, true, 42, 9999);
	assert_tun(&c->peers[5].tun, ENCAP_VXLAN, true, 5000, 9999);
	ck_assert_int_eq(c->peers[5].line, 25);
	config_free(c);
}
END_TEST

START_TEST(test_gretap_key_and_bridge)
{
	struct config *c = load_ok(DATA("bridge.conf"));

	ck_assert_str_eq(c->bridge, "br0");
	ck_assert_str_eq(c->netns, "");
	assert_tun(&c->tun, ENCAP_GRETAP, false, 0, 0);
	assert_tun(&c->peers[0].tun, ENCAP_GRETAP, false, 0, 0);
	assert_tun(&c->peers[1].tun, ENCAP_GRETAP, true, 7, 0);
	assert_tun(&c->peers[2].tun, ENCAP_VXLAN, true, 0, 4789);
	config_free(c);
}
END_TEST

START_TEST(test_port_defaults)
{
	struct config *c;

	c = load_text("encap = geneve\n");
	assert_tun(&c->tun, ENCAP_GENEVE, true, 0, 6081);
	ck_assert_uint_eq(c->n_peers, 0);
	config_free(c);

	/* A top-level port set for vxlan means nothing to a geneve peer. */
	c = load_text("port = 1234\npeer p { remote = 10.0.0.2\n"
	    "encap = geneve }\n");
	assert_tun(&c->tun, ENCAP_VXLAN, true, 0, 1234);
	assert_tun(&c->peers[0].tun, ENCAP_GENEVE, true, 0, 6081);
	config_free(c);

	/* Nor does a gretap top level keep a vxlan peer from its port. */
	c = load_text("encap = gretap\nkey = 9\npeer p {\nremote = 10.0.0.2\n"
	    "encap = vxlan\n}\n");
	assert_tun(&c->tun, ENCAP_GRETAP, true, 9, 0);
	assert_tun(&c->peers[0].tun, ENCAP_VXLAN, true, 9, 4789);
	config_free(c);
}
END_TEST

START_TEST(test_ipv6)
{
	struct config *c = load_ok(DATA("ipv6.conf"));

	ck_assert_int_eq(c->local.family, AF_INET6);
	ck_assert_str_eq(fmt(&c->local), "2001:db8::1");
	ck_assert_str_eq(fmt(&c->address), "fd00::1");
	ck_assert_uint_eq(c->prefixlen, 64);
	ck_assert_uint_eq(c->mtu, 1280);
	ck_assert_uint_eq(c->n_peers, 2);
	ck_assert_str_eq(fmt(&c->peers[0].remote), "2001:db8::2");
	ck_assert_str_eq(fmt(&c->peers[1].remote), "2001:db8:0:1::2");
	config_free(c);

	/* Without local, IPv6-only peers are fine too. */
	c = load_text("peer a { remote = \"2001:db8::2\" }\n"
	    "peer b { remote = \"2001:db8::3\" }\n");
	ck_assert_uint_eq(c->n_peers, 2);
	config_free(c);
}
END_TEST

START_TEST(test_shipped_example)
{
	struct config *c = load_ok(TEST_DATADIR "/../../../conf/ovtund.conf");

	ck_assert_str_eq(c->netns, "left");
	ck_assert_uint_eq(c->n_peers, 3);
	ck_assert_int_eq(c->peers[0].line, 58);
	ck_assert_int_eq(c->peers[2].line, 67);
	assert_tun(&c->peers[0].tun, ENCAP_VXLAN, true, 123, 4789);
	assert_tun(&c->peers[1].tun, ENCAP_GENEVE, true, 123, 6081);
	assert_tun(&c->peers[2].tun, ENCAP_GRETAP, true, 77, 0);
	config_free(c);
}
END_TEST

START_TEST(test_empty)
{
	struct config *c = load_text("# nothing yet\n");

	ck_assert_uint_eq(c->n_peers, 0);
	ck_assert_ptr_null(c->peers);
	config_free(c);

	/* Braces in comments or strings are no blocks. */
	c = load_text("control = \"/run/{x\"\n/* } */\npeer a { # }\n"
	    " remote = 10.0.0.2 // }\n}\n");
	ck_assert_str_eq(c->control, "/run/{x");
	ck_assert_int_eq(c->peers[0].line, 3);
	config_free(c);
}
END_TEST

static const struct bad {
	const char	*text;
	int		 line;
	const char	*phrase;
} bad[] = {
	/* syntax and schema */
	{ "mtu = 1400\nmtu = = 5\n", 2, "unexpected token '='" },
	{ "mtu = 1400\n\nfoo = 1\n", 3, "no such option 'foo'" },
	{ "peer a {\n remote = 10.0.0.2\n colour = red\n}\n", 3,
	    "no such option 'colour'" },
	{ "peer a {\n remote = 10.0.0.2\n", 1, "never closed" },
	{ "}\n", 1, "unexpected closing brace" },
	{ "peer {\n remote = 10.0.0.2\n}\n", 1, "missing title" },
	{ "interface = {\"a\", \"b\"}\n", 1, "unexpected token '{'" },
	{ "mtu = 1400\n\n\nmtu = 1500\n", 4, "mtu is already set on line 1" },
	{ "peer a {\n remote = 10.0.0.2\n remote = 10.0.0.3\n}\n", 3,
	    "remote is already set on line 2" },
	/* comments do not shift lines, nor hide what they do not cover */
	{ "# one\n## two\n\nmtu = 5\n", 4, "out of range" },
	{ "/* a\n b */ mtu = 1400\n/**/\nport = 0\n", 4, "out of range" },
	{ "// c\nmtu = 1400 # {\nport = 1 // x\nkey = x\n", 4,
	    "key: 'x' is not a decimal number" },
	{ "interface = \"a#b\" # c\n", 1, "'a#b' is not a valid interface" },
	{ "interface = 'a\\'#b'\n", 1, "'a'#b' is not a valid interface" },
	{ "interface = a//b\n", 1, "'a//b' is not a valid interface" },
	/* numbers */
	{ "\nmtu = \"big\"\n", 2, "mtu: 'big' is not a decimal number" },
	{ "mtu = 0x500\n", 1, "not a decimal number" },
	{ "mtu = 1.5e3\n", 1, "not a decimal number" },
	{ "mtu = -1500\n", 1, "not a decimal number" },
	{ "mtu = ''\n", 1, "not a decimal number" },
	{ "mtu = 575\n", 1, "mtu: 575 is out of range (576..9000)" },
	{ "mtu = 9001\n", 1, "out of range (576..9000)" },
	{ "mac_aging = 0\n", 1, "out of range (1..86400)" },
	{ "mac_aging = 86401\n", 1, "out of range (1..86400)" },
	{ "mac_table_size = 0\n", 1, "out of range (1..16777216)" },
	{ "mac_table_size = 16777217\n", 1, "out of range (1..16777216)" },
	{ "port = 0\n", 1, "port: 0 is out of range (1..65535)" },
	{ "port = 65536\n", 1, "out of range (1..65535)" },
	{ "encap = gretap\nkey = 4294967296\n", 2,
	    "out of range (0..4294967295)" },
	{ "key = 99999999999999999999999999\n", 1, "out of range" },
	/* names and paths */
	{ "interface = \"ovt-0123456789ab\"\n", 1, "not a valid interface name" },
	{ "interface = \"ovt 0\"\n", 1, "not a valid interface name" },
	{ "interface = \"ovt/0\"\n", 1, "not a valid interface name" },
	{ "interface = \"..\"\n", 1, "not a valid interface name" },
	{ "interface = \"\"\n", 1, "not a valid interface name" },
	{ "bridge = \"br:0\"\n", 1, "bridge: 'br:0' is not a valid interface" },
	{ "netns = \"a/b\"\n", 1, "not a valid namespace name" },
	{ "netns = \".\"\n", 1, "not a valid namespace name" },
	{ "control = \"run/ovtund.sock\"\n", 1, "not an absolute path" },
	{ "control = \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"\n",
	    1, "not an absolute path of at most 107 bytes" },
	{ "peer \"a b\" {\n remote = 10.0.0.2\n}\n", 1, "peer name 'a b'" },
	{ "encap = vxlan2\n", 1, "encap: 'vxlan2' is not gretap, vxlan or geneve" },
	/* addresses */
	{ "local = 300.1.1.1\n", 1, "local: '300.1.1.1' is not an IPv4 or IPv6" },
	{ "peer a {\n remote = \"10.0.0\"\n}\n", 2, "remote: '10.0.0' is not" },
	{ "peer a {\n remote = \"fe80::1%eth0\"\n}\n", 2, "is not an IPv4" },
	{ "address = 10.0.0.1\n", 1, "is not an address/prefix" },
	{ "address = 10.0.0/24\n", 1, "'10.0.0' is not an IPv4 or IPv6" },
	{ "address = 10.0.0.1/33\n", 1, "prefix length '33' is out of range "
	    "(1..32)" },
	{ "address = 10.0.0.1/0\n", 1, "out of range (1..32)" },
	{ "address = 10.0.0.1/\n", 1, "prefix length '' is out of range" },
	{ "address = fd00::1/129\n", 1, "out of range (1..128)" },
	{ "address = \"fd00::1/64\"\nmtu = 1000\n", 2, "below 1280" },
	/* peers */
	{ "\npeer a {\n port = 4789\n}\n", 2, "peer 'a' has no remote" },
	{ "peer a {\n}\n", 2, "peer 'a' has no remote" },
	{ "peer a {\n remote = 10.0.0.2\n}\npeer a {\n remote = 10.0.0.3\n}\n",
	    4, "duplicate title 'a'" },
	{ "peer a {\n remote = 10.0.0.2\n}\npeer b {\n remote = 10.0.0.2\n}\n",
	    5, "remote 10.0.0.2 is already peer 'a' (line 1)" },
	{ "local = 10.0.0.1\npeer a {\n remote = 2001:db8::2\n}\n", 3,
	    "remote 2001:db8::2 is IPv6 but local is IPv4" },
	{ "local = 2001:db8::1\npeer a {\n remote = 10.0.0.2\n}\n", 3,
	    "is IPv4 but local is IPv6" },
	{ "peer a {\n remote = 10.0.0.2\n}\npeer b {\n remote = ::2\n}\n", 5,
	    "all peers must use one family" },
	{ "local = 10.0.0.1\npeer a {\n remote = 10.0.0.1\n}\n", 3,
	    "is the local address" },
	/* tunnel parameters, each against the encap in effect */
	{ "key = 16777216\n", 1, "key 16777216 is out of range for vxlan "
	    "(0..16777215)" },
	{ "encap = geneve\nkey = 16777216\n", 2, "out of range for geneve" },
	{ "key = 16777216\n\nencap = gretap\nencap = vxlan\n", 4,
	    "encap is already set" },
	{ "peer a {\n remote = 10.0.0.2\n encap = geneve\n key = 20000000\n}\n",
	    4, "key 20000000 is out of range for geneve" },
	{ "encap = gretap\nkey = 20000000\npeer a {\n remote = 10.0.0.2\n"
	    " encap = vxlan\n}\n", 5, "key 20000000 is out of range for vxlan" },
	{ "port = 4789\n\nencap = gretap\n", 1, "port has no meaning for gretap" },
	{ "peer a {\n remote = 10.0.0.2\n encap = gretap\n port = 4789\n}\n", 4,
	    "port has no meaning for gretap" },
	{ "encap = gretap\npeer a {\n remote = 10.0.0.2\n port = 4789\n}\n", 4,
	    "port has no meaning for gretap" },
	/* placement */
	{ "netns = left\nbridge = br0\n", 2, "bridge and netns are mutually "
	    "exclusive" },
	{ "bridge = br0\n\nnetns = left\n", 3, "mutually exclusive" },
	{ "address = 10.0.0.1/24\nbridge = br0\n", 2, "bridge and address" },
};

START_TEST(test_bad)
{
	const struct bad *b = &bad[_i];

	assert_fails(write_conf(b->text, strlen(b->text)), b->line, b->phrase);
	unlink(tmpconf);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "mtu = 1400\nmtu\0 = 1\n";

	assert_fails(write_conf(text, sizeof(text) - 1), 2, "NUL byte");
	unlink(tmpconf);
}
END_TEST

START_TEST(test_bad_files)
{
	assert_fails(DATA("no-such.conf"), 0, "No such file or directory");
	assert_fails(TEST_DATADIR, 0, "not a regular file");
	if (geteuid() == 0)
		return;		/* root reads anything */
	write_conf("", 0);
	chmod(tmpconf, 0);
	assert_fails(tmpconf, 0, "Permission denied");
	unlink(tmpconf);
}
END_TEST

START_TEST(test_first_error_only)
{
	static const char text[] = "mtu = 1\nport = 0\n}\n";
	char err[512];

	write_conf(text, strlen(text));
	ck_assert_ptr_null(config_load(tmpconf, err, sizeof(err)));
	unlink(tmpconf);
	ck_assert_ptr_nonnull(strstr(err, ":1: mtu"));
	ck_assert_ptr_null(strstr(err, "port"));
}
END_TEST

START_TEST(test_small_err_buffer)
{
	char err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_ptr_null(config_load(DATA("no-such.conf"), err, 6));
	ck_assert_uint_eq(strlen(err), 5);
	ck_assert_int_eq(err[6], 'x');
	ck_assert_ptr_null(config_load(DATA("no-such.conf"), NULL, 0));
}
END_TEST

START_TEST(test_addr)
{
	struct ovt_addr a, b;
	char buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(addr_parse("192.0.2.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_str_eq(addr_format(&a, buf, sizeof(buf)), "192.0.2.1");
	ck_assert_int_eq(addr_parse("2001:DB8::0:1", &b), 0);
	ck_assert_int_eq(b.family, AF_INET6);
	ck_assert_str_eq(addr_format(&b, buf, sizeof(buf)), "2001:db8::1");
	ck_assert(!addr_equal(&a, &b));
	ck_assert_int_eq(addr_parse("2001:db8::1", &a), 0);
	ck_assert(addr_equal(&a, &b));
	ck_assert_int_eq(addr_parse("::ffff:192.0.2.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);

	/* Failures leave the address alone. */
	b.family = 0;
	ck_assert_int_eq(addr_parse("192.0.2", &b), -1);
	ck_assert_int_eq(addr_parse(" 192.0.2.1", &b), -1);
	ck_assert_int_eq(addr_parse("192.0.2.1/32", &b), -1);
	ck_assert_int_eq(addr_parse("", &b), -1);
	ck_assert_int_eq(b.family, 0);
	ck_assert_str_eq(addr_format(&b, buf, sizeof(buf)), "*");
	memset(&a, 0, sizeof(a));
	ck_assert(addr_equal(&a, &b));
}
END_TEST

START_TEST(test_encap_name)
{
	ck_assert_str_eq(encap_name(ENCAP_GRETAP), "gretap");
	ck_assert_str_eq(encap_name(ENCAP_VXLAN), "vxlan");
	ck_assert_str_eq(encap_name(ENCAP_GENEVE), "geneve");
	ck_assert_str_eq(encap_name((enum encap)42), "invalid");
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("good");
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_inherit);
	tcase_add_test(tc, test_gretap_key_and_bridge);
	tcase_add_test(tc, test_port_defaults);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_shipped_example);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad, 0, nitems(bad));
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_first_error_only);
	tcase_add_test(tc, test_small_err_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("addr");
	tcase_add_test(tc, test_addr);
	tcase_add_test(tc, test_encap_name);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
