#!/bin/bash
# Packets an attacker on the underlay can send, and a wrong PSK. For
# chacha20-poly1305 over IP protocol 50 and aes256-gcm over UDP 4500, with
# one ESP packet b1 sent to b2 captured in b2's namespace and injected
# again from b1's namespace (so the source address is b1's):
# - the same bytes 3 times: b2's esp_replay rises by exactly 3;
# - a copy sealed again (with the key log's keys) under a fresh sequence
#   number, one ciphertext byte flipped: esp_auth_failed +1;
# - a fresh copy cut short by one byte: esp_auth_failed +1; one cut to
#   20 bytes: too_short +1;
# - the fresh copy intact (the control): delivered, and then replayed
#   once: esp_replay +1. None of the others reaches b2's TAP (b2's
#   tap_tx_packets, and rx_packets of ovt0 in right);
# - 92 random bytes to UDP 4797 (type word >= 256): handshake_malformed +1,
#   and a 108-byte type 1 message with a random rest (its mac1 fails):
#   handshake_auth_failed +1; b2 answers neither (nothing from b2 on UDP
#   4797, and no ICMP, in a capture);
# - the tunnel still works on the same SAs afterwards.
# Then b2 with psk "wrong": no ping gets through; b2 logs "peer box-1: key
# exchange failed to authenticate: the two ends differ in psk (or key
# pairs), or in encap, key/VNI or cipher, ...; this end has encap vxlan,
# key 123, cipher chacha20-poly1305", b1 within 7 s of its start "peer
# box-2: no answer to the key exchange: the peer is down or unreachable
# ..."; no SA on either end, neither peer "up"; both daemons still answer
# ovtunctl.
. "$(dirname "$0")/lib.sh"

command -v dumpcap >/dev/null ||
	{ echo "SKIP: $(basename "$0") needs dumpcap"; exit 77; }
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
	{ echo "SKIP: $(basename "$0") needs python3-cryptography"; exit 77; }

# snap: b2's counters that the attacks may move, as shell assignments.
snap() {
	local s rx
	s=$(ctl b2 --json stats)
	rx=$(nsx right cat /sys/class/net/ovt0/statistics/rx_packets)
	/usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[1]); d = j["drops"]
print("replay=%d auth=%d short=%d hs_bad=%d hs_auth=%d tap=%d rx=%s" % (
    d["esp_replay"], d["esp_auth_failed"], d["too_short"],
    d["handshake_malformed"], d["handshake_auth_failed"],
    j["tap_tx_packets"], sys.argv[2]))' "$s" "$rx"
}

# inject HEX COUNT: sends ESP bytes from b1's namespace to b2, over the
# case's transport, and gives b2 a moment.
inject() {
	nsx b1 /usr/bin/python3 "$(esptool_py)" send 192.0.2.2 "$1" "$2" "$TR"
	sleep 0.3
}

# expect WHAT replay auth short hs_bad hs_auth tap rx: b2's counters moved
# by exactly these amounts since the last call.
expect() {
	local what=$1 before=$SNAP now name i=2
	local replay auth short hs_bad hs_auth tap rx
	SNAP=$(snap)
	eval "$before"
	local -A old=([replay]=$replay [auth]=$auth [short]=$short
		[hs_bad]=$hs_bad [hs_auth]=$hs_auth [tap]=$tap [rx]=$rx)
	eval "$SNAP"
	local -A new=([replay]=$replay [auth]=$auth [short]=$short
		[hs_bad]=$hs_bad [hs_auth]=$hs_auth [tap]=$tap [rx]=$rx)
	for name in replay auth short hs_bad hs_auth tap rx; do
		now=$((new[$name] - old[$name]))
		[ "$now" = "${!i}" ] ||
			fail "$what: $name moved by $now, expected ${!i} ($before -> $SNAP)"
		i=$((i + 1))
	done
	log "$what: as expected"
}

attack_case() {
	local cipher=$1 spi seq hex fresh cap spis out_spi
	TR=$2
	log "case: attacks on $cipher, transport $TR"
	enc_hosts vxlan 123 4 "$cipher" "$TR"
	# Permanent neighbours: no ARP crosses on its own during the counts.
	nsx left ip neigh replace 10.0.0.2 dev ovt0 nud permanent \
		lladdr "$(mac_of right ovt0)"
	nsx right ip neigh replace 10.0.0.1 dev ovt0 nud permanent \
		lladdr "$(mac_of left ovt0)"
	ping_ok left 10.0.0.2 2
	# The SAs the tunnel runs on. A key exchange that crossed b1's at
	# start may leave one more inbound SA that retires meanwhile: the
	# attacks must add none and leave the outbound one in place.
	spis=$(json b2 sa "sorted(s['spi'] for s in j['sas'])")
	out_spi=$(json b2 sa "[s['spi'] for s in j['sas'] if s['dir'] == 'out']")
	cap=$WORKDIR/esp.pcap
	enc_cap_start b2 u2 "$cap" "src host 192.0.2.1 and (ip proto 50 or udp port 4500)"
	nsx left ping -c 3 -i 0.1 -W 1 10.0.0.2 >/dev/null || fail "ping"
	enc_cap_stop
	read -r spi seq hex < <(esptool last "$cap" 192.0.2.1 100) ||
		fail "no ESP packet from b1 captured"
	log "captured SPI $spi seq $seq, ${#hex} hex digits"
	SNAP=$(snap)

	inject "$hex" 3
	expect "same bytes 3 times" 3 0 0 0 0 0 0
	fresh=$(esptool reseal "$hex" "$WORKDIR/keylog" $((seq + 50)) flip)
	inject "$fresh" 1
	expect "fresh sequence number, ciphertext byte flipped" 0 1 0 0 0 0 0
	fresh=$(esptool reseal "$hex" "$WORKDIR/keylog" $((seq + 50)))
	inject "${fresh:0:$((${#fresh} - 2))}" 1
	expect "fresh, one byte short" 0 1 0 0 0 0 0
	inject "${hex:0:40}" 1
	expect "cut to 20 bytes" 0 0 1 0 0 0 0
	inject "$fresh" 1
	expect "fresh and intact (control)" 0 0 0 0 0 1 1
	inject "$fresh" 1
	expect "fresh, replayed" 1 0 0 0 0 0 0

	# The key exchange port: nothing comes back.
	enc_cap_start b2 u2 "$WORKDIR/hs.pcap" "src host 192.0.2.2 and (udp port 4797 or icmp)"
	nsx b1 /usr/bin/python3 "$(esptool_py)" udp 192.0.2.2 4797 \
		"01020304$(od -An -N88 -tx1 /dev/urandom | tr -d ' \n')"
	sleep 0.3
	expect "92 random bytes to UDP 4797" 0 0 0 1 0 0 0
	nsx b1 /usr/bin/python3 "$(esptool_py)" udp 192.0.2.2 4797 \
		"00000001$(od -An -N104 -tx1 /dev/urandom | tr -d ' \n')"
	sleep 0.5
	expect "type 1, random, to UDP 4797" 0 0 0 0 1 0 0
	enc_cap_stop
	[ "$(esptool count "$WORKDIR/hs.pcap")" = 0 ] ||
		fail "b2 answered the garbage: $(tshark -n -r "$WORKDIR/hs.pcap" 2>/dev/null)"

	ping_ok left 10.0.0.2 3
	assert_eq "$(json b2 sa "[s['spi'] for s in j['sas'] if s['spi'] not in $spis]")" "[]" \
		"b2's SAs made during the attacks"
	assert_eq "$(json b2 sa "[s['spi'] for s in j['sas'] if s['dir'] == 'out']")" "$out_spi" \
		"b2's outbound SA after the attacks"
	assert_eq "$(json b2 peers "j['peers'][0]['state']")" up "b2 peer state"
	teardown
}

teardown() {
	stop_ovtund b1
	stop_ovtund b2
	end_case
	rm -f "$WORKDIR/keylog"
}

wrong_psk() {
	local t b1_t0 role i
	log "case: b2 with psk \"wrong\""
	enc_setup vxlan 123 4 chacha20-poly1305 ip wrong
	b1_t0=$(now_ms)
	enc_start
	nsx left ping -c 3 -i 0.3 -W 1 10.0.0.2 >/dev/null 2>&1 &&
		fail "ping crossed with different PSKs"
	t=
	for i in $(seq 90); do
		if grep -q "peer box-2: no answer to the key exchange: the peer is down or unreachable" \
			"$WORKDIR/b1.log"; then
			t=$(($(now_ms) - b1_t0))
			break
		fi
		sleep 0.1
	done
	[ -n "$t" ] || fail "b1 did not report the unanswered key exchange: $(cat "$WORKDIR/b1.log")"
	[ "$t" -le 7000 ] || fail "b1 reported the unanswered key exchange after $t ms"
	log "b1 reported \"no answer\" within $t ms of its start"
	grep -q "peer box-1: key exchange failed to authenticate: the two ends differ in psk (or key pairs), or in encap, key/VNI or cipher, which it binds; this end has encap vxlan, key 123, cipher chacha20-poly1305" \
		"$WORKDIR/b2.log" || fail "b2 did not log the failed authentication: $(cat "$WORKDIR/b2.log")"
	assert_ge "$(json b2 stats "j['drops']['handshake_auth_failed']")" 1 "b2 handshake_auth_failed"
	for role in b1 b2; do
		ctl "$role" show >/dev/null || fail "$role does not answer"
		assert_eq "$(json "$role" sa "len(j['sas'])")" 0 "$role SAs"
		[ "$(json "$role" peers "j['peers'][0]['state']")" != up ] ||
			fail "$role peer up with a wrong psk"
	done
	[ ! -e "$WORKDIR/keylog" ] || fail "keys logged with a wrong psk"
	teardown
}

attack_case chacha20-poly1305 ip
attack_case aes256-gcm udp
wrong_psk
echo "esp-attacks: all checks passed"
