#!/bin/bash
# A restart seen from the side that did not restart. b2's ovtund is
# killed with SIGKILL and started again; from the moment the new daemon
# answers its control socket, a ping from left (b1's overlay, whose
# neighbour entry for the restarted side was learned before the kill and
# is left alone) must be answered within 1000 ms. Without a stable TAP
# MAC, left keeps sending to the MAC that died with the old TAP until its
# neighbour entry goes stale: 20-50 s of silence.
# Four cases: plain VXLAN and ChaCha20 ESP, each with b2's TAP in netns
# right (10.0.0.2 on the TAP) and in bridge mode (10.0.0.2 on br0 in b2,
# the TAP its only port, so br0 takes the TAP's MAC).
# Also: the TAP's MAC is the same after the restart, differs between b1
# and b2 (same machine id and interface name, other local address), is
# unicast and locally administered; `mac = "..."` sets it.
. "$(dirname "$0")/lib.sh"

LIMIT_MS=1000

# b2_mac MODE: the MAC left's pings go to.
b2_mac() {
	if [ "$1" = bridge ]; then
		nsx b2 cat /sys/class/net/br0/address
	else
		nsx right cat /sys/class/net/ovt0/address
	fi
}

run_case() {
	local mode=$1 crypto=$2 a1 a2 conf before after t0 t1 mac1 target
	log "case: $mode, $crypto"
	a1=$(underlay_addr 1 4)
	a2=$(underlay_addr 2 4)
	ns_add b1 b2 left right
	wire b1 u1 "$a1" b2 u2 "$a2"
	ovtund_conf b1 left 10.0.0.1/24 vxlan 123 "$a1" box-2 "$a2" >/dev/null
	conf=$(ovtund_conf b2 right 10.0.0.2/24 vxlan 123 "$a2" box-1 "$a1")
	target=right
	if [ "$mode" = bridge ]; then
		sed -i -e '/^netns/d' -e '/^address/d' "$conf"
		echo 'bridge = "br0"' >>"$conf"
		nsx b2 ip link add br0 type bridge stp_state 0
		nsx b2 ip addr add 10.0.0.2/24 dev br0
		nsx b2 ip link set br0 up
		target=b2
	fi
	if [ "$crypto" = esp ]; then
		enc_block "$WORKDIR/b1.conf" chacha20-poly1305 ip
		enc_block "$conf" chacha20-poly1305 ip
	fi
	start_ovtund b1 "$WORKDIR/b1.conf"
	start_ovtund b2 "$conf"
	ping_ok left 10.0.0.2 2
	ping_ok "$target" 10.0.0.1 2
	before=$(b2_mac "$mode")
	mac1=$(nsx left cat /sys/class/net/ovt0/address)
	[ "$before" != "$mac1" ] || fail "b1 and b2 derived one MAC: $mac1"
	case $before in
	?[26ae]:*) ;;
	*) fail "$before is not a locally administered unicast MAC" ;;
	esac
	assert_eq "$(json b2 show "j['mac_stable']")" True "b2 mac_stable"

	# shellcheck disable=SC2154
	kill -KILL "$PID_b2"
	wait "$PID_b2" 2>/dev/null || true
	forget_pid "$PID_b2"
	start_ovtund b2 "$conf"
	t0=$(now_ms)
	t1=$(first_ping left 10.0.0.2 10000)
	after=$(b2_mac "$mode")
	log "  first reply from the restarted side $((t1 - t0)) ms after its control socket answered; MAC $before -> $after"
	assert_eq "$after" "$before" "MAC of the restarted side"
	[ $((t1 - t0)) -le $LIMIT_MS ] ||
		fail "$mode/$crypto: first reply $((t1 - t0)) ms after the restart (limit $LIMIT_MS ms)"
	ping_ok left 10.0.0.2 3
	end_case
}

run_case netns plain
run_case netns esp
run_case bridge plain
run_case bridge esp

log "mac = \"...\" sets the TAP's address"
a1=$(underlay_addr 1 4)
ns_add b1 b2 left
wire b1 u1 "$a1" b2 u2 "$(underlay_addr 2 4)"
conf=$(ovtund_conf b1 left 10.0.0.1/24 vxlan 123 "$a1" box-2 192.0.2.2)
echo 'mac = "02:00:5e:10:00:01"' >>"$conf"
start_ovtund b1 "$conf"
assert_eq "$(nsx left cat /sys/class/net/ovt0/address)" 02:00:5e:10:00:01 "configured MAC"
end_case
echo "restart: all checks passed"
