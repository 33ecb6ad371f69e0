/* ESP seal and open, RFC 4303 with the AEAD conventions shared by RFC 4106
 * §4-5 and RFC 7634 §2-2.1: nonce = salt || explicit IV, AAD = SPI ||
 * [seq_hi ||] seq_lo. On the wire:
 *
 *	SPI(4) seq_lo(4) IV(8) [ payload padding padlen(1) nh(1) ] ICV(16)
 *
 * with the bracketed part encrypted in place. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "byteorder.h"
#include "esp.h"

#define ESP_NONCE_LEN	(ESP_SALT_LEN + ESP_IV_LEN)
#define ESP_PROLOGUE	(ESP_HLEN + ESP_IV_LEN)	/* before the ciphertext */
#define ESP_TRAILER	2			/* pad length, next header */

_Static_assert(ESP_NONCE_LEN == AEAD_NONCE_LEN && ESP_ICV_LEN == AEAD_TAG_LEN,
    "ESP's nonce and ICV are the AEAD's");

/* Counters shared by the workers: relaxed, they order nothing. */
static void
stat_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

struct esp_aead_in {
	uint8_t		 nonce[ESP_NONCE_LEN];
	uint8_t		 aad[12];
	size_t		 aad_len;
};

static void
esp_aead_in(const struct esp_sa *sa, uint64_t seq, const uint8_t *iv,
    struct esp_aead_in *in)
{
	memcpy(in->nonce, sa->salt, ESP_SALT_LEN);
	memcpy(in->nonce + ESP_SALT_LEN, iv, ESP_IV_LEN);
	be32_put(in->aad, sa->spi);
	if (sa->esn) {
		be32_put(in->aad + 4, (uint32_t)(seq >> 32));
		be32_put(in->aad + 8, (uint32_t)seq);
		in->aad_len = 12;
	} else {
		be32_put(in->aad + 4, (uint32_t)seq);
		in->aad_len = 8;
	}
}

/* The caller keeps keymat; only the SA's copies are ours to wipe. */
int
esp_sa_new(struct esp_sa **sap, uint32_t spi, enum aead_cipher cipher,
    enum aead_engine engine, const uint8_t keymat[ESP_KEYMAT_LEN], bool esn,
    unsigned replay_window, unsigned lanes)
{
	struct esp_sa *sa;
	int error;

	if (spi < ESP_SPI_MIN)
		return -EINVAL;
	if (sodium_init() < 0 || (sa = sodium_malloc(sizeof(*sa))) == NULL)
		return -ENOMEM;
	sodium_memzero(sa, sizeof(*sa));
	if ((error = replay_init(&sa->rx, replay_window)) != 0) {
		sodium_free(sa);
		return error;
	}
	if ((error = aead_init(&sa->aead, cipher, engine, keymat, lanes)) != 0) {
		sodium_free(sa);
		return error;
	}
	if ((error = pthread_mutex_init(&sa->rx_lock, NULL)) != 0) {
		aead_free(&sa->aead);
		sodium_free(sa);
		return -error;
	}
	memcpy(sa->salt, keymat + ESP_KEY_LEN, ESP_SALT_LEN);
	sa->spi = spi;
	sa->esn = esn;
	sa->tx_seq = 1;
	*sap = sa;
	return 0;
}

/* OpenSSL wipes its copies of the key, sodium_free ours before
 * unmapping. */
void
esp_sa_free(struct esp_sa *sa)
{
	if (sa == NULL)
		return;
	aead_free(&sa->aead);
	pthread_mutex_destroy(&sa->rx_lock);
	sodium_free(sa);
}

static uint64_t
seq_max(const struct esp_sa *sa)
{
	return sa->esn ? UINT64_MAX : UINT32_MAX;
}

/* Padding so that payload and trailer end on 4 bytes (RFC 4303 §2.4). */
static size_t
pad_len(size_t len)
{
	return (4 - (len + ESP_TRAILER) % 4) % 4;
}

static bool
seal_fits(const struct pkt *p)
{
	size_t npad = pad_len(p->len);

	return pkt_headroom(p) >= ESP_PROLOGUE && p->ext_len == 0 &&
	    pkt_tailroom(p) >= npad + ESP_TRAILER + ESP_ICV_LEN;
}

/* The explicit IV is the sequence number: unique per SA, which is all
 * RFC 4106 §3.1 and RFC 7634 §2 ask of it. RFC 4303 §3.3.3: the counter
 * never cycles, so once it is used up the SA must be replaced. Workers
 * sealing at once each take their own number; one that does not fit
 * takes none. */
int
esp_seal(struct esp_sa *sa, unsigned lane, struct pkt *p, uint8_t next_header)
{
	uint8_t iv[ESP_IV_LEN];
	uint64_t seq;

	/* Taken with a compare-and-swap, not an add, so that the last
	 * number is never followed by a wrap back to 0 and 1. */
	seq = esp_tx_seq(sa);
	if (seq != 0 && seq <= seq_max(sa) && !seal_fits(p))
		return -ENOSPC;
	do {
		if (seq == 0 || seq > seq_max(sa))
			return -EOVERFLOW;
	} while (!__atomic_compare_exchange_n(&sa->tx_seq, &seq, seq + 1,
	    true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	be32_put(iv, (uint32_t)(seq >> 32));
	be32_put(iv + 4, (uint32_t)seq);
	return esp_seal_with_iv(sa, lane, p, next_header, seq, iv);
}

uint64_t
esp_tx_seq(const struct esp_sa *sa)
{
	return __atomic_load_n(&sa->tx_seq, __ATOMIC_RELAXED);
}

/* The lower half of esp_seal, for known-answer tests whose IV is not
 * their sequence number. The IV must never repeat under one key. Returns
 * -EOVERFLOW for a sequence number outside 1..2^32-1 (2^64-1 with ESN),
 * -ENOSPC without room; p is then unchanged. -EIO: the AEAD failed, and
 * p holds no packet to send. */
int
esp_seal_with_iv(struct esp_sa *sa, unsigned lane, struct pkt *p,
    uint8_t next_header, uint64_t seq, const uint8_t iv[ESP_IV_LEN])
{
	size_t len = p->len, npad = pad_len(len);
	struct esp_aead_in in;
	uint8_t *h, *t;

	if (seq == 0 || seq > seq_max(sa))
		return -EOVERFLOW;
	if (!seal_fits(p))
		return -ENOSPC;
	t = pkt_put(p, npad + ESP_TRAILER);
	for (size_t i = 0; i < npad; i++)
		t[i] = (uint8_t)(i + 1);
	t[npad] = (uint8_t)npad;
	t[npad + 1] = next_header;

	h = pkt_push(p, ESP_PROLOGUE);
	be32_put(h, sa->spi);
	be32_put(h + 4, (uint32_t)seq);
	memcpy(h + ESP_HLEN, iv, ESP_IV_LEN);

	esp_aead_in(sa, seq, iv, &in);
	if (aead_seal(&sa->aead, lane, in.nonce, in.aad, in.aad_len,
	    h + ESP_PROLOGUE, len + npad + ESP_TRAILER,
	    pkt_put(p, ESP_ICV_LEN)) != 0)
		return -EIO;
	stat_add(&sa->stats.packets, 1);
	stat_add(&sa->stats.bytes, len);
	return 0;
}

enum drop_reason
esp_spi_of(const struct pkt *p, uint32_t *spi)
{
	if (p->len < ESP_HLEN)
		return DROP_TOO_SHORT;
	*spi = be32_get(p->data);
	return DROP_NONE;
}

/* RFC 4303 §2.4: the receiver SHOULD check the default padding 1, 2, 3... */
static bool
pad_ok(const uint8_t *pad, size_t npad)
{
	for (size_t i = 0; i < npad; i++)
		if (pad[i] != (uint8_t)(i + 1))
			return false;
	return true;
}

/* RFC 4303 §3.4: replay check, ICV, then the window moves; only an
 * authenticated packet may move it. With ESN a packet older than the
 * window is taken for the next 2^32 block (Appendix A2.2) and so counts
 * as an ICV failure, not as too old. On success p holds the payload and
 * *next_header says what it is; next header 59 (a dummy packet, §2.6) is
 * for the caller to discard. On failure p->data and p->len are unchanged;
 * the contents are too, except after DROP_ESP_AUTH (ciphertext zeroed)
 * and DROP_ESP_BAD_PAD (decrypted in place). */
/* The replay check, before the ICV; with update, after it, once more
 * (another worker may have taken seq meanwhile) and then the window
 * moves. */
static enum drop_reason
replay_step(struct esp_sa *sa, uint64_t seq, bool update)
{
	enum drop_reason why;

	pthread_mutex_lock(&sa->rx_lock);
	why = replay_check(&sa->rx, seq);
	if (why == DROP_NONE && update)
		replay_update(&sa->rx, seq);
	pthread_mutex_unlock(&sa->rx_lock);
	if (why != DROP_NONE)
		stat_add(&sa->stats.replay_drops, 1);
	return why;
}

/* The sequence number p carries, its high half inferred with ESN. */
static uint64_t
seq_of(struct esp_sa *sa, const uint8_t *h)
{
	uint64_t seq = be32_get(h + 4);

	if (sa->esn) {
		pthread_mutex_lock(&sa->rx_lock);
		seq = replay_esn_seq(&sa->rx, (uint32_t)seq);
		pthread_mutex_unlock(&sa->rx_lock);
	}
	return seq;
}

enum drop_reason
esp_open(struct esp_sa *sa, unsigned lane, struct pkt *p, uint8_t *next_header)
{
	uint8_t *h = p->data, *ct, *t;
	enum drop_reason why;
	struct esp_aead_in in;
	size_t ct_len, npad;
	uint64_t seq;

	if (p->len < ESP_PROLOGUE + ESP_TRAILER + ESP_ICV_LEN)
		return DROP_TOO_SHORT;
	if (be32_get(h) != sa->spi)
		return DROP_ESP_UNKNOWN_SPI;
	seq = seq_of(sa, h);
	if ((why = replay_step(sa, seq, false)) != DROP_NONE)
		return why;

	ct = h + ESP_PROLOGUE;
	ct_len = p->len - ESP_PROLOGUE - ESP_ICV_LEN;
	esp_aead_in(sa, seq, h + ESP_HLEN, &in);
	/* A forged packet's ciphertext comes back zeroed: no unverified
	 * plaintext remains. */
	if (aead_open(&sa->aead, lane, in.nonce, in.aad, in.aad_len, ct,
	    ct_len, ct + ct_len) != 0) {
		stat_add(&sa->stats.auth_drops, 1);
		return DROP_ESP_AUTH;
	}
	if ((why = replay_step(sa, seq, true)) != DROP_NONE)
		return why;

	/* Authentic from here: a bad trailer is the peer's bug, and the
	 * window already holds seq so the packet cannot come back. */
	t = ct + ct_len - ESP_TRAILER;
	npad = t[0];
	if (npad > ct_len - ESP_TRAILER || !pad_ok(t - npad, npad))
		return DROP_ESP_BAD_PAD;
	*next_header = t[1];
	pkt_pull(p, ESP_PROLOGUE);
	p->len = ct_len - ESP_TRAILER - npad;
	stat_add(&sa->stats.packets, 1);
	stat_add(&sa->stats.bytes, p->len);
	return DROP_NONE;
}
