/* A peer's encrypted tunnel: its key exchange, its ESP SAs, the frames
 * that wait for keys, and the timers that rekey it and keep it alive. No
 * sockets: every function says what to send in a struct session_out, and
 * the data path sends it. */
#ifndef OVT_SESSION_H
#define OVT_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "drop.h"
#include "esp.h"
#include "handshake.h"
#include "pkt.h"

#define SESSION_SAS_MAX		6	/* 2 outbound + 4 inbound */
#define SESSION_QUEUE_MAX	16	/* frames waiting for keys */
#define SESSION_KEEPALIVE_MS	10000	/* idle this long: send a dummy */
#define SESSION_DEAD_MS		30000	/* heard nothing this long: down */
#define SESSION_RETRY_MS	5000	/* down: try a handshake this often */
#define SESSION_UNANSWERED_MS	5000	/* then say so, once */
/* Hard lifetime (WireGuard's reject-after-time): an SA is deleted this
 * long after its birth, rekey_after and a half (at least rekey_after and
 * twice the grace of a retired SA), even if rekeying keeps failing;
 * frames then wait for new keys. */
#define SESSION_REJECT_AFTER(rekey_ms)	((rekey_ms) + \
	((rekey_ms) / 2 > 2 * HS_GRACE_MS ? (rekey_ms) / 2 : 2 * HS_GRACE_MS))
/* Rekey by count long before a 32-bit sequence number could wrap. */
#define SESSION_REKEY_PACKETS	(1ull << 31)
/* A worker asks the main thread to confirm an SA at most this often. */
#define SESSION_CONFIRM_ASK_MS	10

enum session_state {
	SESSION_NEW,		/* no keys yet */
	SESSION_HANDSHAKING,
	SESSION_UP,
	SESSION_DOWN,		/* had keys, peer went quiet */
};

struct session_sa {
	struct esp_sa	*sa;
	bool		 inbound;
	/* Inbound: the SA the handshake calls current, whose packets need
	 * no confirming (atomic); when a worker last asked for it. */
	bool		 current;
	uint64_t	 confirm_asked_ms;
	uint64_t	 created_ms;
	/* The raw key and salt, in locked memory, only for the key log and
	 * `ovtunctl sa --keys` (an AES SA keeps just its key schedule). */
	uint8_t		*keymat;
};

struct session_stats {
	uint64_t	handshakes;	/* completed */
	uint64_t	initiations;	/* sent, retransmissions included */
	uint64_t	queue_drops;	/* frames lost waiting for keys */
	uint64_t	keepalives_tx, keepalives_rx;
};

/* Threads. The main thread runs the key exchange and the timers; the
 * workers seal, open and queue. Workers read the SA table (sas, tx)
 * without a lock: the main thread changes it only between gate->begin
 * and gate->end, which stop the workers (NULL: a single thread). The
 * rest the workers touch is atomic (the times, keepalives_rx, the SAs'
 * sequence numbers and counters, current, kick_asked) or under
 * queue_lock (the queue and queue_drops); state is the main thread's. */
struct session_gate {
	void	(*begin)(void *arg);
	void	(*end)(void *arg);
	void	*arg;
};

struct session {
	struct hs_peer		*hs;
	const struct session_gate *gate;
	void			*owner;		/* the data path's peer */
	enum aead_cipher	 cipher;
	enum aead_engine	 engine;	/* may be AEAD_AUTO */
	unsigned		 lanes;		/* threads that seal and open */
	unsigned		 replay_window;
	uint64_t		 rekey_after_ms;
	enum session_state	 state;
	struct session_sa	 sas[SESSION_SAS_MAX];
	struct esp_sa		*tx;		/* one of sas, or NULL */
	uint64_t		 rekey_at_ms;	/* tx's age limit, jittered */
	uint64_t		 last_rx_ms, last_tx_ms, last_attempt_ms;
	uint64_t		 hs_started_ms;	/* 0: no handshake runs */
	bool			 hs_warned;
	pthread_mutex_t		 queue_lock;
	struct pkt		*queue[SESSION_QUEUE_MAX];
	unsigned		 queue_head, n_queued;
	bool			 kick_asked;	/* a worker asked, none ran */
	struct session_stats	 stats;
};

/* What a call wants sent: a handshake message to the peer, and whether
 * to send it one ESP packet now (a dummy if nothing waits in the queue)
 * and to flush the queue because keys arrived. */
struct session_out {
	uint8_t		hs_msg[HS_MSG_MAX];
	size_t		hs_len;
	bool		keepalive;
	bool		keys_ready;
	bool		unanswered;	/* a handshake went unanswered */
	/* New SAs, for the key log: up to two per call. */
	const struct session_sa *new_sas[2];
	unsigned	n_new_sas;
};

/* psk is the derived 32-byte key (zeros: none, with keys); st the static
 * keys of key mode, or NULL; ctx binds what both ends must agree on;
 * lanes threads may seal and open at once, each passing its lane number
 * (0 .. lanes - 1). NULL on failure. */
struct session	*session_new(const struct encryption_params *,
		    const uint8_t psk[HS_KEY_LEN], const struct hs_static *st,
		    const void *ctx, size_t ctx_len, const struct hs_env *,
		    unsigned lanes);
void		 session_free(struct session *);

/* Workers. */

/* Seals p (the encap's output) for the peer; -ENOKEY when there is no
 * outbound SA yet: queue the frame and start a handshake. */
int		 session_seal(struct session *, unsigned lane, struct pkt *,
		    uint8_t next_header, uint64_t now);
/* Keeps a copy of an inner frame until keys arrive; false when full. */
bool		 session_enqueue(struct session *, const struct pkt *);
/* Moves the oldest waiting frame into out; false when none waits. */
bool		 session_dequeue(struct session *, struct pkt *out);
/* Whether the caller is the first to want a handshake since the last
 * session_kick: it then asks the main thread for one. */
bool		 session_want_kick(struct session *);
/* An ESP packet from the peer: authenticates, checks replay, decrypts in
 * place. *next_header tells what p now holds. *confirm is the SPI to
 * hand to session_confirm in the main thread (0: nothing to do): the
 * packet came on an SA the handshake waits to hear of, or to a peer
 * that was down. */
enum drop_reason session_open(struct session *, unsigned lane, struct pkt *,
		    uint8_t *next_header, uint64_t now, uint32_t *confirm);

/* The main thread. */

/* Starts a handshake unless one runs; out->hs_msg gets the initiation. */
void		 session_kick(struct session *, uint64_t now,
		    struct session_out *);
/* What session_open asked for: a packet authenticated on inbound SA spi
 * (see hs_confirm); the peer is up. */
void		 session_confirm(struct session *, uint32_t spi, uint64_t now,
		    struct session_out *);
/* A handshake message from the peer. */
enum drop_reason session_handshake(struct session *, const uint8_t *msg,
		    size_t len, uint64_t now, struct session_out *);
/* Retransmissions, SA retirement, rekeying, keepalives, dead peers. */
void		 session_timer(struct session *, uint64_t now,
		    struct session_out *);

const char	*session_state_name(enum session_state);
/* The outbound SA's time to rekey, in ms (0 when none). */
uint64_t	 session_rekey_in(const struct session *, uint64_t now);

#endif
