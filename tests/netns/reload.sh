#!/bin/bash
# Live reload (SIGHUP and `ovtunctl reload`) while a ping runs across the
# overlay: peers added, changed and removed take effect; the unchanged peer
# keeps its counters and loses no packet; a broken file or a change that
# needs a restart is refused and the running configuration stays.
. "$(dirname "$0")/lib.sh"

two_hosts vxlan 123 4
conf=$WORKDIR/b1.conf
cp "$conf" "$WORKDIR/b1.orig"
ping_ok left 10.0.0.2 2

# 100 pings over 5 s; every one must come back across all the reloads.
nsx left ping -c 100 -i 0.05 -W 1 10.0.0.2 >"$WORKDIR/ping.out" &
ping_pid=$!
sleep 0.5

rx_before=$(json b1 peers "j['peers'][0]['rx_packets']")
printf 'peer "box-3" {\n  remote = "192.0.2.3"\n  encap = "geneve"\n}\n' >>"$conf"
kill -HUP "$PID_b1"
sleep 0.3
assert_eq "$(json b1 peers "len(j['peers'])")" 2 "peers after adding box-3"
assert_eq "$(json b1 peers "[p['port'] for p in j['peers'] if p['name'] == 'box-3']")" "[6081]" "box-3's port"
rx_after=$(json b1 peers "[p['rx_packets'] for p in j['peers'] if p['name'] == 'box-2'][0]")
assert_ge "$rx_after" "$rx_before" "box-2 counters kept across reload"

# A broken file: refused with file:line, nothing changes.
cp "$conf" "$WORKDIR/b1.good"
echo 'bogus_key = 1' >>"$conf"
if out=$(ctl b1 reload 2>&1); then fail "broken reload accepted"; fi
echo "$out" | grep -q "b1.conf:[0-9]*:" || fail "reload error without file:line: $out"
assert_eq "$(json b1 peers "len(j['peers'])")" 2 "peers after refused reload"

# A setting only a restart can change: refused, named.
sed 's/^interface = .*/interface = "ovt9"/' "$WORKDIR/b1.good" >"$conf"
if out=$(ctl b1 reload 2>&1); then fail "interface change accepted"; fi
echo "$out" | grep -q "interface changed" || fail "unexpected message: $out"

# Back to one peer, by ovtunctl this time.
cp "$WORKDIR/b1.orig" "$conf"
out=$(ctl b1 reload) || fail "reload failed: $out"
echo "$out" | grep -q "1 peers" || fail "unexpected reload summary: $out"
assert_eq "$(json b1 peers "[p['name'] for p in j['peers']]")" "['box-2']" "peers after removing box-3"

wait "$ping_pid" || fail "ping lost packets during reloads: $(tail -2 "$WORKDIR/ping.out")"
grep -q " 0% packet loss" "$WORKDIR/ping.out" || fail "loss during reloads: $(tail -2 "$WORKDIR/ping.out")"

# A changed peer takes effect: the wrong VNI cuts the overlay (and is
# counted on the far side), the right one restores it.
sed -i 's/^key = 123/key = 124/' "$conf"
ctl b1 reload >/dev/null || fail "reload to key 124 failed"
nsx left ping -c 2 -i 0.2 -W 1 10.0.0.2 >/dev/null && fail "ping crossed with mismatched VNI"
assert_ge "$(json b2 stats "j['drops']['wrong_key']")" 1 "wrong_key on b2"
sed -i 's/^key = 124/key = 123/' "$conf"
ctl b1 reload >/dev/null || fail "reload back to key 123 failed"
ping_ok left 10.0.0.2 3
echo "reload: all checks passed"
