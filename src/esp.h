/* ESP, RFC 4303, in transport mode around what an encapsulation built: the
 * GRE header and frame (next header 47), or the UDP header with VXLAN or
 * Geneve and frame (next header 17). Two AEADs, each with a 16-byte ICV:
 * ChaCha20-Poly1305 (RFC 7634) and AES-256-GCM (RFC 4106), by either
 * engine of aead.h. Like the codecs, pure functions over a packet with
 * headroom: no sockets, no clock. An SA is one direction; it lives in
 * sodium_malloc'd memory (guard pages, mlocked, wiped on free) because it
 * holds the key. */
#ifndef OVT_ESP_H
#define OVT_ESP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "aead.h"
#include "drop.h"
#include "pkt.h"
#include "replay.h"

#define ESP_HLEN	8	/* SPI, sequence number */
#define ESP_IV_LEN	8
#define ESP_ICV_LEN	16
#define ESP_KEY_LEN	AEAD_KEY_LEN
#define ESP_SALT_LEN	4
/* RFC 4106 §8.1, RFC 7634 §2: the key, then the salt. */
#define ESP_KEYMAT_LEN	(ESP_KEY_LEN + ESP_SALT_LEN)
/* Header, IV, up to 3 bytes of padding, pad length, next header, ICV. */
#define ESP_OVERHEAD_MAX	(ESP_HLEN + ESP_IV_LEN + 3 + 2 + ESP_ICV_LEN)
/* RFC 4303 §2.1: SPIs 1-255 are reserved to IANA, 0 is never sent. */
#define ESP_SPI_MIN	256

struct esp_stats {
	uint64_t	 packets;	/* sealed, or opened and accepted */
	uint64_t	 bytes;		/* payload, without ESP's additions */
	uint64_t	 replay_drops;	/* replayed or too old */
	uint64_t	 auth_drops;	/* ICV mismatch */
};

/* Workers seal and open with one SA at once, each in its own lane (the
 * AEAD's per-thread state): the key is read-only, the sequence number and
 * the counters change atomically, and the replay window is held under
 * rx_lock, taken twice per packet (check, then update) and never across
 * the AEAD. Only one worker reads a given SA's packets as a rule (they
 * share a flow), so the lock is uncontended. */
struct esp_sa {
	struct aead	 aead;		/* the key, the cipher, the engine */
	uint8_t		 salt[ESP_SALT_LEN];
	uint32_t	 spi;
	bool		 esn;		/* 64-bit sequence numbers */
	uint64_t	 tx_seq;	/* next to send, from 1 (atomic) */
	pthread_mutex_t	 rx_lock;	/* rx */
	struct replay	 rx;
	struct esp_stats stats;		/* atomic */
};

/* lanes: how many threads may use the SA at once; each passes its lane
 * number, 0 .. lanes - 1, to esp_seal and esp_open. engine may be
 * AEAD_AUTO. -ENOTSUP: that engine cannot run the cipher here. */
int		 esp_sa_new(struct esp_sa **, uint32_t spi, enum aead_cipher,
		     enum aead_engine, const uint8_t keymat[ESP_KEYMAT_LEN],
		     bool esn, unsigned replay_window, unsigned lanes);
void		 esp_sa_free(struct esp_sa *);

int		 esp_seal(struct esp_sa *, unsigned lane, struct pkt *,
		     uint8_t next_header);
/* The next sequence number esp_seal would use (atomic read). */
uint64_t	 esp_tx_seq(const struct esp_sa *);
int		 esp_seal_with_iv(struct esp_sa *, unsigned lane, struct pkt *,
		     uint8_t next_header, uint64_t seq,
		     const uint8_t iv[ESP_IV_LEN]);
enum drop_reason esp_open(struct esp_sa *, unsigned lane, struct pkt *,
		     uint8_t *next_header);
enum drop_reason esp_spi_of(const struct pkt *, uint32_t *spi);

#endif
