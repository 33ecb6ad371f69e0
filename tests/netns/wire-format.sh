#!/bin/bash
# What ovtund puts on the wire, judged by tshark rather than by ovtund
# itself: two ovtund instances that share a wrong encoding (a VNI in the
# wrong bytes, a missing flag) would still talk to each other, so ping.sh
# cannot see it. For every encapsulation (vxlan 123, geneve 123, gretap
# with key 123, gretap without key) over IPv4 and IPv6 underlays, the
# underlay is captured while left pings right, and:
# - every captured tunnel packet has the exact outer header: IP protocol
#   or next header 17/47, the right underlay addresses, the UDP port, and
#   the first bytes of the VXLAN/Geneve/GRE header byte for byte (flags,
#   version, protocol type 0x6558, VNI/key 123 or no key at all, zero
#   reserved bits, no Geneve options), plus tshark's own field view;
# - the inner frame is dissected right after that header: at least 4
#   echo requests 10.0.0.1 -> 10.0.0.2 and 4 replies, from left's to
#   right's TAP MAC and back, with the exact protocol stack;
# - no packet is malformed or carries an expert error (severity
#   PI_ERROR = 0x00800000 = 8388608 in tshark 4.0), with the IPv4 header
#   and UDP checksums checked; the echo packets carry no expert info;
# - over IPv6 every UDP checksum is non-zero and correct (RFC 8200 §8.1;
#   RFC 6935 zero checksums are not used), over IPv4 it is correct or 0.
#
# Checksums: veth hands CHECKSUM_PARTIAL packets to its peer as they are,
# so with tx offload on, captures on EITHER end show the unfinished
# pseudo-header sum and tshark calls every UDP checksum bad. The test
# turns tx checksum offload off on both underlay veths (ethtool -K tx off),
# so the kernel completes checksums in software before the capture tap,
# and captures on b2's veth, seeing both directions with real checksums.
. "$(dirname "$0")/lib.sh"

for tool in tshark ethtool; do
	command -v "$tool" >/dev/null ||
		{ echo "SKIP: $(basename "$0") needs $tool"; exit 77; }
done

# tshark: no name resolution, IPv4 header and UDP checksums verified.
TSHARK_OPTS=(-n -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE)
EXPERT_ERROR=8388608		# PI_ERROR, epan/proto.h (0x00800000)

CAP_PID=
cap_kill() {
	[ -z "$CAP_PID" ] || kill -TERM "$CAP_PID" 2>/dev/null
	CAP_PID=
}
on_exit cap_kill

# cap_start ROLE DEV FILE FILTER: captures inside ROLE's namespace
# (bounded by count and time) and returns once dumpcap has written the
# file header, which it does only after the interface is open and
# filtered: from then on, nothing is missed.
cap_start() {
	local i
	rm -f "$3"
	# nsenter execs: $! is timeout's PID, and timeout hands SIGTERM on
	# to tshark (a backgrounded nsx would be a subshell instead).
	nsenter --net="/run/netns/$(ns "$1")" -- \
		timeout 60 tshark -i "$2" -c 2000 -w "$3" -f "$4" \
		>"$3.log" 2>&1 &
	CAP_PID=$!
	for i in $(seq 150); do
		[ -s "$3" ] && return 0
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$3.log" >&2
	fail "tshark did not start capturing on $2"
}

# cap_stop: lets dumpcap drain what it has, then stops it (timeout
# passes SIGTERM on to tshark, which closes the file properly).
cap_stop() {
	local pid=$CAP_PID
	sleep 0.5
	CAP_PID=
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
}

# count FILE FILTER: how many packets of FILE match the display filter.
# A filter tshark rejects is a failure, never a silent 0.
count() {
	local out
	out=$(tshark "${TSHARK_OPTS[@]}" -r "$1" -Y "$2" -T fields \
		-e frame.number 2>"$WORKDIR/tshark.err") || {
		grep -v 'Running as user' "$WORKDIR/tshark.err" >&2
		echo "tshark rejected: $2" >&2
		return 1
	}
	if [ -z "$out" ]; then echo 0; else echo "$out" | wc -l; fi
}

# show FILE: a summary of the capture, for failure messages.
show() {
	tshark "${TSHARK_OPTS[@]}" -r "$1" -T fields -e frame.number \
		-e frame.protocols -e udp.dstport -e udp.checksum.status \
		-e vxlan.vni -e geneve.vni -e gre.flags_and_version -e gre.key \
		-e _ws.expert.message 2>/dev/null | head -40 >&2
}

check() {
	local file=$1 what=$2 got=$3 op=$4 want=$5
	case $got in
	'' | *[!0-9]*) fail "$what: no packet count (tshark failed)" ;;
	esac
	case $op in
	-eq) [ "$got" -eq "$want" ] ;;
	-ge) [ "$got" -ge "$want" ] ;;
	*) false ;;
	esac || {
		show "$file"
		fail "$what: expected $op $want packets, got $got"
	}
}

run_case() {
	local encap=$1 key=$2 fam=$3 a1 a2 lmac rmac cap outer ip tun stack
	local total conform proto good n
	log "case: $encap key=${key:-none} IPv$fam underlay"
	two_hosts "$encap" "$key" "$fam"
	nsx b1 ethtool -K u1 tx off >/dev/null
	nsx b2 ethtool -K u2 tx off >/dev/null
	a1=$(underlay_addr 1 "$fam")
	a2=$(underlay_addr 2 "$fam")
	# Warm up first (ARP, learning), so the capture holds steady state.
	ping_ok left 10.0.0.2 1
	lmac=$(nsx left cat /sys/class/net/ovt0/address)
	rmac=$(nsx right cat /sys/class/net/ovt0/address)

	cap="$WORKDIR/$encap-${key:-nokey}-$fam.pcapng"
	cap_start b2 u2 "$cap" "udp or ip proto 47 or ip6 proto 47"
	nsx left ping -c 4 -i 0.2 -W 2 10.0.0.2 >/dev/null ||
		{ cap_stop; fail "left: lost pings to 10.0.0.2 during capture"; }
	cap_stop

	# Every field that occurs in more than one layer (eth, ip, ipv6) is
	# named with its layer: tshark 4.0 mis-evaluates "ip.src#1 == A &&
	# ip.src == B" (the second test sees layer 1 only). n is the layer
	# of the inner IPv4 header.
	if [ "$fam" = 4 ]; then
		ip=ip n=2
		outer="eth.type#1 == 0x0800 && ip.version#1 == 4"
	else
		ip=ipv6 n=1
		outer="eth.type#1 == 0x86dd && ipv6.version#1 == 6"
	fi
	outer="$outer && $ip.src#1 in {$a1, $a2} && $ip.dst#1 in {$a1, $a2}"
	outer="$outer && $ip.src#1 != $ip.dst#1"
	# The protocol number field of the first layer.
	if [ "$fam" = 4 ]; then proto="ip.proto#1"; else proto="ipv6.nxt#1"; fi

	case $encap in
	vxlan)
		tun="$proto == 17 && udp.dstport == 4789"
		tun="$tun && vxlan.flag_i == 1 && vxlan.flag_g == 0"
		tun="$tun && vxlan.vni == 123"
		# flags 0x08, 24 reserved bits, VNI 123, 8 reserved bits
		tun="$tun && vxlan[0:8] == 08:00:00:00:00:00:7b:00"
		stack="udp:vxlan"
		;;
	geneve)
		tun="$proto == 17 && udp.dstport == 6081"
		tun="$tun && geneve.version == 0 && !geneve.options"
		tun="$tun && geneve.flags.oam == 0 && geneve.flags.critical == 0"
		tun="$tun && geneve.proto_type == 0x6558 && geneve.vni == 123"
		# Ver 0, Opt Len 0, O=C=0, 0x6558, VNI 123, reserved 0
		tun="$tun && geneve[0:8] == 00:00:65:58:00:00:7b:00"
		stack="udp:geneve"
		;;
	gretap)
		tun="$proto == 47 && gre.proto == 0x6558"
		tun="$tun && gre.flags.checksum == 0 && gre.flags.routing == 0"
		tun="$tun && gre.flags.sequence_number == 0"
		tun="$tun && gre.flags.version == 0"
		if [ -n "$key" ]; then
			tun="$tun && gre.flags.key == 1 && gre.key == $key"
			tun="$tun && gre[0:8] == 20:00:65:58:00:00:00:7b"
		else
			tun="$tun && gre.flags.key == 0 && !gre.key"
			tun="$tun && gre[0:4] == 00:00:65:58"
		fi
		stack="gre"
		;;
	esac
	stack="eth:ethertype:$ip:$stack:eth:ethertype:ip:icmp:data"

	total=$(count "$cap" "frame")
	conform=$(count "$cap" "$outer && $tun")
	check "$cap" "tunnel packets captured" "$total" -ge 8
	check "$cap" "$encap/IPv$fam packets with the exact header" \
		"$conform" -eq "$total"

	check "$cap" "malformed packets or expert errors" \
		"$(count "$cap" "_ws.malformed || _ws.expert.severity >= $EXPERT_ERROR")" \
		-eq 0

	check "$cap" "echo requests 10.0.0.1 -> 10.0.0.2, dissected" \
		"$(count "$cap" "frame.protocols == \"$stack\" && $outer && $tun \
			&& $ip.src#1 == $a1 && $ip.dst#1 == $a2 \
			&& eth.src#2 == $lmac && eth.dst#2 == $rmac \
			&& ip.src#$n == 10.0.0.1 && ip.dst#$n == 10.0.0.2 \
			&& icmp.type == 8 && !_ws.expert")" -ge 4
	check "$cap" "echo replies 10.0.0.2 -> 10.0.0.1, dissected" \
		"$(count "$cap" "frame.protocols == \"$stack\" && $outer && $tun \
			&& $ip.src#1 == $a2 && $ip.dst#1 == $a1 \
			&& eth.src#2 == $rmac && eth.dst#2 == $lmac \
			&& ip.src#$n == 10.0.0.2 && ip.dst#$n == 10.0.0.1 \
			&& icmp.type == 0 && !_ws.expert")" -ge 4

	if [ "$encap" != gretap ]; then
		if [ "$fam" = 6 ]; then
			good="udp.checksum != 0 && udp.checksum.status == 1"
		else
			good="udp.checksum.status == 1 || udp.checksum == 0"
		fi
		check "$cap" "UDP checksums valid (IPv$fam)" \
			"$(count "$cap" "udp && ($good)")" -eq "$total"
	fi
	log "  $total packets, all conform"

	stop_ovtund b1
	stop_ovtund b2
	end_case
}

for fam in 4 6; do
	run_case vxlan 123 "$fam"
	run_case geneve 123 "$fam"
	run_case gretap 123 "$fam"
	run_case gretap "" "$fam"
done
echo "wire-format: all cases passed"
