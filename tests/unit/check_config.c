#include <sys/stat.h>

#include <arpa/inet.h>
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tapmac.h"

#include "check_main.h"

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
	ck_assert_uint_eq(c->workers, 0);
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

/* The line of the file that starts with prefix, 0 if none: the example
 * is edited often, its peers' lines must not be hard-coded. */
static int
line_of(const char *path, const char *prefix)
{
	char buf[512];
	FILE *f = fopen(path, "r");
	int line = 0, found = 0;

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(buf, sizeof(buf), f) != NULL) {
		line++;
		if (strncmp(buf, prefix, strlen(prefix)) == 0)
			found = line;
	}
	fclose(f);
	return found;
}

#define SHIPPED	TEST_DATADIR "/../../../conf/ovtund.conf"

START_TEST(test_accounts)
{
	struct config *c = load_text("user = \"root\"\ncontrol_group = \"root\"\n");

	ck_assert_str_eq(c->user, "root");
	ck_assert_str_eq(c->control_group, "root");
	config_free(c);
	c = load_text("mtu = 1400\n");
	ck_assert_str_eq(c->user, "");
	ck_assert_str_eq(c->control_group, "");
	config_free(c);
}
END_TEST

START_TEST(test_shipped_example)
{
	struct config *c = load_ok(SHIPPED);

	ck_assert_str_eq(c->netns, "left");
	ck_assert_uint_eq(c->n_peers, 3);
	ck_assert_int_eq(c->peers[0].line, line_of(SHIPPED, "peer \"box-2\""));
	ck_assert_int_eq(c->peers[2].line, line_of(SHIPPED, "peer \"box-4\""));
	assert_tun(&c->peers[0].tun, ENCAP_VXLAN, true, 123, 4789);
	assert_tun(&c->peers[1].tun, ENCAP_GENEVE, true, 123, 6081);
	assert_tun(&c->peers[2].tun, ENCAP_GRETAP, true, 77, 0);
	/* Encryption is there, commented out. */
	ck_assert(!c->enc.enabled);
	ck_assert(!c->peers[0].enc.enabled);
	ck_assert(!c->peers[2].enc.enabled);
	ck_assert_str_eq(c->keylog, "");
	config_free(c);
}
END_TEST

static void
assert_enc(const struct encryption_params *e, const char *psk,
    enum aead_cipher cipher, enum esp_transport transport,
    unsigned rekey, unsigned window, uint16_t hsport)
{
	ck_assert(e->enabled);
	ck_assert_str_eq(e->psk, psk);
	ck_assert_int_eq(e->cipher, cipher);
	ck_assert_int_eq(e->transport, transport);
	ck_assert_uint_eq(e->rekey_after, rekey);
	ck_assert_uint_eq(e->replay_window, window);
	ck_assert_uint_eq(e->handshake_port, hsport);
}

/* The shipped example's encryption blocks, commented out, turned on:
 * what the file tells to do must load. */
START_TEST(test_shipped_encryption_example)
{
	FILE *f = fopen(TEST_DATADIR "/../../../conf/ovtund.conf", "r");
	char line[512], *text, *hash;
	size_t len = 0, cap = 1 << 16;
	bool in = false;
	int blocks = 0;
	struct config *c;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(text = calloc(1, cap));
	while (fgets(line, sizeof(line), f) != NULL) {
		hash = line + strspn(line, " \t");
		if (*hash == '#' && (in ||
		    strncmp(hash + 1, "encryption {", 12) == 0)) {
			blocks += !in;
			in = hash[1] != '}';
			memmove(hash, hash + 1, strlen(hash));
		}
		ck_assert_uint_lt(len + strlen(line), cap);
		memcpy(text + len, line, strlen(line) + 1);
		len += strlen(line);
	}
	fclose(f);
	ck_assert_int_eq(blocks, 2);
	ck_assert(!in);
	c = load_text(text);
	free(text);
	assert_enc(&c->enc, "test123", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_IP, 3600, 1024, 4797);
	ck_assert_uint_eq(c->n_peers, 3);
	assert_enc(&c->peers[0].enc, "test123", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_IP, 3600, 1024, 4797);
	assert_enc(&c->peers[2].enc, "box-4 example", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_UDP, CONFIG_DEFAULT_REKEY,
	    CONFIG_DEFAULT_REPLAY_WINDOW, CONFIG_DEFAULT_HANDSHAKE_PORT);
	config_free(c);
}
END_TEST

START_TEST(test_encryption)
{
	struct config *c = load_ok(DATA("encryption.conf"));

	ck_assert_str_eq(c->keylog, "/run/ovtund/esp_sa");
	assert_enc(&c->enc, "test123", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_UDP, 600, 2048, 5000);
	ck_assert_uint_eq(c->n_peers, 3);
	assert_enc(&c->peers[0].enc, "test123", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_UDP, 600, 2048, 5000);
	/* A block of its own replaces the top-level one as a whole. */
	ck_assert_int_eq(c->peers[1].line, 15);
	assert_enc(&c->peers[1].enc, "other key", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_IP, 3600, 1024, 5000);
	assert_enc(&c->peers[2].enc, "test123", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_UDP, 600, 2048, 5000);
	/* The tunnel settings are not disturbed. */
	assert_tun(&c->peers[1].tun, ENCAP_VXLAN, true, 0, 4789);
	config_free(c);
}
END_TEST

START_TEST(test_encryption_defaults)
{
	struct config *c;
	char psk[256];

	c = load_text("encryption { psk = x }\n");
	assert_enc(&c->enc, "x", AEAD_CHACHA20_POLY1305, ESP_TRANSPORT_IP,
	    CONFIG_DEFAULT_REKEY, CONFIG_DEFAULT_REPLAY_WINDOW,
	    CONFIG_DEFAULT_HANDSHAKE_PORT);
	ck_assert_uint_eq(CONFIG_DEFAULT_REKEY, 3600);
	ck_assert_uint_eq(CONFIG_DEFAULT_REPLAY_WINDOW, 1024);
	ck_assert_uint_eq(CONFIG_DEFAULT_HANDSHAKE_PORT, 4797);
	ck_assert_str_eq(c->keylog, "");
	config_free(c);

	/* No block: off, everywhere. keylog "" is off too. */
	c = load_text("keylog = \"\"\npeer a { remote = 10.0.0.2 }\n");
	ck_assert(!c->enc.enabled);
	ck_assert(!c->peers[0].enc.enabled);
	ck_assert_str_eq(c->keylog, "");
	config_free(c);

	/* The bounds of each range, and a key of 255 bytes. */
	memset(psk, 'k', 255);
	psk[255] = '\0';
	{
		char text[512];

		snprintf(text, sizeof(text), "encryption {\n psk = \"%s\"\n"
		    " transport = udp\n rekey_after = 10\n"
		    " replay_window = 8192\n handshake_port = 1\n}\n", psk);
		c = load_text(text);
		assert_enc(&c->enc, psk, AEAD_CHACHA20_POLY1305,
		    ESP_TRANSPORT_UDP, 10, 8192, 1);
		config_free(c);
	}
	c = load_text("encryption {\n psk = x\n rekey_after = 86400\n"
	    " replay_window = 64\n handshake_port = 65535\n}\n");
	assert_enc(&c->enc, "x", AEAD_CHACHA20_POLY1305, ESP_TRANSPORT_IP,
	    86400, 64, 65535);
	config_free(c);
}
END_TEST

/* Peers with and without encryption; a block inside a peer, even before
 * its remote; agreeing handshake ports. */
START_TEST(test_encryption_per_peer)
{
	struct config *c;

	c = load_text("peer a {\n encryption {\n  psk = a\n"
	    "  handshake_port = 5000\n }\n remote = 10.0.0.2\n}\n"
	    "peer b {\n remote = 10.0.0.3\n}\n"
	    "peer c {\n remote = 10.0.0.4\n encryption {\n  psk = c\n"
	    "  handshake_port = 5000\n  cipher = chacha20-poly1305\n }\n}\n"
	    "peer d { encryption { psk = d handshake_port = 5000 }"
	    " remote = 10.0.0.5 }\n");
	ck_assert(!c->enc.enabled);
	ck_assert_uint_eq(c->n_peers, 4);
	ck_assert_int_eq(c->peers[0].line, 1);
	assert_enc(&c->peers[0].enc, "a", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_IP, 3600, 1024, 5000);
	ck_assert(!c->peers[1].enc.enabled);
	ck_assert_int_eq(c->peers[2].line, 11);
	assert_enc(&c->peers[2].enc, "c", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_IP, 3600, 1024, 5000);
	ck_assert_int_eq(c->peers[3].line, 19);
	ck_assert_str_eq(c->peers[3].name, "d");
	ck_assert(c->peers[3].enc.enabled);
	config_free(c);

	/* A peer without: fine, even when the top-level block has another
	 * port than the peers' own blocks (no peer uses it). */
	c = load_text("encryption {\n psk = top\n handshake_port = 9\n}\n"
	    "peer a {\n remote = 10.0.0.2\n encryption { psk = a }\n}\n");
	ck_assert_uint_eq(c->enc.handshake_port, 9);
	ck_assert_uint_eq(c->peers[0].enc.handshake_port, 4797);
	ck_assert_str_eq(c->peers[0].enc.psk, "a");
	config_free(c);
}
END_TEST

START_TEST(test_aes256gcm)
{
	static const char text[] = "encryption {\n psk = x\n"
	    " cipher = \"aes256-gcm\"\n}\n";
	struct config *c;

	if (aead_available(AEAD_AES256_GCM, AEAD_LIBSODIUM) ||
	    aead_available(AEAD_AES256_GCM, AEAD_OPENSSL)) {
		c = load_text(text);
		ck_assert_int_eq(c->enc.cipher, AEAD_AES256_GCM);
		config_free(c);
	} else {
		assert_fails(write_conf(text, strlen(text)), 3, "cipher: "
		    "aes256-gcm needs AES-NI, which this CPU lacks, or "
		    "OpenSSL libcrypto, which this build lacks; use "
		    "chacha20-poly1305");
		unlink(tmpconf);
	}
}
END_TEST

/* crypto_engine: top level, or in a block, which wins for its peers; a
 * peer's own block without it takes the top level's, not the top
 * block's. */
START_TEST(test_crypto_engine)
{
	static const char bad[] = "crypto_engine = fast\n";
	static const char twice[] = "encryption {\n psk = x\n"
	    " crypto_engine = auto\n crypto_engine = libsodium\n}\n";
	static const char openssl[] = "crypto_engine = \"openssl\"\n";
	bool have_openssl = aead_available(AEAD_CHACHA20_POLY1305,
	    AEAD_OPENSSL);
	struct config *c;

	c = load_text("encryption { psk = x }\npeer a { remote = 10.0.0.2 }\n");
	ck_assert_int_eq(c->crypto_engine, AEAD_AUTO);
	ck_assert_int_eq(c->peers[0].enc.engine, AEAD_AUTO);
	config_free(c);

	c = load_text("crypto_engine = libsodium\n"
	    "encryption {\n psk = x\n crypto_engine = auto\n}\n"
	    "peer a { remote = 10.0.0.2 }\n"
	    "peer b {\n remote = 10.0.0.3\n encryption { psk = y }\n}\n"
	    "peer c {\n remote = 10.0.0.4\n"
	    " encryption { psk = z crypto_engine = libsodium }\n}\n");
	ck_assert_int_eq(c->crypto_engine, AEAD_LIBSODIUM);
	ck_assert_int_eq(c->peers[0].enc.engine, AEAD_AUTO);
	ck_assert_int_eq(c->peers[1].enc.engine, AEAD_LIBSODIUM);
	ck_assert_int_eq(c->peers[2].enc.engine, AEAD_LIBSODIUM);
	config_free(c);

	assert_fails(write_conf(bad, strlen(bad)), 1, "crypto_engine: 'fast' "
	    "is not auto, libsodium or openssl");
	unlink(tmpconf);
	assert_fails(write_conf(twice, strlen(twice)), 4, "crypto_engine is "
	    "already set on line 3");
	unlink(tmpconf);
	if (have_openssl) {
		c = load_text(openssl);
		ck_assert_int_eq(c->crypto_engine, AEAD_OPENSSL);
		config_free(c);
	} else {
		assert_fails(write_conf(openssl, strlen(openssl)), 1,
		    "crypto_engine: this ovtund was built without OpenSSL "
		    "libcrypto");
		unlink(tmpconf);
	}
	/* libsodium cannot run AES-GCM without AES-NI. */
	if (!aead_available(AEAD_AES256_GCM, AEAD_LIBSODIUM) && have_openssl) {
		static const char aes[] = "crypto_engine = libsodium\n"
		    "encryption { psk = x cipher = aes256-gcm }\n"
		    "peer a { remote = 10.0.0.2 }\n";

		assert_fails(write_conf(aes, strlen(aes)), 1, "crypto_engine "
		    "libsodium cannot run aes256-gcm on this CPU");
		unlink(tmpconf);
	}
}
END_TEST

static char pskfile[] = "/tmp/check_config_psk.XXXXXX";

/* A key file with the given contents and mode. */
static const char *
write_psk(const char *text, size_t len, mode_t mode)
{
	int fd;

	strcpy(pskfile + strlen(pskfile) - 6, "XXXXXX");
	ck_assert_int_ne(fd = mkstemp(pskfile), -1);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return pskfile;
}

/* "encryption {\n psk_file = \"path\"\n}\n", with more after it. */
static const char *
psk_conf(const char *path, const char *more)
{
	static char text[4200];

	snprintf(text, sizeof(text), "encryption {\n psk_file = \"%s\"\n%s}\n",
	    path, more);
	return text;
}

START_TEST(test_psk_file)
{
	struct config *c;
	char key[300];

	c = load_text(psk_conf(write_psk("file key\n\n", 10, 0600), ""));
	assert_enc(&c->enc, "file key", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_IP, 3600, 1024, 4797);
	config_free(c);
	unlink(pskfile);

	/* 0400 is fine; CRLF is stripped too; nothing else is. */
	c = load_text(psk_conf(write_psk(" k y \r\n", 7, 0400), ""));
	ck_assert_str_eq(c->enc.psk, " k y ");
	config_free(c);
	unlink(pskfile);

	/* 255 bytes and a newline; inside a peer. */
	memset(key, 'a', 255);
	key[255] = '\n';
	write_psk(key, 256, 0600);
	snprintf(key, sizeof(key), "peer p {\n remote = 10.0.0.2\n"
	    " encryption { psk_file = \"%s\" }\n}\n", pskfile);
	c = load_text(key);
	ck_assert_uint_eq(strlen(c->peers[0].enc.psk), 255);
	ck_assert(!c->enc.enabled);
	config_free(c);
	unlink(pskfile);
}
END_TEST

static const struct psk_bad {
	const char	*text;
	size_t		 len;
	mode_t		 mode;
	const char	*phrase;	/* after "psk_file: 'PATH' " */
} psk_bad[] = {
	{ "key", 3, 0640, "is accessible to group or others (mode 0640)" },
	{ "key", 3, 0604, "is accessible to group or others (mode 0604)" },
	{ "key", 3, 0620, "is accessible to group or others (mode 0620)" },
	{ "key", 3, 0602, "is accessible to group or others (mode 0602)" },
	{ "key", 3, 0644, "is accessible to group or others (mode 0644): it "
	    "holds a secret, make it mode 0600 or 0400" },
	{ "", 0, 0600, "is empty" },
	{ "\n\n", 2, 0600, "is empty" },
	{ "a\0b", 3, 0600, "holds a NUL byte" },
};

START_TEST(test_psk_file_bad)
{
	const struct psk_bad *b = &psk_bad[_i];
	char phrase[200];

	write_psk(b->text, b->len, b->mode);
	snprintf(phrase, sizeof(phrase), "psk_file: '%s' %s", pskfile,
	    b->phrase);
	assert_fails(write_conf(psk_conf(pskfile, ""),
	    strlen(psk_conf(pskfile, ""))), 2, phrase);
	unlink(tmpconf);
	unlink(pskfile);
}
END_TEST

START_TEST(test_psk_file_bad_more)
{
	const char *text;
	char key[300], phrase[200];

	/* Too long, even before its newline. */
	memset(key, 'a', 256);
	key[256] = '\n';
	write_psk(key, 257, 0600);
	text = psk_conf(pskfile, "");
	snprintf(phrase, sizeof(phrase), "psk_file: '%s' is longer than 255 "
	    "bytes", pskfile);
	assert_fails(write_conf(text, strlen(text)), 2, phrase);
	unlink(tmpconf);

	/* Both: the later one is blamed. */
	write_psk("key\n", 4, 0600);
	text = psk_conf(pskfile, "\n psk = x\n");
	assert_fails(write_conf(text, strlen(text)), 4,
	    "psk and psk_file are mutually exclusive");
	unlink(tmpconf);
	snprintf(key, sizeof(key), "encryption {\n psk = x\n"
	    " psk_file = \"%s\"\n}\n", pskfile);
	assert_fails(write_conf(key, strlen(key)), 3, "mutually exclusive");
	unlink(tmpconf);
	unlink(pskfile);

	text = psk_conf("/nonexistent/ovtund.psk", "");
	assert_fails(write_conf(text, strlen(text)), 2, "psk_file: cannot "
	    "open '/nonexistent/ovtund.psk': No such file or directory");
	unlink(tmpconf);

	text = psk_conf(TEST_DATADIR, "");
	assert_fails(write_conf(text, strlen(text)), 2, "psk_file: '"
	    TEST_DATADIR "' is not a regular file");
	unlink(tmpconf);

	text = psk_conf("ovtund.psk", "");
	assert_fails(write_conf(text, strlen(text)), 2, "psk_file: "
	    "'ovtund.psk' is not an absolute path");
	unlink(tmpconf);

	if (geteuid() == 0)
		return;		/* root reads anything */
	write_psk("key", 3, 0200);
	text = psk_conf(pskfile, "");
	snprintf(phrase, sizeof(phrase), "psk_file: cannot open '%s': "
	    "Permission denied", pskfile);
	assert_fails(write_conf(text, strlen(text)), 2, phrase);
	unlink(tmpconf);
	unlink(pskfile);
}
END_TEST

/* A bad key is not echoed in the message. */
START_TEST(test_psk_too_long)
{
	char text[600], err[512];

	memset(text, 0, sizeof(text));
	strcpy(text, "encryption {\n\n psk = \"");
	memset(text + strlen(text), 'a', 256);
	strcat(text, "\"\n}\n");
	assert_fails(write_conf(text, strlen(text)), 3,
	    "psk: the key is longer than 255 bytes");
	ck_assert_ptr_null(config_load(tmpconf, err, sizeof(err)));
	ck_assert_ptr_null(strstr(err, "aaaa"));
	unlink(tmpconf);
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
	{ "peer local {\n remote = 10.0.0.2\n}\n", 1,
	    "peer name 'local' is reserved" },
	/* remotes a tunnel cannot use, each class with its reason */
	{ "peer a {\n remote = 239.1.1.1\n}\n", 2,
	    "remote 239.1.1.1 is a multicast address" },
	{ "peer a {\n remote = 224.0.0.1\n}\n", 2, "is a multicast address" },
	{ "peer a {\n remote = ff02::1\n}\n", 2,
	    "remote ff02::1 is a multicast address" },
	{ "peer a {\n remote = 255.255.255.255\n}\n", 2,
	    "is the broadcast address" },
	{ "peer a {\n remote = 0.0.0.0\n}\n", 2, "0.0.0.0 is unspecified" },
	{ "peer a {\n remote = 0.1.2.3\n}\n", 2, "is unspecified" },
	{ "peer a {\n remote = \"::\"\n}\n", 2, ":: is unspecified" },
	{ "peer a {\n remote = 127.0.0.1\n}\n", 2,
	    "127.0.0.1 is a loopback address" },
	{ "local = 192.0.2.1\npeer a {\n remote = 127.0.0.2\n}\n", 3,
	    "is a loopback address" },
	{ "peer a {\n remote = \"::1\"\n}\n", 2, "::1 is a loopback address" },
	{ "peer a {\n remote = \"::ffff:192.168.56.12\"\n}\n", 2,
	    "::ffff:192.168.56.12 is an IPv4-mapped IPv6 address" },
	/* syntax and schema */
	{ "mac = \"01:00:5e:00:00:01\"\n", 1, "is a multicast address" },
	{ "mac = \"00:00:00:00:00:00\"\n", 1, "is not an address" },
	{ "mac = \"02:00:5e:00:00\"\n", 1, "is not a MAC address" },
	{ "mac = \"02:00:5e:00:00:1\"\n", 1, "is not a MAC address" },
	{ "mac = \"02-00-5e-00-00-01\"\n", 1, "is not a MAC address" },
	{ "mac = \"02:00:5e:00:00:01x\"\n", 1, "is not a MAC address" },
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
	/* accounts */
	{ "mtu = 1400\nuser = \"no-such-user-ovt\"\n", 2,
	    "no user 'no-such-user-ovt'" },
	{ "user = \"a b\"\n", 1, "'a b' is not a valid user name" },
	{ "\ncontrol_group = \"no-such-group-ovt\"\n", 2,
	    "no group 'no-such-group-ovt'" },
	/* the metrics endpoint */
	{ "metrics = \"127.0.0.1\"\n", 1, "is not ADDRESS:PORT" },
	{ "metrics = \"127.0.0.1:0\"\n", 1, "is not ADDRESS:PORT" },
	{ "metrics = \"127.0.0.1:65536\"\n", 1, "is not ADDRESS:PORT" },
	{ "metrics = \"127.0.0.1:94x\"\n", 1, "is not ADDRESS:PORT" },
	{ "metrics = \"::1:9477\"\n", 1, "is not ADDRESS:PORT" },
	{ "metrics = \"[127.0.0.1]:9477\"\n", 1, "is not ADDRESS:PORT" },
	{ "metrics = \"localhost:9477\"\n", 1, "is not ADDRESS:PORT" },
	{ "metrics = \"run/m.sock\"\n", 1, "is not ADDRESS:PORT" },
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
	{ "workers = 0\n", 1, "workers: '0' is not auto or a number (1..64)" },
	{ "workers = 65\n", 1, "is not auto or a number (1..64)" },
	{ "workers = all\n", 1, "is not auto or a number (1..64)" },
	/* etcd */
	{ "local = 192.0.2.1\netcd {\n prefix = /x\n}\n", 4,
	    "etcd needs endpoints" },
	{ "etcd {\n endpoints = \"http://e:2379\"\n}\n", 3,
	    "etcd needs advertise" },
	{ "etcd {\n endpoints = \"ftp://e\"\n}\n", 2,
	    "'ftp://e' is not an http:// or https:// URL" },
	{ "etcd {\n endpoints = \"http://a, https://b,gopher://c\"\n}\n", 2,
	    "'gopher://c' is not an http" },
	{ "etcd {\n endpoints = \"http://a\"\n ttl = 1\n}\n", 3,
	    "ttl: 1 is out of range (2..300)" },
	{ "etcd {\n endpoints = \"http://a\"\n ttl = 301\n}\n", 3,
	    "out of range (2..300)" },
	{ "etcd {\n endpoints = \"http://a\"\n prefix = \"/a/\"\n}\n", 3,
	    "'/a/' is not a key prefix" },
	{ "etcd {\n endpoints = \"http://a\"\n prefix = \"a\"\n}\n", 3,
	    "is not a key prefix" },
	{ "etcd {\n endpoints = \"http://a\"\n name = \"a b\"\n}\n", 3,
	    "name: 'a b' is not a valid name" },
	{ "etcd {\n endpoints = \"http://a\"\n advertise = \"1.2.3\"\n}\n",
	    3, "advertise: '1.2.3' is not an IPv4 or IPv6 address" },
	{ "etcd {\n endpoints = \"http://a\"\n ca_file = \"/no/such\"\n}\n",
	    3, "ca_file: cannot read '/no/such'" },
	{ "etcd {\n endpoints = \"http://a\"\n advertise = 192.0.2.1\n"
	    " member_limit = 0\n}\n", 4, "out of range (1..65536)" },
	{ "etcd {\n endpoints = \"http://a\"\n advertise = 192.0.2.1\n"
	    " username = u\n}\n", 4,
	    "username and password_file go together" },
	{ "etcd {\n endpoints = \"http://a\"\n advertise = 192.0.2.1\n"
	    " password_file = \"/etc/hostname\"\n}\n", 4,
	    "is accessible to group or others" },
	{ "etcd {\n endpoints = \"http://a\"\n ttl = 5\n ttl = 6\n}\n", 4,
	    "ttl is already set on line 3" },
	{ "etcd {\n endpoints = \"http://a\"\n peer x {\n}\n}\n", 3,
	    "" },
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
	    4, "a peer named 'a' is already set above" },
	{ "mtu = 1400\nintreface = \"x\"\n", 2,
	    "no such option 'intreface' (did you mean 'interface'?)" },
	{ "peer a {\n remote = 10.0.0.2\n remot = 1\n}\n", 3,
	    "(did you mean 'remote'?)" },
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
	/* encryption */
	{ "encryption {\n transport = udp\n}\n", 1,
	    "encryption needs psk or psk_file" },
	{ "\nencryption {\n}\n", 3, "encryption needs psk or psk_file" },
	{ "peer a {\n remote = 10.0.0.2\n\n encryption {\n"
	    "  rekey_after = 60\n }\n}\n", 4, "needs psk or psk_file" },
	{ "encryption {\n psk = \"\"\n}\n", 2, "psk: the key is empty" },
	{ "encryption {\n psk = a\n cipher = aes128\n}\n", 3,
	    "cipher: 'aes128' is not chacha20-poly1305 or aes256-gcm" },
	{ "encryption {\n psk = a\n cipher = \"\"\n}\n", 3,
	    "cipher: '' is not chacha20-poly1305 or aes256-gcm" },
	{ "encryption {\n psk = a\n transport = tcp\n}\n", 3,
	    "transport: 'tcp' is not ip or udp" },
	{ "encryption {\n psk = a\n rekey_after = 9\n}\n", 3,
	    "rekey_after: 9 is out of range (10..86400)" },
	{ "encryption {\n psk = a\n rekey_after = 86401\n}\n", 3,
	    "out of range (10..86400)" },
	{ "encryption {\n psk = a\n rekey_after = 1h\n}\n", 3,
	    "rekey_after: '1h' is not a decimal number" },
	{ "encryption {\n psk = a\n replay_window = 63\n}\n", 3,
	    "replay_window: 63 is out of range (64..8192)" },
	{ "encryption {\n psk = a\n replay_window = 8193\n}\n", 3,
	    "out of range (64..8192)" },
	{ "encryption {\n psk = a\n handshake_port = 0\n}\n", 3,
	    "handshake_port: 0 is out of range (1..65535)" },
	{ "encryption {\n psk = a\n\n handshake_port = 65536\n}\n", 4,
	    "out of range (1..65535)" },
	{ "peer a {\n encryption {\n  psk = a\n  replay_window = 1\n }\n"
	    " remote = 10.0.0.2\n}\n", 4, "replay_window: 1 is out of range" },
	{ "encryption {\n psk = a\n psk = b\n}\n", 3,
	    "psk is already set on line 2" },
	{ "encryption {\n psk = a\n handshake_port = 1\n\n"
	    " handshake_port = 1\n}\n", 5, "handshake_port is already set" },
	{ "encryption {\n psk = a\n}\n\nencryption {\n psk = b\n}\n", 5,
	    "encryption is already set on line 1" },
	{ "encryption {\n psk = a\n}\nencryption {\n}\n", 5,
	    "encryption is already set on line 1" },
	{ "peer a {\n remote = 10.0.0.2\n encryption { psk = a }\n"
	    " encryption {\n  psk = b\n }\n}\n", 4,
	    "encryption is already set on line 3" },
	{ "psk = x\n", 1, "no such option 'psk'" },
	{ "peer a {\n remote = 10.0.0.2\n psk = x\n}\n", 3,
	    "no such option 'psk'" },
	{ "encryption {\n psk = a\n remote = 10.0.0.2\n}\n", 3,
	    "no such option 'remote'" },
	{ "encryption {\n psk = a\n encryption { psk = b }\n}\n", 3,
	    "no such option 'encryption'" },
	{ "encryption {\n psk = a\n keylog = \"/tmp/k\"\n}\n", 3,
	    "no such option 'keylog'" },
	{ "peer a {\n remote = 10.0.0.2\n keylog = \"/tmp/k\"\n}\n", 3,
	    "no such option 'keylog'" },
	{ "keylog = \"esp_sa.log\"\n", 1,
	    "keylog: 'esp_sa.log' is not an absolute path" },
	{ "\nkeylog = /a\nkeylog = /b\n", 3, "keylog is already set on line 2" },
	/* one handshake port: the first encrypted peer sets it */
	{ "encryption {\n psk = a\n}\npeer a {\n remote = 10.0.0.2\n}\n"
	    "peer b {\n remote = 10.0.0.3\n encryption {\n  psk = b\n"
	    "  handshake_port = 5000\n }\n}\n", 11, "peer 'b' would use "
	    "handshake_port 5000 but peer 'a' (line 4) uses 4797: all "
	    "encrypted peers must use one" },
	{ "encryption {\n psk = a\n handshake_port = 5000\n}\npeer a {\n"
	    " remote = 10.0.0.2\n}\npeer b {\n remote = 10.0.0.3\n"
	    " encryption { psk = b }\n}\n", 10, "peer 'b' would use "
	    "handshake_port 4797 but peer 'a' (line 5) uses 5000" },
	{ "peer a {\n remote = 10.0.0.2\n encryption {\n  psk = b\n"
	    "  handshake_port = 5000\n }\n}\nencryption {\n psk = a\n}\n"
	    "peer b {\n remote = 10.0.0.3\n}\n", 8, "peer 'b' would use "
	    "handshake_port 4797 but peer 'a' (line 1)" },
	{ "encryption {\n psk = a\n\n handshake_port = 7\n}\n"
	    "peer a {\n remote = 10.0.0.2\n encryption { psk = b }\n}\n"
	    "peer b {\n remote = 10.0.0.3\n}\n", 4,
	    "peer 'b' would use handshake_port 7 but peer 'a' (line 6)" },
	/* path MTU */
	{ "df = sometimes\n", 1, "df: 'sometimes' is not inherit, set or unset" },
	{ "clamp_mss = maybe\n", 1,
	    "clamp_mss: 'maybe' is not yes, no or an MSS (536..65495)" },
	{ "clamp_mss = 500\n", 1, "is not yes, no or an MSS (536..65495)" },
	{ "clamp_mss = 65496\n", 1, "is not yes, no or an MSS" },
	{ "pmtu_icmp = 1\n", 1, "pmtu_icmp: '1' is not yes or no" },
	{ "\npmtu_icmp = no\npmtu_icmp = no\n", 3,
	    "pmtu_icmp is already set on line 2" },
	{ "peer a {\n remote = 10.0.0.2\n clamp_mss = no\n}\n", 3,
	    "no such option 'clamp_mss'" },
};

/* Path MTU settings: the defaults, each value, and every peer's copy. */
START_TEST(test_etcd)
{
	struct config *c;
	char buf[64], host[256];

	c = load_text("local = 192.0.2.1\n"
	    "etcd {\n"
	    "  endpoints = \"http://10.9.0.1:2379, https://10.9.0.2:2379\"\n"
	    "  prefix = \"/ovtund/net-1\"\n"
	    "  name = \"box-1\"\n"
	    "  ttl = 30\n"
	    "  advertise = \"2001:db8::1,192.0.2.9\"\n"
	    "  member_limit = 50\n"
	    "  state_file = \"/var/tmp/m\"\n"
	    "}\n");
	ck_assert(c->etcd.enabled);
	ck_assert_uint_eq(c->etcd.n_endpoints, 2);
	ck_assert_str_eq(c->etcd.endpoints[0], "http://10.9.0.1:2379");
	ck_assert_str_eq(c->etcd.endpoints[1], "https://10.9.0.2:2379");
	ck_assert_str_eq(c->etcd.prefix, "/ovtund/net-1");
	ck_assert_str_eq(c->etcd.name, "box-1");
	ck_assert_uint_eq(c->etcd.ttl, 30);
	ck_assert_uint_eq(c->etcd.n_advertise, 2);
	ck_assert_str_eq(addr_format(&c->etcd.advertise[1], buf, sizeof(buf)),
	    "192.0.2.9");
	ck_assert_uint_eq(c->etcd.member_limit, 50);
	ck_assert_str_eq(c->etcd.state_file, "/var/tmp/m");
	ck_assert(etcd_params_equal(&c->etcd, &c->etcd));
	config_free(c);

	/* Defaults: the host's short name, local advertised, ttl 10. */
	c = load_text("local = 192.0.2.1\ninterface = ovt7\n"
	    "etcd { endpoints = \"http://e:2379\" }\n");
	ck_assert(gethostname(host, sizeof(host)) == 0);
	host[strcspn(host, ".")] = '\0';
	ck_assert_str_eq(c->etcd.name, host);
	ck_assert_str_eq(c->etcd.prefix, "/ovtund");
	ck_assert_uint_eq(c->etcd.ttl, 10);
	ck_assert_uint_eq(c->etcd.member_limit, 1024);
	ck_assert_uint_eq(c->etcd.n_advertise, 1);
	ck_assert(addr_equal(&c->etcd.advertise[0], &c->local));
	ck_assert_ptr_nonnull(strstr(c->etcd.state_file, "/ovt7.members"));
	config_free(c);

	c = load_text("interface = x\n");
	ck_assert(!c->etcd.enabled);
	config_free(c);
}
END_TEST

START_TEST(test_with_peers)
{
	struct config *c, *m, *again;
	struct peer_config extra = { .name = "e1", .source = PEER_ETCD };

	c = load_text("peer a { remote = 10.0.0.2 }\n"
	    "peer b { remote = 10.0.0.3 }\n");
	m = config_with_peers(c, &extra, 1);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->n_peers, 3);
	ck_assert_str_eq(m->peers[2].name, "e1");
	ck_assert_int_eq(m->peers[0].source, PEER_FILE);
	/* The etcd peers of a merged config are left out of the next. */
	again = config_with_peers(m, NULL, 0);
	ck_assert_uint_eq(again->n_peers, 2);
	ck_assert_str_eq(again->path, c->path);
	config_free(again);
	config_free(m);
	config_free(c);
}
END_TEST

START_TEST(test_workers)
{
	struct config *c = load_text("workers = 64\n");

	ck_assert_uint_eq(c->workers, 64);
	config_free(c);
	c = load_text("workers = 1\n");
	ck_assert_uint_eq(c->workers, 1);
	config_free(c);
	c = load_text("workers = auto\n");
	ck_assert_uint_eq(c->workers, 0);
	config_free(c);
}
END_TEST

START_TEST(test_pmtu)
{
	struct config *c = load_text("peer a { remote = 10.0.0.2 }\n");

	ck_assert_int_eq(c->pmtu.df, DF_INHERIT);
	ck_assert(c->pmtu.clamp_mss);
	ck_assert_uint_eq(c->pmtu.mss_cap, 0);
	ck_assert(c->pmtu.icmp);
	ck_assert(c->peers[0].pmtu.clamp_mss && c->peers[0].pmtu.icmp);
	config_free(c);
	c = load_text("df = set\nclamp_mss = no\npmtu_icmp = no\n"
	    "peer a { remote = 10.0.0.2 }\npeer b { remote = 10.0.0.3 }\n");
	ck_assert_int_eq(c->pmtu.df, DF_SET);
	ck_assert(!c->pmtu.clamp_mss);
	ck_assert(!c->pmtu.icmp);
	ck_assert_int_eq(c->peers[1].pmtu.df, DF_SET);
	ck_assert(!c->peers[1].pmtu.clamp_mss && !c->peers[1].pmtu.icmp);
	config_free(c);
	c = load_text("df = \"unset\"\nclamp_mss = 1300\npmtu_icmp = yes\n");
	ck_assert_int_eq(c->pmtu.df, DF_UNSET);
	ck_assert(c->pmtu.clamp_mss);
	ck_assert_uint_eq(c->pmtu.mss_cap, 1300);
	ck_assert(c->pmtu.icmp);
	config_free(c);
}
END_TEST

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

/* RFC 7748 section 6.1's key pairs: Alice is us, Bob a peer. */
#define ALICE_PRIV	"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
#define ALICE_PUB	"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define BOB_PUB		"3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
/* A point of order 8 (from the Curve25519 small-subgroup list). */
#define LOW_ORDER	"4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA="

/* A config with private_key_file = pskfile (line 1) and then more. */
static const char *
key_conf(const char *more)
{
	static char text[4200];

	snprintf(text, sizeof(text), "private_key_file = \"%s\"\n%s", pskfile,
	    more);
	return text;
}

static void
assert_key_fails(const char *text, int line, const char *phrase)
{
	assert_fails(write_conf(text, strlen(text)), line, phrase);
	unlink(tmpconf);
}

START_TEST(test_keys)
{
	uint8_t alice_pub[32], bob_pub[32];
	size_t n;
	struct config *c;

	sodium_base642bin(alice_pub, 32, ALICE_PUB, 44, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_base642bin(bob_pub, 32, BOB_PUB, 44, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL);

	/* No encryption block: a peer with a public key is encrypted with
	 * the defaults and no psk. */
	write_psk(ALICE_PRIV "\n", 45, 0600);
	c = load_text(key_conf("peer bob {\n remote = 10.0.0.2\n"
	    " public_key = \"" BOB_PUB "\"\n}\npeer plain {\n"
	    " remote = 10.0.0.3\n}\n"));
	ck_assert_ptr_nonnull(c->private_key);
	ck_assert_str_eq(c->private_key_file, pskfile);
	ck_assert_mem_eq(c->public_key, alice_pub, 32);
	ck_assert(c->peers[0].has_public_key);
	ck_assert_mem_eq(c->peers[0].public_key, bob_pub, 32);
	ck_assert_mem_eq(c->peers[0].local_public_key, alice_pub, 32);
	assert_enc(&c->peers[0].enc, "", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_IP, 3600, 1024, 4797);
	ck_assert(!c->peers[1].enc.enabled);
	ck_assert_str_eq(c->warning, "");
	config_free(c);

	/* An encryption block with no psk; 0400, no newline. */
	unlink(pskfile);
	write_psk(ALICE_PRIV, 44, 0400);
	c = load_text(key_conf("encryption {\n cipher = chacha20-poly1305\n"
	    " transport = udp\n}\npeer bob {\n remote = 10.0.0.2\n"
	    " public_key = \"" BOB_PUB "\"\n}\n"));
	assert_enc(&c->peers[0].enc, "", AEAD_CHACHA20_POLY1305,
	    ESP_TRANSPORT_UDP, 3600, 1024, 4797);
	config_free(c);

	/* A psk per pair, on top of the keys. */
	c = load_text(key_conf("peer bob {\n remote = 10.0.0.2\n"
	    " public_key = \"" BOB_PUB "\"\n encryption { psk = "
	    "\"pairwise secret of 32 bytes....\" }\n}\n"));
	ck_assert_str_eq(c->peers[0].enc.psk,
	    "pairwise secret of 32 bytes....");
	config_free(c);

	/* Owned by the user the daemon runs as. */
	ck_assert_int_eq(chown(pskfile, 65534, 65534), 0);
	c = load_text(key_conf("user = nobody\n"));
	ck_assert_ptr_nonnull(c->private_key);
	config_free(c);
	unlink(pskfile);
}
END_TEST

START_TEST(test_weak_psk_warning)
{
	struct config *c;
	char want[200];

	/* The seed's PSK-only mode keeps working, with a warning. */
	c = load_text("\nencryption {\n psk = \"test123\"\n}\n"
	    "peer a {\n remote = 10.0.0.2\n}\n");
	ck_assert_str_eq(c->peers[0].enc.psk, "test123");
	snprintf(want, sizeof(want), "%s:3: the psk is shorter than 16 "
	    "bytes", tmpconf);
	ck_assert_msg(strncmp(c->warning, want, strlen(want)) == 0, "%s",
	    c->warning);
	config_free(c);

	c = load_text("peer a {\n remote = 10.0.0.2\n encryption {\n"
	    "  psk = x\n }\n}\n");
	snprintf(want, sizeof(want), "%s:4: the psk is shorter", tmpconf);
	ck_assert_msg(strncmp(c->warning, want, strlen(want)) == 0, "%s",
	    c->warning);
	config_free(c);

	c = load_text("encryption {\n psk = \"sixteen bytes...\"\n}\n");
	ck_assert_str_eq(c->warning, "");
	config_free(c);
}
END_TEST

static const struct key_bad {
	const char	*file;		/* private_key_file's contents */
	mode_t		 mode;
	const char	*more;		/* the config after line 1 */
	int		 line;
	const char	*phrase;
} key_bad[] = {
	{ ALICE_PRIV, 0640, "", 1, "has mode 0640: it holds the host's "
	    "private key, make it 0600 or 0400 (chmod 600 '" },
	{ ALICE_PRIV, 0604, "", 1, "has mode 0604" },
	{ ALICE_PRIV, 0700, "", 1, "has mode 0700" },
	{ ALICE_PRIV, 04600, "", 1, "has mode 4600" },
	{ "", 0600, "", 1, "does not hold a private key (44 characters of "
	    "base64; make one with: umask 077; ovtunctl genkey >'" },
	{ "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo", 0600, "", 1,
	    "does not hold a private key" },
	{ "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC==", 0600, "", 1,
	    "does not hold a private key" },
	{ ALICE_PRIV "\nmore", 0600, "", 1, "does not hold a private key" },
	{ ALICE_PRIV, 0600, "peer bob {\n remote = 10.0.0.2\n"
	    " public_key = \"abc\"\n}\n", 4, "public_key: 'abc' is not a "
	    "public key (44 characters of base64" },
	{ ALICE_PRIV, 0600, "peer bob {\n remote = 10.0.0.2\n"
	    " public_key = \"" BOB_PUB "=\"\n}\n", 4, "is not a public key" },
	{ ALICE_PRIV, 0600, "peer bob {\n remote = 10.0.0.2\n"
	    " public_key = \"" LOW_ORDER "\"\n}\n", 4, "is a low-order point" },
	{ ALICE_PRIV, 0600, "peer bob {\n remote = 10.0.0.2\n"
	    " public_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n"
	    "}\n", 4, "is a low-order point" },
	{ ALICE_PRIV, 0600, "peer self {\n remote = 10.0.0.2\n"
	    " public_key = \"" ALICE_PUB "\"\n}\n", 4, "public_key of peer "
	    "'self' is this host's own" },
	{ ALICE_PRIV, 0600, "peer bob {\n remote = 10.0.0.2\n"
	    " public_key = \"" BOB_PUB "\"\n}\npeer bob2 {\n"
	    " remote = 10.0.0.3\n public_key = \"" BOB_PUB "\"\n}\n", 8,
	    "public_key is already peer 'bob''s (line 2)" },
	/* Keys for some peers only: the others still need a psk. */
	{ ALICE_PRIV, 0600, "encryption {\n transport = udp\n}\n"
	    "peer bob {\n remote = 10.0.0.2\n public_key = \"" BOB_PUB "\"\n"
	    "}\npeer carol {\n remote = 10.0.0.3\n}\n", 2, "encryption needs "
	    "psk or psk_file, or key pairs (peer 'carol' has no public_key)" },
	{ ALICE_PRIV, 0600, "peer carol {\n remote = 10.0.0.3\n"
	    " encryption {\n  transport = udp\n }\n}\n", 4, "encryption needs "
	    "psk or psk_file, or key pairs" },
};

START_TEST(test_keys_bad)
{
	const struct key_bad *b = &key_bad[_i];
	char phrase[300];

	write_psk(b->file, strlen(b->file), b->mode);
	snprintf(phrase, sizeof(phrase), "%s%s", b->line == 1 ?
	    "private_key_file: '" : "", b->line == 1 ? pskfile : "");
	assert_key_fails(key_conf(b->more), b->line, phrase);
	assert_key_fails(key_conf(b->more), b->line, b->phrase);
	unlink(pskfile);
}
END_TEST

START_TEST(test_keys_bad_more)
{
	char text[4200];

	/* A public key needs a private key. */
	assert_key_fails("peer bob {\n remote = 10.0.0.2\n public_key = \""
	    BOB_PUB "\"\n}\n", 3, "peer 'bob' has a public_key but there is "
	    "no private_key_file (make one with: umask 077; ovtunctl genkey "
	    ">/etc/ovtund/private.key)");
	/* Without keys, a block still needs a psk. */
	assert_key_fails("encryption {\n transport = udp\n}\n", 1,
	    "encryption needs psk or psk_file, or key pairs");
	assert_key_fails("private_key_file = \"private.key\"\n", 1,
	    "private_key_file: 'private.key' is not an absolute path");
	assert_key_fails("private_key_file = \"/nonexistent/private.key\"\n",
	    1, "private_key_file: cannot open '/nonexistent/private.key': "
	    "No such file or directory");
	assert_key_fails("private_key_file = \"" TEST_DATADIR "\"\n", 1,
	    "is not a regular file");

	/* A symbolic link, even to a good file. */
	write_psk(ALICE_PRIV, 44, 0600);
	snprintf(text, sizeof(text), "%s.link", pskfile);
	ck_assert_int_eq(symlink(pskfile, text), 0);
	snprintf(text, sizeof(text), "private_key_file = \"%s.link\"\n",
	    pskfile);
	assert_key_fails(text, 1, "refusing the symbolic link");
	snprintf(text, sizeof(text), "%s.link", pskfile);
	unlink(text);

	/* Owned by someone else: not root, not user. */
	ck_assert_int_eq(chown(pskfile, 65534, 65534), 0);
	snprintf(text, sizeof(text), "private_key_file = \"%s\"\n", pskfile);
	assert_key_fails(text, 1, "belongs to uid 65534: it must belong to "
	    "root (chown root '");
	snprintf(text, sizeof(text), "user = daemon\nprivate_key_file = "
	    "\"%s\"\n", pskfile);
	assert_key_fails(text, 2, "it must belong to root or to user daemon");
	unlink(pskfile);
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

/* metrics: the three forms, and off by default. */
START_TEST(test_metrics_listen)
{
	struct config *c = load_text("mtu = 1400\n");
	struct ovt_addr a;
	uint16_t port;

	ck_assert_str_eq(c->metrics, "");
	config_free(c);
	c = load_text("metrics = \"[::1]:9477\"\n");
	ck_assert_str_eq(c->metrics, "[::1]:9477");
	config_free(c);
	ck_assert_int_eq(listen_parse("127.0.0.1:9477", &a, &port), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_int_eq(port, 9477);
	ck_assert_int_eq(listen_parse("[2001:db8::1]:1", &a, &port), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_int_eq(port, 1);
	ck_assert_int_eq(listen_parse("/run/ovtund/metrics.sock", &a, &port),
	    1);
	ck_assert_int_eq(listen_parse("[::1]9477", &a, &port), -1);
	ck_assert_int_eq(listen_parse("[]:9477", &a, &port), -1);
	ck_assert_int_eq(listen_parse(":9477", &a, &port), -1);
	ck_assert_int_eq(listen_parse("127.0.0.1:+9477", &a, &port), -1);
}
END_TEST

/* Loopback to loopback is a tunnel on one host, as tests build. */
START_TEST(test_loopback_pair)
{
	struct config *c = load_text("local = 127.0.0.1\npeer a {\n"
	    " remote = 127.0.0.2\n}\n");

	ck_assert_str_eq(fmt(&c->peers[0].remote), "127.0.0.2");
	config_free(c);
}
END_TEST

/* A byte order mark, as some editors write, is no token. */
START_TEST(test_bom)
{
	struct config *c = load_text("\xef\xbb\xbfmtu = 1400\n");

	ck_assert_uint_eq(c->mtu, 1400);
	config_free(c);
}
END_TEST

START_TEST(test_tap_mac)
{
	static const char id[] = "0123456789abcdef0123456789abcdef";
	struct ovt_addr l1, l2, none = { 0 };
	uint8_t a[6], b[6];
	struct config *c;

	ck_assert_int_eq(addr_parse("192.0.2.1", &l1), 0);
	ck_assert_int_eq(addr_parse("192.0.2.2", &l2), 0);
	tap_mac_derive(id, "ovt0", "", &l1, a);
	ck_assert_int_eq(a[0] & 3, 2);		/* unicast, local */
	tap_mac_derive(id, "ovt0", "", &l1, b);
	ck_assert_mem_eq(a, b, 6);		/* stable */
	tap_mac_derive(id, "ovt0", "", &l2, b);
	ck_assert_mem_ne(a, b, 6);
	tap_mac_derive(id, "ovt1", "", &l1, b);
	ck_assert_mem_ne(a, b, 6);
	tap_mac_derive(id, "ovt0", "left", &l1, b);
	ck_assert_mem_ne(a, b, 6);
	tap_mac_derive("fedcba9876543210fedcba9876543210", "ovt0", "", &l1, b);
	ck_assert_mem_ne(a, b, 6);
	tap_mac_derive(id, "ovt0", "", &none, b);
	ck_assert_mem_ne(a, b, 6);

	c = load_text("mac = \"02:00:5E:10:00:01\"\n");
	ck_assert_int_eq(tap_mac_for(c, a, NULL, 0), 0);
	ck_assert_mem_eq(a, "\x02\x00\x5e\x10\x00\x01", 6);
	config_free(c);
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
	tcase_add_test(tc, test_accounts);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_pmtu);
	tcase_add_test(tc, test_workers);
	tcase_add_test(tc, test_etcd);
	tcase_add_test(tc, test_with_peers);
	tcase_add_test(tc, test_shipped_encryption_example);
	tcase_add_test(tc, test_encryption);
	tcase_add_test(tc, test_encryption_defaults);
	tcase_add_test(tc, test_encryption_per_peer);
	tcase_add_test(tc, test_aes256gcm);
	tcase_add_test(tc, test_crypto_engine);
	tcase_add_test(tc, test_psk_file);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_weak_psk_warning);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad, 0, nitems(bad));
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_first_error_only);
	tcase_add_test(tc, test_small_err_buffer);
	tcase_add_loop_test(tc, test_psk_file_bad, 0, nitems(psk_bad));
	tcase_add_test(tc, test_psk_file_bad_more);
	tcase_add_test(tc, test_psk_too_long);
	tcase_add_loop_test(tc, test_keys_bad, 0, nitems(key_bad));
	tcase_add_test(tc, test_keys_bad_more);
	suite_add_tcase(s, tc);

	tc = tcase_create("addr");
	tcase_add_test(tc, test_addr);
	tcase_add_test(tc, test_metrics_listen);
	tcase_add_test(tc, test_encap_name);
	tcase_add_test(tc, test_tap_mac);
	tcase_add_test(tc, test_loopback_pair);
	tcase_add_test(tc, test_bom);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(config_suite());
}
