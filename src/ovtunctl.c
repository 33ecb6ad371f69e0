/* ovtunctl: sends one command to ovtund's control socket and prints the
 * answer. The daemon does the formatting; this stays a thin pipe. The key
 * commands (genkey, pubkey, genpsk) run here alone, as WireGuard's `wg`
 * ones do. */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include <event2/buffer.h>

#include "config.h"
#include "ctl-proto.h"
#include "emit.h"
#include "key.h"

static bool json_out;	/* --json: errors too are JSON, on stdout */

/* An error of ovtunctl's own: on stderr, and under --json also as the
 * object {"version": .., "error": ...} on stdout. */
static void __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	struct evbuffer *buf;
	struct emit *e;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ovtunctl: %s\n", msg);
	if (!json_out || (buf = evbuffer_new()) == NULL)
		return;
	if ((e = emit_new(buf, true)) != NULL) {
		emit_error(e, msg);
		emit_free(e);
		evbuffer_add(buf, "\n", 1);
		evbuffer_write(buf, STDOUT_FILENO);
	}
	evbuffer_free(buf);
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: ovtunctl [-j] [-s socket] command [--json] "
	    "[--keys] [--peer NAME]\n"
	    "       ovtunctl --version\n"
	    "  -j, --json            output JSON\n"
	    "  -s, --socket PATH     control socket (default "
	    CONFIG_DEFAULT_CONTROL ")\n"
	    "  --keys                sa: include the keys\n"
	    "  --peer NAME           stats: that peer's counters and drops\n"
	    "commands:\n");
	for (size_t i = 0; i < CTL_N_VERBS; i++)
		fprintf(out, "  %-8s %s\n", ctl_verbs[i].name,
		    ctl_verbs[i].help);
	fprintf(out, "key commands (no daemon needed):\n"
	    "  genkey   print a new private key\n"
	    "  pubkey   read a private key on stdin, print its public key\n"
	    "  genpsk   print a new pre-shared key\n");
}

/* A key on stdout, warning when it lands in a file others may read. */
static int
print_key(const uint8_t key[KEY_LEN], bool secret)
{
	char b64[KEY_B64_LEN + 1];
	struct stat st;

	if (secret && fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 077) != 0)
		fprintf(stderr, "ovtunctl: warning: writing a secret key to a "
		    "file group or others may read (umask 077 first)\n");
	key_to_base64(b64, key);
	printf("%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

/* genkey and genpsk: 32 bytes from libsodium's RNG. */
static int
generate(void)
{
	uint8_t *key = sodium_malloc(KEY_LEN);
	int ret;

	if (key == NULL) {
		fprintf(stderr, "ovtunctl: out of locked memory\n");
		return 1;
	}
	randombytes_buf(key, KEY_LEN);
	ret = print_key(key, true);
	sodium_free(key);
	return ret;
}

/* pubkey: a private key on stdin, its public key on stdout. */
static int
pubkey(void)
{
	uint8_t *priv = sodium_malloc(KEY_LEN), pub[KEY_LEN];
	char buf[KEY_B64_LEN + 8];
	size_t len = 0;
	ssize_t n;
	int ret = 1;

	if (priv == NULL) {
		fprintf(stderr, "ovtunctl: out of locked memory\n");
		return 1;
	}
	while (len < sizeof(buf) && ((n = read(STDIN_FILENO, buf + len,
	    sizeof(buf) - len)) > 0 || (n == -1 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	if (key_from_base64(priv, buf, len) == -1) {
		fprintf(stderr, "ovtunctl: pubkey: stdin does not hold a "
		    "private key (44 characters of base64, as genkey prints "
		    "it)\n");
	} else {
		key_public(pub, priv);
		ret = print_key(pub, false);
	}
	sodium_memzero(buf, sizeof(buf));
	sodium_free(priv);
	return ret;
}

/* The commands that need no daemon; -1 if name is not one. */
static int
key_command(const char *name)
{
	if (strcmp(name, "genkey") != 0 && strcmp(name, "genpsk") != 0 &&
	    strcmp(name, "pubkey") != 0)
		return -1;
	if (sodium_init() < 0) {
		fprintf(stderr, "ovtunctl: libsodium failed to initialize\n");
		return 1;
	}
	return strcmp(name, "pubkey") == 0 ? pubkey() : generate();
}

static const struct ctl_verb *
verb_find(const char *name)
{
	for (size_t i = 0; i < CTL_N_VERBS; i++)
		if (strcmp(ctl_verbs[i].name, name) == 0)
			return &ctl_verbs[i];
	return NULL;
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { CTL_CLIENT_TIMEOUT_SEC, 0 };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fail("%s: path too long", path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fail("socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			fail("no ovtund is running on %s (%s)", path,
			    strerror(errno));
		else
			fail("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
read_full(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Copies len bytes of reply to out; the length was bounded by the
 * caller, and it is read in chunks so a large table needs no big buffer. */
static int
copy_reply(int fd, size_t len, FILE *out)
{
	char buf[8192];

	while (len > 0) {
		size_t chunk = len < sizeof(buf) ? len : sizeof(buf);

		if (read_full(fd, buf, chunk) < 0)
			return -1;
		fwrite(buf, 1, chunk, out);
		len -= chunk;
	}
	return 0;
}

/* monitor: the answer streams until the daemon closes it (or we are
 * interrupted); each line goes out as it comes, for pipes too. */
static int
copy_stream(int fd, FILE *out)
{
	struct timeval forever = { 0, 0 };
	char buf[8192];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n ||
		    fflush(out) != 0)
			return -1;
	}
	fprintf(stderr, "ovtunctl: ovtund closed the event stream\n");
	return -1;
}

static int
run(const char *path, const struct ctl_verb *verb, uint32_t flags,
    const char *arg)
{
	struct ctl_request req = {
		.magic = CTL_MAGIC,
		.version = CTL_VERSION,
		.command = (uint16_t)verb->command,
		.flags = flags,
		.arg_len = (uint32_t)strlen(arg),
	};
	char msg[CTL_REQUEST_MAX];
	struct ctl_response rsp;
	int fd, ret = 1;

	if ((fd = ctl_connect(path)) < 0)
		return 1;
	memcpy(msg, &req, sizeof(req));
	memcpy(msg + sizeof(req), arg, req.arg_len);
	if (write(fd, msg, sizeof(req) + req.arg_len) !=
	    (ssize_t)(sizeof(req) + req.arg_len) ||
	    read_full(fd, &rsp, sizeof(rsp)) < 0) {
		fail("%s: no answer from ovtund", path);
	} else if (rsp.magic != CTL_MAGIC || rsp.version != CTL_VERSION ||
	    (rsp.len > CTL_RESPONSE_MAX && rsp.len != CTL_STREAM)) {
		fail("%s: malformed answer", path);
	} else if (rsp.len == CTL_STREAM) {
		ret = copy_stream(fd, stdout) < 0 ? 1 : 0;
	} else if (copy_reply(fd, rsp.len, rsp.status == CTL_OK || json_out ?
	    stdout : stderr) < 0) {
		fail("%s: answer cut short", path);
	} else {
		/* Under JSON, an error is the daemon's JSON object. */
		if (json_out)
			putchar('\n');
		ret = rsp.status == CTL_OK ? 0 : 1;
	}
	close(fd);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_CONTROL, *arg = "";
	const struct ctl_verb *verb;
	uint32_t flags = 0;
	int ch, ret;

	/* A daemon that refuses us closes the socket: say so, not die. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "+hjs:V", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'j':
			flags |= CTL_FLAG_JSON;
			json_out = true;
			break;
		case 'V':
			printf("ovtunctl %s\n", PACKAGE_VERSION);
			return 0;
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 1) {
		fail("no command given");
		usage(stderr);
		return 2;
	}
	if (argc - optind == 1 && (ret = key_command(argv[optind])) >= 0)
		return ret;
	if ((verb = verb_find(argv[optind])) == NULL) {
		fail("unknown command '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	/* Options after the command: --json (as before it), sa --keys,
	 * stats --peer NAME. */
	for (int i = optind + 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0) {
			flags |= CTL_FLAG_JSON;
			json_out = true;
		} else if (verb->command == CTL_SA &&
		    strcmp(argv[i], "--keys") == 0) {
			flags |= CTL_FLAG_KEYS;
		} else if (verb->command == CTL_STATS &&
		    strcmp(argv[i], "--peer") == 0 && i + 1 < argc &&
		    strlen(argv[i + 1]) < CTL_REQUEST_MAX -
		    sizeof(struct ctl_request)) {
			arg = argv[++i];
		} else {
			fail("%s: unexpected '%s'", verb->name, argv[i]);
			usage(stderr);
			return 2;
		}
	}
	return run(path, verb, flags, arg);
}
