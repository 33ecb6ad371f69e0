#!/bin/bash
# Two hosts, each with an ovtund: ping and a TCP transfer across the overlay
# for every encapsulation, over IPv4 and IPv6 underlays. Afterwards each
# side must show the other's MAC behind the right peer, counters that moved,
# and a clean exit on SIGTERM that removes the TAP and the control socket.
. "$(dirname "$0")/lib.sh"

run_case() {
	local encap=$1 key=$2 fam=$3 right_mac peer
	log "case: $encap key=${key:-none} IPv$fam underlay"
	two_hosts "$encap" "$key" "$fam"
	ping_ok left 10.0.0.2 3
	ping_ok right 10.0.0.1 3
	tcp_transfer left right 10.0.0.2

	right_mac=$(nsx right cat /sys/class/net/ovt0/address)
	peer=$(json b1 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$right_mac']")
	assert_eq "$peer" "['box-2']" "b1 fdb entry for $right_mac"
	assert_ge "$(json b1 peers "j['peers'][0]['rx_packets']")" 5 "b1 rx_packets"
	assert_eq "$(json b1 peers "j['peers'][0]['state']")" active "b1 peer state"
	assert_eq "$(json b1 stats "j['drops']['wrong_key'] + j['drops']['unknown_peer']")" 0 "b1 drops"
	# UDP GSO on left's side, UDP GRO on right's: the transfer's
	# segments reach b2 in messages of several datagrams.
	if [ "$encap" != gretap ] && [ "${OVTUND_OFFLOAD:-}" != no ]; then
		assert_ge "$(json b2 stats "j['underlay_rx_coalesced']")" 100 "b2 datagrams coalesced"
	else
		assert_eq "$(json b2 stats "j['underlay_rx_coalesced']")" 0 "b2 datagrams coalesced"
	fi

	stop_ovtund b1
	stop_ovtund b2
	nsx left ip link show ovt0 >/dev/null 2>&1 && fail "TAP left behind in left"
	[ ! -e "$(ctl_sock b1)" ] || fail "control socket left behind"
	end_case
}

for fam in 4 6; do
	run_case vxlan 123 "$fam"
	run_case geneve 123 "$fam"
	run_case gretap 123 "$fam"
	run_case gretap "" "$fam"
done
echo "ping: all cases passed"
