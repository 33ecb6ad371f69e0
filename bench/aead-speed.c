/* Per-call speed of each AEAD engine of src/aead.h on this machine: one
 * buffer sealed (and opened) in place per call, one thread, the way ESP
 * uses them (12-byte nonce, 8-byte AAD, 16-byte tag; the context made
 * once). Prints GB/s of CPU time for each cipher, engine and size: the
 * median of ROUNDS rounds of ROUND_MS each.
 *
 *	bench/aead-speed [ROUNDS [ROUND_MS]]		(default 5 x 200 ms) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aead.h"

#define MAX_ROUNDS	51

static const size_t sizes[] = { 64, 576, 1400, 8192, 65536 };

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* GB/s of one round. open: seal once, then open a fresh copy of that
 * packet each time (opening in place decrypts it); the copy, a memcpy
 * many times faster than the AEAD, is counted in, for both engines. */
static double
round_gbps(struct aead *a, uint8_t *buf, size_t len, int open, double secs)
{
	static const uint8_t aad[8];
	uint8_t nonce[AEAD_NONCE_LEN] = { 0 }, tag[AEAD_TAG_LEN];
	uint8_t *copy = malloc(len);
	double start = now_s(), t;
	uint64_t n = 0;

	if (copy == NULL)
		return 0;
	if (open) {
		aead_seal(a, 0, nonce, aad, sizeof(aad), buf, len, tag);
		memcpy(copy, buf, len);
	}
	do {
		for (int i = 0; i < 32; i++, n++) {
			if (open) {
				memcpy(buf, copy, len);
				if (aead_open(a, 0, nonce, aad, sizeof(aad),
				    buf, len, tag) != 0) {
					fprintf(stderr, "open failed\n");
					exit(1);
				}
			} else {
				memcpy(nonce + 4, &n, sizeof(n));
				aead_seal(a, 0, nonce, aad, sizeof(aad), buf,
				    len, tag);
			}
		}
	} while ((t = now_s() - start) < secs);
	free(copy);
	return (double)(n * len) / t / 1e9;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	double secs = (argc > 2 ? atoi(argv[2]) : 200) / 1000.0;
	double r[MAX_ROUNDS];
	uint8_t key[AEAD_KEY_LEN] = { 1 }, *buf = calloc(1, 65536);
	struct aead *a;

	if (rounds < 1 || rounds > MAX_ROUNDS || secs <= 0 || buf == NULL ||
	    sodium_init() < 0 || (a = sodium_malloc(sizeof(*a))) == NULL) {
		fprintf(stderr, "usage: aead-speed [ROUNDS (1-%d) [ROUND_MS]]\n",
		    MAX_ROUNDS);
		return 2;
	}
	printf("%-18s %-10s %-5s", "cipher", "engine", "op");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
		printf(" %7zuB", sizes[s]);
	printf("   (GB/s, median of %d x %.0f ms)\n", rounds, secs * 1000);
	for (int c = 0; c < AEAD__CIPHERS; c++) {
		for (int e = AEAD_LIBSODIUM; e < AEAD__ENGINES; e++) {
			if (aead_init(a, c, e, key, 1) != 0)
				continue;
			for (int op = 0; op < 2; op++) {
				printf("%-18s %-10s %-5s", aead_cipher_name(c),
				    aead_engine_name(e), op ? "open" : "seal");
				for (size_t s = 0; s < sizeof(sizes) /
				    sizeof(*sizes); s++) {
					for (int i = 0; i < rounds; i++)
						r[i] = round_gbps(a, buf,
						    sizes[s], op, secs);
					qsort(r, rounds, sizeof(*r),
					    cmp_double);
					printf(" %8.2f", r[rounds / 2]);
				}
				printf("\n");
			}
			aead_free(a);
		}
		printf("%-18s auto picks %s\n", aead_cipher_name(c),
		    aead_engine_name(aead_auto(c)));
	}
	sodium_free(a);
	free(buf);
	return 0;
}
