#!/bin/bash
# Hostile underlay traffic against a running ovtund, and a MAC flood from
# the overlay. Boxes b1, b2 and b3 share one underlay segment (a bridge in
# namespace sw). b1 (overlay "left", mtu 1400, mac_table_size 65536) has
# three peers, one per encapsulation:
#   box-2  192.0.2.2   vxlan  VNI 123   the real b2 (overlay "right")
#   box-g  192.0.2.12  geneve VNI 456   an address of b3
#   box-r  192.0.2.22  gretap key 789   an address of b3
# and 192.0.2.3 (b3's own) is no peer. From b3, craft.py builds every
# packet by hand and writes it to the wire with AF_PACKET (spoofing b2's
# address for the vxlan classes): headers cut at every boundary, wrong
# versions, flags, protocols, keys and VNIs, Geneve options past the
# packet or critical, OAM, runt / oversized inner frames, bad source MACs,
# no-peer sources, the wrong encapsulation for the peer, datagrams larger
# than the daemon's buffer, outer IPv4 headers the kernel must refuse, and
# 200 random and 200 mutated packets per encapsulation, whose every drop
# reason an independent model in craft.py predicts. For each class:
#   - the drop counter of its reason rises by exactly the number sent, and
#     no other drop counter moves (the outer-IPv4 classes: b1's kernel MIB
#     rises by exactly the number sent, and no drop counter of the daemon);
#   - rx_drops of the peer the packets claim to come from rise by as much;
#   - nothing of it reaches left (a sniffer on left's ovt0 records every
#     frame not from right's MAC); the accepted classes (RFC-ignored bits,
#     252 bytes of options, frames at exactly the size limit) arrive, each
#     frame once;
# while a ping from left to right runs the whole time and loses nothing.
# Then right writes frames with up to 1,000,000 distinct source MACs to
# left for at most 20 s: b1's table never holds more than 65536 entries,
# the flood's MACs evict each other (box-2 holds the most) while left's
# stays, b1's RSS stays bounded, the pair keeps working (ping loss
# reported, bounded), and no daemon dies.
. "$(dirname "$0")/lib.sh"

CRAFT="$(cd "$(dirname "$0")" && pwd)/craft.py"
FLOOD_COUNT=${FLOOD_COUNT:-1000000}
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
FLOOD_PPS=${FLOOD_PPS:-60000}
# Ping loss tolerated while the flood runs (percent).
FLOOD_LOSS_MAX=${FLOOD_LOSS_MAX:-5}
# RSS growth tolerated on b1 during the flood: the table is sized once
# (131072 slots of 24 bytes), so a few MiB at most.
FLOOD_RSS_MAX_KB=${FLOOD_RSS_MAX_KB:-16384}

T0=$(date +%s)

ns_add sw
ip -n "$(ns sw)" link add br0 type bridge stp_state 0
ip -n "$(ns sw)" link set br0 up
# A plain wire: with br_netfilter loaded, the bridge would check (and
# drop) the broken IPv4 headers itself, before b1's kernel sees them.
for f in /proc/sys/net/bridge/bridge-nf-call-iptables \
	/proc/sys/net/bridge/bridge-nf-call-ip6tables \
	/proc/sys/net/bridge/bridge-nf-call-arptables; do
	[ ! -e "$f" ] || nsx sw sh -c "echo 0 >$f"
done
for i in 1 2 3; do
	ns_add "b$i"
	ip link add "u$i" netns "$(ns "b$i")" type veth peer name "p$i" \
		netns "$(ns sw)"
	ip -n "$(ns sw)" link set "p$i" master br0 up
	addr_up "b$i" "u$i" "$(underlay_addr "$i" 4)"
done
ip -n "$(ns b3)" addr add 192.0.2.12/24 dev u3
ip -n "$(ns b3)" addr add 192.0.2.22/24 dev u3
ns_add left right
for role in b1 b2 b3 left right; do
	nsx "$role" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
done

cat >"$WORKDIR/b1.conf" <<EOF
interface = "ovt0"
netns = "$(ns left)"
address = "10.0.0.1/24"
mtu = 1400
encap = "vxlan"
key = 123
local = "192.0.2.1"
control = "$(ctl_sock b1)"
mac_table_size = 65536
peer "box-2" {
	remote = "192.0.2.2"
}
peer "box-g" {
	remote = "192.0.2.12"
	encap = "geneve"
	key = 456
}
peer "box-r" {
	remote = "192.0.2.22"
	encap = "gretap"
	key = 789
}
EOF
start_ovtund b1 "$WORKDIR/b1.conf"
start_ovtund b2 "$(ovtund_conf b2 right 10.0.0.2/24 vxlan 123 192.0.2.2 box-1 192.0.2.1)"
assert_eq "$(json b1 show "j['mtu']")" 1400 "b1 TAP MTU"

ping_ok left 10.0.0.2 3
mleft=$(nsx left cat /sys/class/net/ovt0/address)
mright=$(nsx right cat /sys/class/net/ovt0/address)
# Known for good: no ARP crosses the tunnel while the counters are read.
nsx left ip neigh replace 10.0.0.2 lladdr "$mright" dev ovt0 nud permanent
nsx right ip neigh replace 10.0.0.1 lladdr "$mleft" dev ovt0 nud permanent
assert_eq "$(drops b1)" 0 "b1 drops before the test"

# The sniffer: every frame left's ovt0 receives from anyone but right.
SNIFF=$WORKDIR/sniff.txt
nsenter --net="/run/netns/$(ns left)" -- /usr/bin/python3 "$CRAFT" sniff \
	ovt0 "$mright" "$SNIFF" &
SNIFF_PID=$!
on_exit 'kill -TERM $SNIFF_PID 2>/dev/null'
for _ in $(seq 100); do [ -e "$SNIFF" ] && break; sleep 0.05; done
[ -e "$SNIFF" ] || fail "sniffer did not start"
sleep 0.2

/usr/bin/python3 - "$WORKDIR/matrix.conf" <<EOF
import json, sys
json.dump(dict(
    ovtunctl="$OVTUNCTL", sock="$(ctl_sock b1)", b1_ns="$(ns b1)",
    b1="192.0.2.1", b1_mac="$(nsx b1 cat /sys/class/net/u1/address)",
    left_mac="$mleft", iface="u3", frame_max=1400 + 14 + 4,
    unknown="192.0.2.3", legit_peer="box-2", sniff="$SNIFF",
    out="$WORKDIR/matrix.json", seed=4789,
    peers=[dict(name="box-2", remote="192.0.2.2", key=123),
           dict(name="box-g", remote="192.0.2.12", key=456),
           dict(name="box-r", remote="192.0.2.22", key=789)]),
    open(sys.argv[1], "w"))
EOF

# ping_while FLAG OUT: pings from left to right, 0.05 s apart, in rounds
# of 20 (each complete, none cut short) until FLAG exists, at most 120
# rounds; the summary of every round goes to OUT.
ping_while() {
	for _ in $(seq 120); do
		[ -e "$1" ] && break
		nsx left ping -q -i 0.05 -c 20 -W 2 10.0.0.2 2>&1 |
			grep 'packets transmitted' >>"$2"
	done
}

log "hostile-packet matrix, with a ping from left to right all along"
ping_while "$WORKDIR/matrix.done" "$WORKDIR/ping1.txt" &
PING_PID=$!
on_exit 'touch "$WORKDIR/matrix.done"'
sleep 0.5
t_m=$(date +%s%N)
rc=0
nsenter --net="/run/netns/$(ns b3)" -- /usr/bin/python3 "$CRAFT" matrix \
	"$WORKDIR/matrix.conf" >"$WORKDIR/matrix.log" 2>&1 || rc=$?
t_m=$((($(date +%s%N) - t_m) / 1000000))
touch "$WORKDIR/matrix.done"
wait "$PING_PID" || true
read -r ping_tx ping_rx < <(awk '{ t += $1; r += $4 } END { print t + 0, r + 0 }' \
	"$WORKDIR/ping1.txt")
grep '^FAIL' "$WORKDIR/matrix.log" >&2 || true
[ -s "$WORKDIR/matrix.json" ] || { cat "$WORKDIR/matrix.log" >&2; fail "matrix did not run"; }
/usr/bin/python3 - "$WORKDIR/matrix.json" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
print("# %-68s %5s %7s  %s" % ("class", "sent", "dropped", "counter"))
for r in rows:
    print("# %-68s %5d %7d  %s%s%s" % (r["cls"][:68], r["sent"], r["dropped"],
          r["counter"], " (%s)" % r["note"] if r["note"] else "",
          "" if r["ok"] else "   <-- FAILED"))
print("# %d classes, %d packets" % (len(rows), sum(r["sent"] for r in rows)))
EOF
log "matrix: $t_m ms; ping meanwhile: $ping_tx sent, $ping_rx answered"
[ "$rc" = 0 ] || fail "hostile-packet matrix: $(grep -c '^FAIL' "$WORKDIR/matrix.log") failed checks"
assert_ge "$ping_tx" 100 "pings sent during the matrix"
assert_eq "$ping_rx" "$ping_tx" "pings answered during the matrix"
kill -0 "$PID_b1" || fail "b1 died"
# Every frame the sniffer saw is one the matrix expected.
expected=$(/usr/bin/python3 -c '
import json, sys, re
n = 0
for r in json.load(open(sys.argv[1])):
    m = re.search(r"delivered[ =(]+(\d+)", r["counter"])
    n += int(m.group(1)) if m else 0
print(n)' "$WORKDIR/matrix.json")
sleep 0.2
assert_eq "$(wc -l <"$SNIFF")" "$expected" "frames on left not from right"
kill -TERM "$SNIFF_PID"
wait "$SNIFF_PID" || true

log "MAC flood from right: $FLOOD_COUNT source MACs, at most ${FLOOD_SECONDS}s"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
# Where the flood's frames were lost, if they were: right's TAP queue,
# b2's and b1's socket buffers.
losses() {
	echo "right ovt0 tx_dropped $(nsx right cat /sys/class/net/ovt0/statistics/tx_dropped)," \
		"b1 $(nsx b1 nstat -az Udp{Rcvbuf,Sndbuf}Errors | awk '/Udp/ { printf "%s %s ", $1, $2 }')," \
		"b2 $(nsx b2 nstat -az Udp{Rcvbuf,Sndbuf}Errors | awk '/Udp/ { printf "%s %s ", $1, $2 }')"
}
rss1_0=$(rss "$PID_b1")
rss2_0=$(rss "$PID_b2")
evicted0=$(json b1 stats "j['fdb']['evicted']")
rx0=$(json b1 stats "j['underlay_rx_packets']")
log "before the flood: $(losses)"
pings=$(((FLOOD_SECONDS + 4) * 20))
nsx left ping -q -i 0.05 -c "$pings" -W 2 10.0.0.2 >"$WORKDIR/ping2.txt" 2>&1 &
PING_PID=$!
fdb_sampler b1 "$WORKDIR/entries.txt" $((FLOOD_SECONDS + 8))
sleep 1
nsenter --net="/run/netns/$(ns right)" -- timeout $((FLOOD_SECONDS + 10)) \
	/usr/bin/python3 "$CRAFT" flood ovt0 "$mleft" "$FLOOD_COUNT" \
	"$FLOOD_SECONDS" "$FLOOD_PPS" >"$WORKDIR/flood.json" ||
	fail "the flooder failed"
sleep 1
touch "$WORKDIR/entries.txt.done"
wait "$SAMPLER_PID" || true
wait "$PING_PID" || true
rss1_1=$(rss "$PID_b1")
rss2_1=$(rss "$PID_b2")
kill -0 "$PID_b1" || fail "b1 died in the flood"
kill -0 "$PID_b2" || fail "b2 died in the flood"
st=$(ctl b1 --json stats)
entries=$(pyeval "$st" "j['fdb']['entries']")
evicted1=$(pyeval "$st" "j['fdb']['evicted']")
rx1=$(pyeval "$st" "j['underlay_rx_packets']")
max_seen=$(sort -n "$WORKDIR/entries.txt" | tail -1)
n_fdb=$(ctl b1 --json fdb | /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["fdb"]))')
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$WORKDIR/ping2.txt")
log "flooder: $(cat "$WORKDIR/flood.json"); b1 received $((rx1 - rx0)) packets"
log "b1 fdb: $entries entries (max sampled $max_seen over $(wc -l <"$WORKDIR/entries.txt") samples, fdb lists $n_fdb), evicted +$((evicted1 - evicted0)), local $(pyeval "$st" "j['fdb']['local_entries']")"
log "VmRSS b1: $rss1_0 kB -> $rss1_1 kB (+$((rss1_1 - rss1_0)), peak $(hwm "$PID_b1")); b2: $rss2_0 kB -> $rss2_1 kB (+$((rss2_1 - rss2_0)), peak $(hwm "$PID_b2"))"
log "after the flood: $(losses)"
log "ping during the flood: $(grep -E 'packets transmitted' "$WORKDIR/ping2.txt")"
assert_eq "$(json b1 stats "j['fdb']['limit']")" 65536 "b1 fdb limit"
[ "$max_seen" -le 65536 ] || fail "b1 fdb held $max_seen entries (limit 65536)"
[ "$entries" -le 65536 ] || fail "b1 fdb holds $entries entries"
[ "$n_fdb" -le 65536 ] || fail "b1 fdb lists $n_fdb entries"
assert_eq "$entries" 65536 "b1 fdb entries after the flood (table full)"
assert_ge $((evicted1 - evicted0)) 100000 "b1 evicted during the flood"
assert_eq "$(pyeval "$st" "j['fdb']['local_entries']")" 1 "b1 local entries after the flood"
assert_eq "$(ctl b1 --json fdb | /usr/bin/python3 -c 'import json, sys; print([e["mac"] for e in json.load(sys.stdin)["fdb"] if e["peer"] is None])')" \
	"['$mleft']" "b1 local entry after the flood"
if rss_bounds_apply "$PID_b1"; then
	[ $((rss1_1 - rss1_0)) -le "$FLOOD_RSS_MAX_KB" ] ||
		fail "b1 RSS grew by $((rss1_1 - rss1_0)) kB in the flood"
fi
[ -n "$loss" ] || fail "no ping summary: $(cat "$WORKDIR/ping2.txt")"
/usr/bin/python3 -c "import sys; sys.exit(float('$loss') > $FLOOD_LOSS_MAX)" ||
	fail "ping lost $loss% during the flood (at most $FLOOD_LOSS_MAX%)"
# With the table full and the flood over, the pair still works: right's
# MAC, if the flood evicted it, is learned again in place of another.
ping_ok left 10.0.0.2 5
ping_ok right 10.0.0.1 5
stop_ovtund b2
stop_ovtund b1
log "total $(($(date +%s) - T0)) s"
echo "hostile: all cases passed"
