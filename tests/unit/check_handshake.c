/* Handshake: HKDF against RFC 5869, then two hs_peer ends talking through
 * the test, which loses, duplicates, reorders and corrupts their messages.
 * Time and randomness are the test's: each end draws from its own seeded
 * stream and reads its own wall clock. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "handshake.h"
#include "hkdf.h"
#include "hsguard.h"

#include "check_main.h"

#define CTX	"esp=chacha20-poly1305 vni=123"
#define I_MAC2	92		/* doc/handshake.md */

struct end {
	struct hs_peer	*hs;
	uint8_t		 seed[32];
	uint64_t	 draws;
	uint64_t	 wall_ns;
	struct hs_event	 ev;
	struct hs_keys	 keys;		/* a copy of the last KEYS_READY */
};

struct msg {
	uint8_t	b[HS_MSG_MAX + 8];
	size_t	len;
};

static uint8_t psk[HS_KEY_LEN], wrong_psk[HS_KEY_LEN];
static struct end A, B, C;
static uint64_t now;

static void
test_random(void *arg, void *buf, size_t len)
{
	struct end *e = arg;
	uint8_t seed[32];

	memcpy(seed, e->seed, sizeof(seed));
	memcpy(seed, &e->draws, sizeof(e->draws));
	e->draws++;
	randombytes_buf_deterministic(buf, len, seed);
}

static uint64_t
test_wall(void *arg)
{
	return ((struct end *)arg)->wall_ns;
}

static struct hs_peer *
end_new(struct end *e, uint8_t tag, const uint8_t *k,
    const struct hs_static *st, const char *ctx)
{
	struct hs_env env = { test_random, test_wall, NULL, e };

	hs_peer_free(e->hs);
	memset(e, 0, sizeof(*e));
	e->seed[31] = tag;
	e->wall_ns = 1700000000ULL * 1000000000ULL;
	e->hs = hs_peer_new(k, st, ctx, strlen(ctx), &env);
	return e->hs;
}

static void
setup(void)
{
	now = 1000;
	ck_assert_ptr_nonnull(end_new(&A, 'A', psk, NULL, CTX));
	ck_assert_ptr_nonnull(end_new(&B, 'B', psk, NULL, CTX));
}

static void
teardown(void)
{
	hs_peer_free(A.hs);
	hs_peer_free(B.hs);
	hs_peer_free(C.hs);
	A.hs = B.hs = C.hs = NULL;
}

static struct msg
initiate(struct end *e)
{
	struct msg m;

	ck_assert_int_eq(hs_initiate(e->hs, now, m.b, &m.len), 0);
	ck_assert_uint_eq(m.len, HS_INIT_LEN);
	ck_assert_int_eq(hs_msg_type(m.b, m.len), HS_MSG_INIT);
	return m;
}

/* to receives m. A reply comes exactly with a responder's KEYS_READY. */
static enum hs_event_type
recv_msg(struct end *to, const struct msg *m, struct msg *reply)
{
	struct msg r;
	enum hs_event_type t;

	memset(&r, 0, sizeof(r));
	t = hs_receive(to->hs, now, m->b, m->len, r.b, &r.len, &to->ev);
	ck_assert_int_eq(t, to->ev.type);
	if (t == HS_EV_KEYS_READY) {
		ck_assert_ptr_nonnull(to->ev.keys);
		to->keys = *to->ev.keys;
	} else
		ck_assert_ptr_null(to->ev.keys);
	if (t == HS_EV_KEYS_READY && !to->keys.initiator) {
		ck_assert_uint_eq(r.len, HS_RESP_LEN);
		ck_assert_int_eq(hs_msg_type(r.b, r.len), HS_MSG_RESP);
	} else if (t == HS_EV_NONE && r.len > 0) {
		/* The winner of crossing initiations resends its own. */
		ck_assert_uint_eq(r.len, HS_INIT_LEN);
		ck_assert_int_eq(hs_msg_type(r.b, r.len), HS_MSG_INIT);
	} else
		ck_assert_uint_eq(r.len, 0);
	if (reply != NULL)
		*reply = r;
	return t;
}

static bool
has_rx(const struct hs_sas *sas, uint32_t spi)
{
	for (size_t i = 0; i < 4; i++)
		if (sas->rx_spi[i] == spi)
			return true;
	return false;
}

/* i's keys are r's, mirrored. */
static void
check_pair(const struct end *i, const struct end *r)
{
	const struct hs_keys *ik = &i->keys, *rk = &r->keys;

	ck_assert(ik->initiator);
	ck_assert(!rk->initiator);
	ck_assert_uint_eq(ik->tx_spi, rk->rx_spi);
	ck_assert_uint_eq(ik->rx_spi, rk->tx_spi);
	ck_assert_uint_ne(ik->tx_spi, ik->rx_spi);
	ck_assert_uint_ge(ik->tx_spi, 256);
	ck_assert_uint_ge(ik->rx_spi, 256);
	ck_assert_mem_eq(ik->tx_key, rk->rx_key, HS_KEY_LEN);
	ck_assert_mem_eq(ik->tx_salt, rk->rx_salt, HS_SALT_LEN);
	ck_assert_mem_eq(ik->rx_key, rk->tx_key, HS_KEY_LEN);
	ck_assert_mem_eq(ik->rx_salt, rk->tx_salt, HS_SALT_LEN);
	ck_assert_mem_ne(ik->tx_key, ik->rx_key, HS_KEY_LEN);
}

/* The initiator sends at once; the responder once the initiator's first
 * ESP packet confirms. */
static void
confirm(struct end *r)
{
	ck_assert_int_eq(hs_confirm(r->hs, now, r->keys.rx_spi, &r->ev),
	    HS_EV_SA_CHANGED);
	ck_assert_uint_eq(r->ev.sas.tx_spi, r->keys.tx_spi);
	ck_assert_uint_eq(r->ev.sas.staged_tx_spi, 0);
	ck_assert(has_rx(&r->ev.sas, r->keys.rx_spi));
}

static void
handshake(struct end *i, struct end *r)
{
	struct msg m = initiate(i), resp;

	ck_assert_int_eq(recv_msg(r, &m, &resp), HS_EV_KEYS_READY);
	ck_assert_uint_eq(r->ev.sas.staged_tx_spi, r->keys.tx_spi);
	ck_assert(has_rx(&r->ev.sas, r->keys.rx_spi));
	ck_assert_int_eq(recv_msg(i, &resp, NULL), HS_EV_KEYS_READY);
	ck_assert_uint_eq(i->ev.sas.tx_spi, i->keys.tx_spi);
	ck_assert(has_rx(&i->ev.sas, i->keys.rx_spi));
	check_pair(i, r);
	confirm(r);
}

static void
unhex(uint8_t *out, size_t len, const char *hex)
{
	size_t got;

	ck_assert_int_eq(sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got,
	    NULL), 0);
	ck_assert_uint_eq(got, len);
}

static void
fill_range(uint8_t *b, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(first + i);
}

static void
check_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
    size_t salt_len, const uint8_t *info, size_t info_len,
    const char *prk_hex, const char *okm_hex)
{
	uint8_t prk[32], want_prk[32], okm[82], want_okm[82];
	size_t len = strlen(okm_hex) / 2;

	unhex(want_prk, sizeof(want_prk), prk_hex);
	unhex(want_okm, len, okm_hex);
	hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len);
	ck_assert_mem_eq(prk, want_prk, sizeof(prk));
	ck_assert_int_eq(hkdf_sha256_expand(okm, len, prk, info, info_len), 0);
	ck_assert_mem_eq(okm, want_okm, len);
	memset(okm, 0, sizeof(okm));
	ck_assert_int_eq(hkdf_sha256(okm, len, salt, salt_len, ikm, ikm_len,
	    info, info_len), 0);
	ck_assert_mem_eq(okm, want_okm, len);
}

START_TEST(hkdf_rfc5869)
{
	uint8_t ikm[80], salt[80], info[80], big[HKDF_SHA256_MAX + 1];

	/* A.1: basic */
	memset(ikm, 0x0b, 22);
	fill_range(salt, 13, 0x00);
	fill_range(info, 10, 0xf0);
	check_hkdf(ikm, 22, salt, 13, info, 10,
	    "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	    "34007208d5b887185865");
	/* A.2: longer inputs and outputs */
	fill_range(ikm, 80, 0x00);
	fill_range(salt, 80, 0x60);
	fill_range(info, 80, 0xb0);
	check_hkdf(ikm, 80, salt, 80, info, 80,
	    "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
	    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	    "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	    "cc30c58179ec3e87c14c01d5c1f3434f1d87");
	/* A.3: empty salt and info */
	memset(ikm, 0x0b, 22);
	check_hkdf(ikm, 22, NULL, 0, NULL, 0,
	    "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
	    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	    "9d201395faa4b61a96c8");

	ck_assert_int_eq(hkdf_sha256_expand(big, sizeof(big), ikm, NULL, 0),
	    -1);
	ck_assert_int_eq(hkdf_sha256_expand(big, HKDF_SHA256_MAX, ikm, NULL, 0),
	    0);
}
END_TEST

START_TEST(psk_derive)
{
	static const uint8_t zero[HS_KEY_LEN];
	uint8_t k[HS_KEY_LEN];

	ck_assert_int_eq(hs_psk_derive(k, "test123"), 0);
	ck_assert_mem_eq(k, psk, sizeof(k));
	ck_assert_mem_ne(k, wrong_psk, sizeof(k));
	ck_assert_mem_ne(k, zero, sizeof(k));
}
END_TEST

START_TEST(sizes_and_routing)
{
	struct msg m = initiate(&A), r;

	ck_assert_uint_eq(HS_INIT_LEN, 108);
	ck_assert_uint_eq(HS_RESP_LEN, 76);
	ck_assert_uint_lt(HS_RESP_LEN, HS_INIT_LEN);
	/* The first word is below 256, which no ESP SPI is. */
	ck_assert_mem_eq(m.b, "\0\0\0\1", 4);
	ck_assert_int_eq(recv_msg(&B, &m, &r), HS_EV_KEYS_READY);
	ck_assert_mem_eq(r.b, "\0\0\0\2", 4);
	ck_assert_uint_eq(hs_msg_receiver(r.b, r.len), B.keys.tx_spi);
	ck_assert_uint_eq(hs_msg_receiver(m.b, m.len), 0);
	ck_assert_int_eq(hs_msg_type(m.b, m.len - 1), 0);
	ck_assert_int_eq(hs_precheck(A.hs, r.b, r.len), HS_EV_NONE);
	ck_assert_int_eq(hs_drop_reason(HS_EV_REPLAY), DROP_HS_REPLAY);
	ck_assert_int_eq(hs_drop_reason(HS_EV_KEYS_READY), DROP_NONE);
}
END_TEST

START_TEST(full_handshake)
{
	struct hs_keys first;

	handshake(&A, &B);
	ck_assert_uint_eq(A.ev.sas.staged_tx_spi, 0);
	ck_assert_uint_eq(hs_next_timeout(A.hs), UINT64_MAX);
	ck_assert_uint_eq(hs_next_timeout(B.hs), UINT64_MAX);
	/* Later packets, or packets on other SAs, confirm nothing more. */
	ck_assert_int_eq(hs_confirm(B.hs, now, B.keys.rx_spi, &B.ev),
	    HS_EV_NONE);
	ck_assert_int_eq(hs_confirm(B.hs, now, 0, &B.ev), HS_EV_NONE);
	ck_assert_uint_eq(B.ev.sas.tx_spi, B.keys.tx_spi);

	/* Either end may initiate; each handshake has keys of its own. */
	first = A.keys;
	now += 1000;
	B.wall_ns += 1000000000;
	handshake(&B, &A);
	ck_assert_mem_ne(A.keys.rx_key, first.rx_key, HS_KEY_LEN);
	ck_assert_mem_ne(A.keys.tx_key, first.tx_key, HS_KEY_LEN);
}
END_TEST

/* Static keys as well: Noise KKpsk0. */
START_TEST(static_keys)
{
	uint8_t apub[32], bpub[32], cpub[32];
	struct hs_static as, bs, cs, bad;
	struct msg m;

	crypto_box_seed_keypair(apub, as.local_private,
	    (const uint8_t *)"seed of a's static key, 32 bytes");
	crypto_box_seed_keypair(bpub, bs.local_private,
	    (const uint8_t *)"seed of b's static key, 32 bytes");
	crypto_box_seed_keypair(cpub, cs.local_private,
	    (const uint8_t *)"seed of c's static key, 32 bytes");
	memcpy(as.peer_public, bpub, 32);
	memcpy(bs.peer_public, apub, 32);
	memcpy(cs.peer_public, bpub, 32);
	ck_assert_ptr_nonnull(end_new(&A, 'A', psk, &as, CTX));
	ck_assert_ptr_nonnull(end_new(&B, 'B', psk, &bs, CTX));
	handshake(&A, &B);
	now += 1000;
	handshake(&B, &A);

	/* C knows the PSK and B's public key, so passes mac1, but it is not
	 * A: the AEAD fails. */
	ck_assert_ptr_nonnull(end_new(&C, 'C', psk, &cs, CTX));
	m = initiate(&C);
	ck_assert_int_eq(hs_precheck(B.hs, m.b, m.len), HS_EV_NONE);
	ck_assert_int_eq(recv_msg(&B, &m, NULL), HS_EV_AUTH_FAILED);
	/* A PSK-only end talking to a static-key one. */
	ck_assert_ptr_nonnull(end_new(&C, 'C', psk, NULL, CTX));
	m = initiate(&C);
	ck_assert_int_eq(recv_msg(&B, &m, NULL), HS_EV_AUTH_FAILED);
	/* A low-order peer key would make es and ss public. */
	bad = as;
	memset(bad.peer_public, 0, 32);
	ck_assert_ptr_null(end_new(&C, 'C', psk, &bad, CTX));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(wrong_psk_rejected)
{
	struct msg m;

	/* The wrong end's clock is ahead: had its timestamp counted, A's
	 * initiation below would be a replay. */
	ck_assert_ptr_nonnull(end_new(&C, 'C', wrong_psk, NULL, CTX));
	C.wall_ns = A.wall_ns + 3600000000000ULL;
	m = initiate(&C);
	ck_assert_int_eq(recv_msg(&B, &m, NULL), HS_EV_AUTH_FAILED);
	ck_assert_uint_eq(B.ev.sas.rx_spi[1], 0);
	ck_assert_uint_eq(hs_next_timeout(B.hs), UINT64_MAX);
	/* Nor does a wrong-PSK responder answer. */
	m = initiate(&A);
	ck_assert_int_eq(recv_msg(&C, &m, NULL), HS_EV_AUTH_FAILED);
	/* The same PSK in another context fails past mac1, in the AEAD. */
	ck_assert_ptr_nonnull(end_new(&C, 'C', psk, NULL, "esp=aes-256-gcm"));
	ck_assert_int_eq(hs_precheck(C.hs, m.b, m.len), HS_EV_NONE);
	ck_assert_int_eq(recv_msg(&C, &m, NULL), HS_EV_AUTH_FAILED);
	/* B is unchanged and takes A's. */
	ck_assert_int_eq(recv_msg(&B, &m, NULL), HS_EV_KEYS_READY);
}
END_TEST

START_TEST(lost_initiation)
{
	struct msg m1 = initiate(&A), m2, r;
	uint64_t due = hs_next_timeout(A.hs);

	ck_assert_uint_ge(due, now + HS_RETRY_MS);
	ck_assert_uint_le(due, now + HS_RETRY_MS + HS_RETRY_MS / 4);
	ck_assert_int_eq(hs_initiate(A.hs, now, m2.b, &m2.len), -EALREADY);
	ck_assert_uint_eq(m2.len, 0);
	now = due - 1;
	ck_assert_int_eq(hs_timer(A.hs, now, m2.b, &m2.len, &A.ev), HS_EV_NONE);
	ck_assert_uint_eq(m2.len, 0);
	/* m1 is lost; the resend is a new initiation. */
	now = due;
	A.wall_ns += 1000000000;
	ck_assert_int_eq(hs_timer(A.hs, now, m2.b, &m2.len, &A.ev), HS_EV_NONE);
	ck_assert_uint_eq(m2.len, HS_INIT_LEN);
	ck_assert_mem_ne(m1.b + 4, m2.b + 4, 36);
	ck_assert_uint_gt(hs_next_timeout(A.hs), now + HS_RETRY_MS);
	ck_assert_int_eq(recv_msg(&B, &m2, &r), HS_EV_KEYS_READY);
	ck_assert_int_eq(recv_msg(&A, &r, NULL), HS_EV_KEYS_READY);
	check_pair(&A, &B);
	ck_assert_uint_eq(hs_next_timeout(A.hs), UINT64_MAX);
	/* m1 turns up late: older than m2, so a replay. */
	ck_assert_int_eq(recv_msg(&B, &m1, NULL), HS_EV_REPLAY);
	confirm(&B);
}
END_TEST

START_TEST(give_up)
{
	struct msg m = initiate(&A);
	uint64_t start = now, prev = now, due;
	unsigned resends = 0, jittered = 0;

	for (;;) {
		due = hs_next_timeout(A.hs);
		ck_assert_uint_ne(due, UINT64_MAX);
		ck_assert_uint_ge(due - prev, HS_RETRY_MS);
		ck_assert_uint_le(due - prev, HS_RETRY_MAX_MS * 5 / 4);
		jittered += (due - prev) % HS_RETRY_MS != 0;
		prev = now = due;
		if (hs_timer(A.hs, now, m.b, &m.len, &A.ev) == HS_EV_TIMEOUT)
			break;
		ck_assert_uint_eq(m.len, HS_INIT_LEN);
		resends++;
	}
	ck_assert_uint_eq(m.len, 0);
	ck_assert_uint_ge(now - start, HS_GIVEUP_MS);
	ck_assert_uint_lt(now - start, HS_GIVEUP_MS + HS_RETRY_MAX_MS * 5 / 4);
	ck_assert_uint_ge(resends, 10);
	ck_assert_uint_gt(jittered, resends / 2);
	ck_assert_uint_eq(hs_next_timeout(A.hs), UINT64_MAX);
	initiate(&A);
}
END_TEST

START_TEST(duplicates)
{
	struct msg m = initiate(&A), r;
	struct hs_sas sas;

	ck_assert_int_eq(recv_msg(&B, &m, &r), HS_EV_KEYS_READY);
	sas = B.ev.sas;
	ck_assert_int_eq(recv_msg(&B, &m, NULL), HS_EV_REPLAY);
	ck_assert_mem_eq(&B.ev.sas, &sas, sizeof(sas));
	ck_assert_int_eq(recv_msg(&A, &r, NULL), HS_EV_KEYS_READY);
	sas = A.ev.sas;
	ck_assert_int_eq(recv_msg(&A, &r, NULL), HS_EV_STALE);
	ck_assert_mem_eq(&A.ev.sas, &sas, sizeof(sas));
	check_pair(&A, &B);
}
END_TEST

/* An initiation recorded and played again much later, to a live session,
 * neither resets it nor makes new keys. */
START_TEST(replay_later)
{
	struct msg m = initiate(&A), r;
	struct hs_sas sas;

	ck_assert_int_eq(recv_msg(&B, &m, &r), HS_EV_KEYS_READY);
	ck_assert_int_eq(recv_msg(&A, &r, NULL), HS_EV_KEYS_READY);
	confirm(&B);
	sas = B.ev.sas;
	now += 3600000;
	ck_assert_int_eq(recv_msg(&B, &m, NULL), HS_EV_REPLAY);
	ck_assert_mem_eq(&B.ev.sas, &sas, sizeof(sas));
	ck_assert_int_eq(hs_confirm(B.hs, now, B.keys.rx_spi, &B.ev),
	    HS_EV_NONE);
	ck_assert_mem_eq(&B.ev.sas, &sas, sizeof(sas));
}
END_TEST

/* Our own initiation sent back to us is no handshake with the peer. */
START_TEST(reflection)
{
	struct msg m = initiate(&A);

	ck_assert_int_eq(recv_msg(&A, &m, NULL), HS_EV_REPLAY);
	ck_assert_uint_ne(hs_next_timeout(A.hs), UINT64_MAX);
}
END_TEST

/* A resent because B's answer was slow; both answers arrive, the first
 * one last. Only the answer to the newest initiation counts. */
START_TEST(superseded_response)
{
	struct msg m1 = initiate(&A), m2, r1, r2;
	struct hs_keys k1;

	now = hs_next_timeout(A.hs);
	A.wall_ns += 1000000000;
	ck_assert_int_eq(hs_timer(A.hs, now, m2.b, &m2.len, &A.ev), HS_EV_NONE);
	ck_assert_int_eq(recv_msg(&B, &m1, &r1), HS_EV_KEYS_READY);
	k1 = B.keys;
	ck_assert_int_eq(recv_msg(&B, &m2, &r2), HS_EV_KEYS_READY);
	ck_assert_uint_ne(B.keys.rx_spi, k1.rx_spi);
	/* The unconfirmed first SA is replaced; it lingers only inbound. */
	ck_assert_uint_eq(B.ev.sas.staged_tx_spi, B.keys.tx_spi);
	ck_assert_uint_eq(B.ev.sas.tx_spi, 0);
	ck_assert(has_rx(&B.ev.sas, k1.rx_spi));

	ck_assert_int_eq(recv_msg(&A, &r2, NULL), HS_EV_KEYS_READY);
	ck_assert_int_eq(recv_msg(&A, &r1, NULL), HS_EV_STALE);
	check_pair(&A, &B);
	confirm(&B);
}
END_TEST

START_TEST(stale_first)
{
	struct msg m1 = initiate(&A), m2, r1;

	now = hs_next_timeout(A.hs);
	A.wall_ns += 1000000000;
	ck_assert_int_eq(hs_timer(A.hs, now, m2.b, &m2.len, &A.ev), HS_EV_NONE);
	ck_assert_int_eq(recv_msg(&B, &m1, &r1), HS_EV_KEYS_READY);
	/* The answer to m1 reaches A after the resend: ignored, A waits. */
	ck_assert_int_eq(recv_msg(&A, &r1, NULL), HS_EV_STALE);
	ck_assert_uint_ne(hs_next_timeout(A.hs), UINT64_MAX);
	ck_assert_uint_eq(A.ev.sas.tx_spi, 0);
}
END_TEST

/* Both ends start at once and their initiations cross: exactly one is
 * answered, and the ends agree on its keys. */
static bool
simultaneous(uint8_t tag)
{
	struct msg ma, mb, ra, rb;
	struct end *win, *lose;
	enum hs_event_type ta, tb;
	bool a_wins;

	end_new(&A, tag, psk, NULL, CTX);
	end_new(&B, tag + 1, psk, NULL, CTX);
	ma = initiate(&A);
	mb = initiate(&B);
	ta = recv_msg(&A, &mb, &ra);
	tb = recv_msg(&B, &ma, &rb);
	a_wins = ta == HS_EV_NONE;
	win = a_wins ? &A : &B;
	lose = a_wins ? &B : &A;
	ck_assert_int_eq(a_wins ? ta : tb, HS_EV_NONE);
	ck_assert_int_eq(a_wins ? tb : ta, HS_EV_KEYS_READY);
	/* The winner resent its initiation unchanged; the loser, which has
	 * answered it already, takes the copy for a replay. */
	ck_assert_mem_eq((a_wins ? &ra : &rb)->b, (a_wins ? &ma : &mb)->b,
	    HS_INIT_LEN);
	ck_assert_int_eq(recv_msg(lose, a_wins ? &ra : &rb, NULL),
	    HS_EV_REPLAY);
	/* Both still wait: the loser keeps its own initiation until the
	 * winner shows it holds the keys of the answer. */
	ck_assert_uint_ne(hs_next_timeout(lose->hs), UINT64_MAX);
	ck_assert_uint_ne(hs_next_timeout(win->hs), UINT64_MAX);
	ck_assert_int_eq(recv_msg(win, a_wins ? &rb : &ra, NULL),
	    HS_EV_KEYS_READY);
	check_pair(win, lose);
	confirm(lose);
	ck_assert_uint_eq(hs_next_timeout(win->hs), UINT64_MAX);
	ck_assert_uint_eq(hs_next_timeout(lose->hs), UINT64_MAX);
	return a_wins;
}

/* Both start, but the first initiation is lost (its peer was not up
 * yet). Whichever end wins the tie-break, one more message each way
 * brings keys: no waiting for a retransmission timer. */
static void
first_initiation_lost(uint8_t tag)
{
	struct msg lost, mb, ra, rb;
	enum hs_event_type ta;

	end_new(&A, tag, psk, NULL, CTX);
	end_new(&B, tag + 1, psk, NULL, CTX);
	lost = initiate(&A);
	(void)lost;
	mb = initiate(&B);
	ta = recv_msg(&A, &mb, &ra);
	if (ta == HS_EV_KEYS_READY) {
		/* A lost the tie-break and answered B. */
		ck_assert_int_eq(recv_msg(&B, &ra, NULL), HS_EV_KEYS_READY);
		check_pair(&B, &A);
		return;
	}
	/* A won: it resent its initiation, which B now answers. */
	ck_assert_int_eq(ta, HS_EV_NONE);
	ck_assert_uint_eq(ra.len, HS_INIT_LEN);
	ck_assert_int_eq(recv_msg(&B, &ra, &rb), HS_EV_KEYS_READY);
	ck_assert_int_eq(recv_msg(&A, &rb, NULL), HS_EV_KEYS_READY);
	check_pair(&A, &B);
}

START_TEST(lost_first_of_crossing)
{
	for (uint8_t tag = 0; tag < 16; tag += 2)
		first_initiation_lost(tag);
}
END_TEST

START_TEST(simultaneous_initiation)
{
	unsigned a_wins = 0;

	for (uint8_t tag = 0; tag < 16; tag += 2)
		a_wins += simultaneous(tag);
	/* Both outcomes of the tie-break were exercised. */
	ck_assert_uint_gt(a_wins, 0);
	ck_assert_uint_lt(a_wins, 8);
}
END_TEST

/* An initiation stamped more than HS_FUTURE_MAX_MS ahead of the
 * responder's clock is refused and leaves no trace, so the peer's real
 * ones still pass. */
START_TEST(future_timestamp)
{
	struct msg m;

	A.wall_ns = B.wall_ns + (HS_FUTURE_MAX_MS + 1000) * 1000000ull;
	m = initiate(&A);
	ck_assert_int_eq(recv_msg(&B, &m, NULL), HS_EV_CLOCK_AHEAD);
	ck_assert_int_eq(hs_drop_reason(HS_EV_CLOCK_AHEAD),
	    DROP_HS_CLOCK_AHEAD);
	end_new(&A, 'a', psk, NULL, CTX);
	A.wall_ns = B.wall_ns + (HS_FUTURE_MAX_MS - 1000) * 1000000ull;
	handshake(&A, &B);
}
END_TEST

/* PSK mode with both ends' endpoints bound: C and D share the PSK and
 * the context, but what they exchange fails with A and B, either way,
 * and A's initiation sent back to A fails too. */
static void
bind_ends(struct end *e, const char *local, const char *peer)
{
	hs_peer_bind(e->hs, local, strlen(local), peer, strlen(peer));
}

START_TEST(bound_endpoints)
{
	struct end D = { 0 };
	struct msg m, cd;

	bind_ends(&A, "a:4797", "b:4797");
	bind_ends(&B, "b:4797", "a:4797");
	handshake(&A, &B);
	ck_assert_ptr_nonnull(end_new(&C, 'C', psk, NULL, CTX));
	ck_assert_ptr_nonnull(end_new(&D, 'D', psk, NULL, CTX));
	bind_ends(&C, "c:4797", "d:4797");
	bind_ends(&D, "d:4797", "c:4797");
	handshake(&C, &D);

	now += 1000;
	C.wall_ns += 1000000000;
	cd = initiate(&C);
	ck_assert_int_eq(recv_msg(&B, &cd, NULL), HS_EV_AUTH_FAILED);
	ck_assert_int_eq(recv_msg(&A, &cd, NULL), HS_EV_AUTH_FAILED);
	A.wall_ns += 1000000000;
	m = initiate(&A);
	ck_assert_int_eq(recv_msg(&C, &m, NULL), HS_EV_AUTH_FAILED);
	ck_assert_int_eq(recv_msg(&D, &m, NULL), HS_EV_AUTH_FAILED);
	ck_assert_int_eq(recv_msg(&A, &m, NULL), HS_EV_AUTH_FAILED);
	/* Their own receivers still take them. */
	ck_assert_int_eq(recv_msg(&B, &m, NULL), HS_EV_KEYS_READY);
	ck_assert_int_eq(recv_msg(&D, &cd, NULL), HS_EV_KEYS_READY);
	hs_peer_free(D.hs);
}
END_TEST

/* A restarted end (no timestamp memory) with its own initiation out
 * gets a replay of the peer's old initiation. Losing the tie-break, it
 * answers, but keeps its initiation, which the peer then completes. */
START_TEST(replay_in_tie_break)
{
	struct msg old, m, r;
	unsigned yielded = 0;

	for (uint8_t tag = 0; tag < 32; tag += 2) {
		end_new(&A, tag, psk, NULL, CTX);
		end_new(&B, tag + 1, psk, NULL, CTX);
		old = initiate(&B);
		ck_assert_int_eq(recv_msg(&A, &old, &r), HS_EV_KEYS_READY);
		ck_assert_int_eq(recv_msg(&B, &r, NULL), HS_EV_KEYS_READY);
		confirm(&A);
		/* A restarts and initiates; the old initiation comes again. */
		end_new(&A, tag, psk, NULL, CTX);
		A.wall_ns += 5000000000ULL;
		B.wall_ns += 5000000000ULL;
		now += 5000;
		m = initiate(&A);
		if (recv_msg(&A, &old, &r) != HS_EV_KEYS_READY)
			continue;	/* A won: nothing yielded */
		yielded++;
		ck_assert_uint_ne(hs_next_timeout(A.hs), UINT64_MAX);
		/* B, which never sent old again, takes A's answer as stale. */
		ck_assert_int_eq(recv_msg(&B, &r, NULL), HS_EV_STALE);
		ck_assert_int_eq(recv_msg(&B, &m, &r), HS_EV_KEYS_READY);
		ck_assert_int_eq(recv_msg(&A, &r, NULL), HS_EV_KEYS_READY);
		check_pair(&A, &B);
		ck_assert_uint_eq(A.ev.sas.tx_spi, A.keys.tx_spi);
		confirm(&B);
	}
	ck_assert_uint_gt(yielded, 0);
}
END_TEST

/* Under load (more than HS_LOAD_PER_S initiations a second), an
 * initiation needs the cookie of its source in mac2: without, the
 * responder seals that cookie to it instead of any public key work;
 * the initiator's next initiation carries it and gets through, while
 * the same message from another source, or a replayed cookie reply,
 * gets nowhere. Per source, those with a good mac2 are limited too. */
START_TEST(cookie_under_load)
{
	static const uint8_t a_src[] = "192.0.2.1", c_src[] = "192.0.2.3";
	uint8_t fresh[48], cookie[16], nonce[24], reply[COOKIE_REPLY_LEN];
	struct hs_guard *g = malloc(sizeof(*g));
	struct msg m, m2, cr;
	unsigned limited = 0;

	ck_assert_ptr_nonnull(g);
	memset(fresh, 7, sizeof(fresh));
	hs_guard_init(g, fresh);
	ck_assert(hs_guard_rotate_due(g, now));
	hs_guard_rotate(g, now, fresh);
	ck_assert(!hs_guard_rotate_due(g, now + COOKIE_LIFETIME_MS - 1));
	m = initiate(&A);
	for (int i = 0; i < HS_LOAD_PER_S; i++)
		ck_assert_int_eq(hs_guard_check(g, now, c_src, sizeof(c_src),
		    m.b, m.len, cookie), HS_GUARD_PASS);
	ck_assert_int_eq(hs_guard_check(g, now, a_src, sizeof(a_src), m.b,
	    m.len, cookie), HS_GUARD_COOKIE);
	memset(nonce, 9, sizeof(nonce));
	hs_cookie_reply(B.hs, m.b, cookie, nonce, reply);
	ck_assert_uint_eq(cookie_reply_receiver(reply, sizeof(reply)),
	    be32_get(m.b + 4));
	memcpy(cr.b, reply, sizeof(reply));
	cr.len = sizeof(reply);
	/* A forged or altered reply is refused; the real one taken. */
	cr.b[40] ^= 1;
	ck_assert_int_eq(recv_msg(&A, &cr, NULL), HS_EV_AUTH_FAILED);
	cr.b[40] ^= 1;
	ck_assert_int_eq(recv_msg(&A, &cr, NULL), HS_EV_NONE);
	/* The retransmission carries mac2. */
	now = hs_next_timeout(A.hs);
	A.wall_ns += 1000000000;
	ck_assert_int_eq(hs_timer(A.hs, now, m2.b, &m2.len, &A.ev),
	    HS_EV_NONE);
	ck_assert_uint_eq(m2.len, HS_INIT_LEN);
	/* A new second, with no load yet: anything passes. */
	ck_assert_int_eq(hs_guard_check(g, now, c_src, sizeof(c_src), m.b,
	    m.len, cookie), HS_GUARD_PASS);
	for (int i = 1; i < HS_LOAD_PER_S; i++)
		hs_guard_check(g, now, c_src, sizeof(c_src), m.b, m.len,
		    cookie);
	ck_assert_int_eq(hs_guard_check(g, now, a_src, sizeof(a_src), m2.b,
	    m2.len, cookie), HS_GUARD_PASS);
	ck_assert_int_eq(hs_guard_check(g, now, c_src, sizeof(c_src), m2.b,
	    m2.len, cookie), HS_GUARD_COOKIE);
	ck_assert_int_eq(recv_msg(&B, &m2, &cr), HS_EV_KEYS_READY);
	/* The reply again, once A's initiation is answered: stale. */
	memcpy(cr.b, reply, sizeof(reply));
	cr.len = sizeof(reply);
	ck_assert_int_eq(recv_msg(&A, &cr, NULL), HS_EV_STALE);
	/* One source with good mac2s: HS_SOURCE_BURST, then the rate. */
	for (int i = 0; i < 3 * HS_SOURCE_BURST; i++)
		limited += hs_guard_check(g, now, a_src, sizeof(a_src), m2.b,
		    m2.len, cookie) == HS_GUARD_LIMITED;
	ck_assert_uint_eq(limited, 3 * HS_SOURCE_BURST - HS_SOURCE_BURST + 1);
	now += 1000;
	for (int i = 0; i < HS_LOAD_PER_S; i++)
		hs_guard_check(g, now, c_src, sizeof(c_src), m.b, m.len,
		    cookie);
	limited = 0;
	for (int i = 0; i < 2 * HS_SOURCE_RATE; i++)
		limited += hs_guard_check(g, now, a_src, sizeof(a_src), m2.b,
		    m2.len, cookie) == HS_GUARD_LIMITED;
	ck_assert_uint_eq(limited, HS_SOURCE_RATE);
	free(g);
}
END_TEST

START_TEST(rekey)
{
	struct msg m, r;
	struct hs_keys old_a, old_b;
	uint64_t switched;

	handshake(&A, &B);
	old_a = A.keys;
	old_b = B.keys;
	now += 120000;
	A.wall_ns += 120000000000ULL;
	B.wall_ns += 120000000000ULL;
	m = initiate(&A);
	ck_assert_int_eq(recv_msg(&B, &m, &r), HS_EV_KEYS_READY);
	/* Make before break: B sends with the old SA until A confirms. */
	ck_assert_uint_eq(B.ev.sas.tx_spi, old_b.tx_spi);
	ck_assert_uint_eq(B.ev.sas.staged_tx_spi, B.keys.tx_spi);
	ck_assert(has_rx(&B.ev.sas, old_b.rx_spi));
	ck_assert(has_rx(&B.ev.sas, B.keys.rx_spi));
	ck_assert_int_eq(recv_msg(&A, &r, NULL), HS_EV_KEYS_READY);
	check_pair(&A, &B);
	ck_assert_mem_ne(A.keys.tx_key, old_a.tx_key, HS_KEY_LEN);
	ck_assert_uint_ne(A.keys.rx_spi, old_a.rx_spi);
	/* A sends with the new SA and still accepts on the old one. */
	ck_assert_uint_eq(A.ev.sas.tx_spi, A.keys.tx_spi);
	ck_assert(has_rx(&A.ev.sas, old_a.rx_spi));
	ck_assert(has_rx(&A.ev.sas, A.keys.rx_spi));
	switched = now;
	ck_assert_uint_eq(hs_next_timeout(A.hs), switched + HS_GRACE_MS);

	/* B keeps sending with the old SA: A's confirmation was lost. */
	now += 10;
	ck_assert_int_eq(hs_confirm(A.hs, now, old_a.rx_spi, &A.ev),
	    HS_EV_KEEPALIVE);
	ck_assert_uint_eq(A.ev.sas.tx_spi, A.keys.tx_spi);
	ck_assert_int_eq(hs_confirm(A.hs, now + HS_KEEPALIVE_MS - 1,
	    old_a.rx_spi, &A.ev), HS_EV_NONE);
	ck_assert_int_eq(hs_confirm(A.hs, now + HS_KEEPALIVE_MS, old_a.rx_spi,
	    &A.ev), HS_EV_KEEPALIVE);
	ck_assert_int_eq(hs_confirm(A.hs, now + 5000, A.keys.rx_spi, &A.ev),
	    HS_EV_NONE);
	confirm(&B);
	ck_assert(has_rx(&B.ev.sas, old_b.rx_spi));

	/* Grace over: the old inbound SA goes, the new stays. */
	now = switched + HS_GRACE_MS - 1;
	ck_assert_int_eq(hs_timer(A.hs, now, m.b, &m.len, &A.ev), HS_EV_NONE);
	ck_assert(has_rx(&A.ev.sas, old_a.rx_spi));
	now = switched + HS_GRACE_MS;
	ck_assert_int_eq(hs_timer(A.hs, now, m.b, &m.len, &A.ev),
	    HS_EV_SA_CHANGED);
	ck_assert(!has_rx(&A.ev.sas, old_a.rx_spi));
	ck_assert(has_rx(&A.ev.sas, A.keys.rx_spi));
	ck_assert_uint_eq(A.ev.sas.tx_spi, A.keys.tx_spi);
	ck_assert_uint_eq(hs_next_timeout(A.hs), UINT64_MAX);
	now += 10;
	ck_assert_int_eq(hs_timer(B.hs, now, m.b, &m.len, &B.ev),
	    HS_EV_SA_CHANGED);
	ck_assert(!has_rx(&B.ev.sas, old_b.rx_spi));
	ck_assert_uint_eq(m.len, 0);
}
END_TEST

/* B answered A's rekey, and before A's confirmation came B rekeyed too:
 * both ends end up sending with the same, newest pair. */
START_TEST(rekey_crossing)
{
	struct msg m, r;
	struct hs_keys k2;

	handshake(&A, &B);
	now += 120000;
	A.wall_ns += 120000000000ULL;
	B.wall_ns += 120000000000ULL;
	m = initiate(&A);
	ck_assert_int_eq(recv_msg(&B, &m, &r), HS_EV_KEYS_READY);
	k2 = B.keys;
	ck_assert_int_eq(recv_msg(&A, &r, NULL), HS_EV_KEYS_READY);
	/* A's confirming packet is still on its way when B initiates. */
	m = initiate(&B);
	ck_assert_int_eq(recv_msg(&A, &m, &r), HS_EV_KEYS_READY);
	ck_assert_int_eq(recv_msg(&B, &r, NULL), HS_EV_KEYS_READY);
	check_pair(&B, &A);
	/* B's rekey made A's unconfirmed pair retire on B's side. */
	ck_assert_uint_eq(B.ev.sas.staged_tx_spi, 0);
	ck_assert(has_rx(&B.ev.sas, k2.rx_spi));
	/* A's packet with k2 arrives: accepted, confirms nothing, and asks B
	 * to show A the newest pair. */
	ck_assert_int_eq(hs_confirm(B.hs, now, k2.rx_spi, &B.ev),
	    HS_EV_KEEPALIVE);
	ck_assert_uint_eq(B.ev.sas.tx_spi, B.keys.tx_spi);
	confirm(&A);
	ck_assert_uint_eq(A.ev.sas.tx_spi, B.keys.rx_spi);
	ck_assert_uint_eq(B.ev.sas.tx_spi, A.keys.rx_spi);
}
END_TEST

/* Garbage costs one keyed hash at most and changes nothing. */
START_TEST(garbage)
{
	struct msg m = initiate(&A), bad, r;
	struct hs_sas sas;
	uint64_t draws = B.draws;
	enum hs_event_type t, want;

	for (size_t len = 0; len <= sizeof(m.b); len++) {
		bad = m;
		bad.len = len;
		if (len == HS_INIT_LEN)
			continue;
		ck_assert_int_eq(hs_precheck(B.hs, bad.b, len),
		    HS_EV_MALFORMED);
		ck_assert_int_eq(recv_msg(&B, &bad, NULL), HS_EV_MALFORMED);
	}
	/* A response-sized initiation, and a response from nowhere. */
	bad = m;
	bad.len = HS_RESP_LEN;
	ck_assert_int_eq(recv_msg(&B, &bad, NULL), HS_EV_MALFORMED);
	bad.b[3] = HS_MSG_RESP;
	ck_assert_int_eq(recv_msg(&B, &bad, NULL), HS_EV_AUTH_FAILED);
	/* Every single bit flipped: the type word or a reserved sender index
	 * is malformed, anything else up to mac2 fails mac1; mac2 is the
	 * guard's (hsguard.c), after mac1. */
	for (size_t bit = I_MAC2 * 8; bit < HS_INIT_LEN * 8; bit++) {
		bad = m;
		bad.b[bit / 8] ^= (uint8_t)(1 << bit % 8);
		ck_assert_int_eq(hs_precheck(B.hs, bad.b, bad.len), HS_EV_NONE);
	}
	for (size_t bit = 0; bit < I_MAC2 * 8; bit++) {
		bad = m;
		bad.b[bit / 8] ^= (uint8_t)(1 << bit % 8);
		want = bit < 32 || (bit < 64 && bad.b[4] == 0 &&
		    bad.b[5] == 0 && bad.b[6] == 0) ? HS_EV_MALFORMED :
		    HS_EV_AUTH_FAILED;
		t = recv_msg(&B, &bad, NULL);
		ck_assert_msg(t == want, "bit %zu: %d", bit, t);
		ck_assert_int_eq(hs_precheck(B.hs, bad.b, bad.len), t);
	}
	/* Random bytes with a valid type. */
	for (int i = 0; i < 100; i++) {
		bad.len = HS_INIT_LEN;
		randombytes_buf(bad.b, bad.len);
		memcpy(bad.b, "\0\0\0\1\xff", 5);
		ck_assert_int_eq(recv_msg(&B, &bad, NULL), HS_EV_AUTH_FAILED);
	}
	ck_assert_uint_eq(B.draws, draws);
	ck_assert_uint_eq(hs_next_timeout(B.hs), UINT64_MAX);
	sas = B.ev.sas;
	ck_assert_uint_eq(sas.rx_spi[0] | sas.rx_spi[1] | sas.tx_spi, 0);
	ck_assert_int_eq(recv_msg(&B, &m, &r), HS_EV_KEYS_READY);
	ck_assert_int_eq(recv_msg(&A, &r, NULL), HS_EV_KEYS_READY);
	check_pair(&A, &B);
}
END_TEST

START_TEST(keys_wiped)
{
	static const uint8_t zero[HS_KEY_LEN];
	struct msg m = initiate(&A), r;
	const struct hs_keys *k;

	ck_assert_int_eq(recv_msg(&B, &m, &r), HS_EV_KEYS_READY);
	k = B.ev.keys;
	ck_assert_mem_ne(k->rx_key, zero, HS_KEY_LEN);
	hs_confirm(B.hs, now, 0, &B.ev);
	ck_assert_mem_eq(k->rx_key, zero, HS_KEY_LEN);
	ck_assert_mem_eq(k->tx_key, zero, HS_KEY_LEN);
}
END_TEST

static Suite *
handshake_suite(void)
{
	Suite *s = suite_create("handshake");
	TCase *kdf = tcase_create("kdf");
	TCase *hs = tcase_create("handshake");

	tcase_add_test(kdf, hkdf_rfc5869);
	tcase_add_test(kdf, psk_derive);
	suite_add_tcase(s, kdf);

	tcase_add_checked_fixture(hs, setup, teardown);
	tcase_add_test(hs, sizes_and_routing);
	tcase_add_test(hs, full_handshake);
	tcase_add_test(hs, static_keys);
	tcase_add_test(hs, wrong_psk_rejected);
	tcase_add_test(hs, lost_initiation);
	tcase_add_test(hs, give_up);
	tcase_add_test(hs, duplicates);
	tcase_add_test(hs, replay_later);
	tcase_add_test(hs, reflection);
	tcase_add_test(hs, superseded_response);
	tcase_add_test(hs, stale_first);
	tcase_add_test(hs, simultaneous_initiation);
	tcase_add_test(hs, lost_first_of_crossing);
	tcase_add_test(hs, future_timestamp);
	tcase_add_test(hs, bound_endpoints);
	tcase_add_test(hs, replay_in_tie_break);
	tcase_add_test(hs, cookie_under_load);
	tcase_add_test(hs, rekey);
	tcase_add_test(hs, rekey_crossing);
	tcase_add_test(hs, garbage);
	tcase_add_test(hs, keys_wiped);
	suite_add_tcase(s, hs);
	return s;
}

int
main(void)
{
	/* Argon2id once, before the tests fork. */
	if (hs_psk_derive(psk, "test123") != 0 ||
	    hs_psk_derive(wrong_psk, "test124") != 0)
		return EXIT_FAILURE;
	return run_suite(handshake_suite());
}
