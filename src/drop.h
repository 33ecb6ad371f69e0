/* Why a packet was dropped: one enum, one name table, and every drop counter
 * is indexed by it, so `ovtunctl stats` prints exactly these names. */
#ifndef OVT_DROP_H
#define OVT_DROP_H

#define DROP_REASONS(X)							\
	X(NONE,			"none")					\
	X(TOO_SHORT,		"too_short")				\
	X(BAD_OUTER_IP,		"bad_outer_ip")				\
	X(BAD_VERSION,		"bad_version")				\
	X(BAD_FLAGS,		"bad_flags")				\
	X(BAD_PROTOCOL,		"bad_protocol")				\
	X(BAD_CHECKSUM,		"bad_checksum")				\
	X(BAD_OPTIONS,		"bad_options")				\
	X(CRITICAL_OPTION,	"unknown_critical_option")		\
	X(OAM,			"oam_frame")				\
	X(WRONG_KEY,		"wrong_key")				\
	X(UNKNOWN_PEER,		"unknown_peer")				\
	X(WRONG_ENCAP,		"wrong_encap")				\
	X(RUNT_FRAME,		"runt_frame")				\
	X(FRAME_TOO_BIG,	"frame_too_big")			\
	X(BAD_SOURCE_MAC,	"bad_source_mac")			\
	X(LOCAL_DESTINATION,	"local_destination")			\
	X(NO_PEERS,		"no_peers")				\
	X(NO_HEADROOM,		"no_headroom")				\
	X(TX_ERROR,		"tx_error")				\
	X(TAP_WRITE_ERROR,	"tap_write_error")			\
	X(ESP_UNKNOWN_SPI,	"esp_unknown_spi")			\
	X(ESP_REPLAY,		"esp_replay")				\
	X(ESP_TOO_OLD,		"esp_too_old")				\
	X(ESP_AUTH,		"esp_auth_failed")			\
	X(ESP_BAD_PAD,		"esp_bad_padding")			\
	X(HS_MALFORMED,		"handshake_malformed")			\
	X(HS_AUTH_FAILED,	"handshake_auth_failed")		\
	X(HS_REPLAY,		"handshake_replay")			\
	X(HS_STALE,		"handshake_stale")			\
	X(HS_RATE_LIMITED,	"handshake_rate_limited")		\
	X(HS_CLOCK_AHEAD,	"handshake_clock_ahead")		\
	X(HS_UNDER_LOAD,	"handshake_under_load")			\
	X(NOT_ENCRYPTED,	"not_encrypted")			\
	X(QUEUE_FULL,		"key_wait_queue_full")			\
	X(PATH_MTU,		"exceeds_path_mtu")			\
	X(BAD_VNET_HDR,		"bad_vnet_header")			\
	X(GSO_UNSUPPORTED,	"gso_unsupported")

enum drop_reason {
#define DROP_ENUM(id, name)	DROP_##id,
	DROP_REASONS(DROP_ENUM)
#undef DROP_ENUM
	DROP__COUNT
};

const char *drop_name(enum drop_reason);

#endif
