#!/bin/bash
# The bridge mode: on box b2, ovtund runs with bridge = "br0" (no netns,
# no address), so its TAP must end up enslaved to the Linux bridge br0 in
# b2's namespace and up; br0 also has a veth port to namespace right
# (10.0.0.2). Box b1 is the usual netns mode (TAP in left, 10.0.0.1).
# Asserts, for vxlan over IPv4 and gretap (no key) over IPv6:
# - `ip -j link show ovt0` in b2: master br0, flags UP and LOWER_UP;
#   ovtunctl show reports bridge br0 and no netns;
# - pings both ways and a 2 MiB TCP transfer in each direction;
# - b1's fdb has right's veth MAC behind box-2 (learned through br0);
# - frames br0 floods into the TAP reach left: IPv4 packets from right to
#   an unknown unicast MAC and to the broadcast MAC (static neighbours)
#   are counted arriving on left's TAP (bounded AF_PACKET listener), and
#   b2's ovtund counts them as flooded.
. "$(dirname "$0")/lib.sh"

UNKNOWN_MAC=02:00:00:00:00:99
BCAST_MAC=ff:ff:ff:ff:ff:ff

# listen ROLE DEV SECONDS OUT: counts frames arriving (not sent) on DEV per
# destination MAC for SECONDS, into OUT as "mac count" lines; OUT.ready
# appears once the socket is bound. Runs in the background.
listen() {
	nsenter --net="/run/netns/$(ns "$1")" -- timeout $(($3 + 5)) \
		/usr/bin/python3 -c '
import collections, socket, sys, time
dev, secs, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((dev, 0))
open(out + ".ready", "w").close()
seen = collections.Counter()
end = time.monotonic() + secs
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        frame, addr = s.recvfrom(65535)
    except socket.timeout:
        break
    if addr[2] == socket.PACKET_OUTGOING or len(frame) < 14:
        continue
    seen[frame[0:6].hex(":")] += 1
with open(out, "w") as f:
    for mac, n in seen.items():
        print(mac, n, file=f)
' "$2" "$3" "$4" &
	LISTEN_PID=$!
	for _ in $(seq 50); do
		[ -e "$4.ready" ] && return 0
		kill -0 "$LISTEN_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "packet listener on $1/$2 did not start"
}

run_case() {
	local encap=$1 key=$2 fam=$3 a1 a2 conf link mtu right_mac peer
	local flooded out n
	log "case: bridge mode, $encap key=${key:-none} IPv$fam underlay"
	a1=$(underlay_addr 1 "$fam")
	a2=$(underlay_addr 2 "$fam")
	ns_add b1 b2 left right
	wire b1 u1 "$a1" b2 u2 "$a2"
	ip -n "$(ns b2)" link add br0 type bridge
	ip -n "$(ns b2)" link set br0 up
	ip link add brp0 netns "$(ns b2)" type veth peer name eth0 \
		netns "$(ns right)"
	ip -n "$(ns b2)" link set brp0 master br0
	ip -n "$(ns b2)" link set brp0 up

	start_ovtund b1 "$(ovtund_conf b1 left 10.0.0.1/24 "$encap" "$key" \
		"$a1" box-2 "$a2")"
	conf="$WORKDIR/b2.conf"
	{
		echo 'interface = "ovt0"'
		echo 'bridge = "br0"'
		echo "encap = \"$encap\""
		[ -z "$key" ] || echo "key = $key"
		echo "local = \"$a2\""
		echo "control = \"$(ctl_sock b2)\""
		printf 'peer "box-1" {\n  remote = "%s"\n}\n' "$a1"
	} >"$conf"
	start_ovtund b2 "$conf"

	link=$(nsx b2 ip -j link show ovt0)
	assert_eq "$(echo "$link" | /usr/bin/python3 -c \
		'import json,sys; print(json.load(sys.stdin)[0].get("master"))')" \
		br0 "master of ovt0 in b2"
	assert_eq "$(echo "$link" | /usr/bin/python3 -c '
import json, sys
f = json.load(sys.stdin)[0]["flags"]
print("UP" in f and "LOWER_UP" in f)')" True "ovt0 in b2 is up with carrier"
	assert_eq "$(json b2 show "j['bridge'], j['netns']")" "('br0', None)" \
		"b2 show bridge/netns"

	# right's side of the bridge gets the overlay MTU, as a host on the
	# overlay should.
	mtu=$(json b2 show "j['mtu']")
	ip -n "$(ns right)" link set eth0 mtu "$mtu"
	addr_up right eth0 10.0.0.2

	ping_ok left 10.0.0.2 3
	ping_ok right 10.0.0.1 3
	tcp_transfer left right 10.0.0.2
	tcp_transfer right left 10.0.0.1

	right_mac=$(nsx right cat /sys/class/net/eth0/address)
	peer=$(json b1 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$right_mac']")
	assert_eq "$peer" "['box-2']" "b1 fdb entry for right's MAC $right_mac"

	# Flooding from the bridge side: br0 does not know either MAC, so it
	# floods into the TAP; ovtund does not know them either and floods
	# to its peers; b1 hands the frames to left.
	flooded=$(json b2 stats "j['flooded']")
	nsx right ip neigh replace 10.0.0.99 lladdr "$UNKNOWN_MAC" \
		dev eth0 nud permanent
	nsx right ip neigh replace 10.0.0.98 lladdr "$BCAST_MAC" \
		dev eth0 nud permanent
	out="$WORKDIR/left-frames"
	rm -f "$out" "$out.ready"
	listen left ovt0 4 "$out"
	nsx right ping -c 3 -i 0.2 -W 1 10.0.0.99 >/dev/null 2>&1 || true
	nsx right ping -c 3 -i 0.2 -W 1 10.0.0.98 >/dev/null 2>&1 || true
	wait "$LISTEN_PID" || fail "packet listener on left failed"
	n=$(awk -v m="$UNKNOWN_MAC" '$1 == m { print $2 }' "$out")
	assert_ge "${n:-0}" 3 "unknown-unicast frames from br0 reaching left"
	n=$(awk -v m="$BCAST_MAC" '$1 == m { print $2 }' "$out")
	assert_ge "${n:-0}" 3 "broadcast frames from br0 reaching left"
	assert_ge "$(json b2 stats "j['flooded']")" $((flooded + 6)) \
		"frames flooded by b2's ovtund"
	log "  left got: $(tr '\n' ' ' <"$out")"

	stop_ovtund b1
	stop_ovtund b2
	nsx b2 ip link show ovt0 >/dev/null 2>&1 && fail "TAP left behind in b2"
	end_case
}

run_case vxlan 123 4
run_case gretap "" 6
echo "bridge: all cases passed"
