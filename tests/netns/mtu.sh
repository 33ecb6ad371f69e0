#!/bin/bash
# MTU done right: hosts that believe their MTU is 1500 talk across the
# overlay without black holes. Both boxes run ovtund in bridge mode; left
# (10.0.0.1, fd00:1::1) and right (10.0.0.2, fd00:1::2) sit behind a Linux
# bridge br0 whose ports keep MTU 1500, so the TAP takes br0's MTU (1500)
# and ovtund itself holds every peer to its path. Asserts:
# - per encap (vxlan, gretap with key, geneve) and with and without
#   encryption over an IPv4 underlay (vxlan also over IPv6): the peer's
#   overlay MTU is the README's table (underlay 1500 less the overhead);
#   iperf3 and a 2 MiB TCP transfer (sha256 compared) complete at full
#   size in both directions; a DF ping of 1500 bytes is answered with
#   "Frag needed ... mtu = N" (ICMP from ovtund, the sender's route cache
#   gets mtu N); a 1500-byte ping without DF passes (outer packet
#   fragmented); an IPv6 ping of 1500 bytes gets "Packet too big" with the
#   overlay's MTU; SYNs are clamped (mss_clamped counts);
# - the black hole exists without the features: with clamp_mss = no and
#   pmtu_icmp = no, a TCP transfer stalls (bounded by a timeout); each
#   feature alone (reloaded in) fixes it;
# - an underlay path that shrinks: a router between the boxes with a
#   1400-byte link answers our outer packets with ICMP; the peer's
#   path_mtu in `ovtunctl peers` drops to 1400, the hosts are told 1350,
#   and TCP works both ways.
. "$(dirname "$0")/lib.sh"

IPERF_SECS=${IPERF_SECS:-2}

# site BOX HOST ADDR4 ADDR6: a bridge br0 in BOX with a veth port to HOST's
# eth0 (MTU 1500 on both ends), addressed in HOST.
site() {
	local box host
	box=$(ns "$1")
	host=$(ns "$2")
	ip -n "$box" link add br0 type bridge
	ip -n "$box" link set br0 up
	ip link add bp0 netns "$box" type veth peer name eth0 netns "$host"
	ip -n "$box" link set bp0 master br0
	ip -n "$box" link set bp0 up
	addr_up "$2" eth0 "$3"
	ip -n "$host" addr add "$4/64" dev eth0 nodad
}

# bridge_conf ROLE ENCAP KEY LOCAL PEER REMOTE [LINE...]: a bridge-mode
# config in $WORKDIR/ROLE.conf; LINEs go at the top level.
bridge_conf() {
	local role=$1 encap=$2 key=$3 local_ip=$4 peer=$5 remote=$6 f line
	shift 6
	f="$WORKDIR/$role.conf"
	{
		echo 'interface = "ovt0"'
		echo 'bridge = "br0"'
		echo "encap = \"$encap\""
		[ -z "$key" ] || echo "key = $key"
		echo "local = \"$local_ip\""
		echo "control = \"$(ctl_sock "$role")\""
		for line in "$@"; do echo "$line"; done
		printf 'peer "%s" {\n  remote = "%s"\n}\n' "$peer" "$remote"
	} >"$f"
	echo "$f"
}

# lab ENCAP KEY FAMILY ENC [LINE...]: namespaces, sites, configs (ENC:
# "enc" appends an encryption block); does not start the daemons.
lab() {
	local encap=$1 key=$2 fam=$3 enc=$4 a1 a2
	shift 4
	a1=$(underlay_addr 1 "$fam")
	a2=$(underlay_addr 2 "$fam")
	ns_add b1 b2 left right
	wire b1 u1 "$a1" b2 u2 "$a2"
	site b1 left 10.0.0.1 fd00:1::1
	site b2 right 10.0.0.2 fd00:1::2
	bridge_conf b1 "$encap" "$key" "$a1" box-2 "$a2" "$@" >/dev/null
	bridge_conf b2 "$encap" "$key" "$a2" box-1 "$a1" "$@" >/dev/null
	if [ "$enc" = enc ]; then
		enc_block "$WORKDIR/b1.conf" chacha20-poly1305 ip
		enc_block "$WORKDIR/b2.conf" chacha20-poly1305 ip
	fi
}

teardown_case() {
	stop_ovtund b1
	stop_ovtund b2
	end_case
}

# iperf ROLE_FROM ADDR [-R]: a bounded iperf3 run; prints Mbit/s received.
iperf() {
	local from=$1 addr=$2 server_ns out
	shift 2
	if [ "$from" = left ]; then server_ns=right; else server_ns=left; fi
	nsx "$server_ns" timeout $((IPERF_SECS + 15)) iperf3 -s -1 -p 5201 \
		>/dev/null 2>&1 &
	local spid=$!
	for _ in $(seq 50); do
		nsx "$server_ns" ss -ltn | grep -q ':5201 ' && break
		sleep 0.1
	done
	out=$(nsx "$from" timeout $((IPERF_SECS + 10)) iperf3 -c "$addr" \
		-p 5201 -t "$IPERF_SECS" -J "$@") || {
		wait "$spid" 2>/dev/null || true
		fail "iperf3 $from -> $addr $* did not complete"
	}
	wait "$spid" 2>/dev/null || true
	echo "$out" | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
print("%.0f" % (j["end"]["sum_received"]["bits_per_second"] / 1e6))'
}

# df_ping ROLE ADDR SIZE: DF pings (IPv4, or IPv6 when ADDR has a colon);
# prints ping's output, which must report the too-big answer.
df_ping() {
	local role=$1 addr=$2 size=$3 fam=-4
	case $addr in *:*) fam=-6 ;; esac
	nsx "$role" ping "$fam" -M do -s "$size" -c 3 -i 0.3 -W 1 "$addr" 2>&1 ||
		true
}

# route_mtu ROLE ADDR: the MTU the host's route cache holds for ADDR.
route_mtu() {
	nsx "$1" ip route get "$2" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' |
		head -1
}

# tcp_fails FROM TO ADDR SECS: a 2 MiB transfer must NOT complete.
tcp_fails() {
	local from=$1 to=$2 addr=$3 secs=$4 in out pid rc
	in="$WORKDIR/tcp.in"
	out="$WORKDIR/tcp.out"
	head -c 2097152 /dev/urandom >"$in"
	rm -f "$out"
	nsx "$to" timeout $((secs + 2)) socat -u "TCP-LISTEN:5002,reuseaddr" \
		"OPEN:$out,creat,trunc" 2>/dev/null &
	pid=$!
	for _ in $(seq 50); do
		nsx "$to" ss -ltn | grep -q ':5002 ' && break
		sleep 0.1
	done
	rc=0
	nsx "$from" timeout "$secs" socat -u "OPEN:$in" "TCP:$addr:5002" \
		2>/dev/null || rc=$?
	wait "$pid" 2>/dev/null || true
	if [ "$rc" = 0 ] && cmp -s "$in" "$out"; then
		fail "tcp transfer to $addr completed without the MTU features"
	fi
	log "  black hole: transfer to $addr stalled (rc $rc, $(stat -c %s "$out" 2>/dev/null || echo 0) of 2097152 bytes)"
}

stat_of() { json "$1" stats "j['$2']"; }

run_case() {
	local encap=$1 key=$2 fam=$3 enc=$4 want=$5 mtu out up down
	log "case: $encap key=${key:-none} IPv$fam underlay ${enc:-plain}, bridges at 1500"
	lab "$encap" "$key" "$fam" "$enc"
	start_ovtund b1 "$WORKDIR/b1.conf"
	start_ovtund b2 "$WORKDIR/b2.conf"
	assert_eq "$(json b2 show "j['mtu']")" 1500 "TAP MTU in bridge mode"
	assert_eq "$(nsx b2 cat /sys/class/net/br0/mtu)" 1500 "br0 MTU"
	mtu=$(json b1 peers "j['peers'][0]['mtu']")
	assert_eq "$mtu" "$want" "overlay MTU of box-2 (README table)"
	assert_eq "$(json b1 peers "j['peers'][0]['path_mtu']")" 1500 \
		"underlay path MTU"

	ping_ok left 10.0.0.2 3
	ping_ok right 10.0.0.1 3

	# IPv4 without DF, 1500 bytes: the outer packet is fragmented.
	nsx left ping -M dont -s 1472 -c 2 -i 0.3 -W 2 10.0.0.2 >/dev/null ||
		fail "non-DF ping of 1500 bytes lost"
	assert_ge "$(stat_of b1 outer_fragmented)" 2 "b1 outer_fragmented"

	# Full-size TCP both ways, before any ICMP reaches the hosts: the
	# SYNs (1460) are clamped, both ways, at both ends.
	tcp_transfer left right 10.0.0.2
	tcp_transfer right left 10.0.0.1
	up=$(iperf left 10.0.0.2)
	down=$(iperf left 10.0.0.2 -R)
	assert_ge "$up" 1 "iperf3 left -> right Mbit/s"
	assert_ge "$down" 1 "iperf3 right -> left Mbit/s"
	log "  overlay MTU $mtu; iperf3 left->right $up Mbit/s, right->left $down Mbit/s"
	assert_ge "$(stat_of b1 mss_clamped)" 2 "b1 SYNs clamped"
	assert_ge "$(stat_of b2 mss_clamped)" 2 "b2 SYNs clamped"
	assert_eq "$(route_mtu left 10.0.0.2)" "" "left's route cache, clamped"

	# The DF ping: answered by ovtund with the overlay MTU.
	out=$(df_ping left 10.0.0.2 1472)
	echo "$out" | grep -q "mtu = $mtu" ||
		fail "DF ping: no 'Frag needed ... mtu = $mtu' in: $out"
	assert_eq "$(route_mtu left 10.0.0.2)" "$mtu" "left's route cache"
	assert_ge "$(stat_of b1 icmp_frag_needed_sent)" 1 "b1 ICMP sent"
	# ... and now pings of the overlay's size pass.
	nsx left ping -M do -s $((mtu - 28)) -c 2 -i 0.3 -W 2 10.0.0.2 \
		>/dev/null || fail "DF ping of $mtu bytes lost"

	# IPv6: packet too big (for IPv6, 20 bytes less of IPv4 header).
	ping_ok left fd00:1::2 2
	out=$(df_ping right fd00:1::1 1452)
	echo "$out" | grep -qi "too big.*mtu[ =:]*$mtu\|mtu[ =:]*$mtu" ||
		fail "IPv6 ping: no 'Packet too big' with mtu $mtu in: $out"
	assert_eq "$(route_mtu right fd00:1::1)" "$mtu" "right's IPv6 route cache"
	assert_ge "$(stat_of b2 icmp6_packet_too_big_sent)" 1 "b2 PTB sent"

	assert_eq "$(drops b1 tx_error)" 0 "b1 tx errors"
	teardown_case
}

# The features off, then each alone: proves they are what fixes it.
black_hole_case() {
	local conf
	log "case: black hole without clamp_mss and pmtu_icmp, then each alone"
	lab vxlan 7 4 "" "clamp_mss = no" "pmtu_icmp = no"
	start_ovtund b1 "$WORKDIR/b1.conf"
	start_ovtund b2 "$WORKDIR/b2.conf"
	ping_ok left 10.0.0.2 3
	tcp_fails left right 10.0.0.2 6
	assert_ge "$(drops b1 exceeds_path_mtu)" 1 "b1 exceeds_path_mtu drops"
	assert_eq "$(stat_of b1 icmp_frag_needed_sent)" 0 "ICMP with pmtu_icmp = no"

	# MSS clamping alone (no ICMP, no route cache in the hosts yet).
	for conf in "$WORKDIR/b1.conf" "$WORKDIR/b2.conf"; do
		sed -i 's/^clamp_mss = no/clamp_mss = yes/' "$conf"
	done
	ctl b1 reload >/dev/null
	ctl b2 reload >/dev/null
	tcp_transfer left right 10.0.0.2
	tcp_transfer right left 10.0.0.1
	assert_eq "$(stat_of b1 icmp_frag_needed_sent)" 0 "ICMP with clamping alone"
	assert_eq "$(route_mtu left 10.0.0.2)" "" "left's route cache untouched"

	# ICMP alone.
	for conf in "$WORKDIR/b1.conf" "$WORKDIR/b2.conf"; do
		sed -i 's/^clamp_mss = yes/clamp_mss = no/;
			s/^pmtu_icmp = no/pmtu_icmp = yes/' "$conf"
	done
	ctl b1 reload >/dev/null
	ctl b2 reload >/dev/null
	# (right then learns 1410 from left's SYN-ACK: only b1 answers.)
	n=$(stat_of b1 mss_clamped)
	tcp_transfer left right 10.0.0.2
	tcp_transfer right left 10.0.0.1
	assert_eq "$(stat_of b1 mss_clamped)" "$n" "SYNs clamped with ICMP alone"
	assert_ge "$(stat_of b1 icmp_frag_needed_sent)" 1 "b1 ICMP with ICMP alone"
	assert_eq "$(route_mtu left 10.0.0.2)" 1450 "left's route cache"
	teardown_case
}

# A router r between b1 (192.0.2.1) and b2 (198.51.100.2) whose link to
# b2 has MTU 1400: only ICMP from r tells b1.
shrinking_path_case() {
	local i pmtu out
	log "case: the underlay path shrinks to 1400 behind a router"
	ns_add b1 b2 r left right
	wire b1 u1 192.0.2.1 r r1 192.0.2.254
	wire r r2 198.51.100.254 b2 u2 198.51.100.2
	ip -n "$(ns r)" link set r2 mtu 1400
	ip -n "$(ns b2)" link set u2 mtu 1400
	nsx r sysctl -qw net.ipv4.ip_forward=1
	ip -n "$(ns b1)" route add 198.51.100.0/24 via 192.0.2.254
	ip -n "$(ns b2)" route add 192.0.2.0/24 via 198.51.100.254
	site b1 left 10.0.0.1 fd00:1::1
	site b2 right 10.0.0.2 fd00:1::2
	bridge_conf b1 vxlan 7 192.0.2.1 box-2 198.51.100.2 >/dev/null
	bridge_conf b2 vxlan 7 198.51.100.2 box-1 192.0.2.1 >/dev/null
	start_ovtund b1 "$WORKDIR/b1.conf"
	start_ovtund b2 "$WORKDIR/b2.conf"
	assert_eq "$(json b1 peers "j['peers'][0]['path_mtu']")" 1500 \
		"b1's path MTU before"
	assert_eq "$(json b2 peers "j['peers'][0]['path_mtu']")" 1400 \
		"b2's path MTU (its own link)"
	ping_ok left 10.0.0.2 3
	# 1450 bytes of DF ping fit b1's idea of the path: r drops them and
	# tells b1, whose ovtund then lowers the peer and tells left.
	pmtu=
	for i in $(seq 20); do
		nsx left ping -M do -s 1422 -c 1 -W 0.5 10.0.0.2 >/dev/null 2>&1 ||
			true
		pmtu=$(json b1 peers "j['peers'][0]['path_mtu']")
		[ "$pmtu" = 1400 ] && break
		sleep 0.2
	done
	assert_eq "$pmtu" 1400 "b1's path MTU after ICMP from the router"
	assert_eq "$(json b1 peers "j['peers'][0]['mtu']")" 1350 \
		"b1's overlay MTU toward box-2"
	# left hears 1350 from ovtund: now ("Frag needed ... mtu = 1350"),
	# or already, if the loop's last ping got the answer ("local error
	# ... mtu=1350").
	out=$(df_ping left 10.0.0.2 1422)
	echo "$out" | grep -Eq "mtu ?= ?1350" ||
		fail "DF ping after the shrink: no 'mtu = 1350' in: $out"
	tcp_transfer left right 10.0.0.2
	tcp_transfer right left 10.0.0.1
	log "  b1: path_mtu $pmtu, overlay 1350; $(nsx b1 ip route get 198.51.100.2 | head -2 | tr -s ' \n' ' ')"
	teardown_case
}

# encap key family encryption expected-overlay-MTU (README table)
run_case vxlan 7 4 "" 1450
run_case vxlan 7 4 enc 1413
run_case gretap 9 4 "" 1458
run_case gretap 9 4 enc 1421
run_case geneve 7 4 "" 1450
run_case geneve 7 4 enc 1413
run_case vxlan 7 6 "" 1430
black_hole_case
shrinking_path_case
echo "mtu: all cases passed"
