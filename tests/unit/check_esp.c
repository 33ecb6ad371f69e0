/* ESP seal and open. Known answers: the ESP example of RFC 7634 Appendix A
 * (ChaCha20-Poly1305) and the AES-GCM test cases with 256-bit keys of
 * draft-mcgrew-gcm-test-01 (RFC 4106 ESP, with and without ESN), sealed
 * and opened by each AEAD engine. Then, for each cipher with and without
 * ESN, sealing with one engine and opening with each: round trips at
 * every padding length, every bit of a sealed packet flipped, every
 * truncation, replays, reordering, a too-old packet, bad padding from an
 * authentic sender, a 2^32 wrap, and the end of the sequence space. Then
 * the lanes of one SA, and the engine that "auto" picks. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "byteorder.h"
#include "codec_check.h"
#include "esp.h"

#define PROLOGUE	(ESP_HLEN + ESP_IV_LEN)
#define MIN_LEN		(PROLOGUE + 2 + ESP_ICV_LEN)
#define WIRE_MAX	(PROLOGUE + PKT_FRAME_MAX + 3 + 2 + ESP_ICV_LEN)
#define TEST_SPI	0x0badcafe
#define NH_GRE		47
#define NH_UDP		17

struct kat {
	const char	*source;
	enum aead_cipher cipher;
	bool		 esn;
	const char	*keymat;	/* key, then salt */
	uint32_t	 spi;
	uint64_t	 seq;
	const char	*iv;
	uint8_t		 next_header;
	const char	*payload;	/* before padding */
	const char	*esp;		/* SPI, seq, IV, ciphertext, ICV */
};

static const struct kat kats[] = {
	{
		"RFC 7634 Appendix A",
		AEAD_CHACHA20_POLY1305, false,
		"808182838485868788898a8b8c8d8e8f"
		"909192939495969798999a9b9c9d9e9f a0a1a2a3",
		0x01020304, 5, "1011121314151617", 4,
		"45000054a6f200004001e778c6336405"
		"c000020508005b7a3a080000553bec10"
		"000736270809 0a0b0c0d0e0f10111213"
		"1415161718191a1b1c1d1e1f20212223"
		"2425262728292a2b2c2d2e2f30313233"
		"34353637",
		"01020304 00000005 1011121314151617"
		"24039428b97f417e3c13753a4f05087b"
		"67c352e6a7fab1b982d466ef407ae5c6"
		"14ee8099d52844eb61aa95dfab4c02f7"
		"2aa71e7c4c4f64c9befe2facc638e8f3"
		"cbec163fac469b502773f6fb94e664da"
		"9165b82829f641e0"
		"76aaa8266b7fb0f7b11b369907e1ad43",
	},
	{
		"draft-mcgrew-gcm-test-01, SPI 4a2cbfe3",
		AEAD_AES256_GCM, false,
		"abbccddef00112233445566778899aab"
		"abbccddef00112233445566778899aab 11223344",
		0x4a2cbfe3, 2, "0102030405060708", 1,
		"4500003069a6400080062690c0a80102"
		"9389155e0a9e008b2dc57ee000000000"
		"7002400020bf0000020405b401010402",
		"4a2cbfe3 00000002 0102030405060708"
		"ff425c9b724599df7a3bcd510194e00d"
		"6a78107f1b0b1cbf06efae9d65a5d763"
		"748a637985771d347f0545659f14e99d"
		"ef842d8eb335f4eecfdbf831824b4c49"
		"15956c96",
	},
	{
		"draft-mcgrew-gcm-test-01, SPI 17405e67, no padding",
		AEAD_AES256_GCM, true,
		"abbccddef00112233445566778899aab"
		"abbccddef00112233445566778899aab 73616c74",
		0x17405e67, UINT64_C(0x156f3126dd0db99b), "616e640169766563", 1,
		"45080028732c00004006e9f90a010612"
		"0a01038f06b88023dd6bafbecb712602"
		"50101f646d54",
		"17405e67 dd0db99b 616e640169766563"
		"f2d69ecdbd5a0d5b8d5ef38bad4da58d"
		"1f278fde98ef67549d524a3018d9a57f"
		"f4d3a31ce673119e451626c2415771e3"
		"b7eebca614c89b35",
	},
	{
		"draft-mcgrew-gcm-test-01, SPI 17405e67, text",
		AEAD_AES256_GCM, true,
		"abbccddef00112233445566778899aab"
		"abbccddef00112233445566778899aab 73616c74",
		0x17405e67, UINT64_C(0x156f3126dd0db99b), "616e640169766563", 1,
		"636973636f0172756c65730174686501"
		"6e6574776501646566696e6501746865"
		"746563686e6f6c6f6769657301746861"
		"7477696c6c01646566696e65746f6d6f"
		"72726f77",
		"17405e67 dd0db99b 616e640169766563"
		"d4b7ed86a1777f2ea13d6973d324c69e"
		"7b43f826fb56831226508bebd2dceb18"
		"d0a6df10e5487df074113e14c641024e"
		"3e6773d91a62ee429b043a10e3efe6b0"
		"12a49363412364f8c0cac587f249e56b"
		"11e24f30e44ccc76",
	},
	{
		"draft-mcgrew-gcm-test-01, SPI 796b6963, last ESN",
		AEAD_AES256_GCM, true,
		"6c6567616c697a656d6172696a75616e"
		"61616e64646f69746265666f72656961 7475726e",
		0x796b6963, UINT64_MAX, "333021696765746d", 1,
		"45000030da3a00008001df3bc0a80005"
		"c0a800010800c6cd0200070061626364"
		"65666768696a6b6c6d6e6f7071727374",
		"796b6963 ffffffff 333021696765746d"
		"f97ab2aa356d8edce17644ac8c78e25d"
		"d24dedbb29ebf1b64a274b39b49c3a86"
		"4cd3d78ca4ae68a32b42458fb57dbe82"
		"1dcc63b9d0937ba2945f669368661a32"
		"9fb4c053",
	},
};
#define N_KATS		(sizeof(kats) / sizeof(kats[0]))

struct cfg {
	enum aead_cipher cipher;
	bool		 esn;
	enum aead_engine tx, rx;	/* who seals, who opens */
};

#define ENGINE_PAIRS(cipher, esn)					\
	{ cipher, esn, AEAD_LIBSODIUM, AEAD_LIBSODIUM },		\
	{ cipher, esn, AEAD_OPENSSL, AEAD_OPENSSL },			\
	{ cipher, esn, AEAD_LIBSODIUM, AEAD_OPENSSL },			\
	{ cipher, esn, AEAD_OPENSSL, AEAD_LIBSODIUM }

static const struct cfg cfgs[] = {
	ENGINE_PAIRS(AEAD_CHACHA20_POLY1305, false),
	ENGINE_PAIRS(AEAD_CHACHA20_POLY1305, true),
	ENGINE_PAIRS(AEAD_AES256_GCM, false),
	ENGINE_PAIRS(AEAD_AES256_GCM, true),
};
#define N_CFGS		(sizeof(cfgs) / sizeof(cfgs[0]))

/* The known answers, once per engine. */
static const enum aead_engine kat_engines[] = { AEAD_LIBSODIUM, AEAD_OPENSSL };
#define N_KAT_RUNS	(N_KATS * 2)

static const uint8_t test_keymat[ESP_KEYMAT_LEN] = {
	0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0,
	0x85, 0x7d, 0x77, 0x81, 0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7,
	0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4, 0xca, 0xfe, 0xba, 0xbe,
};

static struct pkt p;
static uint8_t wire[WIRE_MAX], payload[PKT_FRAME_MAX];

static size_t
unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t len;

	ck_assert_int_eq(sodium_hex2bin(out, max, hex, strlen(hex), " ", &len,
	    NULL), 0);
	return len;
}

/* False, after saying so, where an engine of c cannot run its cipher
 * here: OpenSSL not built in, or libsodium's AES-GCM without AES-NI. The
 * SA is then refused. */
static bool
have(const struct cfg *c)
{
	enum aead_engine e[2] = { c->tx, c->rx };
	struct esp_sa *sa = NULL;

	for (int i = 0; i < 2; i++) {
		if (aead_available(c->cipher, e[i]))
			continue;
		ck_assert_int_eq(esp_sa_new(&sa, TEST_SPI, c->cipher, e[i],
		    test_keymat, false, 64, 1), -ENOTSUP);
		fprintf(stderr, "NOTE: %s by %s is not available here: its "
		    "ESP checks did not run\n", aead_cipher_name(c->cipher),
		    aead_engine_name(e[i]));
		return false;
	}
	return true;
}

static struct esp_sa *
sa_new(const struct cfg *c, enum aead_engine engine, const uint8_t *keymat,
    uint32_t spi, unsigned window)
{
	struct esp_sa *sa = NULL;

	ck_assert_int_eq(esp_sa_new(&sa, spi, c->cipher, engine, keymat,
	    c->esn, window, 1), 0);
	ck_assert_ptr_nonnull(sa);
	ck_assert_int_eq(sa->aead.engine, engine);
	return sa;
}

static void
fill_payload(size_t len, uint8_t salt)
{
	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 7 + salt);
}

/* Opens the len bytes b in p. On failure p must keep its place and
 * length, and its bytes too unless the ICV failed (the ciphertext is then
 * zeroed, by either engine) or the padding did (it is then decrypted). */
static enum drop_reason
open_bytes(struct esp_sa *sa, const uint8_t *b, size_t len, uint8_t *nh)
{
	enum drop_reason got;

	pkt_fill(&p, PKT_HEADROOM, b, len);
	got = esp_open(sa, 0, &p, nh);
	if (got == DROP_NONE)
		return got;
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM);
	ck_assert_uint_eq(p.len, len);
	if (got == DROP_ESP_AUTH || got == DROP_ESP_BAD_PAD)
		ck_assert_mem_eq(p.data, b, PROLOGUE);
	else
		ck_assert_mem_eq(p.data, b, len);
	for (size_t i = PROLOGUE; got == DROP_ESP_AUTH &&
	    i < len - ESP_ICV_LEN; i++)
		ck_assert_uint_eq(p.data[i], 0);
	return got;
}

static void
expect_drop(struct esp_sa *sa, const uint8_t *b, size_t len,
    enum drop_reason want)
{
	enum drop_reason got;
	uint8_t nh;

	got = open_bytes(sa, b, len, &nh);
	ck_assert_msg(got == want, "len %zu: got %s, want %s", len,
	    drop_name(got), drop_name(want));
}

/* Opening b must leave exactly the payload in p, in place. */
static void
expect_payload(struct esp_sa *sa, const uint8_t *b, size_t wire_len,
    const uint8_t *want, size_t len, uint8_t want_nh)
{
	enum drop_reason got;
	uint8_t nh = 0;

	got = open_bytes(sa, b, wire_len, &nh);
	ck_assert_msg(got == DROP_NONE, "got %s", drop_name(got));
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM + PROLOGUE);
	ck_assert_uint_eq(p.len, len);
	ck_assert_mem_eq(p.data, want, len);
	ck_assert_uint_eq(nh, want_nh);
}

/* Seals len bytes of payload with the next sequence number and copies
 * the packet to out; returns its length. */
static size_t
seal(struct esp_sa *sa, size_t len, uint8_t nh, uint8_t *out)
{
	pkt_fill(&p, PKT_HEADROOM, payload, len);
	ck_assert_int_eq(esp_seal(sa, 0, &p, nh), 0);
	ck_assert_ptr_eq(p.data, p.buf + PKT_HEADROOM - PROLOGUE);
	memcpy(out, p.data, p.len);
	return p.len;
}

/* A receiver that has just accepted seq - 1, as if the sender had been
 * running: ESN receivers learn the high half only from the window. */
static struct esp_sa *
rx_at(const struct cfg *c, const uint8_t *keymat, uint32_t spi,
    unsigned window, uint64_t seq)
{
	struct esp_sa *sa = sa_new(c, c->rx, keymat, spi, window);

	if (seq > 1)
		replay_update(&sa->rx, seq - 1);
	return sa;
}

static void
kat_load(const struct kat *k, enum aead_engine e, struct esp_sa **sa,
    size_t *len, size_t *wire_len)
{
	const struct cfg c = { k->cipher, k->esn, e, e };
	uint8_t keymat[ESP_KEYMAT_LEN];

	ck_assert_uint_eq(unhex(keymat, sizeof(keymat), k->keymat),
	    sizeof(keymat));
	*sa = rx_at(&c, keymat, k->spi, 64, k->seq);
	*len = unhex(payload, sizeof(payload), k->payload);
	*wire_len = unhex(wire, sizeof(wire), k->esp);
}

START_TEST(kat_seal)
{
	const struct kat *k = &kats[_i % N_KATS];
	enum aead_engine e = kat_engines[_i / N_KATS];
	const struct cfg c = { k->cipher, k->esn, e, e };
	uint8_t iv[ESP_IV_LEN];
	struct esp_sa *sa;
	size_t len, wire_len;

	if (!have(&c))
		return;
	kat_load(k, e, &sa, &len, &wire_len);
	unhex(iv, sizeof(iv), k->iv);
	pkt_fill(&p, PKT_HEADROOM, payload, len);
	ck_assert_int_eq(esp_seal_with_iv(sa, 0, &p, k->next_header, k->seq,
	    iv), 0);
	ck_assert_msg(p.len == wire_len && memcmp(p.data, wire, wire_len) == 0,
	    "%s, %s: sealed packet differs", k->source, aead_engine_name(e));
	esp_sa_free(sa);
}
END_TEST

START_TEST(kat_open)
{
	const struct kat *k = &kats[_i % N_KATS];
	enum aead_engine e = kat_engines[_i / N_KATS];
	const struct cfg c = { k->cipher, k->esn, e, e };
	struct esp_sa *sa;
	size_t len, wire_len;

	if (!have(&c))
		return;
	kat_load(k, e, &sa, &len, &wire_len);
	expect_payload(sa, wire, wire_len, payload, len, k->next_header);
	expect_drop(sa, wire, wire_len, DROP_ESP_REPLAY);
	esp_sa_free(sa);
}
END_TEST

START_TEST(sa_new_refusals)
{
	const struct cfg *c = &cfgs[_i];
	struct esp_sa *sa = NULL;

	if (!have(c))
		return;
	ck_assert_int_eq(esp_sa_new(&sa, 0, c->cipher, c->tx, test_keymat,
	    c->esn, 64, 1), -EINVAL);
	ck_assert_int_eq(esp_sa_new(&sa, ESP_SPI_MIN - 1, c->cipher, c->tx,
	    test_keymat, c->esn, 64, 1), -EINVAL);
	ck_assert_int_eq(esp_sa_new(&sa, TEST_SPI, c->cipher, c->tx,
	    test_keymat, c->esn, REPLAY_WINDOW_MIN - 1, 1), -EINVAL);
	ck_assert_int_eq(esp_sa_new(&sa, TEST_SPI, c->cipher, c->tx,
	    test_keymat, c->esn, REPLAY_WINDOW_MAX + 1, 1), -EINVAL);
	ck_assert_int_eq(esp_sa_new(&sa, TEST_SPI, c->cipher, c->tx,
	    test_keymat, c->esn, 64, 0), -EINVAL);
	ck_assert_ptr_null(sa);
	sa = sa_new(c, c->tx, test_keymat, ESP_SPI_MIN, REPLAY_WINDOW_MAX);
	/* libsodium's AES-NI code needs its expanded key 16-byte aligned. */
	ck_assert_uint_eq((uintptr_t)&sa->aead.k.aes % 16, 0);
	ck_assert_uint_eq(sa->tx_seq, 1);
	esp_sa_free(sa);
	esp_sa_free(NULL);
}
END_TEST

START_TEST(spi_of)
{
	static const uint8_t h[] = { 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1 };
	uint32_t spi = 7;

	pkt_set(&p, h, ESP_HLEN - 1);
	ck_assert_int_eq(esp_spi_of(&p, &spi), DROP_TOO_SHORT);
	ck_assert_uint_eq(spi, 7);
	pkt_set(&p, h, ESP_HLEN);
	ck_assert_int_eq(esp_spi_of(&p, &spi), DROP_NONE);
	ck_assert_uint_eq(spi, 0x12345678);
	ck_assert_uint_eq(p.len, ESP_HLEN);
}
END_TEST

/* Every padding length, an empty payload, and the largest frame. */
START_TEST(round_trip)
{
	const struct cfg *c = &cfgs[_i];
	struct esp_sa *tx, *rx;
	uint64_t n = 0, bytes = 0;
	size_t wire_len, body;

	if (!have(c))
		return;
	tx = sa_new(c, c->tx, test_keymat, TEST_SPI, 64);
	rx = sa_new(c, c->rx, test_keymat, TEST_SPI, 64);
	for (size_t len = 0; len <= PKT_FRAME_MAX; len += len < 70 ? 1 : 997) {
		fill_payload(len, (uint8_t)len);
		wire_len = seal(tx, len, len % 2 ? NH_UDP : NH_GRE, wire);
		n++;
		bytes += len;
		body = wire_len - PROLOGUE - ESP_ICV_LEN;
		ck_assert_uint_eq(body % 4, 0);
		ck_assert_uint_le(body - len - 2, 3);
		ck_assert_uint_eq(be32_get(wire), TEST_SPI);
		ck_assert_uint_eq(be32_get(wire + 4), n);
		/* The explicit IV is the 64-bit sequence number. */
		ck_assert_uint_eq(be32_get(wire + 8), 0);
		ck_assert_uint_eq(be32_get(wire + 12), n);
		expect_payload(rx, wire, wire_len, payload, len,
		    len % 2 ? NH_UDP : NH_GRE);
	}
	ck_assert_uint_eq(tx->tx_seq, n + 1);
	ck_assert_uint_eq(tx->stats.packets, n);
	ck_assert_uint_eq(tx->stats.bytes, bytes);
	ck_assert_uint_eq(rx->stats.packets, n);
	ck_assert_uint_eq(rx->stats.bytes, bytes);
	esp_sa_free(tx);
	esp_sa_free(rx);
}
END_TEST

/* Every bit of a sealed packet flipped in turn: never accepted, and none
 * of the forgeries moves the window, so the original still opens. */
START_TEST(tamper_every_bit)
{
	const struct cfg *c = &cfgs[_i];
	uint64_t start = c->esn ? UINT64_C(0x100000100) : 0x100, auth = 0;
	static uint8_t b[WIRE_MAX];
	struct esp_sa *tx, *rx;
	enum drop_reason got;
	size_t wire_len;
	uint8_t nh;

	if (!have(c))
		return;
	tx = sa_new(c, c->tx, test_keymat, TEST_SPI, 64);
	tx->tx_seq = start;
	rx = rx_at(c, test_keymat, TEST_SPI, 64, start);
	fill_payload(sizeof(frame) + 8, 1);
	wire_len = seal(tx, sizeof(frame) + 8, NH_UDP, wire);
	for (size_t i = 0; i < wire_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(b, wire, wire_len);
			b[i] ^= (uint8_t)(1 << bit);
			got = open_bytes(rx, b, wire_len, &nh);
			if (i < 4)
				ck_assert_int_eq(got, DROP_ESP_UNKNOWN_SPI);
			else if (i < ESP_HLEN && got == DROP_ESP_TOO_OLD)
				continue;
			else
				ck_assert_int_eq(got, DROP_ESP_AUTH);
			auth++;
		}
	}
	auth -= 4 * 8;
	ck_assert_uint_eq(rx->stats.auth_drops, auth);
	ck_assert_uint_eq(rx->stats.packets, 0);
	expect_payload(rx, wire, wire_len, payload, sizeof(frame) + 8, NH_UDP);
	esp_sa_free(tx);
	esp_sa_free(rx);
}
END_TEST

/* Every strict prefix: too short for the fixed parts, else the ICV (now
 * read from the wrong place) fails. */
START_TEST(truncated)
{
	const struct cfg *c = &cfgs[_i];
	struct esp_sa *tx, *rx;
	size_t wire_len;

	if (!have(c))
		return;
	tx = sa_new(c, c->tx, test_keymat, TEST_SPI, 64);
	rx = sa_new(c, c->rx, test_keymat, TEST_SPI, 64);
	fill_payload(sizeof(frame), 2);
	wire_len = seal(tx, sizeof(frame), NH_GRE, wire);
	for (size_t len = 0; len < wire_len; len++)
		expect_drop(rx, wire, len, len < MIN_LEN ? DROP_TOO_SHORT :
		    DROP_ESP_AUTH);
	expect_payload(rx, wire, wire_len, payload, sizeof(frame), NH_GRE);
	esp_sa_free(tx);
	esp_sa_free(rx);
}
END_TEST

/* Out of order within the window: each accepted exactly once. Then a
 * packet one window behind the top is too old, one less is not. With ESN
 * the too-old one is taken for the next 2^32 block (RFC 4303 Appendix
 * A2.2, case A) and fails the ICV instead. */
START_TEST(replay_reorder_too_old)
{
	static const unsigned order[] = { 1, 3, 2, 8, 5, 4, 7, 6 };
	static uint8_t pkts[80][64];
	const struct cfg *c = &cfgs[_i];
	struct esp_sa *tx, *rx;
	size_t wire_len = 0;

	if (!have(c))
		return;
	tx = sa_new(c, c->tx, test_keymat, TEST_SPI, 64);
	rx = sa_new(c, c->rx, test_keymat, TEST_SPI, 64);
	fill_payload(20, 3);
	for (size_t i = 1; i < 80; i++)
		wire_len = seal(tx, 20, NH_UDP, pkts[i]);
	for (size_t i = 0; i < 8; i++) {
		expect_payload(rx, pkts[order[i]], wire_len, payload, 20,
		    NH_UDP);
		expect_drop(rx, pkts[order[i]], wire_len, DROP_ESP_REPLAY);
	}
	for (size_t i = 1; i <= 8; i++)
		expect_drop(rx, pkts[i], wire_len, DROP_ESP_REPLAY);
	expect_payload(rx, pkts[79], wire_len, payload, 20, NH_UDP);
	expect_drop(rx, pkts[79 - 64], wire_len,
	    c->esn ? DROP_ESP_AUTH : DROP_ESP_TOO_OLD);
	expect_payload(rx, pkts[79 - 63], wire_len, payload, 20, NH_UDP);
	ck_assert_uint_eq(rx->stats.replay_drops, 8 + 8 + !c->esn);
	ck_assert_uint_eq(rx->stats.auth_drops, c->esn);
	ck_assert_uint_eq(rx->stats.packets, 10);
	esp_sa_free(tx);
	esp_sa_free(rx);
}
END_TEST

START_TEST(wrong_spi)
{
	const struct cfg *c = &cfgs[_i];
	struct esp_sa *tx, *rx;
	size_t wire_len;

	if (!have(c))
		return;
	tx = sa_new(c, c->tx, test_keymat, TEST_SPI, 64);
	rx = sa_new(c, c->rx, test_keymat, TEST_SPI + 1, 64);
	wire_len = seal(tx, 0, NH_GRE, wire);
	expect_drop(rx, wire, wire_len, DROP_ESP_UNKNOWN_SPI);
	esp_sa_free(tx);
	esp_sa_free(rx);
}
END_TEST

/* An ESP packet built here straight from RFC 4303 §2 and RFC 4106 §4-5 /
 * RFC 7634 §2-2.1, from plaintext that carries its own trailer: an
 * authentic packet with padding esp_seal would never write. */
static size_t
forge(const struct cfg *c, uint64_t seq, const uint8_t *pt, size_t pt_len)
{
	uint8_t nonce[ESP_SALT_LEN + ESP_IV_LEN], aad[12], *ct = wire + PROLOGUE;
	size_t aad_len = c->esn ? 12 : 8;

	be32_put(wire, TEST_SPI);
	be32_put(wire + 4, (uint32_t)seq);
	/* The IV ends in 1, as padding would begin: see padding. */
	memset(wire + ESP_HLEN, 0x5a, ESP_IV_LEN - 1);
	wire[PROLOGUE - 1] = 1;
	memcpy(nonce, test_keymat + ESP_KEY_LEN, ESP_SALT_LEN);
	memcpy(nonce + ESP_SALT_LEN, wire + ESP_HLEN, ESP_IV_LEN);
	be32_put(aad, TEST_SPI);
	be32_put(aad + 4, (uint32_t)(c->esn ? seq >> 32 : seq));
	be32_put(aad + 8, (uint32_t)seq);
	memcpy(ct, pt, pt_len);
	if (c->cipher == AEAD_AES256_GCM)
		crypto_aead_aes256gcm_encrypt_detached(ct, ct + pt_len, NULL,
		    ct, pt_len, aad, aad_len, NULL, nonce, test_keymat);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct,
		    ct + pt_len, NULL, ct, pt_len, aad, aad_len, NULL, nonce,
		    test_keymat);
	return PROLOGUE + pt_len + ESP_ICV_LEN;
}

/* RFC 4303 §2.4: the receiver checks the default padding. A bad one from
 * an authentic sender is dropped, but its sequence number is used up. */
START_TEST(padding)
{
	static const struct {
		const char	*pt;	/* payload, padding, pad length, nh */
		size_t		 len;	/* payload left, if accepted */
		enum drop_reason want;
	} cases[] = {
		{ "aabbcc 010203 03 2f", 3, DROP_NONE },
		{ "0102 02 11", 0, DROP_NONE },
		{ "aabbccdd 00 11", 4, DROP_NONE },
		/* Not a multiple of 4, which a receiver need not enforce. */
		{ "aabbccddee 00 11", 5, DROP_NONE },
		{ "aabbcc 010303 03 2f", 0, DROP_ESP_BAD_PAD },
		{ "aabbcc 000000 03 2f", 0, DROP_ESP_BAD_PAD },
		{ "aabbcc02 02 2f", 0, DROP_ESP_BAD_PAD },
		/* Longer than the plaintext before the trailer, even where
		 * the bytes before it (the IV's last) look like padding. */
		{ "0102 03 11", 0, DROP_ESP_BAD_PAD },
		{ "02 02 11", 0, DROP_ESP_BAD_PAD },
		{ "aabbcc 010203 ff 2f", 0, DROP_ESP_BAD_PAD },
		{ "11", 0, DROP_TOO_SHORT },
	};
	const struct cfg *c = &cfgs[_i];
	uint8_t pt[16], nh;
	struct esp_sa *rx;
	size_t pt_len, wire_len;
	uint64_t seq = c->esn ? UINT64_C(0x300000000) : 1;

	/* forge() seals with libsodium. */
	if (!have(c) || !aead_available(c->cipher, AEAD_LIBSODIUM))
		return;
	rx = rx_at(c, test_keymat, TEST_SPI, 64, seq);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++, seq++) {
		pt_len = unhex(pt, sizeof(pt), cases[i].pt);
		wire_len = forge(c, seq, pt, pt_len);
		if (cases[i].want == DROP_NONE) {
			expect_payload(rx, wire, wire_len, pt, cases[i].len,
			    pt[pt_len - 1]);
			continue;
		}
		ck_assert_int_eq(open_bytes(rx, wire, wire_len, &nh),
		    cases[i].want);
		if (cases[i].want == DROP_ESP_BAD_PAD)
			expect_drop(rx, wire, wire_len, DROP_ESP_REPLAY);
	}
	esp_sa_free(rx);
}
END_TEST

/* With ESN, seq_lo wraps from 0xffffffff to 0 and seq_hi (in the AAD,
 * never on the wire) goes up by one; stragglers from before still open. */
START_TEST(esn_wrap)
{
	static const unsigned order[] = { 2, 1, 3, 0 };
	static uint8_t pkts[4][64];
	const struct cfg *c = &cfgs[_i];
	struct esp_sa *tx, *rx;
	size_t wire_len = 0;

	if (!c->esn || !have(c))
		return;		/* without ESN, see seq_exhausted */
	tx = sa_new(c, c->tx, test_keymat, TEST_SPI, 64);
	tx->tx_seq = 0xfffffffe;
	rx = rx_at(c, test_keymat, TEST_SPI, 64, tx->tx_seq);
	fill_payload(24, 4);
	for (size_t i = 0; i < 4; i++)
		wire_len = seal(tx, 24, NH_GRE, pkts[i]);
	ck_assert_uint_eq(be32_get(pkts[2] + 4), 0);
	ck_assert_uint_eq(be32_get(pkts[2] + 8), 1);	/* IV: seq_hi */
	for (size_t i = 0; i < 4; i++)
		expect_payload(rx, pkts[order[i]], wire_len, payload, 24,
		    NH_GRE);
	ck_assert_uint_eq(rx->rx.top, UINT64_C(0x100000001));
	for (size_t i = 0; i < 4; i++)
		expect_drop(rx, pkts[i], wire_len, DROP_ESP_REPLAY);
	esp_sa_free(tx);
	esp_sa_free(rx);
}
END_TEST

/* RFC 4303 §3.3.3: the counter never cycles. The last number goes out,
 * then seal refuses and leaves the packet alone. */
START_TEST(seq_exhausted)
{
	const struct cfg *c = &cfgs[_i];
	uint64_t last = c->esn ? UINT64_MAX : UINT32_MAX;
	uint8_t iv[ESP_IV_LEN] = { 0 };
	struct esp_sa *tx, *rx;
	size_t wire_len;

	if (!have(c))
		return;
	tx = sa_new(c, c->tx, test_keymat, TEST_SPI, 64);
	rx = rx_at(c, test_keymat, TEST_SPI, 64, last);
	tx->tx_seq = last;
	fill_payload(sizeof(frame), 5);
	wire_len = seal(tx, sizeof(frame), NH_UDP, wire);
	ck_assert_uint_eq(be32_get(wire + 4), 0xffffffff);
	expect_payload(rx, wire, wire_len, payload, sizeof(frame), NH_UDP);

	pkt_fill(&p, PKT_HEADROOM, frame, sizeof(frame));
	ck_assert_int_eq(esp_seal(tx, 0, &p, NH_UDP), -EOVERFLOW);
	check_pkt_unchanged(&p, PKT_HEADROOM);
	ck_assert_int_eq(esp_seal(tx, 0, &p, NH_UDP), -EOVERFLOW);
	ck_assert_uint_eq(tx->stats.packets, 1);
	ck_assert_int_eq(esp_seal_with_iv(tx, 0, &p, NH_UDP, 0, iv), -EOVERFLOW);
	if (!c->esn)
		ck_assert_int_eq(esp_seal_with_iv(tx, 0, &p, NH_UDP,
		    UINT64_C(1) << 32, iv), -EOVERFLOW);
	check_pkt_unchanged(&p, PKT_HEADROOM);
	esp_sa_free(tx);
	esp_sa_free(rx);
}
END_TEST

START_TEST(no_room)
{
	const struct cfg *c = &cfgs[_i];
	/* frame's length leaves 3 bytes of padding. */
	const size_t tail = 3 + 2 + ESP_ICV_LEN;
	struct esp_sa *tx;

	if (!have(c))
		return;
	tx = sa_new(c, c->tx, test_keymat, TEST_SPI, 64);
	pkt_fill(&p, PROLOGUE - 1, frame, sizeof(frame));
	ck_assert_int_eq(esp_seal(tx, 0, &p, NH_GRE), -ENOSPC);
	check_pkt_unchanged(&p, PROLOGUE - 1);

	pkt_fill(&p, PKT_BUF_SIZE - sizeof(frame) - (tail - 1), frame,
	    sizeof(frame));
	ck_assert_uint_eq(pkt_tailroom(&p), tail - 1);
	ck_assert_int_eq(esp_seal(tx, 0, &p, NH_GRE), -ENOSPC);
	check_pkt_unchanged(&p, PKT_BUF_SIZE - sizeof(frame) - (tail - 1));
	ck_assert_uint_eq(tx->tx_seq, 1);

	pkt_fill(&p, PKT_BUF_SIZE - sizeof(frame) - tail, frame,
	    sizeof(frame));
	ck_assert_int_eq(esp_seal(tx, 0, &p, NH_GRE), 0);
	ck_assert_uint_eq(pkt_tailroom(&p), 0);
	pkt_fill(&p, PROLOGUE, frame, sizeof(frame));
	ck_assert_int_eq(esp_seal(tx, 0, &p, NH_GRE), 0);
	ck_assert_ptr_eq(p.data, p.buf);
	esp_sa_free(tx);
}
END_TEST

/* Threads sealing with one SA at once, each in its own lane: every
 * packet opens (in another lane of the receiving SA), and no sequence
 * number is used twice. Run under TSan, this is where a lane shared by
 * two threads would show. */
#define LANES		3
#define LANE_PKTS	1500
#define LANE_LEN	64

struct lane_job {
	struct esp_sa	*tx;
	unsigned	 lane;
	uint8_t		 wire[LANE_PKTS][PROLOGUE + LANE_LEN + 2 + 2 +
			     ESP_ICV_LEN];
	size_t		 len[LANE_PKTS];
};

static void *
lane_seal(void *arg)
{
	struct lane_job *j = arg;
	struct pkt *q = malloc(sizeof(*q));

	ck_assert_ptr_nonnull(q);
	for (size_t i = 0; i < LANE_PKTS; i++) {
		pkt_fill(q, PKT_HEADROOM, payload, LANE_LEN);
		ck_assert_int_eq(esp_seal(j->tx, j->lane, q, NH_UDP), 0);
		memcpy(j->wire[i], q->data, q->len);
		j->len[i] = q->len;
	}
	free(q);
	return NULL;
}

START_TEST(lanes)
{
	static struct lane_job jobs[LANES];
	const struct cfg *c = &cfgs[_i];
	struct esp_sa *tx = NULL, *rx = NULL;
	pthread_t t[LANES];
	uint8_t nh;

	if (!have(c))
		return;
	ck_assert_int_eq(esp_sa_new(&tx, TEST_SPI, c->cipher, c->tx,
	    test_keymat, c->esn, 64, LANES), 0);
	ck_assert_int_eq(esp_sa_new(&rx, TEST_SPI, c->cipher, c->rx,
	    test_keymat, c->esn, REPLAY_WINDOW_MAX, LANES), 0);
	fill_payload(LANE_LEN, 9);
	for (unsigned l = 0; l < LANES; l++) {
		jobs[l].tx = tx;
		jobs[l].lane = l;
		ck_assert_int_eq(pthread_create(&t[l], NULL, lane_seal,
		    &jobs[l]), 0);
	}
	for (unsigned l = 0; l < LANES; l++)
		pthread_join(t[l], NULL);
	ck_assert_uint_eq(tx->tx_seq, LANES * LANE_PKTS + 1);
	for (unsigned l = 0; l < LANES; l++) {
		for (size_t i = 0; i < LANE_PKTS; i++) {
			pkt_fill(&p, PKT_HEADROOM, jobs[l].wire[i],
			    jobs[l].len[i]);
			ck_assert_int_eq(esp_open(rx, (l + 1) % LANES, &p, &nh),
			    DROP_NONE);
			ck_assert_uint_eq(p.len, LANE_LEN);
			ck_assert_mem_eq(p.data, payload, LANE_LEN);
		}
	}
	ck_assert_uint_eq(rx->stats.packets, LANES * LANE_PKTS);
	esp_sa_free(tx);
	esp_sa_free(rx);
}
END_TEST

/* "auto" picks an engine that runs the cipher, measured, and not slower
 * than the other by more than the margin libsodium is given. */
START_TEST(auto_engine)
{
	enum aead_cipher c = _i;
	enum aead_engine got = aead_auto(c), other;
	double best, rate;

	ck_assert_int_eq(aead_auto(c), got);
	if (!aead_available(c, AEAD_LIBSODIUM) &&
	    !aead_available(c, AEAD_OPENSSL)) {
		ck_assert_int_eq(got, AEAD__ENGINES);
		return;
	}
	ck_assert(aead_available(c, got));
	best = aead_measured_gbps(c, got);
	ck_assert(best > 0);
	other = got == AEAD_LIBSODIUM ? AEAD_OPENSSL : AEAD_LIBSODIUM;
	rate = aead_measured_gbps(c, other);
	ck_assert(aead_available(c, other) ? rate > 0 : rate == 0);
	ck_assert(rate <= best * 1.1 || got == AEAD_LIBSODIUM);
	fprintf(stderr, "NOTE: %s: auto picks %s (libsodium %.2f GB/s, "
	    "openssl %.2f GB/s)\n", aead_cipher_name(c),
	    aead_engine_name(got), aead_measured_gbps(c, AEAD_LIBSODIUM),
	    aead_measured_gbps(c, AEAD_OPENSSL));
}
END_TEST

static Suite *
esp_suite(void)
{
	Suite *s = suite_create("esp");
	TCase *kat = tcase_create("known_answers");
	TCase *tc = tcase_create("sa");

	tcase_add_loop_test(kat, kat_seal, 0, N_KAT_RUNS);
	tcase_add_loop_test(kat, kat_open, 0, N_KAT_RUNS);
	suite_add_tcase(s, kat);

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, spi_of);
	tcase_add_loop_test(tc, sa_new_refusals, 0, N_CFGS);
	tcase_add_loop_test(tc, round_trip, 0, N_CFGS);
	tcase_add_loop_test(tc, tamper_every_bit, 0, N_CFGS);
	tcase_add_loop_test(tc, truncated, 0, N_CFGS);
	tcase_add_loop_test(tc, replay_reorder_too_old, 0, N_CFGS);
	tcase_add_loop_test(tc, wrong_spi, 0, N_CFGS);
	tcase_add_loop_test(tc, padding, 0, N_CFGS);
	tcase_add_loop_test(tc, esn_wrap, 0, N_CFGS);
	tcase_add_loop_test(tc, seq_exhausted, 0, N_CFGS);
	tcase_add_loop_test(tc, no_room, 0, N_CFGS);
	tcase_add_loop_test(tc, lanes, 0, N_CFGS);
	tcase_add_loop_test(tc, auto_engine, 0, AEAD__CIPHERS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(esp_suite());
}
