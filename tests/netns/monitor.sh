#!/bin/bash
# The event stream, `ovtunctl monitor`, in a scripted scenario on two
# encrypted daemons (rekey_after = 10):
# - `ovtunctl monitor --json` on b1 (started before b2) sees, in order of
#   what happens: handshake_completed and peer_up for box-2; mac_moved
#   when a MAC first learned on b1's TAP shows up behind box-2; a rekey;
#   peer_down (reason silent) after b2 is killed; peer_up again when b2
#   comes back; reload_applied for each of 1500 reloads in a row. Every
#   line is one JSON object.
# - the text form (`ovtunctl monitor`) says the same in words.
# - a plain peer (mac_aging = 2): peer_up (heard) with the first ping,
#   peer_down (idle) after 2 s of silence, when `ovtunctl peers` says
#   idle too, and peer_up again with the next ping.
# - a subscriber that never reads (a raw client that asks for the stream
#   and sleeps) does not slow the daemon: during a flood of 20000 new
#   source MACs, 0 of 200 pings at 10 ms are lost and `ovtunctl show`
#   answers within 2 s; the reading monitor gets mac_learned events and a
#   mac_summary of the rest (at most EVENTS_MAC_RATE single ones a
#   second); after the 1500 reloads, when the stuck one finally reads, it
#   is told how many events it missed (events_missed) before the next
#   event, while the reading one missed none.
. "$(dirname "$0")/lib.sh"

# evjson FILE PYEXPR: PYEXPR over the list of events in FILE (ev).
evjson() {
	/usr/bin/python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))' "$1" "$2"
}

# wait_event FILE PYEXPR SECONDS: until PYEXPR (over ev) is true.
wait_event() {
	local i
	for i in $(seq $(($3 * 5))); do
		[ "$(evjson "$1" "$2")" = True ] && return 0
		sleep 0.2
	done
	fail "no event $2 within $3 s; saw: $(tail -c 2000 "$1")"
}

enc_setup vxlan 123 4 chacha20-poly1305 ip "" "rekey_after = 10"
# A mac_aging long enough that nothing ages during the test.
start_ovtund b1 "$WORKDIR/b1.conf"
ctl b1 monitor --json >"$WORKDIR/ev.json" 2>"$WORKDIR/ev.err" &
mon=$!
ctl b1 monitor >"$WORKDIR/ev.txt" 2>&1 &
mon_txt=$!
on_exit "kill $mon $mon_txt 2>/dev/null"

# The subscriber that never reads: it asks for the stream, then sleeps
# until told to read, and prints the events it then finds.
/usr/bin/python3 - "$(ctl_sock b1)" "$WORKDIR/stuck" >"$WORKDIR/stuck.out" 2>&1 <<'PY' &
import os, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(struct.pack('=IHHII', 0x4f565443, 1, 7, 1, 0))
for _ in range(1200):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.1)
# The backlog, until the stream is idle for 1 s; then the next events.
def read_until(buf, done, timeout):
    s.settimeout(timeout)
    try:
        while not done(buf):
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except socket.timeout:
        pass
    return buf
buf = read_until(b'', lambda b: False, 1.0)
open(sys.argv[2] + '.drained', 'w').close()
n = len(buf)
buf = read_until(buf, lambda b: b'events_missed' in b[n:] and
                 b[n:].count(b'\n') >= 2, 10.0)
sys.stdout.write(buf[16:].decode(errors='replace'))
PY
stuck=$!
on_exit "kill $stuck 2>/dev/null"
sleep 0.5

start_ovtund b2 "$WORKDIR/b2.conf"
ping_ok left 10.0.0.2 2
wait_event "$WORKDIR/ev.json" "any(e['event'] == 'peer_up' and e['peer'] == 'box-2' for e in ev)" 5
wait_event "$WORKDIR/ev.json" "any(e['event'] == 'handshake_completed' and e['peer'] == 'box-2' for e in ev)" 5
log "up: $(grep -c . "$WORKDIR/ev.json") events so far"

# A MAC move: left's MAC, learned on b1's TAP, arrives from box-2.
left_mac=$(nsx left cat /sys/class/net/ovt0/address)
nsx right /usr/bin/python3 -c '
import socket, sys
src = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("ovt0", 0))
s.send(b"\xff" * 6 + src + b"\x88\xb5" + b"\0" * 46)' "$left_mac"
wait_event "$WORKDIR/ev.json" "any(e['event'] == 'mac_moved' and e['mac'] == '$left_mac' and e['peer'] == 'box-2' for e in ev)" 3
ping_ok left 10.0.0.2 1

# A flood of new source MACs from right, with the stuck subscriber
# connected: pings go on, the control socket answers.
nsx right /usr/bin/python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("ovt0", 0))
for i in range(20000):
    src = b"\x02\x55" + struct.pack("!I", i)
    s.send(b"\xff" * 6 + src + b"\x88\xb5" + b"\0" * 46)
    if i % 500 == 499:
        time.sleep(0.01)' &
flood=$!
nsx left ping -c 200 -i 0.01 -W 1 10.0.0.2 >"$WORKDIR/ping.out" 2>&1 ||
	fail "pings lost during the MAC flood: $(tail -2 "$WORKDIR/ping.out")"
t0=$(now_ms)
ctl b1 show >/dev/null || fail "show during the flood"
t=$(($(now_ms) - t0))
[ "$t" -lt 2000 ] || fail "show took $t ms during the flood"
wait "$flood"
log "flood: $(grep 'packet loss' "$WORKDIR/ping.out"), show in $t ms"
wait_event "$WORKDIR/ev.json" "any(e['event'] == 'mac_summary' and e['learned'] > 0 for e in ev)" 4
learned=$(evjson "$WORKDIR/ev.json" "sum(1 for e in ev if e['event'] == 'mac_learned')")
summed=$(evjson "$WORKDIR/ev.json" "sum(e['learned'] for e in ev if e['event'] == 'mac_summary')")
log "mac events: $learned single, $summed summed up"
assert_ge "$learned" 50 "single mac_learned events"
assert_ge "$summed" 1000 "mac_learned summed up"

# A rekey (rekey_after = 10, minus up to 10 % jitter).
wait_event "$WORKDIR/ev.json" "any(e['event'] == 'rekey' and e['peer'] == 'box-2' for e in ev)" 12

# Down: b2 dies; b1 hears nothing for 30 s.
kill -KILL "$PID_b2"
wait "$PID_b2" 2>/dev/null || true
forget_pid "$PID_b2"
t0=$(now_ms)
wait_event "$WORKDIR/ev.json" "any(e['event'] == 'peer_down' and e['peer'] == 'box-2' and e['reason'] == 'silent' for e in ev)" 40
log "peer_down after $(($(now_ms) - t0)) ms"
n_up=$(evjson "$WORKDIR/ev.json" "sum(1 for e in ev if e['event'] == 'peer_up')")
start_ovtund b2 "$WORKDIR/b2.conf"
# The new daemon's TAP has a new MAC: left must ask again.
ip -n "$(ns left)" neigh flush dev ovt0
ping_ok left 10.0.0.2 1
wait_event "$WORKDIR/ev.json" "sum(1 for e in ev if e['event'] == 'peer_up') > $n_up" 5

# 1500 reloads in a row: more events than the stuck subscriber's buffer
# (64 KiB, and 32 KiB in the kernel) holds.
t0=$(now_ms)
/usr/bin/python3 - "$(ctl_sock b1)" <<'PY' || fail "reloads"
import socket, struct, sys
for i in range(1500):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sys.argv[1])
    s.sendall(struct.pack('=IHHII', 0x4f565443, 1, 5, 0, 0))
    hdr = s.recv(16)
    if len(hdr) < 16 or struct.unpack('=IHHII', hdr)[2] != 0:
        sys.exit("reload %d failed" % i)
    s.close()
PY
log "1500 reloads in $(($(now_ms) - t0)) ms"
wait_event "$WORKDIR/ev.json" "sum(1 for e in ev if e['event'] == 'reload_applied') == 1500" 5

# The stuck subscriber reads its backlog, then one more event comes.
touch "$WORKDIR/stuck"
for _ in $(seq 100); do
	[ -e "$WORKDIR/stuck.drained" ] && break
	sleep 0.1
done
ctl b1 reload >/dev/null
wait "$stuck" || true
wait_event "$WORKDIR/ev.json" "sum(1 for e in ev if e['event'] == 'reload_applied') == 1501" 3
grep -q '"event":"events_missed","count":[1-9]' "$WORKDIR/stuck.out" ||
	fail "the stuck subscriber was not told what it missed: $(tail -c 600 "$WORKDIR/stuck.out")"
! grep -q events_missed "$WORKDIR/ev.json" || fail "the reading monitor missed events"
log "stuck subscriber: $(grep -o '"event":"events_missed","count":[0-9]*' "$WORKDIR/stuck.out")"

# Every line of the JSON stream is one object; the text one says it too.
evjson "$WORKDIR/ev.json" "len(ev)" >/dev/null || fail "not one JSON object a line"
grep -q ' peer_down peer=box-2 reason=silent silent_s=30$' "$WORKDIR/ev.txt" ||
	fail "text stream: $(head -c 1500 "$WORKDIR/ev.txt")"
grep -q ' rekey peer=box-2 spi=0x' "$WORKDIR/ev.txt" || fail "text stream: no rekey"
log "events: $(evjson "$WORKDIR/ev.json" "sorted(set(e['event'] for e in ev))")"
kill "$mon" "$mon_txt" 2>/dev/null || true

# Plain peers have no keepalive: up when heard, down after mac_aging
# (2 s here) of silence, up again with the next packet.
end_case
ns_add b1 b2 left right
quiet_ns left right
wire b1 u1 192.0.2.1 b2 u2 192.0.2.2
ovtund_conf b1 left 10.0.0.1/24 vxlan 5 192.0.2.1 box-2 192.0.2.2 >/dev/null
ovtund_conf b2 right 10.0.0.2/24 vxlan 5 192.0.2.2 box-1 192.0.2.1 >/dev/null
echo "mac_aging = 2" >>"$WORKDIR/b1.conf"
start_ovtund b1 "$WORKDIR/b1.conf"
ctl b1 monitor --json >"$WORKDIR/plain.json" 2>&1 &
mon=$!
on_exit "kill $mon 2>/dev/null"
start_ovtund b2 "$WORKDIR/b2.conf"
# b2 announces its TAP at start: box-2 may be up already; let it go idle.
PEV="[(e['event'], e.get('reason')) for e in ev if e['event'].startswith('peer_')]"
sleep 3.5
n0=$(evjson "$WORKDIR/plain.json" "len($PEV)")
ping_ok left 10.0.0.2 1
wait_event "$WORKDIR/plain.json" "$PEV[$n0:][:1] == [('peer_up', 'heard')]" 3
wait_event "$WORKDIR/plain.json" "$PEV[$n0:] == [('peer_up', 'heard'), ('peer_down', 'idle')]" 6
assert_eq "$(json b1 peers "j['peers'][0]['state']")" idle "plain peer's state after the silence"
ping_ok left 10.0.0.2 1
wait_event "$WORKDIR/plain.json" "$PEV[$n0:][:3] == [('peer_up', 'heard'), ('peer_down', 'idle'), ('peer_up', 'heard')]" 3
log "plain peer: $(evjson "$WORKDIR/plain.json" "$PEV")"
echo "PASS: monitor"
