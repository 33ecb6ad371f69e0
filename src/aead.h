/* The AEADs of ESP (12-byte nonce, 16-byte tag), with more than one
 * implementation behind them, the way the kernel's crypto API has
 * drivers: libsodium's (always there) and OpenSSL libcrypto's EVP (where
 * the build found it). libsodium 1.0.18 has no AVX-512 ChaCha20 and an
 * AES-GCM tuned for older cores; OpenSSL has both, but its set-up per
 * call costs more than a packet, so an OpenSSL key keeps one cipher
 * context per lane (a thread that may use it), made once, and each call
 * only sets the nonce. "auto" takes whichever sealed fastest in a short
 * self-benchmark, once per process and cipher.
 *
 * A struct aead holds the key; it lives inside its ESP SA, in
 * sodium_malloc'd memory. OpenSSL keeps its own copies of the key in its
 * contexts, which EVP_CIPHER_CTX_free wipes (aead_free). */
#ifndef OVT_AEAD_H
#define OVT_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define AEAD_KEY_LEN	32
#define AEAD_NONCE_LEN	12
#define AEAD_TAG_LEN	16
#define AEAD_AAD_MAX	12

enum aead_cipher {
	AEAD_CHACHA20_POLY1305,		/* RFC 7634 in ESP */
	AEAD_AES256_GCM,		/* RFC 4106 in ESP */
	AEAD__CIPHERS
};

enum aead_engine {
	AEAD_AUTO,			/* the faster here, measured */
	AEAD_LIBSODIUM,
	AEAD_OPENSSL,
	AEAD__ENGINES
};

struct aead_ops;

struct aead {
	const struct aead_ops	*ops;
	enum aead_cipher	 cipher;
	enum aead_engine	 engine;	/* never AEAD_AUTO */
	unsigned		 lanes;
	union {
		crypto_aead_aes256gcm_state	aes;	/* libsodium, expanded */
		uint8_t				chacha[AEAD_KEY_LEN];
		void				**evp;	/* OpenSSL, per lane */
	} k;
};

/* As the configuration spells them. */
const char	*aead_cipher_name(enum aead_cipher);
const char	*aead_engine_name(enum aead_engine);
/* Whether engine (not AEAD_AUTO) can run cipher here: built in, and for
 * libsodium's AES-GCM, the CPU has AES-NI and PCLMUL. */
bool		 aead_available(enum aead_cipher, enum aead_engine);
/* The engine AEAD_AUTO stands for: the first call per cipher runs the
 * self-benchmark (tens of milliseconds), later ones remember it.
 * AEAD__ENGINES when nothing here runs cipher. Any thread. */
enum aead_engine aead_auto(enum aead_cipher);
/* What the self-benchmark measured, in GB/s sealed (0: not measured, or
 * the engine cannot run the cipher). */
double		 aead_measured_gbps(enum aead_cipher, enum aead_engine);

/* -ENOTSUP: that engine cannot run cipher here; -ENOMEM. A may be used by
 * lanes threads at once, each with its own lane number. */
int		 aead_init(struct aead *, enum aead_cipher, enum aead_engine,
		    const uint8_t key[AEAD_KEY_LEN], unsigned lanes);
void		 aead_free(struct aead *);

/* In place over b; the tag goes to tag. Nothing allocated. -1 only when
 * the library fails (never seen), and then b is no packet to send. */
int		 aead_seal(struct aead *, unsigned lane,
		    const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *aad,
		    size_t aad_len, uint8_t *b, size_t len,
		    uint8_t tag[AEAD_TAG_LEN]);
/* In place; 0, or -1 when the tag does not match, and then b is zeroed:
 * no unverified plaintext remains. */
int		 aead_open(struct aead *, unsigned lane,
		    const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *aad,
		    size_t aad_len, uint8_t *b, size_t len,
		    const uint8_t tag[AEAD_TAG_LEN]);

/* The implementations (aead-sodium.c, aead-openssl.c). */
struct aead_ops {
	bool	(*available)(enum aead_cipher);
	int	(*init)(struct aead *, const uint8_t key[AEAD_KEY_LEN]);
	void	(*free)(struct aead *);
	int	(*seal)(struct aead *, unsigned lane, const uint8_t *nonce,
		    const uint8_t *aad, size_t aad_len, uint8_t *b,
		    size_t len, uint8_t *tag);
	int	(*open)(struct aead *, unsigned lane, const uint8_t *nonce,
		    const uint8_t *aad, size_t aad_len, uint8_t *b,
		    size_t len, const uint8_t *tag);
};

extern const struct aead_ops aead_sodium_ops;
#ifdef HAVE_LIBCRYPTO
extern const struct aead_ops aead_openssl_ops;
#endif

#endif
