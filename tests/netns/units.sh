#!/bin/bash
# The command lines of the systemd units, run as systemd would run them
# (systemd itself does not run here): ovtund@.service's ExecStartPre,
# ExecStart and ExecReload for instance "lab", with the installed paths
# mapped to the build tree and /run/ovtund to the test's directory.
# - the control socket comes from the instance name (-s), although the
#   file says another; a reload keeps it;
# - the PID file /run/ovtund/lab.pid holds the daemon's PID, as does
#   `ovtunctl show`; it is removed on exit;
# - ExecReload exits 0 for a good file and 1 for a refused one (so
#   `systemctl reload` fails then), and each reload is logged with who
#   asked: the control socket (with the client's PID) or SIGHUP;
# - with stderr on the journal (JOURNAL_STREAM), every line starts with
#   its syslog level, "<N>" (sd-daemon(3)): <3> for a refused reload, <4>
#   for a warning, <5> for a reload done;
# - ovtund.service's ExecReload is `ovtunctl reload` as well.
. "$(dirname "$0")/lib.sh"

UNIT=$top_builddir/systemd/ovtund@.service
[ -r "$UNIT" ] || fail "$UNIT is not built"
mkdir -p "$WORKDIR/etc/ovtund" "$WORKDIR/run/ovtund"

# unit_line KEY: the unit's KEY= command line for instance lab, its paths
# mapped into the test.
unit_line() {
	sed -n "s/^$1=//p" "$UNIT" | sed \
		-e "s|%i|lab|g" \
		-e "s|[^ ]*/sbin/ovtund|$OVTUND|" \
		-e "s|[^ ]*/bin/ovtunctl|$OVTUNCTL|" \
		-e "s|[^ ]*/etc/ovtund/|$WORKDIR/etc/ovtund/|" \
		-e "s|/run/ovtund/|$WORKDIR/run/ovtund/|g"
}
pre=$(unit_line ExecStartPre)
start=$(unit_line ExecStart)
reload=$(unit_line ExecReload)
log "ExecStart: $start"
log "ExecReload: $reload"
case $reload in
"$OVTUNCTL -s $WORKDIR/run/ovtund/lab.sock reload") ;;
*) fail "ExecReload is not ovtunctl reload on the instance's socket: $reload" ;;
esac
grep -q '^WatchdogSec=' "$UNIT" || fail "no WatchdogSec= in $UNIT"
grep -qx 'ExecReload=.*/ovtunctl reload' "$top_builddir/systemd/ovtund.service" ||
	fail "ovtund.service does not reload through ovtunctl"

ns_add b1 b2 left
wire b1 u1 192.0.2.1 b2 u2 192.0.2.2
conf=$WORKDIR/etc/ovtund/lab.conf
ovtund_conf b1 left 10.0.0.1/24 vxlan 123 192.0.2.1 box-2 192.0.2.2 >/dev/null
# The file names another socket: the instance's wins.
sed "s|^control = .*|control = \"$WORKDIR/elsewhere.sock\"|" "$WORKDIR/b1.conf" >"$conf"
cp "$conf" "$WORKDIR/good.conf"

# shellcheck disable=SC2086
nsenter --net="/run/netns/$(ns b1)" -- $pre >"$WORKDIR/pre.out" 2>&1 ||
	fail "ExecStartPre failed: $(cat "$WORKDIR/pre.out")"
# As systemd does: stderr goes to the journal, named in JOURNAL_STREAM,
# and every line then carries its level.
: >"$WORKDIR/lab.log"
journal=$(stat -c '%d:%i' "$WORKDIR/lab.log")
# shellcheck disable=SC2086
JOURNAL_STREAM=$journal nsenter --net="/run/netns/$(ns b1)" -- $start \
	>"$WORKDIR/lab.log" 2>&1 &
pid=$!
DAEMON_PIDS+=("$pid")
sock=$WORKDIR/run/ovtund/lab.sock
for _ in $(seq 100); do
	"$OVTUNCTL" -s "$sock" show >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || fail "ovtund exited: $(cat "$WORKDIR/lab.log")"
	sleep 0.1
done
[ ! -e "$WORKDIR/elsewhere.sock" ] || fail "the file's control socket was made"
pidfile=$WORKDIR/run/ovtund/lab.pid
assert_eq "$(cat "$pidfile")" "$pid" "PID file"
assert_eq "$("$OVTUNCTL" -s "$sock" --json show | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')" \
	"$pid" "ovtunctl show: pid"

log "ExecReload: a good file"
# shellcheck disable=SC2086
$reload >"$WORKDIR/reload.out" 2>&1 || fail "ExecReload failed on a good file: $(cat "$WORKDIR/reload.out")"
grep -q "^<5>reload asked by the control socket (pid [0-9]*, uid 0): 1 peers" "$WORKDIR/lab.log" ||
	fail "reload not logged with who asked: $(grep reload "$WORKDIR/lab.log")"

log "ExecReload: a refused file exits 1"
echo 'mtu = = 1' >>"$conf"
rc=0
# shellcheck disable=SC2086
$reload >"$WORKDIR/reload.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "ExecReload exit code for a refused file"
grep -q "^<3>reload asked by the control socket (pid [0-9]*, uid 0) refused, running configuration kept: $conf:[0-9]*:" \
	"$WORKDIR/lab.log" || fail "refused reload not logged: $(grep reload "$WORKDIR/lab.log")"
sed -i 's/^interface = .*/interface = "ovt9"/' "$WORKDIR/good.conf"
cp "$WORKDIR/good.conf" "$conf"
rc=0
# shellcheck disable=SC2086
$reload >"$WORKDIR/reload.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "ExecReload exit code for a change that needs a restart"
grep -q "interface changed: restart ovtund to apply it" "$WORKDIR/reload.out" ||
	fail "the refusal does not say why: $(cat "$WORKDIR/reload.out")"

log "SIGHUP is logged as such"
sed -i 's/^interface = .*/interface = "ovt0"/' "$conf"
kill -HUP "$pid"
for _ in $(seq 50); do
	grep -q "reload asked by SIGHUP: 1 peers" "$WORKDIR/lab.log" && break
	sleep 0.1
done
grep -q "reload asked by SIGHUP: 1 peers" "$WORKDIR/lab.log" ||
	fail "SIGHUP reload not logged: $(grep reload "$WORKDIR/lab.log")"

grep -q "^<4>no user configured: staying root" "$WORKDIR/lab.log" ||
	fail "warnings are not marked <4>: $(head -3 "$WORKDIR/lab.log")"
[ -z "$(grep -v '^<[0-7]>' "$WORKDIR/lab.log")" ] ||
	fail "lines without a level: $(grep -v '^<[0-7]>' "$WORKDIR/lab.log" | head -3)"
log "levels seen: $(grep -o '^<[0-7]>' "$WORKDIR/lab.log" | sort | uniq -c | tr -s ' \n' ' ')"

kill -TERM "$pid"
timeout 5 tail --pid="$pid" -f /dev/null || fail "no exit on SIGTERM"
forget_pid "$pid"
[ ! -e "$pidfile" ] || fail "PID file left behind"
[ ! -e "$sock" ] || fail "control socket left behind"
echo "units: all checks passed"
