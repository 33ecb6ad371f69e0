#!/bin/bash
# What the daemon does when the world changes under it: a peer killed
# with SIGKILL and restarted (traffic back within a second, the MAC table
# relearns), the underlay link down and up (no spinning while down, traffic
# resumes), the TAP's namespace deleted (a clear message and a clean exit,
# not a spin).
. "$(dirname "$0")/lib.sh"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

two_hosts vxlan 123 4
ping_ok left 10.0.0.2 2
# Fixed neighbours: the restart gives right's TAP a new MAC, and ARP's
# one-second retries would otherwise dominate the figure.
right_ip_mac() { nsx right cat /sys/class/net/ovt0/address; }

log "peer killed with SIGKILL and restarted"
kill -KILL "$PID_b2"
wait "$PID_b2" 2>/dev/null || true
forget_pid "$PID_b2"
start_ovtund b2 "$WORKDIR/b2.conf"
nsx left ip neigh replace 10.0.0.2 lladdr "$(right_ip_mac)" dev ovt0 nud permanent
t0=$(date +%s%N)
ok=""
for _ in $(seq 50); do
	if nsx left ping -c 1 -W 0.2 10.0.0.2 >/dev/null; then
		ok=1
		break
	fi
done
[ -n "$ok" ] || fail "no traffic within 10 s of the restart"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
log "  traffic back ${ms} ms after the restarted daemon answered"
[ "$ms" -le 1000 ] || fail "recovery took ${ms} ms"
peer=$(json b1 fdb "[e['peer'] for e in j['fdb'] if e['mac'] == '$(right_ip_mac)']")
assert_eq "$peer" "['box-2']" "b1 relearned right's new MAC"

log "underlay link down for 3 s, then up"
ticks0=$(cpu_ticks "$PID_b1")
nsx b1 ip link set u1 down
nsx left ping -c 10 -i 0.2 -W 0.2 10.0.0.2 >/dev/null 2>&1 &&
	fail "pings crossed a link that is down"
sleep 1
ticks1=$(cpu_ticks "$PID_b1")
# A spinning daemon burns 100 ticks a second; an idle one next to none.
[ $((ticks1 - ticks0)) -le 30 ] ||
	fail "b1 used $((ticks1 - ticks0)) ticks while the link was down"
nsx b1 ip link set u1 up
ping_ok left 10.0.0.2 3
kill -0 "$PID_b1" || fail "b1 died with its link"
log "  b1 used $((ticks1 - ticks0)) CPU ticks over 3 s of link down"

log "the TAP's namespace deleted under the daemon"
ip netns del "$(ns left)"
for _ in $(seq 50); do
	kill -0 "$PID_b1" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$PID_b1" 2>/dev/null && fail "b1 still runs without its TAP"
rc=0
wait "$PID_b1" || rc=$?
forget_pid "$PID_b1"
assert_eq "$rc" 1 "b1's exit status"
grep -q "the TAP device is gone" "$WORKDIR/b1.log" ||
	fail "no clear message: $(tail -3 "$WORKDIR/b1.log")"
[ ! -e "$(ctl_sock b1)" ] || fail "control socket left behind"
echo "recovery: all checks passed"
