#!/bin/bash
# Interop with the Linux kernel's own VXLAN device, over IPv4 and IPv6
# underlays. Box b1 runs ovtund (vxlan, VNI 123, TAP in left, 10.0.0.1);
# box b2 runs no ovtund but a kernel vxlan device vx0 (VNI 123, dstport
# 4789, underlay socket in b2), moved into right with 10.0.0.2 and the MTU
# of ovtund's TAP. Asserts:
# - pings both ways and a 2 MiB TCP transfer in each direction;
# - ovtund's fdb has vx0's MAC behind peer box-2, the kernel's vx0 fdb has
#   left's TAP MAC behind b1's underlay address, no wrong_key or
#   unknown_peer drops, the peer counted the frames;
# - the kernel keeps its default strict IPv6 checksum policy (no
#   udp6zerocsumrx), so ovtund must send real UDP checksums over IPv6;
# - then vx0 is recreated with VNI 124: pings fail both ways (bounded,
#   ping -c 2 -W 1) and ovtund's wrong_key drop counter rises.
#
# Checksum offload: tx checksumming is turned off on both underlay veths,
# as a real NIC would complete checksums. With it on, the kernel vxlan
# hands veth a CHECKSUM_PARTIAL skb whose INNER TCP checksum is still the
# pseudo-header sum (local checksum offload); veth passes it on as is,
# b1's kernel trusts it, ovtund's UDP socket reads the unfinished bytes
# and left drops every TCP segment from right. A userspace socket cannot
# see ip_summed, so that is a property of veth labs, not of ovtund.
. "$(dirname "$0")/lib.sh"

command -v ethtool >/dev/null ||
	{ echo "SKIP: $(basename "$0") needs ethtool"; exit 77; }

# kernel_vxlan VNI FAMILY MTU: (re)creates vx0 in b2 towards b1 and moves
# it into right, addressed 10.0.0.2/24.
kernel_vxlan() {
	local vni=$1 fam=$2 mtu=$3
	ip -n "$(ns right)" link del vx0 2>/dev/null || true
	ip -n "$(ns b2)" link add vx0 type vxlan id "$vni" \
		remote "$(underlay_addr 1 "$fam")" \
		local "$(underlay_addr 2 "$fam")" dstport 4789 dev u2
	ip -n "$(ns b2)" link set vx0 netns "$(ns right)"
	ip -n "$(ns right)" link set vx0 mtu "$mtu"
	ip -n "$(ns right)" addr add 10.0.0.2/24 dev vx0
	ip -n "$(ns right)" link set vx0 up
}

drops() { json b1 stats "j['drops']['$1']"; }

run_case() {
	local fam=$1 a1 a2 mtu vx_mac left_mac before after peer
	log "case: ovtund vxlan <-> kernel vxlan, IPv$fam underlay"
	a1=$(underlay_addr 1 "$fam")
	a2=$(underlay_addr 2 "$fam")
	ns_add b1 b2 left right
	wire b1 u1 "$a1" b2 u2 "$a2"
	nsx b1 ethtool -K u1 tx off >/dev/null
	nsx b2 ethtool -K u2 tx off >/dev/null
	start_ovtund b1 "$(ovtund_conf b1 left 10.0.0.1/24 vxlan 123 "$a1" \
		box-2 "$a2")"
	mtu=$(json b1 show "j['mtu']")
	kernel_vxlan 123 "$fam" "$mtu"

	ping_ok left 10.0.0.2 3
	ping_ok right 10.0.0.1 3
	tcp_transfer left right 10.0.0.2
	tcp_transfer right left 10.0.0.1

	vx_mac=$(nsx right cat /sys/class/net/vx0/address)
	left_mac=$(nsx left cat /sys/class/net/ovt0/address)
	peer=$(json b1 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$vx_mac']")
	assert_eq "$peer" "['box-2']" "ovtund fdb entry for vx0 ($vx_mac)"
	nsx right bridge fdb show dev vx0 | grep -qi "^$left_mac dst $a1 " || {
		nsx right bridge fdb show dev vx0 >&2
		fail "kernel vx0 did not learn $left_mac behind $a1"
	}
	assert_eq "$(drops wrong_key)" 0 "wrong_key drops with VNI 123"
	assert_eq "$(drops unknown_peer)" 0 "unknown_peer drops"
	assert_ge "$(json b1 peers "j['peers'][0]['rx_packets']")" 100 \
		"b1 rx_packets from the kernel"
	assert_ge "$(json b1 peers "j['peers'][0]['tx_packets']")" 100 \
		"b1 tx_packets to the kernel"

	log "  kernel vx0 with VNI 124 instead"
	kernel_vxlan 124 "$fam" "$mtu"
	before=$(drops wrong_key)
	nsx right ip neigh flush dev vx0
	nsx left ip neigh flush dev ovt0
	if nsx right ping -c 2 -W 1 10.0.0.1 >/dev/null 2>&1; then
		fail "right reached 10.0.0.1 through VNI 124"
	fi
	if nsx left ping -c 2 -W 1 10.0.0.2 >/dev/null 2>&1; then
		fail "left reached 10.0.0.2 through VNI 123 -> 124"
	fi
	after=$(drops wrong_key)
	assert_ge "$after" $((before + 1)) "wrong_key drops after VNI 124 traffic"
	log "  wrong_key $before -> $after"

	stop_ovtund b1
	end_case
}

run_case 4
run_case 6
echo "kernel-vxlan: all cases passed"
