#!/bin/bash
# Three boxes on one underlay segment (a Linux bridge in namespace sw), each
# running ovtund with the other two as peers: a full mesh. For every
# encapsulation: all pairs ping; each MAC table holds exactly the three
# overlay MACs, each behind the right peer (its own as "local"); broadcast
# and unknown unicast reach both other boxes; split horizon (a frame from
# one peer is never sent on to another, nor back); and a MAC that moves to
# another box moves in every table and counts as moved.
# ENCAPS="vxlan" limits the run to some encapsulations.
. "$(dirname "$0")/lib.sh"

ENCAPS=${ENCAPS:-vxlan geneve gretap}
FAKE_MAC=02:00:00:00:00:99

# fdb_map ROLE: "mac=peer" for every entry, sorted, space-separated.
fdb_map() {
	json "$1" fdb "' '.join(sorted(e['mac'] + '=' + (e['peer'] or 'local') for e in j['fdb']))"
}

tap_mac() { nsx "$1" cat /sys/class/net/ovt0/address; }

# ping_nodup ROLE ADDR: pings that all come back, none twice.
ping_nodup() {
	local out
	out=$(nsx "$1" ping -c 5 -i 0.2 -W 2 "$2") ||
		fail "$1: lost pings to $2: $out"
	case $out in
	*DUP!*) fail "$1: duplicate replies from $2: $out" ;;
	esac
}

run_case() {
	local encap=$1 i j k m1 m2 m3 m2new
	log "case: $encap key=123, full mesh of three"
	underlay_switch 3
	ns_add o1 o2 o3
	quiet_ns b1 b2 b3 o1 o2 o3
	for i in 1 2 3; do
		set -- # the other two
		for j in 1 2 3; do
			[ "$j" = "$i" ] || set -- "$@" "box-$j" "$(underlay_addr "$j" 4)"
		done
		start_ovtund "b$i" "$(ovtund_conf "b$i" "o$i" "10.0.0.$i/24" \
			"$encap" 123 "$(underlay_addr "$i" 4)" "$@")"
	done
	# m1..m3 are read through eval "\$m$j".
	# shellcheck disable=SC2034
	m1=$(tap_mac o1)
	m2=$(tap_mac o2)
	# shellcheck disable=SC2034
	m3=$(tap_mac o3)

	# Every pair, both ways.
	for i in 1 2 3; do
		for j in 1 2 3; do
			[ "$i" = "$j" ] || ping_ok "o$i" "10.0.0.$j" 2
		done
	done

	local mac
	# Each table: the three MACs, each behind the right peer, none twice.
	for i in 1 2 3; do
		local want=()
		for j in 1 2 3; do
			eval "mac=\$m$j"
			if [ "$i" = "$j" ]; then want+=("$mac=local"); else want+=("$mac=box-$j"); fi
		done
		assert_eq "$(fdb_map "b$i")" "$(printf '%s\n' "${want[@]}" | sort | tr '\n' ' ' | sed 's/ $//')" "b$i fdb"
		assert_eq "$(json "b$i" stats "j['fdb']['entries']")" 3 "b$i fdb entries"
	done

	# From here on the overlay hosts know each other for good: no ARP
	# probe may add traffic the counters below do not expect.
	for i in 1 2 3; do
		for j in 1 2 3; do
			[ "$i" = "$j" ] && continue
			eval "mac=\$m$j"
			nsx "o$i" ip neigh replace "10.0.0.$j" lladdr "$mac" \
				dev ovt0 nud permanent
		done
	done

	# Broadcast: 5 broadcast echo requests from o1 (o2 and o3 ignore
	# them, so nothing answers) reach both other boxes' TAPs; neither
	# sends anything on, to the other nor back.
	declare -A c0 c1
	# snapshot ARRAY: every counter of b1..b3 into ARRAY, keyed
	# "b2.tap_tx_packets" (stats) or "b2.box-3.tx_packets" (peers).
	snapshot() {
		local -n s=$1
		local i k v st pe
		s=()
		for i in 1 2 3; do
			st=$(ctl "b$i" --json stats) || fail "b$i: ovtunctl stats failed"
			pe=$(ctl "b$i" --json peers) || fail "b$i: ovtunctl peers failed"
			while read -r k v; do
				s["b$i.$k"]=$v
			done < <(/usr/bin/python3 -c '
import json, sys
st, pe = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for k, v in st.items():
    if isinstance(v, int):
        print(k, v)
for p in pe["peers"]:
    for k in ("rx_packets", "tx_packets", "rx_drops"):
        print(p["name"] + "." + k, p[k])
' "$st" "$pe")
		done
		[ "${#s[@]}" -gt 30 ] || fail "cannot read the counters"
	}
	delta() {
		if [ -z "${c0[$1]:-}" ] || [ -z "${c1[$1]:-}" ]; then fail "no counter $1"; fi
		echo $((c1[$1] - c0[$1]))
	}
	snapshot c0
	nsx o1 ping -b -c 5 -i 0.2 -W 1 10.0.0.255 >/dev/null 2>&1 || true
	snapshot c1
	assert_ge "$(delta b1.flooded)" 5 "b1 flooded (broadcast)"
	assert_ge "$(delta b1.box-2.tx_packets)" 5 "b1 tx to box-2 (broadcast)"
	assert_ge "$(delta b1.box-3.tx_packets)" 5 "b1 tx to box-3 (broadcast)"
	assert_ge "$(delta b2.box-1.rx_packets)" 5 "b2 rx from box-1 (broadcast)"
	assert_ge "$(delta b3.box-1.rx_packets)" 5 "b3 rx from box-1 (broadcast)"
	assert_ge "$(delta b2.tap_tx_packets)" 5 "b2 frames to o2's TAP (broadcast)"
	assert_ge "$(delta b3.tap_tx_packets)" 5 "b3 frames to o3's TAP (broadcast)"
	# Split horizon: b2 and b3 send nothing at all, so nothing to each
	# other and nothing back to b1; and nobody hears from them.
	assert_eq "$(delta b2.underlay_tx_packets)" 0 "b2 underlay tx while relaying a broadcast (split horizon)"
	assert_eq "$(delta b3.underlay_tx_packets)" 0 "b3 underlay tx while relaying a broadcast (split horizon)"
	assert_eq "$(delta b2.underlay_rx_packets)" "$(delta b2.box-1.rx_packets)" "b2 underlay rx not from box-1"
	assert_eq "$(delta b3.underlay_rx_packets)" "$(delta b3.box-1.rx_packets)" "b3 underlay rx not from box-1"

	# Unknown unicast: a destination MAC no table knows is flooded to
	# both boxes (whose kernels drop it), and again sent no further.
	nsx o1 ip neigh replace 10.0.0.99 lladdr "$FAKE_MAC" dev ovt0 nud permanent
	snapshot c0
	nsx o1 ping -c 3 -i 0.2 -W 1 10.0.0.99 >/dev/null 2>&1 || true
	snapshot c1
	assert_ge "$(delta b1.flooded)" 3 "b1 flooded (unknown unicast)"
	assert_ge "$(delta b2.box-1.rx_packets)" 3 "b2 rx from box-1 (unknown unicast)"
	assert_ge "$(delta b3.box-1.rx_packets)" 3 "b3 rx from box-1 (unknown unicast)"
	assert_ge "$(delta b2.tap_tx_packets)" 3 "b2 frames to o2's TAP (unknown unicast)"
	assert_ge "$(delta b3.tap_tx_packets)" 3 "b3 frames to o3's TAP (unknown unicast)"
	assert_eq "$(delta b2.underlay_tx_packets)" 0 "b2 underlay tx (unknown unicast, split horizon)"
	assert_eq "$(delta b3.underlay_tx_packets)" 0 "b3 underlay tx (unknown unicast, split horizon)"
	for i in 1 2 3; do
		case " $(fdb_map "b$i") " in
		*"$FAKE_MAC="*) fail "b$i learned the destination MAC $FAKE_MAC" ;;
		esac
	done
	nsx o1 ip neigh del 10.0.0.99 dev ovt0

	# ARP broadcast, then known unicast: o1 -> o2 after o1 forgets its
	# neighbours. The ARP request reaches o3 too; the echoes, to a
	# known MAC, go to box-2 only; no reply comes twice.
	nsx o1 ip neigh del 10.0.0.2 dev ovt0
	snapshot c0
	ping_nodup o1 10.0.0.2
	snapshot c1
	assert_ge "$(delta b1.flooded)" 1 "b1 flooded (ARP request)"
	assert_ge "$(delta b3.box-1.rx_packets)" 1 "b3 rx from box-1 (ARP request)"
	assert_ge "$(delta b3.tap_tx_packets)" 1 "b3 frames to o3's TAP (ARP request)"
	assert_eq "$(delta b3.underlay_tx_packets)" 0 "b3 underlay tx (o3 stays silent)"
	assert_eq "$(delta b3.underlay_rx_packets)" "$(delta b3.box-1.rx_packets)" "b3 underlay rx not from box-1"
	assert_eq "$(delta b2.box-3.tx_packets)" 0 "b2 tx to box-3 (o2 answers o1 only)"
	# Known unicast from now on: b1 sends o1's echoes to box-2 only.
	snapshot c0
	ping_nodup o1 10.0.0.2
	snapshot c1
	assert_eq "$(delta b1.box-3.tx_packets)" 0 "b1 tx to box-3 while o1 pings o2 (known MACs)"
	assert_eq "$(delta b1.flooded)" 0 "b1 flooded while o1 pings o2 (known MACs)"
	assert_ge "$(delta b1.box-2.tx_packets)" 5 "b1 tx to box-2 while o1 pings o2"
	assert_eq "$(delta b2.box-3.tx_packets)" 0 "b2 tx to box-3 while o1 pings o2"
	assert_eq "$(delta b3.underlay_rx_packets)" 0 "b3 underlay rx while o1 pings o2"

	# MAC move: o2 takes a new MAC and o3 takes o2's old one. Once o3
	# speaks, that MAC must sit behind box-3 on b1 and b2 and be local
	# on b3, each table counting a move; and everyone still talks.
	m2new=02:00:00:00:02:22
	local moved1 moved2 moved3
	moved1=$(json b1 stats "j['fdb']['moved']")
	moved2=$(json b2 stats "j['fdb']['moved']")
	moved3=$(json b3 stats "j['fdb']['moved']")
	nsx o2 ip link set dev ovt0 address "$m2new"
	nsx o3 ip link set dev ovt0 address "$m2"
	for i in 1 2 3; do nsx "o$i" ip neigh flush dev ovt0 nud all; done
	ping_ok o3 10.0.0.1 2
	ping_ok o3 10.0.0.2 2
	assert_eq "$(json b1 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$m2']")" "['box-3']" "b1: moved MAC $m2"
	assert_eq "$(json b2 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$m2']")" "['box-3']" "b2: moved MAC $m2"
	assert_eq "$(json b3 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$m2']")" "[None]" "b3: moved MAC $m2"
	assert_ge "$(json b1 stats "j['fdb']['moved']")" $((moved1 + 1)) "b1 fdb moved"
	assert_ge "$(json b2 stats "j['fdb']['moved']")" $((moved2 + 1)) "b2 fdb moved"
	assert_ge "$(json b3 stats "j['fdb']['moved']")" $((moved3 + 1)) "b3 fdb moved"
	for i in 1 2 3; do
		for j in 1 2 3; do
			[ "$i" = "$j" ] || ping_ok "o$i" "10.0.0.$j" 2
		done
	done
	assert_eq "$(json b1 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$m2new']")" "['box-2']" "b1: o2's new MAC"
	unset -f snapshot delta

	for i in 1 2 3; do stop_ovtund "b$i"; done
	for k in "${NAMESPACES[@]}"; do ip netns del "$k"; done
	NAMESPACES=()
	# shellcheck disable=SC2034 # lib.sh's cleanup reads it
	DAEMON_PIDS=()
}

for encap in $ENCAPS; do
	run_case "$encap"
done
echo "mesh: all cases passed ($ENCAPS)"
