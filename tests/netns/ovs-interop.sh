#!/bin/bash
# Interop with Open vSwitch's userspace tunnel ports (datapath_type=netdev):
# box b1 runs ovtund, box b2 runs a private OVS instance whose bridge has a
# gre, vxlan or geneve port toward b1 and a veth into the right namespace.
# Ping and a TCP transfer across, for each encapsulation, IPv4 and IPv6
# underlays, and the MAC of OVS's side learned behind the peer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ovs.sh"

command -v ovs-vswitchd >/dev/null || fail "openvswitch-switch is not installed"

run_case() {
	local encap=$1 ovs_type=$2 key=$3 fam=$4 a1 a2 plen rundir mac peer
	log "case: ovtund $encap <-> OVS $ovs_type key=${key:-none} IPv$fam"
	a1=$(underlay_addr 1 "$fam")
	a2=$(underlay_addr 2 "$fam")
	plen=24
	[ "$fam" = 4 ] || plen=64
	ns_add b1 b2 left right
	ip link add u1 netns "$(ns b1)" type veth peer name u2 netns "$(ns b2)"
	addr_up b1 u1 "$a1"
	# OVS's userspace datapath drops UDP whose checksum the sending veth
	# left to an offload that never happens; a real NIC would fill it.
	nsx b1 ethtool -K u1 tx off >/dev/null

	rundir=$(mktemp -d /tmp/ovst.XXXXXX)
	ovs_start "$(ns b2)" "$rundir"
	on_exit "ovs_stop '$rundir'; rm -rf '$rundir'"
	ovs_underlay "$(ns b2)" "$rundir" u2 "$a2/$plen"
	ovs_tunnel_peer "$(ns b2)" "$rundir" br-ovl "$ovs_type" "$a2" "$a1" \
		"$key" "$(ns right)" 10.0.0.2/24

	start_ovtund b1 "$(ovtund_conf b1 left 10.0.0.1/24 "$encap" "$key" \
		"$a1" ovs-box "$a2")"
	ping_ok left 10.0.0.2 3
	ping_ok right 10.0.0.1 3
	tcp_transfer left right 10.0.0.2
	tcp_transfer right left 10.0.0.1

	mac=$(nsx right cat /sys/class/net/br-ovl-i/address)
	peer=$(json b1 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$mac']")
	assert_eq "$peer" "['ovs-box']" "fdb entry for OVS's side ($mac)"
	assert_eq "$(json b1 stats "sum(j['drops'].values())")" 0 "drops on b1"

	stop_ovtund b1
	ovs_stop "$rundir"
	end_case
}

for fam in 4 6; do
	run_case vxlan vxlan 123 "$fam"
	run_case geneve geneve 123 "$fam"
	run_case gretap gre 77 "$fam"
	run_case gretap gre "" "$fam"
done
echo "ovs-interop: all cases passed"
