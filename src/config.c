/*
 * The configuration file, read with libconfuse.
 *
 * libconfuse only tokenizes here: every option is declared a string and
 * interpreted by the field table below, so numbers are strict decimals
 * with explicit ranges (its CFG_INT reads "010" as octal, "0x10" as hex
 * and "" as 0, and a long cannot hold a GRE key on 32-bit hosts).
 *
 * Each value is checked in a validation callback, run while the file is
 * parsed, when libconfuse knows the line. libconfuse keeps no line per
 * option, and a section's line ends up on its closing brace, so the
 * callback also records where each option was set; the checks across
 * options, run after parsing, blame the option at fault by that line.
 *
 * The encryption { } section may appear at both levels; its options are
 * fields like the others, kept per level, and the section's own callback
 * (run at its closing brace) checks the block as a whole. The pre-shared
 * key is a secret: every copy this file makes of it is wiped once done.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <confuse.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "key.h"
#include "wire.h"

#define CONFIG_MAX_SIZE	(1024 * 1024)	/* a runaway file, not a config */
#define DELIMS		" \t\r\n#\"'={}()+,*"	/* end an unquoted token */
#define IDENT_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"abcdefghijklmnopqrstuvwxyz0123456789_.-"

enum field_id {
	F_INTERFACE,
	F_MTU,
	F_NETNS,
	F_ADDRESS,
	F_BRIDGE,
	F_MAC,
	F_LOCAL,
	F_CONTROL,
	F_MAC_AGING,
	F_MAC_TABLE_SIZE,
	F_REMOTE,
	F_ENCAP,
	F_KEY,
	F_PORT,
	F_KEYLOG,
	F_USER,
	F_CONTROL_GROUP,
	F_METRICS,
	F_PSK,
	F_PSK_FILE,
	F_CIPHER,
	F_TRANSPORT,
	F_REKEY_AFTER,
	F_REPLAY_WINDOW,
	F_HANDSHAKE_PORT,
	F_DF,
	F_CLAMP_MSS,
	F_PMTU_ICMP,
	F_OFFLOAD,
	F_WORKERS,
	F_PRIVATE_KEY_FILE,
	F_PUBLIC_KEY,
	F_CRYPTO_ENGINE,
	F_ENC_CRYPTO_ENGINE,	/* the same key in an encryption block */
	F_ETCD_ENDPOINTS,
	F_ETCD_PREFIX,
	F_ETCD_NAME,
	F_ETCD_TTL,
	F_ETCD_ADVERTISE,
	F_ETCD_CA_FILE,
	F_ETCD_CERT_FILE,
	F_ETCD_KEY_FILE,
	F_ETCD_USERNAME,
	F_ETCD_PASSWORD_FILE,
	F_ETCD_MEMBER_LIMIT,
	F_ETCD_STATE_FILE,
	F__COUNT
};

/* Where a field may appear; both levels means it is a tunnel_params.
 * AT_ENC: inside an encryption { } block, itself at either level. */
#define AT_TOP		0x1
#define AT_PEER		0x2
#define AT_TUNNEL	(AT_TOP | AT_PEER)
#define AT_ENC		0x4
#define AT_ETCD		0x8	/* inside the etcd { } block, top level only */

#define PSK_MAX		(sizeof(((struct encryption_params *)0)->psk) - 1)
/* Shorter passphrases are worth a warning: they fall to offline guessing
 * from one recorded handshake. */
#define PSK_WEAK	16

struct field {
	const char	*name;
	int		 where;
	int		(*parse)(cfg_t *, const struct field *, const char *,
			    void *);
	size_t		 off;	/* in config, peer_config, tunnel_params or
				 * encryption_params */
	size_t		 size;
	unsigned long	 min, max;	/* numbers only */
	const char *const *names;	/* parse_enum only, NULL-terminated */
};

/* A level's encryption block, as far as it has been read. */
struct encblock {
	int	line;	/* its opening brace, 0: none (yet) */
	bool	closed;	/* its closing brace was read */
};

/* One level of the file being filled in: the top or one peer. */
struct level {
	void			*obj;	/* struct config or peer_config */
	struct tunnel_params	*tun;
	int			*line;	/* per field, 0: not set */
	int			 start;	/* a peer's opening brace */
	struct encryption_params *enc;
	struct encblock		*eb;
};

struct wpeer {
	cfg_t			*sec;
	struct peer_config	 pc;
	int			 line[F__COUNT];
	struct encblock		 eb;
};

struct loadctx {
	const char	*path;
	char		*err;
	size_t		 errlen;
	bool		 failed;
	cfg_t		*root;
	struct config	*conf;
	int		 line[F__COUNT];
	struct encblock	 eb;
	int		 etcd_line;	/* the etcd block's closing brace */
	struct wpeer	*peers;
	size_t		 npeers, peercap;
	uid_t		 key_owner;	/* of private_key_file */
};

/* libconfuse callbacks carry no user pointer, hence this; config_load()
 * is not reentrant, which does not matter as only the main thread calls
 * it (start-up, reload). */
static struct loadctx *cur;

static const char *const encap_names[] = {
	[ENCAP_GRETAP] = "gretap",
	[ENCAP_VXLAN] = "vxlan",
	[ENCAP_GENEVE] = "geneve",
	NULL
};
static const char *const cipher_names[] = {
	[AEAD_CHACHA20_POLY1305] = "chacha20-poly1305",
	[AEAD_AES256_GCM] = "aes256-gcm",
	NULL
};
static const char *const engine_names[] = {
	[AEAD_AUTO] = "auto",
	[AEAD_LIBSODIUM] = "libsodium",
	[AEAD_OPENSSL] = "openssl",
	NULL
};
static const char *const transport_names[] = {
	[ESP_TRANSPORT_IP] = "ip",
	[ESP_TRANSPORT_UDP] = "udp",
	NULL
};
static const char *const df_names[] = {
	[DF_INHERIT] = "inherit",
	[DF_SET] = "set",
	[DF_UNSET] = "unset",
	NULL
};
static const uint16_t encap_port[] = {
	[ENCAP_GRETAP] = 0,
	[ENCAP_VXLAN] = VXLAN_PORT,
	[ENCAP_GENEVE] = GENEVE_PORT,
};
static const uint32_t encap_max_key[] = {
	[ENCAP_GRETAP] = UINT32_MAX,
	[ENCAP_VXLAN] = VNI_MAX,
	[ENCAP_GENEVE] = VNI_MAX,
};

const char *
transport_name(enum esp_transport t)
{
	return (unsigned)t < sizeof(transport_names) /
	    sizeof(transport_names[0]) - 1 ? transport_names[t] : "invalid";
}

const char *
encap_name(enum encap e)
{
	if ((unsigned)e >= sizeof(encap_names) / sizeof(encap_names[0]) - 1)
		return "invalid";
	return encap_names[e];
}

/* Keeps the first error only: later ones are mostly its echoes. */
static void
verror(int line, const char *fmt, va_list ap)
{
	int n;

	if (cur->failed)
		return;
	cur->failed = true;
	if (cur->errlen == 0)
		return;
	if (line > 0)
		n = snprintf(cur->err, cur->errlen, "%s:%d: ", cur->path, line);
	else
		n = snprintf(cur->err, cur->errlen, "%s: ", cur->path);
	if (n >= 0 && (size_t)n < cur->errlen)
		vsnprintf(cur->err + n, cur->errlen - n, fmt, ap);
}

static int __attribute__((format(printf, 2, 3)))
fail(int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(line, fmt, ap);
	va_end(ap);
	return -1;
}

static size_t
min3(size_t a, size_t b, size_t c)
{
	return a < b ? (a < c ? a : c) : (b < c ? b : c);
}

/* Edit distance of two short names (at most 32 bytes each), capped. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33], prev, tmp;

	if (la > 32 || lb > 32)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = a[i - 1] == b[j - 1] ? prev :
			    1 + min3(prev, row[j], row[j - 1]);
			prev = tmp;
		}
	}
	return row[lb];
}

static const struct field fields[F__COUNT];

/* The option name closest to a misspelt one, if close enough. */
static const char *
did_you_mean(const char *name)
{
	const char *best = NULL;
	size_t d, best_d = 3;	/* two edits at most */

	for (size_t i = 0; i < F__COUNT; i++)
		if ((d = distance(name, fields[i].name)) < best_d) {
			best_d = d;
			best = fields[i].name;
		}
	return best;
}

/* libconfuse's messages, in this file's words where they are unclear,
 * with a suggestion for a misspelt option. */
static void
on_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[256], name[64];
	const char *hint;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sscanf(msg, "found duplicate title '%63[^']'", name) == 1) {
		fail(cfg->line, "a peer named '%s' is already set above: each "
		    "peer needs a name of its own", name);
		return;
	}
	if (sscanf(msg, "no such option '%63[^']'", name) == 1 &&
	    (hint = did_you_mean(name)) != NULL) {
		fail(cfg->line, "%s (did you mean '%s'?)", msg, hint);
		return;
	}
	fail(cfg->line, "%s", msg);
}

static const char *
af_name(const struct ovt_addr *a)
{
	return a->family == AF_INET ? "IPv4" : "IPv6";
}

static void *
field_ptr(const struct field *f, void *base)
{
	return (char *)base + f->off;
}

/* Strict unsigned decimal: no sign, blank, base prefix or empty string.
 * Stops once above max, so any result above max means out of range. */
static bool
decimal(const char *s, unsigned long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return false;
	for (; *s != '\0' && v <= max; s++)
		v = v * 10 + (unsigned)(*s - '0');
	*out = v;
	return true;
}

static bool
valid_name(const char *s, size_t max)
{
	size_t len = strlen(s);

	return len > 0 && len <= max && strcmp(s, ".") != 0 &&
	    strcmp(s, "..") != 0;
}

/* Interface and peer names: they end up in logs and netlink requests. */
static bool
valid_ident(const char *s, size_t max)
{
	return valid_name(s, max) && strspn(s, IDENT_CHARS) == strlen(s);
}

static int
parse_number(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	unsigned long long v;
	uint16_t v16;
	uint32_t v32;

	if (!decimal(s, f->max, &v)) {
		cfg_error(cfg, "%s: '%s' is not a decimal number", f->name, s);
		return -1;
	}
	if (v < f->min || v > f->max) {
		cfg_error(cfg, "%s: %s is out of range (%lu..%lu)", f->name, s,
		    f->min, f->max);
		return -1;
	}
	if (f->size == sizeof(v16)) {
		v16 = v;
		memcpy(field_ptr(f, base), &v16, sizeof(v16));
	} else {
		v32 = v;
		memcpy(field_ptr(f, base), &v32, sizeof(v32));
	}
	return 0;
}

/* A name of 1 to f->size - 1 of IDENT_CHARS; WHAT says which kind. */
static int
store_ident(cfg_t *cfg, const struct field *f, const char *s, void *base,
    const char *what)
{
	if (!valid_ident(s, f->size - 1)) {
		cfg_error(cfg, "%s: '%s' is not a valid %s (1 to %zu of "
		    "A-Z a-z 0-9 _ . -)", f->name, s, what, f->size - 1);
		return -1;
	}
	memcpy(field_ptr(f, base), s, strlen(s) + 1);
	return 0;
}

static int
parse_ifname(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	return store_ident(cfg, f, s, base, "interface name");
}

/* user and control_group: names that must exist when the file is read,
 * so a typo fails the check instead of the daemon after its setup. */
static int
parse_account(cfg_t *cfg, const struct field *f, const char *s, void *base,
    bool group)
{
	if (!valid_ident(s, f->size - 1)) {
		cfg_error(cfg, "%s: '%s' is not a valid %s name", f->name, s,
		    group ? "group" : "user");
		return -1;
	}
	if (group ? getgrnam(s) == NULL : getpwnam(s) == NULL) {
		cfg_error(cfg, "%s: no %s '%s' on this system", f->name,
		    group ? "group" : "user", s);
		return -1;
	}
	memcpy(field_ptr(f, base), s, strlen(s) + 1);
	return 0;
}

static int
parse_user(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	return parse_account(cfg, f, s, base, false);
}

static int
parse_group(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	return parse_account(cfg, f, s, base, true);
}

static int
parse_netns(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	if (!valid_name(s, f->size - 1) || strchr(s, '/') != NULL) {
		cfg_error(cfg, "%s: '%s' is not a valid namespace name "
		    "(1 to %zu bytes, no '/')", f->name, s, f->size - 1);
		return -1;
	}
	memcpy(field_ptr(f, base), s, strlen(s) + 1);
	return 0;
}

static int
parse_path(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	if (s[0] != '/' || strlen(s) >= f->size) {
		cfg_error(cfg, "%s: '%s' is not an absolute path of at most "
		    "%zu bytes", f->name, s, f->size - 1);
		return -1;
	}
	memcpy(field_ptr(f, base), s, strlen(s) + 1);
	return 0;
}

/* Where the metrics endpoint listens: "" (off), ADDR:PORT, [ADDR6]:PORT
 * or an absolute unix socket path. */
static int
parse_listen(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	struct ovt_addr a;
	uint16_t port;

	if (*s != '\0' && (strlen(s) >= f->size ||
	    listen_parse(s, &a, &port) < 0)) {
		cfg_error(cfg, "%s: '%s' is not ADDRESS:PORT, [IPV6]:PORT or "
		    "an absolute socket path of at most %zu bytes", f->name, s,
		    f->size - 1);
		return -1;
	}
	memcpy(field_ptr(f, base), s, strlen(s) + 1);
	return 0;
}

/* An absolute path, or "" for none. */
static int
parse_optpath(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	if (*s == '\0') {
		memset(field_ptr(f, base), 0, f->size);
		return 0;
	}
	return parse_path(cfg, f, s, base);
}

static int
parse_addr(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	if (addr_parse(s, field_ptr(f, base)) == -1) {
		cfg_error(cfg, "%s: '%s' is not an IPv4 or IPv6 address",
		    f->name, s);
		return -1;
	}
	return 0;
}

/* A unicast Ethernet address, "02:00:5e:10:00:01". */
static int
parse_mac(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	uint8_t *mac = field_ptr(f, base);
	unsigned v[6];
	char end;

	if (strlen(s) != 17 || strspn(s, "0123456789abcdefABCDEF:") != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2],
	    &v[3], &v[4], &v[5], &end) != 6) {
		cfg_error(cfg, "%s: '%s' is not a MAC address such as "
		    "02:00:5e:10:00:01", f->name, s);
		return -1;
	}
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1) {
		cfg_error(cfg, "%s: %s is a multicast address; the TAP needs "
		    "a unicast one (first byte even)", f->name, s);
		return -1;
	}
	if ((mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0) {
		cfg_error(cfg, "%s: 00:00:00:00:00:00 is not an address",
		    f->name);
		return -1;
	}
	return 0;
}

/* "address/prefixlen", top level only: fills address and prefixlen. */
static int
parse_prefix(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	struct config *conf = base;
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned long long plen;
	unsigned max;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf)) {
		cfg_error(cfg, "%s: '%s' is not an address/prefix such as "
		    "10.0.0.1/24", f->name, s);
		return -1;
	}
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (parse_addr(cfg, f, buf, base) == -1)
		return -1;
	max = conf->address.family == AF_INET ? 32 : 128;
	if (!decimal(slash + 1, max, &plen) || plen < 1 || plen > max) {
		cfg_error(cfg, "%s: prefix length '%s' is out of range (1..%u)",
		    f->name, slash + 1, max);
		return -1;
	}
	conf->prefixlen = plen;
	return 0;
}

/* One of f->names, stored as its index in an enum. */
static int
parse_enum(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	char list[128] = "";
	int i, n = 0;

	_Static_assert(sizeof(enum encap) == sizeof(int) &&
	    sizeof(enum aead_cipher) == sizeof(int) &&
	    sizeof(enum esp_transport) == sizeof(int) &&
	    sizeof(enum aead_engine) == sizeof(int) &&
	    sizeof(enum df_mode) == sizeof(int),
	    "parse_enum stores enums as int");
	for (i = 0; f->names[i] != NULL; i++) {
		if (strcmp(s, f->names[i]) == 0) {
			memcpy(field_ptr(f, base), &i, sizeof(i));
			return 0;
		}
	}
	for (i = 0; f->names[i] != NULL && n >= 0 &&
	    (size_t)n < sizeof(list); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s",
		    i == 0 ? "" : f->names[i + 1] == NULL ? " or " : ", ",
		    f->names[i]);
	cfg_error(cfg, "%s: '%s' is not %s", f->name, s, list);
	return -1;
}

/* AES-GCM in libsodium needs the CPU's AES and CLMUL instructions;
 * OpenSSL's runs anywhere. */
static int
parse_cipher(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	if (parse_enum(cfg, f, s, base) == -1)
		return -1;
	if (strcmp(s, cipher_names[AEAD_AES256_GCM]) != 0)
		return 0;
	if (!aead_available(AEAD_AES256_GCM, AEAD_LIBSODIUM) &&
	    !aead_available(AEAD_AES256_GCM, AEAD_OPENSSL)) {
		cfg_error(cfg, "%s: aes256-gcm needs AES-NI, which this CPU "
		    "lacks, or OpenSSL libcrypto, which this build lacks; "
		    "use chacha20-poly1305", f->name);
		return -1;
	}
	return 0;
}

static int
parse_engine(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	if (parse_enum(cfg, f, s, base) == -1)
		return -1;
	if (strcmp(s, engine_names[AEAD_OPENSSL]) == 0 &&
	    !aead_available(AEAD_CHACHA20_POLY1305, AEAD_OPENSSL)) {
		cfg_error(cfg, "%s: this ovtund was built without OpenSSL "
		    "libcrypto", f->name);
		return -1;
	}
	return 0;
}

/* Takes a key of 1 to PSK_MAX bytes, never echoing it; file names the
 * file it comes from, if any. */
static int
set_psk(cfg_t *cfg, const struct field *f, const char *file, const char *s,
    size_t len, void *base)
{
	char *psk = ((struct encryption_params *)base)->psk;

	if (len == 0 || len > PSK_MAX || memchr(s, '\0', len) != NULL) {
		cfg_error(cfg, "%s: %s%s%s %s", f->name, file ? "'" : "",
		    file ? file : "the key", file ? "'" : "", len == 0 ?
		    "is empty" : len > PSK_MAX ? "is longer than 255 bytes" :
		    "holds a NUL byte");
		return -1;
	}
	_Static_assert(PSK_MAX == 255, "the messages say 255");
	memcpy(psk, s, len);
	psk[len] = '\0';
	return 0;
}

/* on_enc_value() wipes libconfuse's copy of s. */
static int
parse_psk(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	return set_psk(cfg, f, NULL, s, strlen(s), base);
}

/* Reads a secret from a file only its owner may read or write, which
 * must be a plain file (no FIFO to block on), trailing newlines stripped,
 * into buf (len: its size, then the secret's length). */
static int
read_secret_file(cfg_t *cfg, const struct field *f, const char *s,
    char *buf, size_t *lenp)
{
	struct stat st;
	size_t len = 0, size = *lenp;
	ssize_t n;
	int fd, rc = -1;

	if (s[0] != '/' || strlen(s) >=
	    sizeof(((struct encryption_params *)0)->psk_file)) {
		cfg_error(cfg, "%s: '%s' is not an absolute path of at most "
		    "4095 bytes", f->name, s);
		return -1;
	}
	if ((fd = open(s, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) ==
	    -1) {
		cfg_error(cfg, "%s: cannot open '%s': %s", f->name, s,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		cfg_error(cfg, "%s: cannot stat '%s': %s", f->name, s,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_error(cfg, "%s: '%s' is not a regular file", f->name, s);
		goto out;
	}
	if (st.st_mode & 077) {
		cfg_error(cfg, "%s: '%s' is accessible to group or others "
		    "(mode %04o): it holds a secret, make it mode 0600 or "
		    "0400", f->name, s, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < size) {
		if ((n = read(fd, buf + len, size - len)) > 0)
			len += n;
		else if (n == 0)
			break;
		else if (errno != EINTR) {
			cfg_error(cfg, "%s: cannot read '%s': %s", f->name, s,
			    strerror(errno));
			goto out;
		}
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	*lenp = len;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* The host's X25519 private key: a file as `umask 077; ovtunctl genkey
 * >FILE` writes it. Not a symlink, nobody else may read it; its owner is
 * checked once user is known (finish). */
static int
parse_private_key_file(cfg_t *cfg, const struct field *f, const char *s,
    void *base)
{
	struct config *conf = base;
	char buf[KEY_B64_LEN + 8];
	struct stat st;
	ssize_t n = -1;
	int fd, rc = -1;

	if (parse_path(cfg, f, s, base) == -1)
		return -1;
	if ((fd = open(s, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
	    O_NOFOLLOW)) == -1) {
		cfg_error(cfg, "%s: %s '%s'%s%s", f->name, errno == ELOOP ?
		    "refusing the symbolic link" : "cannot open", s,
		    errno == ELOOP ? "; name the file itself" : ": ",
		    errno == ELOOP ? "" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		cfg_error(cfg, "%s: cannot stat '%s': %s", f->name, s,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_error(cfg, "%s: '%s' is not a regular file", f->name, s);
		goto out;
	}
	if (st.st_mode & 07177) {
		cfg_error(cfg, "%s: '%s' has mode %04o: it holds the host's "
		    "private key, make it 0600 or 0400 (chmod 600 '%s')",
		    f->name, s, (unsigned)(st.st_mode & 07777), s);
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
		;
	if (n == -1) {
		cfg_error(cfg, "%s: cannot read '%s': %s", f->name, s,
		    strerror(errno));
		goto out;
	}
	if (sodium_init() < 0 ||
	    (conf->private_key = sodium_malloc(KEY_LEN)) == NULL) {
		cfg_error(cfg, "%s: out of locked memory", f->name);
		goto out;
	}
	if (key_from_base64(conf->private_key, buf, (size_t)n) == -1) {
		cfg_error(cfg, "%s: '%s' does not hold a private key (44 "
		    "characters of base64; make one with: umask 077; "
		    "ovtunctl genkey >'%s')", f->name, s, s);
		goto out;
	}
	key_public(conf->public_key, conf->private_key);
	cur->key_owner = st.st_uid;
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

static int
parse_public_key(cfg_t *cfg, const struct field *f, const char *s,
    void *base)
{
	struct peer_config *pc = base;

	if (key_from_base64(pc->public_key, s, strlen(s)) == -1) {
		cfg_error(cfg, "%s: '%s' is not a public key (44 characters of "
		    "base64, as `ovtunctl pubkey` prints it)", f->name, s);
		return -1;
	}
	if (key_low_order(pc->public_key)) {
		cfg_error(cfg, "%s: '%s' is a low-order point, which any key "
		    "agrees with: not a real peer's key", f->name, s);
		return -1;
	}
	pc->has_public_key = true;
	return 0;
}

static int
parse_psk_file(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	char buf[PSK_MAX + 64];		/* room for CRLFs past the key */
	size_t len = sizeof(buf);
	int rc;

	rc = read_secret_file(cfg, f, s, buf, &len);
	if (rc == 0)
		rc = set_psk(cfg, f, s, buf, len, base);
	if (rc == 0)
		memcpy(((struct encryption_params *)base)->psk_file, s,
		    strlen(s) + 1);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* etcd's password, which the file holds alone (newlines stripped). */
static int
parse_password_file(cfg_t *cfg, const struct field *f, const char *s,
    void *base)
{
	struct etcd_params *ep = base;
	char buf[sizeof(ep->password) + 64];
	size_t len = sizeof(buf);
	int rc;

	if ((rc = read_secret_file(cfg, f, s, buf, &len)) == 0) {
		if (len == 0 || len >= sizeof(ep->password) ||
		    memchr(buf, '\0', len) != NULL) {
			cfg_error(cfg, "%s: '%s' must hold 1 to %zu bytes, no "
			    "NUL", f->name, s, sizeof(ep->password) - 1);
			rc = -1;
		} else {
			memcpy(ep->password, buf, len);
			ep->password[len] = '\0';
		}
	}
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* A file the daemon reads later (etcd's TLS files): it must be there now,
 * so a typo fails the check instead of every connection. */
static int
parse_readable(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	if (parse_path(cfg, f, s, base) == -1)
		return -1;
	if (access(s, R_OK) == -1) {
		cfg_error(cfg, "%s: cannot read '%s': %s", f->name, s,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* "http://host:port,https://..." : each an http or https URL. */
static int
parse_endpoints(cfg_t *cfg, const struct field *f, const char *s,
    void *base)
{
	struct etcd_params *ep = base;
	const char *p = s + strspn(s, ", ");
	size_t len;

	ep->n_endpoints = 0;
	do {
		len = strcspn(p, ", ");
		if (ep->n_endpoints == ETCD_ENDPOINTS_MAX) {
			cfg_error(cfg, "%s: more than %d endpoints", f->name,
			    ETCD_ENDPOINTS_MAX);
			return -1;
		}
		if (len >= sizeof(ep->endpoints[0]) || !((len > 7 &&
		    strncmp(p, "http://", 7) == 0) || (len > 8 &&
		    strncmp(p, "https://", 8) == 0))) {
			cfg_error(cfg, "%s: '%.*s' is not an http:// or "
			    "https:// URL of at most %zu bytes", f->name,
			    (int)len, p, sizeof(ep->endpoints[0]) - 1);
			return -1;
		}
		memcpy(ep->endpoints[ep->n_endpoints], p, len);
		ep->endpoints[ep->n_endpoints++][len] = '\0';
		p += len;
		p += strspn(p, ", ");
	} while (*p != '\0');
	return 0;
}

/* "/ovtund/NET": absolute, no trailing '/', of the name characters. */
static int
parse_prefix_key(cfg_t *cfg, const struct field *f, const char *s,
    void *base)
{
	size_t len = strlen(s);

	if (len < 2 || len >= f->size || s[0] != '/' || s[len - 1] == '/' ||
	    strstr(s, "//") != NULL || strspn(s, IDENT_CHARS "/") != len) {
		cfg_error(cfg, "%s: '%s' is not a key prefix such as "
		    "/ovtund/net1 (at most %zu of A-Z a-z 0-9 _ . - /, no "
		    "trailing /)", f->name, s, f->size - 1);
		return -1;
	}
	memcpy(field_ptr(f, base), s, len + 1);
	return 0;
}

static int
parse_ident(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	return store_ident(cfg, f, s, base, "name");
}

/* One or more addresses, comma separated. */
static int
parse_advertise(cfg_t *cfg, const struct field *f, const char *s,
    void *base)
{
	struct etcd_params *ep = base;
	char buf[INET6_ADDRSTRLEN];
	const char *p = s + strspn(s, ", ");
	size_t len;

	ep->n_advertise = 0;
	do {
		len = strcspn(p, ", ");
		if (ep->n_advertise == ETCD_ADVERTISE_MAX) {
			cfg_error(cfg, "%s: more than %d addresses", f->name,
			    ETCD_ADVERTISE_MAX);
			return -1;
		}
		if (len < sizeof(buf)) {
			memcpy(buf, p, len);
			buf[len] = '\0';
		}
		if (len >= sizeof(buf) ||
		    addr_parse(buf, &ep->advertise[ep->n_advertise]) == -1) {
			cfg_error(cfg, "%s: '%.*s' is not an IPv4 or IPv6 "
			    "address", f->name, (int)len, p);
			return -1;
		}
		ep->n_advertise++;
		p += len;
		p += strspn(p, ", ");
	} while (*p != '\0');
	return 0;
}

static bool
parse_yesno(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0)
		*out = false;
	else
		return false;
	return true;
}

static int
parse_bool(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	bool v;

	if (!parse_yesno(s, &v)) {
		cfg_error(cfg, "%s: '%s' is not yes or no", f->name, s);
		return -1;
	}
	memcpy(field_ptr(f, base), &v, sizeof(v));
	return 0;
}

/* clamp_mss: yes (to the path), no, or an MSS it never exceeds. */
static int
parse_clamp(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	struct pmtu_params *pm = &((struct config *)base)->pmtu;
	unsigned long long v;

	if (parse_yesno(s, &pm->clamp_mss)) {
		pm->mss_cap = 0;
		return 0;
	}
	if (!decimal(s, f->max, &v) || v < f->min || v > f->max) {
		cfg_error(cfg, "%s: '%s' is not yes, no or an MSS (%lu..%lu)",
		    f->name, s, f->min, f->max);
		return -1;
	}
	pm->clamp_mss = true;
	pm->mss_cap = (unsigned)v;
	return 0;
}

/* workers: auto (0, one per CPU), or how many. */
static int
parse_workers(cfg_t *cfg, const struct field *f, const char *s, void *base)
{
	unsigned long long v;

	if (strcmp(s, "auto") == 0) {
		((struct config *)base)->workers = 0;
		return 0;
	}
	if (!decimal(s, f->max, &v) || v < f->min || v > f->max) {
		cfg_error(cfg, "%s: '%s' is not auto or a number (%lu..%lu)",
		    f->name, s, f->min, f->max);
		return -1;
	}
	((struct config *)base)->workers = (unsigned)v;
	return 0;
}

#define CONF(m)	offsetof(struct config, m), sizeof(((struct config *)0)->m)
#define PEER(m)	offsetof(struct peer_config, m), \
		sizeof(((struct peer_config *)0)->m)
#define TUN(m)	offsetof(struct tunnel_params, m), \
		sizeof(((struct tunnel_params *)0)->m)
#define ENC(m)	offsetof(struct encryption_params, m), \
		sizeof(((struct encryption_params *)0)->m)
#define ETCD(m)	offsetof(struct etcd_params, m), \
		sizeof(((struct etcd_params *)0)->m)

/* The schema: every option of the file, in both of its levels. */
static const struct field fields[F__COUNT] = {
	[F_INTERFACE] =	{ "interface", AT_TOP, parse_ifname, CONF(interface) },
	[F_MTU] =	{ "mtu", AT_TOP, parse_number, CONF(mtu), 576, 9000 },
	[F_NETNS] =	{ "netns", AT_TOP, parse_netns, CONF(netns) },
	[F_ADDRESS] =	{ "address", AT_TOP, parse_prefix, CONF(address) },
	[F_BRIDGE] =	{ "bridge", AT_TOP, parse_ifname, CONF(bridge) },
	[F_MAC] =	{ "mac", AT_TOP, parse_mac, CONF(mac) },
	[F_LOCAL] =	{ "local", AT_TOP, parse_addr, CONF(local) },
	[F_CONTROL] =	{ "control", AT_TOP, parse_path, CONF(control) },
	[F_MAC_AGING] =	{ "mac_aging", AT_TOP, parse_number, CONF(mac_aging),
			    1, 86400 },
	[F_MAC_TABLE_SIZE] = { "mac_table_size", AT_TOP, parse_number,
			    CONF(mac_table_size), 1, 16777216 },
	[F_DF] =	{ "df", AT_TOP, parse_enum, CONF(pmtu.df), 0, 0,
			    df_names },
	[F_CLAMP_MSS] =	{ "clamp_mss", AT_TOP, parse_clamp, CONF(pmtu),
			    536, 65495 },
	[F_PMTU_ICMP] =	{ "pmtu_icmp", AT_TOP, parse_bool, CONF(pmtu.icmp) },
	[F_OFFLOAD] =	{ "offload", AT_TOP, parse_bool, CONF(offload) },
	[F_WORKERS] =	{ "workers", AT_TOP, parse_workers, CONF(workers), 1,
			    CONFIG_WORKERS_MAX },
	[F_CRYPTO_ENGINE] = { "crypto_engine", AT_TOP, parse_engine,
			    CONF(crypto_engine), .names = engine_names },
	[F_REMOTE] =	{ "remote", AT_PEER, parse_addr, PEER(remote) },
	[F_ENCAP] =	{ "encap", AT_TUNNEL, parse_enum, TUN(encap),
			    .names = encap_names },
	[F_KEY] =	{ "key", AT_TUNNEL, parse_number, TUN(key),
			    0, UINT32_MAX },
	[F_PORT] =	{ "port", AT_TUNNEL, parse_number, TUN(port), 1, 65535 },
	[F_KEYLOG] =	{ "keylog", AT_TOP, parse_optpath, CONF(keylog) },
	[F_USER] =	{ "user", AT_TOP, parse_user, CONF(user) },
	[F_CONTROL_GROUP] = { "control_group", AT_TOP, parse_group,
			    CONF(control_group) },
	[F_PRIVATE_KEY_FILE] = { "private_key_file", AT_TOP,
			    parse_private_key_file, CONF(private_key_file) },
	[F_PUBLIC_KEY] = { "public_key", AT_PEER, parse_public_key,
			    PEER(public_key) },
	[F_METRICS] =	{ "metrics", AT_TOP, parse_listen, CONF(metrics) },
	[F_PSK] =	{ "psk", AT_ENC, parse_psk, ENC(psk) },
	[F_PSK_FILE] =	{ "psk_file", AT_ENC, parse_psk_file, ENC(psk) },
	[F_CIPHER] =	{ "cipher", AT_ENC, parse_cipher, ENC(cipher),
			    .names = cipher_names },
	[F_TRANSPORT] =	{ "transport", AT_ENC, parse_enum, ENC(transport),
			    .names = transport_names },
	[F_REKEY_AFTER] = { "rekey_after", AT_ENC, parse_number,
			    ENC(rekey_after), 10, 86400 },
	[F_REPLAY_WINDOW] = { "replay_window", AT_ENC, parse_number,
			    ENC(replay_window), 64, 8192 },
	[F_HANDSHAKE_PORT] = { "handshake_port", AT_ENC, parse_number,
			    ENC(handshake_port), 1, 65535 },
	[F_ENC_CRYPTO_ENGINE] = { "crypto_engine", AT_ENC, parse_engine,
			    ENC(engine), .names = engine_names },
	[F_ETCD_ENDPOINTS] = { "endpoints", AT_ETCD, parse_endpoints,
			    ETCD(endpoints) },
	[F_ETCD_PREFIX] = { "prefix", AT_ETCD, parse_prefix_key, ETCD(prefix) },
	[F_ETCD_NAME] =	{ "name", AT_ETCD, parse_ident, ETCD(name) },
	[F_ETCD_TTL] =	{ "ttl", AT_ETCD, parse_number, ETCD(ttl), 2, 300 },
	[F_ETCD_ADVERTISE] = { "advertise", AT_ETCD, parse_advertise,
			    ETCD(advertise) },
	[F_ETCD_CA_FILE] = { "ca_file", AT_ETCD, parse_readable,
			    ETCD(ca_file) },
	[F_ETCD_CERT_FILE] = { "cert_file", AT_ETCD, parse_readable,
			    ETCD(cert_file) },
	[F_ETCD_KEY_FILE] = { "key_file", AT_ETCD, parse_readable,
			    ETCD(key_file) },
	[F_ETCD_USERNAME] = { "username", AT_ETCD, parse_ident,
			    ETCD(username) },
	[F_ETCD_PASSWORD_FILE] = { "password_file", AT_ETCD,
			    parse_password_file, ETCD(password) },
	[F_ETCD_MEMBER_LIMIT] = { "member_limit", AT_ETCD, parse_number,
			    ETCD(member_limit), 1, ETCD_MEMBER_LIMIT_MAX },
	[F_ETCD_STATE_FILE] = { "state_file", AT_ETCD, parse_path,
			    ETCD(state_file) },
};

_Static_assert(F__COUNT <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");

_Static_assert(sizeof(unsigned) == sizeof(uint32_t),
    "parse_number stores unsigned fields as uint32_t");

/* A name may be a field at the top or in a peer, and another in an
 * encryption block (crypto_engine). */
static const struct field *
field_find(const char *name, bool in_enc)
{
	size_t i;

	for (i = 0; strcmp(fields[i].name, name) != 0 ||
	    ((fields[i].where & AT_ENC) != 0) != in_enc; i++)
		;
	return &fields[i];
}

/* Peers are parsed one after the other, so a value belongs to the last
 * peer unless its section is new. */
static struct wpeer *
peer_for(cfg_t *sec, int start)
{
	struct wpeer *p;
	size_t cap;

	if (cur->npeers > 0 && cur->peers[cur->npeers - 1].sec == sec)
		return &cur->peers[cur->npeers - 1];
	if (cur->npeers == cur->peercap) {
		/* Not realloc(): the old array may hold keys to wipe. */
		cap = cur->peercap ? cur->peercap * 2 : 8;
		if ((p = calloc(cap, sizeof(*p))) == NULL)
			return NULL;
		if (cur->peers != NULL) {
			memcpy(p, cur->peers, cur->npeers * sizeof(*p));
			sodium_memzero(cur->peers,
			    cur->peercap * sizeof(*cur->peers));
			free(cur->peers);
		}
		cur->peers = p;
		cur->peercap = cap;
	}
	p = &cur->peers[cur->npeers++];
	memset(p, 0, sizeof(*p));
	p->sec = sec;
	p->pc.line = start;
	return p;
}

static int
level_of(cfg_t *cfg, struct level *lv)
{
	struct wpeer *p;

	if (cfg == NULL) {	/* the etcd block */
		lv->obj = &cur->conf->etcd;
		lv->tun = NULL;
		lv->line = cur->line;
		lv->enc = NULL;
		lv->eb = NULL;
		return 0;
	}
	if (cfg == cur->root) {
		lv->obj = cur->conf;
		lv->tun = &cur->conf->tun;
		lv->line = cur->line;
		lv->enc = &cur->conf->enc;
		lv->eb = &cur->eb;
		return 0;
	}
	/* libconfuse counts the lines of a section in the section, so the
	 * root still stands on the line of the peer's opening brace. */
	if ((p = peer_for(cfg, cur->root->line)) == NULL)
		return -1;
	lv->obj = &p->pc;
	lv->tun = &p->pc.tun;
	lv->line = p->line;
	lv->enc = &p->pc.enc;
	lv->eb = &p->eb;
	return 0;
}

/* A value of the option opt, in cfg, for the level lv; in_enc: inside
 * its encryption block. */
static int
set_value(cfg_t *cfg, cfg_opt_t *opt, const struct level *lv, bool in_enc)
{
	const struct field *f = field_find(cfg_opt_name(opt), in_enc);
	int *line = &lv->line[f - fields];
	void *base;

	if (*line != 0) {
		cfg_error(cfg, "%s is already set on line %d", f->name, *line);
		return -1;
	}
	*line = cfg->line;
	if (f->where & AT_ENC)
		base = lv->enc;
	else if (f->where == AT_TUNNEL)
		base = lv->tun;
	else
		base = lv->obj;
	return f->parse(cfg, f, cfg_opt_getnstr(opt, 0), base);
}

static int
on_value(cfg_t *cfg, cfg_opt_t *opt)
{
	struct level lv;

	if (level_of(cfg, &lv) == -1) {
		cfg_error(cfg, "%s", strerror(errno));
		return -1;
	}
	return set_value(cfg, opt, &lv, false);
}

/* What an encryption block holds before its values: also a key-mode
 * peer's encryption when there is no block at all. */
void
enc_defaults(struct encryption_params *e)
{
	memset(e, 0, sizeof(*e));
	e->enabled = true;
	e->cipher = AEAD_CHACHA20_POLY1305;
	e->transport = ESP_TRANSPORT_IP;
	e->rekey_after = CONFIG_DEFAULT_REKEY;
	e->replay_window = CONFIG_DEFAULT_REPLAY_WINDOW;
	e->handshake_port = CONFIG_DEFAULT_HANDSHAKE_PORT;
}

/* A level's encryption block starts with its first value, or else at its
 * closing brace: line is where. A block replaces the top-level one as a
 * whole, so what it leaves out takes the defaults. */
static int
enc_open(const struct level *lv, int line)
{
	struct encryption_params *e = lv->enc;

	if (lv->eb->closed)
		return fail(line, "encryption is already set on line %d",
		    lv->eb->line);
	if (lv->eb->line != 0)
		return 0;
	lv->eb->line = line;
	enc_defaults(e);
	return 0;
}

/* A value in an encryption block, cfg being the block. libconfuse does
 * not say which section holds it: the top level's block, or else one of
 * the peer being read, the last one. Either still stands on the line of
 * the block's opening brace. */
static int
on_enc_value(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *parent = cur->root;
	char *value = cfg_opt_getnstr(opt, 0);
	struct level lv;
	int rc = -1;

	if (cfg_size(cur->root, "encryption") == 0 ||
	    cfg_getsec(cur->root, "encryption") != cfg)
		parent = cfg_getnsec(cur->root, "peer",
		    cfg_size(cur->root, "peer") - 1);
	if (parent == NULL || level_of(parent, &lv) == -1)
		cfg_error(cfg, "%s", strerror(parent ? errno : EINVAL));
	else if (enc_open(&lv, parent->line) == 0)
		rc = set_value(cfg, opt, &lv, true);
	/* libconfuse's copy of a key, otherwise kept until cfg_free(). */
	if (strcmp(cfg_opt_name(opt), fields[F_PSK].name) == 0 &&
	    value != NULL)
		sodium_memzero(value, strlen(value));
	return rc;
}

/* A value in the etcd block, which only the top level has. */
static int
on_etcd_value(cfg_t *cfg, cfg_opt_t *opt)
{
	struct level lv;

	level_of(NULL, &lv);
	return set_value(cfg, opt, &lv, false);
}

/* Runs at the etcd block's closing brace, cfg being the root. */
static int
on_etcd(cfg_t *cfg, cfg_opt_t *opt)
{
	(void)opt;
	cur->etcd_line = cfg->line;
	cur->conf->etcd.enabled = true;
	if (cur->line[F_ETCD_ENDPOINTS] == 0)
		return fail(cfg->line, "etcd needs endpoints");
	return 0;
}

static int
exclusive(const int *line, enum field_id a, enum field_id b)
{
	int la = line[a], lb = line[b];

	if (la == 0 || lb == 0)
		return 0;
	return fail(la > lb ? la : lb, "%s and %s are mutually exclusive",
	    fields[a].name, fields[b].name);
}

/* Runs at an encryption block's closing brace, cfg being the root or a
 * peer, standing on that brace. */
static int
on_enc(cfg_t *cfg, cfg_opt_t *opt)
{
	struct level lv;

	(void)opt;
	if (level_of(cfg, &lv) == -1)
		return fail(cfg->line, "%s", strerror(errno));
	/* An empty block has had no value to note its start. */
	if (enc_open(&lv, cfg->line) == -1)
		return -1;
	lv.eb->closed = true;
	return exclusive(lv.line, F_PSK, F_PSK_FILE);
}

/* Runs at a peer's closing brace, cfg being the root. */
static int
on_peer(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *name = cfg_title(sec);
	struct wpeer *p;

	/* An empty block has had no value to note its start: blame its
	 * closing brace. */
	if ((p = peer_for(sec, cfg->line)) == NULL)
		return fail(cfg->line, "%s", strerror(errno));
	if (!valid_ident(name, sizeof(p->pc.name) - 1))
		return fail(p->pc.line, "peer name '%s' is not valid "
		    "(1 to %zu of A-Z a-z 0-9 _ . -)", name,
		    sizeof(p->pc.name) - 1);
	if (strcmp(name, "local") == 0)
		return fail(p->pc.line, "peer name 'local' is reserved: "
		    "ovtunctl fdb calls the addresses behind this host's TAP "
		    "that");
	memcpy(p->pc.name, name, strlen(name) + 1);
	if (p->line[F_REMOTE] == 0)
		return fail(p->pc.line, "peer '%s' has no remote", name);
	return 0;
}

/* The schema for libconfuse, from the field table; sections valid at
 * both levels (encryption) are appended to both. Each array has room for
 * every field, two sections and the end. */
static void
schema(cfg_opt_t *top, cfg_opt_t *peer, cfg_opt_t *enc, cfg_opt_t *etcd)
{
	cfg_opt_t end = CFG_END();
	cfg_opt_t encsec = CFG_SEC("encryption", enc, CFGF_NODEFAULT);
	cfg_opt_t etcdsec = CFG_SEC("etcd", etcd, CFGF_NODEFAULT);
	size_t i, nt = 0, np = 0, ne = 0, nx = 0;

	for (i = 0; i < F__COUNT; i++) {
		cfg_opt_t o = CFG_STR(fields[i].name, NULL, CFGF_NODEFAULT);

		o.validcb = on_value;
		if (fields[i].where & AT_TOP)
			top[nt++] = o;
		if (fields[i].where & AT_PEER)
			peer[np++] = o;
		if (fields[i].where & AT_ENC) {
			o.validcb = on_enc_value;
			enc[ne++] = o;
		}
		if (fields[i].where & AT_ETCD) {
			o.validcb = on_etcd_value;
			etcd[nx++] = o;
		}
	}
	enc[ne] = end;
	etcd[nx] = end;
	etcdsec.validcb = on_etcd;
	encsec.validcb = on_enc;
	peer[np++] = encsec;
	peer[np] = end;
	top[nt] = (cfg_opt_t)CFG_SEC("peer", peer,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);
	top[nt].validcb = on_peer;
	top[nt + 1] = encsec;
	top[nt + 2] = etcdsec;
	top[nt + 3] = end;
}

/* Reads the whole file: libconfuse's flex scanner exits the process on
 * a read error, and stops silently at a NUL byte. */
static char *
slurp(const char *path)
{
	struct stat st;
	char *buf = NULL, *nul, *p;
	size_t len = 0;
	ssize_t n;
	int fd, line;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		fail(0, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1)
		fail(0, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		fail(0, "not a regular file");
	else if (st.st_size > CONFIG_MAX_SIZE)
		fail(0, "larger than %d bytes", CONFIG_MAX_SIZE);
	else if ((buf = malloc(st.st_size + 1)) == NULL)
		fail(0, "%s", strerror(errno));
	while (buf != NULL && len < (size_t)st.st_size) {
		if ((n = read(fd, buf + len, st.st_size - len)) > 0)
			len += n;
		else if (n == 0)
			break;
		else if (errno != EINTR) {
			fail(0, "%s", strerror(errno));
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	if (buf == NULL)
		return NULL;
	buf[len] = '\0';
	/* A UTF-8 byte order mark, as some editors write: not a token. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		memcpy(buf, "   ", 3);
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		for (line = 1, p = buf; p < nul; p++)
			line += *p == '\n';
		fail(line, "NUL byte in the file");
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Works around two flaws of libconfuse, on the text before it sees it:
 * - 3.3 counts the newline that ends a comment more than once, shifting
 *   every later line: comments are blanked out, newlines kept ("#" out
 *   of strings, "//" and slash-star where a token may start, as its
 *   lexer has them);
 * - it takes the end of the file for the closing brace of a section.
 * Returns the line of a '{' never closed, 0 if none.
 */
static int
prescan(char *s)
{
	char state = 0;		/* a quote, '#' or '*' for comments */
	bool token = false;
	int line = 1, depth = 0, open = 0;

	for (; *s != '\0'; s++) {
		line += *s == '\n';
		switch (state) {
		case '"':
		case '\'':
			if (*s == '\\' && s[1] != '\0' && s[1] != '\n')
				s++;
			else if (*s == state)
				state = 0;
			continue;
		case '#':
			if (*s == '\n')
				state = 0;
			else
				*s = ' ';
			continue;
		case '*':
			if (s[0] == '*' && s[1] == '/') {
				state = 0;
				*s++ = ' ';
			}
			if (*s != '\n')
				*s = ' ';
			continue;
		}
		if (*s == '"' || *s == '\'')
			state = *s;
		else if (*s == '#' || (!token && s[0] == '/' && s[1] == '/' &&
		    strchr(DELIMS, s[strspn(s, "/")]) != NULL)) {
			state = '#';
			*s = ' ';
		} else if (!token && s[0] == '/' && s[1] == '*') {
			state = '*';
			*s++ = ' ';
			*s = ' ';
		} else if (*s == '{' && depth++ == 0)
			open = line;
		else if (*s == '}' && depth > 0)
			depth--;
		token = state == 0 && strchr(DELIMS, *s) == NULL;
	}
	return depth > 0 ? open : 0;
}

static int
parse(struct loadctx *ctx, char *buf)
{
	cfg_opt_t top[F__COUNT + 4], peer[F__COUNT + 3], enc[F__COUNT + 3],
	    etcd[F__COUNT + 1];
	int rc, open;

	open = prescan(buf);
	schema(top, peer, enc, etcd);
	if ((ctx->root = cfg_init(top, CFGF_NONE)) == NULL)
		return fail(0, "%s", strerror(errno));
	cfg_set_error_function(ctx->root, on_error);
	rc = cfg_parse_buf(ctx->root, buf);
	cfg_free(ctx->root);
	ctx->root = NULL;
	/* Only an allocation failure fails without a word. */
	if (rc != CFG_SUCCESS)
		return fail(0, "%s", strerror(ENOMEM));
	if (open != 0)
		return fail(open, "this '{' is never closed");
	return 0;
}

/*
 * A level's tunnel, given the one it inherits from. Encap and key are
 * inherited as they are: a key is the segment, whatever carries it. A
 * port is inherited only along with the encap, as ports belong to one
 * encap: otherwise it is that encap's default.
 */
static int
resolve(const struct level *base, const struct level *own,
    struct tunnel_params *out)
{
	const int *bl = base->line, *ol = own->line;
	struct tunnel_params t;
	int blame;

	t.encap = ol[F_ENCAP] ? own->tun->encap : base->tun->encap;
	t.has_key = ol[F_KEY] || bl[F_KEY] || t.encap != ENCAP_GRETAP;
	t.key = ol[F_KEY] ? own->tun->key : bl[F_KEY] ? base->tun->key : 0;
	if (ol[F_PORT])
		t.port = own->tun->port;
	else if (bl[F_PORT] && t.encap == base->tun->encap)
		t.port = base->tun->port;
	else
		t.port = encap_port[t.encap];

	if (t.encap == ENCAP_GRETAP && ol[F_PORT])
		return fail(ol[F_PORT], "port has no meaning for gretap");
	if (t.key > encap_max_key[t.encap]) {
		blame = ol[F_KEY] ? ol[F_KEY] : ol[F_ENCAP] ? ol[F_ENCAP] :
		    own->start;
		return fail(blame, "key %u is out of range for %s (0..%u)",
		    t.key, encap_name(t.encap), encap_max_key[t.encap]);
	}
	*out = t;
	return 0;
}

static bool
is_loopback(const struct ovt_addr *a)
{
	return a->family == AF_INET ?
	    (ntohl(a->v4.s_addr) >> 24) == 127 :
	    a->family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->v6);
}

/* Why a tunnel cannot use r as its far end, or NULL: the unicast
 * datagrams of a tunnel would go nowhere, to every host, or back to this
 * one. */
static const char *
unusable_remote(const struct ovt_addr *r, const struct ovt_addr *local)
{
	uint32_t v4 = ntohl(r->v4.s_addr);

	if (is_loopback(r) && !is_loopback(local))
		return "is a loopback address, which only this host answers "
		    "(allowed only with a loopback local)";
	if (r->family == AF_INET) {
		if (v4 >> 28 == 0xe)
			return "is a multicast address: a tunnel needs the "
			    "unicast address of one host";
		if (v4 == 0xffffffff)
			return "is the broadcast address: a tunnel needs the "
			    "unicast address of one host";
		if (v4 >> 24 == 0)
			return "is unspecified (0.0.0.0/8 names no host)";
		return NULL;
	}
	if (IN6_IS_ADDR_MULTICAST(&r->v6))
		return "is a multicast address: a tunnel needs the unicast "
		    "address of one host";
	if (IN6_IS_ADDR_UNSPECIFIED(&r->v6))
		return "is unspecified (:: names no host)";
	if (IN6_IS_ADDR_V4MAPPED(&r->v6))
		return "is an IPv4-mapped IPv6 address: write the IPv4 "
		    "address itself";
	return NULL;
}

static int
check_peer(struct loadctx *ctx, const struct level *top, size_t i)
{
	const struct ovt_addr *local = &ctx->conf->local;
	const struct peer_config *first = &ctx->peers[0].pc;
	struct wpeer *p = &ctx->peers[i];
	const struct ovt_addr *r = &p->pc.remote;
	struct level own = { &p->pc, &p->pc.tun, p->line, p->pc.line,
	    &p->pc.enc, &p->eb };
	int line = p->line[F_REMOTE];
	char a[INET6_ADDRSTRLEN];
	const char *why;
	size_t j;

	if (resolve(top, &own, &p->pc.tun) == -1)
		return -1;
	addr_format(r, a, sizeof(a));
	if ((why = unusable_remote(r, local)) != NULL)
		return fail(line, "remote %s %s", a, why);
	if (local->family != 0 && r->family != local->family)
		return fail(line, "remote %s is %s but local is %s", a,
		    af_name(r), af_name(local));
	if (r->family != first->remote.family)
		return fail(line, "remote %s is %s but peer '%s' is %s: "
		    "all peers must use one family", a, af_name(r),
		    first->name, af_name(&first->remote));
	if (addr_equal(r, local))
		return fail(line, "remote %s is the local address", a);
	for (j = 0; j < i; j++) {
		if (addr_equal(r, &ctx->peers[j].pc.remote))
			return fail(line, "remote %s is already peer '%s' "
			    "(line %d)", a, ctx->peers[j].pc.name,
			    ctx->peers[j].pc.line);
	}
	return 0;
}

/* The line of field f of a peer's encryption, in its own block or the
 * top's, or the block's own line if f is not set (F__COUNT: never). */
static int
enc_line(const struct loadctx *ctx, const struct wpeer *p, enum field_id f)
{
	const int *line = p->eb.line != 0 ? p->line : ctx->line;
	int block = p->eb.line != 0 ? p->eb.line : ctx->eb.line;

	if (f == F_PSK && line[F_PSK] == 0)
		f = F_PSK_FILE;
	return f < F__COUNT && line[f] != 0 ? line[f] : block;
}

/* A passphrase under PSK_WEAK bytes is legal but worth a warning, once,
 * at -t and at start. */
static void
note_weak_psk(struct loadctx *ctx, const struct encryption_params *e,
    int line)
{
	if (!e->enabled || e->psk[0] == '\0' || strlen(e->psk) >= PSK_WEAK ||
	    ctx->conf->warning[0] != '\0')
		return;
	snprintf(ctx->conf->warning, sizeof(ctx->conf->warning), "%s:%d: the "
	    "psk is shorter than %d bytes: anyone who records one handshake "
	    "can guess it offline; use `ovtunctl genpsk`, or key pairs",
	    ctx->path, line, PSK_WEAK);
}

/* Key mode: a peer named by its public key, which must be a key of its
 * own; we need a private key to go with it. */
static int
check_public_key(struct loadctx *ctx, size_t i)
{
	struct wpeer *p = &ctx->peers[i];
	int line = p->line[F_PUBLIC_KEY];

	if (!p->pc.has_public_key)
		return 0;
	if (ctx->conf->private_key == NULL)
		return fail(line, "peer '%s' has a public_key but there is no "
		    "private_key_file (make one with: umask 077; ovtunctl "
		    "genkey >/etc/ovtund/private.key)", p->pc.name);
	if (sodium_memcmp(p->pc.public_key, ctx->conf->public_key,
	    KEY_LEN) == 0)
		return fail(line, "public_key of peer '%s' is this host's own "
		    "(the one of private_key_file)", p->pc.name);
	for (size_t j = 0; j < i; j++)
		if (ctx->peers[j].pc.has_public_key &&
		    memcmp(ctx->peers[j].pc.public_key, p->pc.public_key,
		    KEY_LEN) == 0)
			return fail(line, "public_key is already peer '%s''s "
			    "(line %d)", ctx->peers[j].pc.name,
			    ctx->peers[j].pc.line);
	memcpy(p->pc.local_public_key, ctx->conf->public_key, KEY_LEN);
	return 0;
}

/* The engine of a peer's block: its own crypto_engine, else the top
 * level's; refused where it cannot run the block's cipher (libsodium's
 * AES-GCM without AES-NI). */
static int
peer_engine(const struct loadctx *ctx, struct wpeer *p)
{
	struct encryption_params *e = &p->pc.enc;
	int line = p->eb.line ? p->line[F_ENC_CRYPTO_ENGINE] :
	    ctx->line[F_ENC_CRYPTO_ENGINE];

	if (line == 0) {
		e->engine = ctx->conf->crypto_engine;
		line = ctx->line[F_CRYPTO_ENGINE];
	}
	if (e->engine == AEAD_AUTO || aead_available(e->cipher, e->engine))
		return 0;
	return fail(line, "crypto_engine %s cannot run %s on this CPU (it "
	    "needs AES-NI)", aead_engine_name(e->engine),
	    aead_cipher_name(e->cipher));
}

/*
 * A peer without a block of its own takes the top-level one, or else is
 * encrypted with the defaults when it has a public key (key mode). It
 * then needs a key: a psk, or the pair of keys; with both, the psk is a
 * second factor. The daemon listens for key exchanges on a single port
 * (per family), so every encrypted peer must use the same
 * handshake_port. Unencrypted peers do not count.
 */
static int
peer_encryption(struct loadctx *ctx)
{
	const struct wpeer *first = NULL;
	struct wpeer *p;
	size_t i;

	for (i = 0; i < ctx->npeers; i++) {
		p = &ctx->peers[i];
		if (check_public_key(ctx, i) == -1)
			return -1;
		if (p->eb.line == 0 && ctx->eb.line != 0)
			p->pc.enc = ctx->conf->enc;
		else if (p->eb.line == 0 && p->pc.has_public_key)
			enc_defaults(&p->pc.enc);
		if (!p->pc.enc.enabled)
			continue;
		if (p->pc.enc.psk[0] == '\0' && !p->pc.has_public_key)
			return fail(enc_line(ctx, p, F__COUNT), "encryption "
			    "needs psk or psk_file, or key pairs (peer '%s' "
			    "has no public_key)", p->pc.name);
		note_weak_psk(ctx, &p->pc.enc, enc_line(ctx, p, F_PSK));
		if (peer_engine(ctx, p) == -1)
			return -1;
		if (first == NULL)
			first = p;
		if (p->pc.enc.handshake_port == first->pc.enc.handshake_port)
			continue;
		return fail(enc_line(ctx, p, F_HANDSHAKE_PORT), "peer '%s' "
		    "would use handshake_port %u but peer '%s' (line %d) uses "
		    "%u: all encrypted peers must use one", p->pc.name,
		    p->pc.enc.handshake_port, first->pc.name, first->pc.line,
		    first->pc.enc.handshake_port);
	}
	return 0;
}

/* The private key's file must belong to root or to the user the daemon
 * runs as (who reads it again on a reload). */
static int
check_key_owner(struct loadctx *ctx)
{
	const struct config *conf = ctx->conf;
	const struct passwd *pw;

	if (conf->private_key == NULL || ctx->key_owner == 0)
		return 0;
	if (conf->user[0] != '\0' && (pw = getpwnam(conf->user)) != NULL &&
	    pw->pw_uid == ctx->key_owner)
		return 0;
	return fail(ctx->line[F_PRIVATE_KEY_FILE], "private_key_file: '%s' "
	    "belongs to uid %u: it must belong to root%s%s (chown root '%s')",
	    conf->private_key_file, (unsigned)ctx->key_owner,
	    conf->user[0] ? " or to user " : "", conf->user,
	    conf->private_key_file);
}

/* One UDP port a peer needs, what for, and the line that made it so. */
enum port_role { PORT_TUNNEL, PORT_ESP, PORT_HANDSHAKE };

static const char *const port_role_names[] = {
	[PORT_TUNNEL] = "tunnels",
	[PORT_ESP] = "ESP",
	[PORT_HANDSHAKE] = "the key exchange",
};

struct port_use {
	sa_family_t	 family;
	uint16_t	 port;
	enum port_role	 role;
	int		 line;
	const char	*peer;
};

static size_t
peer_ports(const struct loadctx *ctx, const struct wpeer *p,
    struct port_use use[2])
{
	const struct peer_config *pc = &p->pc;
	sa_family_t fam = pc->remote.family;
	size_t n = 0;

	if (!pc->enc.enabled) {
		if (pc->tun.encap != ENCAP_GRETAP)
			use[n++] = (struct port_use){ fam, pc->tun.port,
			    PORT_TUNNEL, p->line[F_PORT] ? p->line[F_PORT] :
			    ctx->line[F_PORT] ? ctx->line[F_PORT] : pc->line,
			    pc->name };
		return n;
	}
	if (pc->enc.transport == ESP_TRANSPORT_UDP)
		use[n++] = (struct port_use){ fam, ESP_UDP_PORT, PORT_ESP,
		    enc_line(ctx, p, F_TRANSPORT), pc->name };
	use[n++] = (struct port_use){ fam, pc->enc.handshake_port,
	    PORT_HANDSHAKE, enc_line(ctx, p, F_HANDSHAKE_PORT), pc->name };
	return n;
}

/* A UDP port serves one purpose: the tunnels of plain VXLAN or Geneve
 * peers, ESP in UDP, or the key exchange. */
static int
port_conflicts(struct loadctx *ctx)
{
	struct port_use a[2], b[2];

	for (size_t i = 0; i < ctx->npeers; i++) {
		size_t na = peer_ports(ctx, &ctx->peers[i], a);

		for (size_t j = 0; j <= i; j++) {
			size_t nb = peer_ports(ctx, &ctx->peers[j], b);

			for (size_t k = 0; k < na; k++)
				for (size_t l = 0; l < nb; l++) {
					if (a[k].family != b[l].family ||
					    a[k].port != b[l].port ||
					    a[k].role == b[l].role)
						continue;
					return fail(a[k].line, "UDP port %u "
					    "cannot serve both %s (peer '%s')"
					    " and %s (peer '%s', line %d)",
					    a[k].port,
					    port_role_names[a[k].role],
					    a[k].peer,
					    port_role_names[b[l].role],
					    b[l].peer, b[l].line);
				}
		}
	}
	return 0;
}

/* The etcd block's defaults and the checks across its options. */
static int
finish_etcd(struct loadctx *ctx)
{
	struct etcd_params *ep = &ctx->conf->etcd;
	const int *line = ctx->line;
	char host[256];

	if (line[F_ETCD_PREFIX] == 0)
		memcpy(ep->prefix, "/ovtund", sizeof("/ovtund"));
	if (line[F_ETCD_TTL] == 0)
		ep->ttl = ETCD_DEFAULT_TTL;
	if (line[F_ETCD_MEMBER_LIMIT] == 0)
		ep->member_limit = ETCD_DEFAULT_MEMBER_LIMIT;
	if (line[F_ETCD_NAME] == 0) {
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';	/* the short name */
		if (!valid_ident(host, sizeof(ep->name) - 1))
			return fail(ctx->etcd_line, "etcd: the host name '%s' "
			    "is no valid member name: set name", host);
		memcpy(ep->name, host, strlen(host) + 1);
	}
	if (line[F_ETCD_ADVERTISE] == 0) {
		if (ctx->conf->local.family == 0)
			return fail(ctx->etcd_line, "etcd needs advertise (the "
			    "address peers reach us at) when local is not set");
		ep->advertise[0] = ctx->conf->local;
		ep->n_advertise = 1;
	}
	if ((line[F_ETCD_CERT_FILE] == 0) != (line[F_ETCD_KEY_FILE] == 0))
		return fail(line[F_ETCD_CERT_FILE] + line[F_ETCD_KEY_FILE],
		    "cert_file and key_file go together");
	if ((line[F_ETCD_USERNAME] == 0) != (line[F_ETCD_PASSWORD_FILE] == 0))
		return fail(line[F_ETCD_USERNAME] + line[F_ETCD_PASSWORD_FILE],
		    "username and password_file go together");
	if (line[F_ETCD_STATE_FILE] == 0 && (size_t)snprintf(ep->state_file,
	    sizeof(ep->state_file), "%s/lib/ovtund/%s.members",
	    LOCALSTATEDIR, ctx->conf->interface) >= sizeof(ep->state_file))
		return fail(ctx->etcd_line, "state_file: too long");
	return 0;
}

/* Checks across options, once the whole file is read. No peer at all is
 * fine: the daemon then waits for a reload. */
static int
finish(struct loadctx *ctx)
{
	struct config *conf = ctx->conf;
	struct tunnel_params builtin = { .encap = ENCAP_VXLAN };
	int none[F__COUNT] = { 0 };
	struct level base = { NULL, &builtin, none, 0, NULL, NULL };
	struct level top = { conf, &conf->tun, ctx->line, 0, &conf->enc,
	    &ctx->eb };
	size_t i;

	memcpy(conf->key_line, ctx->line, sizeof(ctx->line));
	if (exclusive(ctx->line, F_BRIDGE, F_NETNS) == -1 ||
	    exclusive(ctx->line, F_BRIDGE, F_ADDRESS) == -1)
		return -1;
	if (conf->address.family == AF_INET6 && ctx->line[F_MTU] != 0 &&
	    conf->mtu < 1280)
		return fail(ctx->line[F_MTU], "mtu %u is below 1280, too small "
		    "for the IPv6 address", conf->mtu);
	if (resolve(&base, &top, &conf->tun) == -1)
		return -1;
	for (i = 0; i < ctx->npeers; i++) {
		if (check_peer(ctx, &top, i) == -1)
			return -1;
	}
	if (check_key_owner(ctx) == -1)
		return -1;
	if (conf->enc.enabled && conf->enc.psk[0] == '\0' &&
	    conf->private_key == NULL)
		return fail(ctx->eb.line, "encryption needs psk or psk_file, "
		    "or key pairs (private_key_file and the peers' "
		    "public_key)");
	note_weak_psk(ctx, &conf->enc, ctx->line[F_PSK] ? ctx->line[F_PSK] :
	    ctx->line[F_PSK_FILE]);
	if (peer_encryption(ctx) == -1 || port_conflicts(ctx) == -1)
		return -1;
	if (conf->etcd.enabled && finish_etcd(ctx) == -1)
		return -1;
	if (ctx->npeers == 0)
		return 0;
	if ((conf->peers = calloc(ctx->npeers, sizeof(*conf->peers))) == NULL)
		return fail(0, "%s", strerror(errno));
	for (i = 0; i < ctx->npeers; i++) {
		conf->peers[i] = ctx->peers[i].pc;
		conf->peers[i].pmtu = conf->pmtu;
		memcpy(conf->peers[i].key_line, ctx->peers[i].line,
		    sizeof(ctx->peers[i].line));
	}
	conf->n_peers = ctx->npeers;
	return 0;
}

static int
load(struct loadctx *ctx)
{
	struct config *conf;
	char *buf;
	int rc;

	if (strlen(ctx->path) >= sizeof(conf->path))
		return fail(0, "%s", strerror(ENAMETOOLONG));
	if ((conf = ctx->conf = calloc(1, sizeof(*conf))) == NULL)
		return fail(0, "%s", strerror(errno));
	memcpy(conf->path, ctx->path, strlen(ctx->path) + 1);
	memcpy(conf->interface, "ovt0", sizeof("ovt0"));
	memcpy(conf->control, CONFIG_DEFAULT_CONTROL,
	    sizeof(CONFIG_DEFAULT_CONTROL));
	conf->mac_aging = CONFIG_DEFAULT_AGING;
	conf->mac_table_size = CONFIG_DEFAULT_TABLE;
	conf->offload = true;
	conf->pmtu.df = DF_INHERIT;
	conf->pmtu.clamp_mss = true;
	conf->pmtu.icmp = true;
	if ((buf = slurp(ctx->path)) == NULL)
		return -1;
	rc = parse(ctx, buf);
	sodium_memzero(buf, strlen(buf));	/* it may hold a psk */
	free(buf);
	return rc == 0 ? finish(ctx) : -1;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct loadctx ctx;
	struct config *conf = NULL;

	memset(&ctx, 0, sizeof(ctx));
	ctx.path = path;
	ctx.err = err;
	ctx.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	cur = &ctx;
	if (load(&ctx) == 0) {
		conf = ctx.conf;
		ctx.conf = NULL;
	}
	cur = NULL;
	config_free(ctx.conf);
	if (ctx.peers != NULL)
		sodium_memzero(ctx.peers, ctx.peercap * sizeof(*ctx.peers));
	free(ctx.peers);
	return conf;
}

int
config_line(const struct config *conf, const struct peer_config *peer,
    const char *key)
{
	const int *line = peer != NULL ? peer->key_line : conf->key_line;

	for (size_t i = 0; i < F__COUNT; i++)
		if (strcmp(fields[i].name, key) == 0)
			return line[i];
	return 0;
	return 0;
}

bool
etcd_params_equal(const struct etcd_params *a, const struct etcd_params *b)
{
	if (a->enabled != b->enabled || a->n_endpoints != b->n_endpoints ||
	    a->n_advertise != b->n_advertise || a->ttl != b->ttl ||
	    a->member_limit != b->member_limit)
		return false;
	for (unsigned i = 0; i < a->n_endpoints; i++)
		if (strcmp(a->endpoints[i], b->endpoints[i]) != 0)
			return false;
	for (unsigned i = 0; i < a->n_advertise; i++)
		if (!addr_equal(&a->advertise[i], &b->advertise[i]))
			return false;
	return strcmp(a->prefix, b->prefix) == 0 &&
	    strcmp(a->name, b->name) == 0 &&
	    strcmp(a->ca_file, b->ca_file) == 0 &&
	    strcmp(a->cert_file, b->cert_file) == 0 &&
	    strcmp(a->key_file, b->key_file) == 0 &&
	    strcmp(a->username, b->username) == 0 &&
	    strcmp(a->password, b->password) == 0 &&
	    strcmp(a->state_file, b->state_file) == 0;
}

struct config *
config_with_peers(const struct config *base, const struct peer_config *extra,
    size_t n)
{
	struct config *c;
	size_t i, k = 0;

	if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	*c = *base;
	c->peers = NULL;
	c->n_peers = 0;
	c->private_key = NULL;
	if (base->private_key != NULL &&
	    (c->private_key = sodium_malloc(KEY_LEN)) == NULL) {
		config_free(c);
		return NULL;
	}
	if (c->private_key != NULL)
		memcpy(c->private_key, base->private_key, KEY_LEN);
	if (base->n_peers + n > 0 &&
	    (c->peers = calloc(base->n_peers + n, sizeof(*c->peers))) == NULL) {
		config_free(c);
		return NULL;
	}
	for (i = 0; i < base->n_peers; i++)
		if (base->peers[i].source == PEER_FILE)
			c->peers[k++] = base->peers[i];
	for (i = 0; i < n; i++)
		c->peers[k++] = extra[i];
	c->n_peers = k;
	return c;
}

void
config_free(struct config *conf)
{
	if (conf == NULL)
		return;
	/* Wipes the keys, and the rest with them. */
	if (conf->peers != NULL)
		sodium_memzero(conf->peers,
		    conf->n_peers * sizeof(*conf->peers));
	free(conf->peers);
	sodium_free(conf->private_key);
	sodium_memzero(conf, sizeof(*conf));
	free(conf);
}
