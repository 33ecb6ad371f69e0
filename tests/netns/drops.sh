#!/bin/bash
# What ovtund must refuse, and that refusing it leaves the rest working.
# Box b1 (overlay "left") and box b2 (overlay "right") are a working pair
# on one underlay segment with other boxes that are wrong in one way each:
#   b3 has b1 as a peer, but b1 does not know b3     -> unknown_peer
#   b4 is b1's peer box-4, but with VNI 124, not 123 -> wrong_key
#   b5 is b1's peer box-5, which b1 expects to speak geneve, but b5
#      speaks vxlan (to b1's vxlan port)             -> wrong_encap
# b1 also has mac_table_size = 2, with three MACs behind b2 (macvlans on
# right's TAP), and mtu = 1400 while b2 has 1450: a full table must not
# stop traffic (b2's MACs take turns in b2's one entry, left's stays),
# and a frame above b1's MTU is dropped as frame_too_big. Each drop is counted on b1, under exactly its reason,
# charged to the right peer, and nothing of it reaches left.
. "$(dirname "$0")/lib.sh"

# snapshot ARRAY ROLE...: every counter of the roles' daemons into ARRAY,
# keyed "b1.tap_tx_packets", "b1.fdb.entries", "b1.drops.wrong_key" (stats)
# and "b1.box-2.rx_drops" (peers).
snapshot() {
	local -n s=$1
	local role k v st pe
	shift
	s=()
	for role in "$@"; do
		st=$(ctl "$role" --json stats) || fail "$role: ovtunctl stats failed"
		pe=$(ctl "$role" --json peers) || fail "$role: ovtunctl peers failed"
		while read -r k v; do
			s[$role.$k]=$v
		done < <(/usr/bin/python3 -c '
import json, sys
st, pe = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for k, v in st.items():
    if isinstance(v, dict):
        for k2, v2 in v.items():
            print(k + "." + k2, v2)
    else:
        print(k, v)
for p in pe["peers"]:
    for k in ("rx_packets", "tx_packets", "rx_drops"):
        print(p["name"] + "." + k, p[k])
' "$st" "$pe")
	done
	[ "${#s[@]}" -gt 30 ] || fail "cannot read the counters"
}

declare -A c0 c1
delta() {
	if [ -z "${c0[$1]:-}" ] || [ -z "${c1[$1]:-}" ]; then fail "no counter $1"; fi
	echo $((c1[$1] - c0[$1]))
}

# changes: the counters that moved between c0 and c1, as a comment.
changes() {
	local k line=
	for k in $(printf '%s\n' "${!c1[@]}" | sort); do
		case $k in *bytes | *uptime_s) continue ;; esac
		[ "${c0[$k]:-x}" = "${c1[$k]}" ] || line+=" $k+$((c1[$k] - ${c0[$k]:-0}))"
	done
	log "changed:${line:- nothing}"
}

fdb_map() {
	json "$1" fdb "' '.join(sorted(e['mac'] + '=' + (e['peer'] or 'local') for e in j['fdb']))"
}

tap_mac() { nsx "$1" cat "/sys/class/net/${2:-ovt0}/address"; }

# bcast ROLE: five broadcast echo requests into ROLE's overlay; nobody
# answers them (icmp_echo_ignore_broadcasts), so each box sees exactly
# what the test sent.
bcast() {
	nsx "$1" ping -b -c 5 -i 0.2 -W 1 10.0.0.255 >/dev/null 2>&1 || true
}

# refused ROLE OVERLAY PEER_NAME REASON: broadcasts from OVERLAY, sent by
# ROLE's daemon, reach b1 and are all dropped there as REASON (charged to
# PEER_NAME unless "-"), learning and delivering nothing; every other drop
# counter of b1 stays put.
refused() {
	local role=$1 overlay=$2 peer=$3 reason=$4 r
	snapshot c0 b1 "$role"
	bcast "$overlay"
	snapshot c1 b1 "$role"
	changes
	assert_ge "$(delta "$role.underlay_tx_packets")" 5 "$role sent its broadcasts"
	assert_ge "$(delta "b1.drops.$reason")" 5 "b1 $reason"
	assert_eq "$(delta "b1.drops.$reason")" "$(delta b1.underlay_rx_packets)" \
		"b1 $reason drops vs packets received"
	for r in wrong_key unknown_peer wrong_encap frame_too_big too_short \
		bad_flags bad_version bad_outer_ip; do
		[ "$r" = "$reason" ] ||
			assert_eq "$(delta "b1.drops.$r")" 0 "b1 $r while $role sends"
	done
	if [ "$peer" != - ]; then
		assert_eq "$(delta "b1.$peer.rx_drops")" "$(delta "b1.drops.$reason")" \
			"b1 rx_drops of $peer"
		assert_eq "$(delta "b1.$peer.rx_packets")" 0 "b1 rx_packets of $peer"
	fi
	assert_eq "$(delta b1.tap_tx_packets)" 0 "frames to left while $role sends"
	assert_eq "$(delta b1.fdb.learned)" 0 "b1 MACs learned while $role sends"
	assert_eq "$(delta b1.fdb.evicted)" 0 "b1 MACs evicted while $role sends"
}

underlay_switch 5
ns_add left right x3 x4 x5 r2 r3
quiet_ns b1 b2 b3 b4 b5 left right x3 x4 x5 r2 r3

cat >"$WORKDIR/b1.conf" <<EOF
interface = "ovt0"
netns = "$(ns left)"
address = "10.0.0.1/24"
mtu = 1400
encap = "vxlan"
key = 123
local = "192.0.2.1"
control = "$(ctl_sock b1)"
mac_table_size = 2
peer "box-2" {
	remote = "192.0.2.2"
}
peer "box-4" {
	remote = "192.0.2.4"
}
peer "box-5" {
	remote = "192.0.2.5"
	encap = "geneve"
}
EOF
start_ovtund b1 "$WORKDIR/b1.conf"
conf=$(ovtund_conf b2 right 10.0.0.2/24 vxlan 123 192.0.2.2 box-1 192.0.2.1)
echo "mtu = 1450" >>"$conf"
start_ovtund b2 "$conf"
start_ovtund b3 "$(ovtund_conf b3 x3 10.0.0.3/24 vxlan 123 192.0.2.3 box-1 192.0.2.1)"
start_ovtund b4 "$(ovtund_conf b4 x4 10.0.0.4/24 vxlan 124 192.0.2.4 box-1 192.0.2.1)"
start_ovtund b5 "$(ovtund_conf b5 x5 10.0.0.5/24 vxlan 123 192.0.2.5 box-1 192.0.2.1)"
assert_eq "$(json b1 show "j['mtu']")" 1400 "b1 TAP MTU"
assert_eq "$(json b2 show "j['mtu']")" 1450 "b2 TAP MTU"
assert_eq "$(nsx left cat /sys/class/net/ovt0/mtu)" 1400 "left ovt0 MTU"

# The pair works; its two MACs fill b1's table.
ping_ok left 10.0.0.2 3
ping_ok right 10.0.0.1 3
mleft=$(tap_mac left)
mright=$(tap_mac right)
want="$(printf '%s\n' "$mleft=local" "$mright=box-2" | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "$(fdb_map b1)" "$want" "b1 fdb"
assert_eq "$(json b1 stats "j['fdb']['limit']")" 2 "b1 fdb limit"
# From now on the pair knows its neighbours for good: no ARP probe adds
# traffic the counters below do not expect.
nsx left ip neigh replace 10.0.0.2 lladdr "$mright" dev ovt0 nud permanent
nsx right ip neigh replace 10.0.0.1 lladdr "$mleft" dev ovt0 nud permanent
# Before the test, b3, b4 and b5 sent one frame each: the gratuitous ARP
# of their TAP coming up (arp_notify), which b1 refused.
for r in wrong_key unknown_peer wrong_encap; do
	assert_eq "$(json b1 stats "j['drops']['$r']")" 1 "b1 $r before the test"
done
assert_eq "$(json b1 stats "j['drops']['frame_too_big']")" 0 "b1 frame_too_big before the test"

log "(a) a box b1 does not know: unknown_peer"
refused b3 x3 - unknown_peer
# Its ARP requests do not reach left either: left would note the sender.
nsx x3 ping -c 2 -i 0.5 -W 1 10.0.0.1 >/dev/null 2>&1 && fail "x3 reached left"
[ -z "$(nsx left ip neigh show 10.0.0.3)" ] || fail "left heard of 10.0.0.3"
# Stop x3's ARP retries: they would reach b1 during the next cases.
nsx x3 ip neigh flush dev ovt0 nud all

log "(b) a peer with another VNI: wrong_key"
refused b4 x4 box-4 wrong_key

log "(c) a peer speaking vxlan where b1 expects geneve: wrong_encap"
refused b5 x5 box-5 wrong_encap

log "(d) a full MAC table: traffic still flows, left's entry stays"
for i in 2 3; do
	ip -n "$(ns right)" link add "mv$i" link ovt0 type macvlan mode bridge
	ip -n "$(ns right)" link set "mv$i" netns "$(ns "r$i")"
	addr_up "r$i" "mv$i" "10.0.0.1$i"
done
snapshot c0 b1
ping_ok left 10.0.0.12 3
ping_ok left 10.0.0.13 3
ping_ok r2 10.0.0.1 3
ping_ok r3 10.0.0.1 3
snapshot c1 b1
changes
assert_eq "${c1[b1.fdb.entries]}" 2 "b1 fdb entries with a full table"
# Fair eviction: box-2 holds as many entries as the local side, so each
# new MAC behind it takes box-2's own one; left's is never evicted.
assert_eq "$(json b1 fdb "sorted(e['peer'] or 'local' for e in j['fdb'])")" \
	"['box-2', 'local']" "b1 fdb owners with a full table"
assert_eq "$(json b1 fdb "[e['mac'] for e in j['fdb'] if e['peer'] is None]")" \
	"['$mleft']" "b1 local entry with a full table"
assert_eq "$(json b1 stats "j['fdb']['local_entries']")" 1 "b1 local_entries"
assert_eq "$(json b1 peers "[p['fdb_entries'] for p in j['peers']]")" \
	"[1, 0, 0]" "b1 fdb_entries of each peer"
# r2 and r3 each came in at least once, each time in place of another.
assert_ge "$(delta b1.fdb.learned)" 2 "b1 learned with a full table"
assert_eq "$(delta b1.fdb.evicted)" "$(delta b1.fdb.learned)" "b1 evicted with a full table"
# b2's table has room: it knows them.
for i in 2 3; do
	assert_eq "$(json b2 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$(tap_mac "r$i" "mv$i")']")" \
		"[None]" "b2 fdb entry of mv$i"
done

# Known for good from now on: no ARP probe adds traffic (e) does not expect.
for i in 2 3; do
	nsx left ip neigh replace "10.0.0.1$i" lladdr "$(tap_mac "r$i" "mv$i")" dev ovt0 nud permanent
	nsx "r$i" ip neigh replace 10.0.0.1 lladdr "$mleft" dev "mv$i" nud permanent
done

log "(e) a frame above b1's MTU, from right (MTU 1450): frame_too_big"
snapshot c0 b1 b2
nsx right ping -c 3 -i 0.2 -W 1 -M "do" -s 1422 10.0.0.1 >/dev/null 2>&1 &&
	fail "a 1450-byte packet got through to left (MTU 1400)"
snapshot c1 b1 b2
changes
assert_ge "$(delta b2.box-1.tx_packets)" 3 "b2 sent the big frames"
assert_ge "$(delta b1.drops.frame_too_big)" 3 "b1 frame_too_big"
assert_eq "$(delta b1.drops.frame_too_big)" "$(delta b1.underlay_rx_packets)" \
	"b1 frame_too_big vs packets received"
assert_eq "$(delta b1.box-2.rx_drops)" "$(delta b1.drops.frame_too_big)" "b1 rx_drops of box-2"
assert_eq "$(delta b1.tap_tx_packets)" 0 "big frames written to left"
# One that fits left's MTU exactly still goes through.
nsx right ping -c 3 -i 0.2 -W 2 -M "do" -s 1372 10.0.0.1 >/dev/null ||
	fail "a 1400-byte packet did not get through to left (MTU 1400)"

log "(f) the pair still works"
ping_ok left 10.0.0.2 3
ping_ok right 10.0.0.1 3
tcp_transfer left right 10.0.0.2
for i in 1 2 3 4 5; do
	kill -0 "$(eval "echo \$PID_b$i")" || fail "ovtund of b$i died"
done
for i in 1 2; do stop_ovtund "b$i"; done
echo "drops: all cases passed"
