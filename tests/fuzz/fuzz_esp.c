/* ESP seal and open on a fixed SA pair, against a model of RFC 4303. The
 * first byte picks the cipher, ESN, the replay window and the AEAD engine
 * of each SA (so one engine seals what the other opens); the rest is a
 * program of steps:
 *
 *	raw	arbitrary bytes (optionally with our SPI and a chosen
 *		sequence number stamped on) to the inbound SA
 *	seal	a chosen payload and next header on the outbound SA; the
 *		packet is checked byte for byte against an independent
 *		AEAD and kept in a ring, then (usually) delivered at once
 *	deliver	a kept packet again: as it was, with one bit flipped,
 *		truncated, extended, or to an SA with another key
 *	seq	moves the outbound sequence number (ahead, back, to the
 *		window's edges, past 2^32)
 *	forge	an authentic packet (the key is known here) around any
 *		plaintext, so the trailer checks after the ICV get fuzzed
 *
 * After each step esp_open's verdict must be the one the model predicts:
 * the set of accepted sequence numbers with the window rule of §3.4.3,
 * and with ESN the high half of Appendix A2.2 written as "the one value
 * in [top - W + 1, top - W + 1 + 2^32) with these low 32 bits". A failure
 * leaves p->data, p->len and the window alone (the contents too, except
 * as esp_open documents), a success yields exactly the payload, and the
 * counters agree. */
#include <errno.h>
#include <stdbool.h>

#include <sodium.h>

#include "byteorder.h"
#include "esp.h"

#include "fuzz.h"

#define SPI		0x0a0b0c0dU
#define N_SLOTS		16
#define MAX_OPS		4096
#define PROLOGUE	(ESP_HLEN + ESP_IV_LEN)
#define MIN_LEN		(PROLOGUE + 2 + ESP_ICV_LEN)

static const unsigned windows[] = {
	64, 65, 100, 127, 128, 1024, 4096, 8191, 8192,
};

static const uint8_t keymat[ESP_KEYMAT_LEN] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
	0xca, 0xfe, 0xba, 0xbe,
};
static const uint8_t other_keymat[ESP_KEYMAT_LEN] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9e,	/* one bit */
	0xca, 0xfe, 0xba, 0xbe,
};

/* len bytes from the input; a pattern once it runs out. */
static void
getbytes(struct fuzz_rd *r, uint8_t *b, size_t len)
{
	for (size_t i = fuzz_take(r, b, len); i < len; i++)
		b[i] = (uint8_t)(i * 7 + 1);
}

/* ---- the model ---- */

struct model {
	bool		 esn;
	unsigned	 size;
	uint64_t	 top;
	uint64_t	*acc;		/* every sequence number accepted */
	size_t		 nacc, cap;
	struct esp_stats st;		/* what the inbound SA must count */
};

static bool
model_seen(const struct model *m, uint64_t seq)
{
	for (size_t i = 0; i < m->nacc; i++)
		if (m->acc[i] == seq)
			return true;
	return false;
}

static void
model_accept(struct model *m, uint64_t seq)
{
	FUZZ_CHECK(!model_seen(m, seq));
	if (m->nacc == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->acc = realloc(m->acc, m->cap * sizeof(*m->acc));
		FUZZ_CHECK(m->acc != NULL);
	}
	m->acc[m->nacc++] = seq;
	if (seq > m->top)
		m->top = seq;
}

/* RFC 4303 §3.4.3 on a full sequence number. */
static enum drop_reason
model_window(const struct model *m, uint64_t seq)
{
	if (seq == 0)
		return DROP_ESP_TOO_OLD;
	if (seq > m->top)
		return DROP_NONE;
	if (m->top - seq >= m->size)
		return DROP_ESP_TOO_OLD;
	if (model_seen(m, seq))
		return DROP_ESP_REPLAY;
	return DROP_NONE;
}

/* The lowest sequence number the receiver places a packet at. */
static uint64_t
model_lower(const struct model *m)
{
	return m->top >= m->size - 1 ? m->top - (m->size - 1) : 0;
}

/* The full sequence number the receiver takes seq_lo for. */
static uint64_t
model_infer(const struct model *m, uint32_t seq_lo)
{
	uint64_t lower;

	if (!m->esn)
		return seq_lo;
	lower = model_lower(m);
	return lower + (uint32_t)(seq_lo - (uint32_t)lower);
}

/* ---- an AEAD of our own, for the expected bytes ---- */

struct ctx {
	struct model	 m;
	enum aead_cipher cipher;
	enum aead_engine out_engine, in_engine;
	struct esp_sa	*out, *in, *wrong;
	struct sent {
		uint8_t	*b;		/* as sealed */
		size_t	 len;
		uint64_t seq;
		uint8_t	*pt;		/* the plaintext inside */
		size_t	 pt_len;
	} slot[N_SLOTS];
	unsigned	 next_slot;
};

/* SPI || seq || IV || AEAD(pt) || ICV, made without esp.c. */
static uint8_t *
ref_seal(const struct ctx *c, const uint8_t km[ESP_KEYMAT_LEN], uint64_t seq,
    const uint8_t iv[ESP_IV_LEN], const uint8_t *pt, size_t pt_len,
    size_t *len)
{
	uint8_t nonce[ESP_SALT_LEN + ESP_IV_LEN], aad[12];
	size_t aad_len;
	uint8_t *b;

	*len = PROLOGUE + pt_len + ESP_ICV_LEN;
	FUZZ_CHECK((b = malloc(*len)) != NULL);
	be32_put(b, SPI);
	be32_put(b + 4, (uint32_t)seq);
	memcpy(b + ESP_HLEN, iv, ESP_IV_LEN);
	memcpy(nonce, km + ESP_KEY_LEN, ESP_SALT_LEN);
	memcpy(nonce + ESP_SALT_LEN, iv, ESP_IV_LEN);
	be32_put(aad, SPI);
	if (c->m.esn) {
		be32_put(aad + 4, (uint32_t)(seq >> 32));
		be32_put(aad + 8, (uint32_t)seq);
		aad_len = 12;
	} else {
		be32_put(aad + 4, (uint32_t)seq);
		aad_len = 8;
	}
	if (c->cipher == AEAD_AES256_GCM)
		crypto_aead_aes256gcm_encrypt_detached(b + PROLOGUE,
		    b + PROLOGUE + pt_len, NULL, pt, pt_len, aad, aad_len,
		    NULL, nonce, km);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(
		    b + PROLOGUE, b + PROLOGUE + pt_len, NULL, pt, pt_len,
		    aad, aad_len, NULL, nonce, km);
	return b;
}

static void
check_stats(const struct ctx *c)
{
	const struct esp_stats *s = &c->in->stats;

	FUZZ_CHECK(s->packets == c->m.st.packets);
	FUZZ_CHECK(s->bytes == c->m.st.bytes);
	FUZZ_CHECK(s->replay_drops == c->m.st.replay_drops);
	FUZZ_CHECK(s->auth_drops == c->m.st.auth_drops);
}

/* Opens b on sa and checks the verdict. authentic: b is a packet made
 * with sa's key for the full sequence number seq around plaintext pt
 * (payload, padding, pad length, next header); otherwise no packet of
 * ours. sa is c->in (the model follows it) or c->wrong (empty window,
 * never accepts). */
static void
open_and_check(struct ctx *c, struct esp_sa *sa, const uint8_t *b, size_t len,
    bool authentic, uint64_t seq, const uint8_t *pt, size_t pt_len)
{
	static struct replay before;
	struct model empty = { .esn = c->m.esn, .size = c->m.size };
	struct model *m = sa == c->in ? &c->m : &empty;
	enum drop_reason want, got;
	struct pkt *p;
	uint8_t *start, nh = 0xa5;
	uint64_t s = 0;
	size_t ct_len = 0, npad = 0;
	bool pad_ok = false;

	/* The verdict. */
	if (len < MIN_LEN) {
		want = DROP_TOO_SHORT;
	} else if (be32_get(b) != SPI) {
		want = DROP_ESP_UNKNOWN_SPI;
	} else {
		s = model_infer(m, be32_get(b + 4));
		want = model_window(m, s);
		if (want == DROP_NONE && (!authentic || s != seq ||
		    sa != c->in))
			want = DROP_ESP_AUTH;
	}
	if (want == DROP_NONE) {
		ct_len = len - PROLOGUE - ESP_ICV_LEN;
		FUZZ_CHECK(pt_len == ct_len);
		npad = pt[ct_len - 2];
		pad_ok = npad <= ct_len - 2;
		for (size_t i = 0; pad_ok && i < npad; i++)
			pad_ok = pt[ct_len - 2 - npad + i] == (uint8_t)(i + 1);
		if (!pad_ok)
			want = DROP_ESP_BAD_PAD;
	}

	FUZZ_CHECK((p = fuzz_pkt_at_end(b, len)) != NULL);
	start = p->data;
	memcpy(&before, &sa->rx, sizeof(before));
	fuzz_pkt_guard(p);
	got = esp_open(sa, 0, p, &nh);
	fuzz_pkt_unguard(p);
	if (got != want)
		fprintf(stderr, "esp_open: got %s, want %s (seq %#llx, "
		    "inferred %#llx, top %#llx, len %zu)\n", drop_name(got),
		    drop_name(want), (unsigned long long)seq,
		    (unsigned long long)s, (unsigned long long)m->top, len);
	FUZZ_CHECK(got == want);

	if (got == DROP_NONE) {
		FUZZ_CHECK(p->data == start + PROLOGUE);
		FUZZ_CHECK(p->len == ct_len - 2 - npad);
		FUZZ_CHECK(memcmp(p->data, pt, p->len) == 0);
		FUZZ_CHECK(nh == pt[ct_len - 1]);
	} else {
		FUZZ_CHECK(nh == 0xa5);
		FUZZ_CHECK(p->data == start && p->len == len);
	}
	switch (got) {
	case DROP_NONE:
		break;
	case DROP_ESP_AUTH:
		/* Header and ICV as they were, no plaintext left behind. */
		FUZZ_CHECK(memcmp(p->data, b, PROLOGUE) == 0);
		FUZZ_CHECK(memcmp(p->data + len - ESP_ICV_LEN,
		    b + len - ESP_ICV_LEN, ESP_ICV_LEN) == 0);
		for (size_t i = PROLOGUE; i < len - ESP_ICV_LEN; i++)
			FUZZ_CHECK(p->data[i] == 0);
		break;
	case DROP_ESP_BAD_PAD:
		FUZZ_CHECK(memcmp(p->data, b, PROLOGUE) == 0);
		FUZZ_CHECK(memcmp(p->data + PROLOGUE, pt, pt_len) == 0);
		break;
	default:
		FUZZ_CHECK(memcmp(p->data, b, len) == 0);
	}
	free(p);

	/* The window moves exactly when the ICV was good. */
	if (got == DROP_NONE || got == DROP_ESP_BAD_PAD) {
		model_accept(m, s);
		FUZZ_CHECK(sa->rx.top == m->top);
	} else {
		FUZZ_CHECK(memcmp(&before, &sa->rx, sizeof(before)) == 0);
	}
	switch (got) {
	case DROP_NONE:
		m->st.packets++;
		m->st.bytes += ct_len - 2 - npad;
		break;
	case DROP_ESP_TOO_OLD:
	case DROP_ESP_REPLAY:
		m->st.replay_drops++;
		break;
	case DROP_ESP_AUTH:
		m->st.auth_drops++;
		break;
	default:
		break;
	}
	if (m == &empty) {
		FUZZ_CHECK(got != DROP_NONE && got != DROP_ESP_BAD_PAD);
		free(empty.acc);
	} else {
		check_stats(c);
	}
}

/* ---- the steps ---- */

static void
op_raw(struct ctx *c, struct fuzz_rd *r)
{
	uint8_t flags = fuzz_get8(r);
	size_t len = fuzz_get16(r) % 700;
	uint8_t *b = malloc(len > 0 ? len : 1);

	FUZZ_CHECK(b != NULL);
	getbytes(r, b, len);
	/* Past the SPI check, and into or around the window. */
	if ((flags & 1) && len >= 4)
		be32_put(b, SPI);
	if ((flags & 2) && len >= 8)
		be32_put(b + 4, (uint32_t)(c->m.top + (int8_t)fuzz_get8(r)));
	open_and_check(c, c->in, b, len, false, 0, NULL, 0);
	free(b);
}

static void
keep(struct ctx *c, uint8_t *b, size_t len, uint64_t seq, uint8_t *pt,
    size_t pt_len)
{
	struct sent *sl = &c->slot[c->next_slot++ % N_SLOTS];

	free(sl->b);
	free(sl->pt);
	sl->b = b;
	sl->len = len;
	sl->seq = seq;
	sl->pt = pt;
	sl->pt_len = pt_len;
}

static void deliver(struct ctx *, const struct sent *, uint8_t, struct fuzz_rd *);

static void
op_seal(struct ctx *c, struct fuzz_rd *r)
{
	uint8_t flags = fuzz_get8(r), nh = fuzz_get8(r), iv[ESP_IV_LEN];
	size_t len = fuzz_get16(r) % (PKT_FRAME_MAX + 1);
	size_t npad = (4 - (len + 2) % 4) % 4, need = npad + 2 + ESP_ICV_LEN;
	uint64_t seq = c->out->tx_seq;
	uint64_t max = c->m.esn ? UINT64_MAX : UINT32_MAX;
	struct pkt *p = malloc(sizeof(*p));
	uint8_t *pt, *ref, *copy;
	size_t pt_len = len + npad + 2, ref_len;
	int error;

	FUZZ_CHECK(p != NULL);
	FUZZ_CHECK((pt = malloc(pt_len)) != NULL);
	getbytes(r, pt, len);
	for (size_t i = 0; i < npad; i++)
		pt[len + i] = (uint8_t)(i + 1);
	pt[len + npad] = (uint8_t)npad;
	pt[len + npad + 1] = nh;

	if (flags & 4) {
		/* No tailroom: refused, nothing written. */
		pkt_reset(p);
		p->data = p->buf + PKT_BUF_SIZE - len;
	} else {
		pkt_reset(p);
	}
	memcpy(p->data, pt, len);
	p->len = len;
	/* Nothing may be written outside the packet it makes. */
	FUZZ_POISON(p->buf, pkt_headroom(p) - PROLOGUE);
	if (!(flags & 4))
		FUZZ_POISON(p->data + len + need, pkt_tailroom(p) - need);
	error = esp_seal(c->out, 0, p, nh);
	FUZZ_UNPOISON(p->buf, sizeof(p->buf));

	if (seq == 0 || seq > max) {
		FUZZ_CHECK(error == -EOVERFLOW);
	} else if (flags & 4) {
		FUZZ_CHECK(error == -ENOSPC);
	} else {
		FUZZ_CHECK(error == 0);
	}
	if (error != 0) {
		FUZZ_CHECK(c->out->tx_seq == seq);
		FUZZ_CHECK(p->len == len && memcmp(p->data, pt, len) == 0);
		free(p);
		free(pt);
		return;
	}
	FUZZ_CHECK(c->out->tx_seq == seq + 1 || seq == UINT64_MAX);
	be32_put(iv, (uint32_t)(seq >> 32));
	be32_put(iv + 4, (uint32_t)seq);
	ref = ref_seal(c, keymat, seq, iv, pt, pt_len, &ref_len);
	FUZZ_CHECK(p->len == ref_len);
	FUZZ_CHECK(p->data == p->buf + PKT_HEADROOM - PROLOGUE);
	FUZZ_CHECK(memcmp(p->data, ref, ref_len) == 0);
	free(ref);
	FUZZ_CHECK((copy = malloc(p->len)) != NULL);
	memcpy(copy, p->data, p->len);
	keep(c, copy, p->len, seq, pt, pt_len);
	free(p);
	if (!(flags & 8)) {
		const struct sent *sl = &c->slot[(c->next_slot - 1) % N_SLOTS];

		deliver(c, sl, (flags >> 4) & 3, r);
		/* Once in, a second copy is a replay. */
		if ((flags & 0x40) && ((flags >> 4) & 3) == 0)
			deliver(c, sl, 0, r);
	}
}

/* mode: 0 as sealed, 1 a bit flipped, 2 truncated, 3 extended, 4 to an SA
 * with another key. */
static void
deliver(struct ctx *c, const struct sent *sl, uint8_t mode, struct fuzz_rd *r)
{
	uint8_t *b;
	size_t len, pos;

	if (sl->b == NULL)
		return;
	switch (mode % 5) {
	case 0:
		open_and_check(c, c->in, sl->b, sl->len, true, sl->seq,
		    sl->pt, sl->pt_len);
		break;
	case 1:
		FUZZ_CHECK((b = malloc(sl->len)) != NULL);
		memcpy(b, sl->b, sl->len);
		pos = fuzz_get16(r) % (sl->len * 8);
		b[pos / 8] ^= (uint8_t)(1 << (pos % 8));
		open_and_check(c, c->in, b, sl->len, false, 0, NULL, 0);
		free(b);
		break;
	case 2:
		len = fuzz_get16(r) % sl->len;
		FUZZ_CHECK((b = malloc(len > 0 ? len : 1)) != NULL);
		memcpy(b, sl->b, len);
		open_and_check(c, c->in, b, len, false, 0, NULL, 0);
		free(b);
		break;
	case 3:
		len = sl->len + 1 + fuzz_get8(r) % 32;
		FUZZ_CHECK((b = malloc(len)) != NULL);
		memcpy(b, sl->b, sl->len);
		getbytes(r, b + sl->len, len - sl->len);
		open_and_check(c, c->in, b, len, false, 0, NULL, 0);
		free(b);
		break;
	case 4:
		open_and_check(c, c->wrong, sl->b, sl->len, true, sl->seq,
		    sl->pt, sl->pt_len);
		break;
	}
}

static void
op_deliver(struct ctx *c, struct fuzz_rd *r)
{
	uint8_t which = fuzz_get8(r), mode = fuzz_get8(r);

	deliver(c, &c->slot[which % N_SLOTS], mode, r);
}

static void
op_seq(struct ctx *c, struct fuzz_rd *r)
{
	uint64_t *t = &c->out->tx_seq, top = c->m.top, w = c->m.size;

	switch (fuzz_get8(r) % 8) {
	case 0:
		*t = fuzz_get32(r);
		break;
	case 1:
		*t += fuzz_get16(r);
		break;
	case 2:
		*t -= fuzz_get16(r);
		break;
	case 3:		/* around the top */
		*t = top + (int16_t)fuzz_get16(r);
		break;
	case 4:		/* around the bottom of the window */
		*t = top - w + 1 + (int8_t)fuzz_get8(r);
		break;
	case 5:		/* around the end of what ESN places ahead */
		*t = model_lower(&c->m) + ((uint64_t)1 << 32) +
		    (int8_t)fuzz_get8(r);
		break;
	case 6:		/* around a 2^32 boundary */
		*t = ((uint64_t)fuzz_get16(r) << 32) + (int8_t)fuzz_get8(r);
		break;
	case 7:
		*t = fuzz_get64(r);
		break;
	}
}

/* An authentic packet around any plaintext, so a bad trailer is seen. */
static void
op_forge(struct ctx *c, struct fuzz_rd *r)
{
	uint8_t iv[ESP_IV_LEN], *pt, *b;
	size_t pt_len = fuzz_get16(r) % 600, len;
	uint64_t seq;

	if (fuzz_get8(r) & 1)
		seq = c->m.top + (int16_t)fuzz_get16(r);
	else
		seq = c->m.esn ? fuzz_get64(r) : fuzz_get32(r);
	if (!c->m.esn)
		seq = (uint32_t)seq;
	getbytes(r, iv, sizeof(iv));
	FUZZ_CHECK((pt = malloc(pt_len > 0 ? pt_len : 1)) != NULL);
	getbytes(r, pt, pt_len);
	/* A plausible trailer unless the input says otherwise. */
	if (pt_len >= 2 && (fuzz_get8(r) & 1)) {
		size_t npad = pt[pt_len - 2] % 4;

		if (npad > pt_len - 2)
			npad = 0;
		pt[pt_len - 2] = (uint8_t)npad;
		for (size_t i = 0; i < npad; i++)
			pt[pt_len - 2 - npad + i] = (uint8_t)(i + 1);
	}
	b = ref_seal(c, keymat, seq, iv, pt, pt_len, &len);
	open_and_check(c, c->in, b, len, true, seq, pt, pt_len);
	free(b);
	free(pt);
}

/* sodium_malloc costs a few system calls and a munmap, most of the time
 * spent per input: each configuration's SAs are made once and put back
 * to new for every input. */
#define N_WINDOWS	(sizeof(windows) / sizeof(*windows))
#define N_CFG		(2 * 2 * N_WINDOWS * 2 * 2)

static struct esp_sa *cache[N_CFG][3];
/* OpenSSL's contexts of the cached SAs, seen from here: LeakSanitizer
 * does not scan the sodium_malloc'd SAs that point to them. */
static void *cache_evp[N_CFG][3];

static struct esp_sa *
sa_make(const struct ctx *c, enum aead_engine e, const uint8_t *km)
{
	struct esp_sa *sa = NULL;

	FUZZ_CHECK(esp_sa_new(&sa, SPI, c->cipher, e, km, c->m.esn,
	    c->m.size, 1) == 0);
	FUZZ_CHECK(sa->aead.engine == e);
	return sa;
}

static void
sa_get(struct ctx *c, size_t w)
{
	size_t i = (((size_t)c->cipher * 2 + c->m.esn) * N_WINDOWS + w) * 4 +
	    (c->out_engine == AEAD_OPENSSL) * 2 +
	    (c->in_engine == AEAD_OPENSSL);
	struct esp_sa **k = cache[i], *sa = NULL;

	if (k[0] == NULL) {
		/* Out of range: refused. */
		FUZZ_CHECK(esp_sa_new(&sa, ESP_SPI_MIN - 1, c->cipher,
		    c->out_engine, keymat, c->m.esn, c->m.size, 1) == -EINVAL);
		FUZZ_CHECK(esp_sa_new(&sa, SPI, c->cipher, c->out_engine,
		    keymat, c->m.esn, REPLAY_WINDOW_MIN - 1, 1) == -EINVAL);
		FUZZ_CHECK(esp_sa_new(&sa, SPI, c->cipher, c->out_engine,
		    keymat, c->m.esn, REPLAY_WINDOW_MAX + 1, 1) == -EINVAL);
		k[0] = sa_make(c, c->out_engine, keymat);
		k[1] = sa_make(c, c->in_engine, keymat);
		k[2] = sa_make(c, c->in_engine, other_keymat);
		for (int j = 0; j < 3; j++)
			if (k[j]->aead.engine == AEAD_OPENSSL)
				cache_evp[i][j] = k[j]->aead.k.evp;
	}
	for (int j = 0; j < 3; j++) {
		k[j]->tx_seq = 1;
		FUZZ_CHECK(replay_init(&k[j]->rx, c->m.size) == 0);
		memset(&k[j]->stats, 0, sizeof(k[j]->stats));
	}
	c->out = k[0];
	c->in = k[1];
	c->wrong = k[2];
}

/* engine, or libsodium where it cannot run the cipher (a build without
 * OpenSSL). */
static enum aead_engine
engine_or_sodium(enum aead_cipher c, enum aead_engine e)
{
	return aead_available(c, e) ? e : AEAD_LIBSODIUM;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct fuzz_rd r = { d, n };
	struct ctx c;
	uint8_t cfg = fuzz_get8(&r);

	size_t w = ((cfg >> 2) & 15) % N_WINDOWS;

	memset(&c, 0, sizeof(c));
	c.cipher = (cfg & 1) ? AEAD_AES256_GCM : AEAD_CHACHA20_POLY1305;
	/* ref_seal() is libsodium's. */
	if (!aead_available(c.cipher, AEAD_LIBSODIUM))
		c.cipher = AEAD_CHACHA20_POLY1305;
	c.out_engine = engine_or_sodium(c.cipher, (cfg & 0x40) ?
	    AEAD_OPENSSL : AEAD_LIBSODIUM);
	c.in_engine = engine_or_sodium(c.cipher, (cfg & 0x80) ?
	    AEAD_OPENSSL : AEAD_LIBSODIUM);
	c.m.esn = (cfg & 2) != 0;
	c.m.size = windows[w];

	sa_get(&c, w);
	for (int i = 0; i < MAX_OPS && r.n > 0; i++) {
		switch (fuzz_get8(&r) % 6) {
		case 0:
			op_raw(&c, &r);
			break;
		case 1:
		case 2:
			op_seal(&c, &r);
			break;
		case 3:
			op_deliver(&c, &r);
			break;
		case 4:
			op_seq(&c, &r);
			break;
		case 5:
			op_forge(&c, &r);
			break;
		}
	}

	for (size_t i = 0; i < N_SLOTS; i++) {
		free(c.slot[i].b);
		free(c.slot[i].pt);
	}
	free(c.m.acc);
	return 0;
}
