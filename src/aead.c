/* Which implementation seals: the dispatch, and the self-benchmark behind
 * crypto_engine = auto. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "aead.h"

/* The self-benchmark: a packet of a full-sized TCP segment's ESP
 * payload, sealed over and over in short rounds that alternate the
 * engines, the best round of each kept. It counts the thread's CPU time,
 * so the scheduler's preemptions do not count; in a virtual machine the
 * time the host takes the vCPU away does, hence many short rounds. Some
 * processes still measure OpenSSL's AES-GCM a third low throughout, and
 * auto then keeps libsodium's (bench/RESULTS.md, 2026-12-04). */
#define BENCH_LEN	1400
#define BENCH_ROUNDS	8
#define BENCH_ROUND_NS	1500000		/* 1.5 ms */
/* OpenSSL's contexts live outside the guarded memory the SA's own key
 * has: libsodium keeps a cipher unless OpenSSL is clearly faster. */
#define BENCH_MARGIN	1.10

static const struct aead_ops *const engines[AEAD__ENGINES] = {
	[AEAD_LIBSODIUM] = &aead_sodium_ops,
#ifdef HAVE_LIBCRYPTO
	[AEAD_OPENSSL] = &aead_openssl_ops,
#endif
};

static pthread_once_t bench_once = PTHREAD_ONCE_INIT;
static double measured[AEAD__CIPHERS][AEAD__ENGINES];	/* GB/s */
static enum aead_engine fastest[AEAD__CIPHERS];

const char *
aead_cipher_name(enum aead_cipher cipher)
{
	return cipher == AEAD_AES256_GCM ? "aes256-gcm" : "chacha20-poly1305";
}

const char *
aead_engine_name(enum aead_engine engine)
{
	switch (engine) {
	case AEAD_AUTO:
		return "auto";
	case AEAD_LIBSODIUM:
		return "libsodium";
	case AEAD_OPENSSL:
		return "openssl";
	default:
		return "none";
	}
}

bool
aead_available(enum aead_cipher cipher, enum aead_engine engine)
{
	return engine > AEAD_AUTO && engine < AEAD__ENGINES &&
	    engines[engine] != NULL && engines[engine]->available(cipher);
}

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* GB/s of one round; 0 if the engine failed. */
static double
bench_round(struct aead *a, uint8_t *buf)
{
	static const uint8_t aad[8];
	uint8_t nonce[AEAD_NONCE_LEN] = { 0 }, tag[AEAD_TAG_LEN];
	uint64_t start = cpu_ns(), elapsed, n = 0;

	do {
		for (int i = 0; i < 16; i++, n++) {
			memcpy(nonce + 4, &n, sizeof(n));
			if (aead_seal(a, 0, nonce, aad, sizeof(aad), buf,
			    BENCH_LEN, tag) != 0)
				return 0;
		}
	} while ((elapsed = cpu_ns() - start) < BENCH_ROUND_NS);
	return (double)(n * BENCH_LEN) / (double)elapsed;
}

static void
bench_cipher(enum aead_cipher c)
{
	static uint8_t buf[BENCH_LEN];
	struct aead *a[AEAD__ENGINES] = { NULL };
	uint8_t key[AEAD_KEY_LEN];
	double gbps;

	randombytes_buf(key, sizeof(key));
	for (int e = AEAD_LIBSODIUM; e < AEAD__ENGINES; e++) {
		if ((a[e] = sodium_malloc(sizeof(*a[e]))) != NULL &&
		    aead_init(a[e], c, e, key, 1) != 0) {
			sodium_free(a[e]);
			a[e] = NULL;
		}
	}
	for (int r = 0; r < BENCH_ROUNDS; r++) {
		for (int e = AEAD_LIBSODIUM; e < AEAD__ENGINES; e++) {
			if (a[e] == NULL)
				continue;
			gbps = bench_round(a[e], buf);
			if (gbps > measured[c][e])
				measured[c][e] = gbps;
		}
	}
	fastest[c] = AEAD__ENGINES;
	for (int e = AEAD_LIBSODIUM; e < AEAD__ENGINES; e++) {
		if (a[e] != NULL && measured[c][e] > 0 &&
		    (fastest[c] == AEAD__ENGINES ||
		    measured[c][e] > measured[c][fastest[c]] * BENCH_MARGIN))
			fastest[c] = e;
		if (a[e] != NULL)
			aead_free(a[e]);
		sodium_free(a[e]);
	}
	sodium_memzero(key, sizeof(key));
}

/* sodium_malloc needs sodium_init first. */
static void
bench_all(void)
{
	for (int c = 0; c < AEAD__CIPHERS; c++)
		fastest[c] = AEAD__ENGINES;
	if (sodium_init() < 0)
		return;
	for (int c = 0; c < AEAD__CIPHERS; c++)
		bench_cipher(c);
}

enum aead_engine
aead_auto(enum aead_cipher cipher)
{
	pthread_once(&bench_once, bench_all);
	return fastest[cipher];
}

double
aead_measured_gbps(enum aead_cipher cipher, enum aead_engine engine)
{
	pthread_once(&bench_once, bench_all);
	return engine > AEAD_AUTO && engine < AEAD__ENGINES ?
	    measured[cipher][engine] : 0;
}

int
aead_init(struct aead *a, enum aead_cipher cipher, enum aead_engine engine,
    const uint8_t key[AEAD_KEY_LEN], unsigned lanes)
{
	int error;

	if (engine == AEAD_AUTO)
		engine = aead_auto(cipher);
	if (lanes == 0 || !aead_available(cipher, engine))
		return lanes == 0 ? -EINVAL : -ENOTSUP;
	a->ops = engines[engine];
	a->cipher = cipher;
	a->engine = engine;
	a->lanes = lanes;
	if ((error = a->ops->init(a, key)) != 0)
		a->ops = NULL;
	return error;
}

void
aead_free(struct aead *a)
{
	if (a->ops != NULL)
		a->ops->free(a);
	a->ops = NULL;
}

int
aead_seal(struct aead *a, unsigned lane, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, uint8_t *b, size_t len,
    uint8_t tag[AEAD_TAG_LEN])
{
	return a->ops->seal(a, lane, nonce, aad, aad_len, b, len, tag);
}

int
aead_open(struct aead *a, unsigned lane, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, uint8_t *b, size_t len,
    const uint8_t tag[AEAD_TAG_LEN])
{
	return a->ops->open(a, lane, nonce, aad, aad_len, b, len, tag);
}
