#!/bin/bash
# Recorded key exchange messages replayed by a host on the path, against
# a PSK-only mesh (the mode with the least to go on). C (b3) routes
# between three subnets, one per host:
#   A u1 192.0.2.1 -- ca [C] cb -- u2 198.51.100.2 B
#                         cd -- u4 203.0.113.4 D
# A, B and D share one psk and encryption settings, each a peer of the
# other two. C records their initiations (dumpcap) and sends copies with
# any source address (tests/netns/hsreplay.py, a raw socket).
# (a) Across the mesh, every replay is refused and counted, and no SA
#     moves: D's initiation to B sent to A as from D, A's to B sent to D
#     as from A, A's sent back to A as from B (reflection): each
#     handshake_auth_failed at its target, by exactly the number sent
#     (both ends' endpoints are in the prologue); A's sent again to B:
#     handshake_replay at B, exactly.
# (b) Lock-out: with rekey_after = 10, A's old initiation replayed to B
#     ten times a second as from A and ten as from D's address, for
#     24 s: A and B still rekey (B's handshakes with A rise by 2 or
#     more) and nothing reaches handshake_rate_limited.
# (c) Flood: the same initiation at up to 400 a second as from A, for
#     12 s: B goes under load and answers cookies instead
#     (handshake_under_load rises by most of what was sent), A's real
#     initiations carry the cookie and get through (B's handshakes with A
#     rise), the ping from left to right loses nothing. The daemon's CPU
#     time per refused initiation is printed, for (b) (below the load
#     threshold: each replay costs its AEAD) and (c) (cookies).
. "$(dirname "$0")/lib.sh"

command -v dumpcap >/dev/null ||
	{ echo "SKIP: $(basename "$0") needs dumpcap"; exit 77; }
HSREPLAY="$(cd "$(dirname "$0")" && pwd)/hsreplay.py"

A=192.0.2.1
B=198.51.100.2
D=203.0.113.4
PSK="psk of A, B and D: 32 bytes+"

# conf ROLE OVERLAY ADDRESS LOCAL REKEY PEER REMOTE...
conf() {
	local role=$1 overlay=$2 address=$3 local_ip=$4 rekey=$5
	local f="$WORKDIR/$1.conf"
	shift 5
	{
		echo "interface = \"ovt0\""
		echo "netns = \"$(ns "$overlay")\""
		echo "address = \"$address\""
		echo "encap = \"vxlan\""
		echo "key = 88"
		echo "local = \"$local_ip\""
		echo "control = \"$(ctl_sock "$role")\""
		echo "encryption {"
		echo "  psk = \"$PSK\""
		echo "  transport = \"udp\""
		echo "  rekey_after = $rekey"
		echo "}"
		while [ $# -ge 2 ]; do
			printf 'peer "%s" {\n  remote = "%s"\n}\n' "$1" "$2"
			shift 2
		done
	} >"$f"
	echo "$f"
}

lab() {
	ns_add b1 b2 b3 b4 left right dnet
	quiet_ns left right dnet
	wire b1 u1 "$A" b3 ca 192.0.2.254
	wire b2 u2 "$B" b3 cb 198.51.100.254
	wire b4 u4 "$D" b3 cd 203.0.113.254
	ip -n "$(ns b1)" route add default via 192.0.2.254
	ip -n "$(ns b2)" route add default via 198.51.100.254
	ip -n "$(ns b4)" route add default via 203.0.113.254
	nsx b3 sysctl -qw net.ipv4.ip_forward=1
}

# msg SRC DST: the hex of a recorded initiation from SRC to DST.
msg() {
	/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m["type"] == 1 and m["src"] == sys.argv[2] and m["dst"] == sys.argv[3]:
        print(m["hex"]); break' "$WORKDIR/msgs.json" "$1" "$2"
}

# replay SRC DST HEX COUNT PPS: from C, spoofing SRC.
replay() {
	nsx b3 timeout 70 /usr/bin/python3 "$HSREPLAY" send "$@"
}

hs_with() { json "$1" peers "[p['handshakes'] for p in j['peers'] if p['name'] == '$2'][0]"; }
out_spi() { json "$1" sa "sorted(s['spi'] for s in j['sas'] if s['dir'] == 'out' and s['peer'] == '$2')"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

log "(a) replays across the mesh: refused and counted"
lab
enc_cap_start b3 any "$WORKDIR/hs.pcap" "udp port 4797"
start_ovtund b1 "$(conf b1 left 10.0.0.1/24 "$A" 3600 B "$B" D "$D")"
start_ovtund b2 "$(conf b2 right 10.0.0.2/24 "$B" 3600 A "$A" D "$D")"
start_ovtund b4 "$(conf b4 dnet 10.0.0.4/24 "$D" 3600 A "$A" B "$B")"
ping_ok left 10.0.0.2
ping_ok dnet 10.0.0.2
ping_ok dnet 10.0.0.1
enc_cap_stop
/usr/bin/python3 "$HSREPLAY" extract "$WORKDIR/hs.pcap" >"$WORKDIR/msgs.json"
INIT_AB=$(msg "$A" "$B")
INIT_DB=$(msg "$D" "$B")
[ -n "$INIT_AB" ] && [ -n "$INIT_DB" ] || fail "no initiations A->B and D->B recorded"
# One copy first: if B never saw that initiation (it crossed one of
# B's own at start), B takes it once, staging an SA it never uses.
replay "$A" "$B" "$INIT_AB" 1 1 >/dev/null
sleep 1		# late crossings settle
a_auth=$(drops b1 handshake_auth_failed)
d_auth=$(drops b4 handshake_auth_failed)
b_replay=$(drops b2 handshake_replay)
spis="$(out_spi b1 B) $(out_spi b1 D) $(out_spi b2 A) $(out_spi b4 A)"
replay "$D" "$A" "$INIT_DB" 5 50 >/dev/null	# D->B, to A as from D
replay "$B" "$A" "$INIT_AB" 5 50 >/dev/null	# A->B, back to A
replay "$A" "$D" "$INIT_AB" 5 50 >/dev/null	# A->B, to D as from A
replay "$A" "$B" "$INIT_AB" 5 50 >/dev/null	# A->B, again
sleep 0.5
assert_eq "$(drops b1 handshake_auth_failed)" $((a_auth + 10)) "A: handshake_auth_failed"
assert_eq "$(drops b4 handshake_auth_failed)" $((d_auth + 5)) "D: handshake_auth_failed"
assert_eq "$(drops b2 handshake_replay)" $((b_replay + 5)) "B: handshake_replay"
assert_eq "$(out_spi b1 B) $(out_spi b1 D) $(out_spi b2 A) $(out_spi b4 A)" \
	"$spis" "outbound SAs after the replays"
ping_ok left 10.0.0.2
end_case

log "(b) lock-out: replays ten a second, twice, while A and B rekey"
lab
start_ovtund b1 "$(conf b1 left 10.0.0.1/24 "$A" 10 B "$B" D "$D")"
start_ovtund b2 "$(conf b2 right 10.0.0.2/24 "$B" 10 A "$A" D "$D")"
ping_ok left 10.0.0.2
h0=$(hs_with b2 A)
t0=$(cpu_ticks "$PID_b2")
replay "$A" "$B" "$INIT_AB" 240 10 >"$WORKDIR/r1.json" &
r1=$!
replay "$D" "$B" "$INIT_AB" 240 10 >"$WORKDIR/r2.json" &
r2=$!
nsx left ping -c 120 -i 0.2 -W 1 10.0.0.2 >"$WORKDIR/ping.b" || true
wait "$r1" "$r2"
t1=$(cpu_ticks "$PID_b2")
h1=$(hs_with b2 A)
log "B's handshakes with A: $h0 -> $h1; $(grep -o '[0-9]* received' "$WORKDIR/ping.b") of 120 pings"
log "B refused $(drops b2 handshake_replay) replays as from A and $(drops b2 handshake_auth_failed) as from D, using $(((t1 - t0) * 10)) ms of CPU in all"
assert_ge "$h1" $((h0 + 2)) "B's handshakes with A while replayed"
assert_eq "$(drops b2 handshake_rate_limited)" 0 "B: handshake_rate_limited"
ping_ok left 10.0.0.2

log "(c) a flood of the same initiation: cookies, and A still gets through"
h0=$(hs_with b2 A)
l0=$(drops b2 handshake_under_load)
t0=$(cpu_ticks "$PID_b2")
replay "$A" "$B" "$INIT_AB" 4800 400 >"$WORKDIR/flood.json" &
f=$!
nsx left ping -c 60 -i 0.2 -W 1 10.0.0.2 >"$WORKDIR/ping.c" || true
wait "$f"
t1=$(cpu_ticks "$PID_b2")
sent=$(pyeval "$(cat "$WORKDIR/flood.json")" "j['sent']")
secs=$(pyeval "$(cat "$WORKDIR/flood.json")" "j['seconds']")
h1=$(hs_with b2 A)
l1=$(drops b2 handshake_under_load)
log "flood: $sent sent in $secs s; B answered $((l1 - l0)) with cookies" \
	"($(pyeval "{}" "round($((l1 - l0)) / $secs)") a second), CPU $(((t1 - t0) * 10)) ms;" \
	"B's handshakes with A: $h0 -> $h1; $(grep -o '[0-9]* received' "$WORKDIR/ping.c") of 60 pings"
assert_ge "$((l1 - l0))" $((sent / 2)) "B: handshake_under_load during the flood"
assert_ge "$h1" $((h0 + 1)) "B's handshakes with A during the flood"
grep -q ' 0% packet loss' "$WORKDIR/ping.c" || fail "pings lost during the flood"
ping_ok left 10.0.0.2
log "PASS"
