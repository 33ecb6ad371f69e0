#!/bin/bash
# The command lines of ovtund and ovtunctl, and the promises around them:
# -t checks without touching anything; a bad configuration is one
# FILE:LINE message, exit 1 and nothing created; -V; ovtunctl's errors and
# exit codes; the control socket's mode and ownership (a second daemon on
# it is refused, a dead one's is taken over); every command in text and in
# JSON; SIGINT and SIGTERM clean up; the background mode reports readiness.
. "$(dirname "$0")/lib.sh"

# run_daemon ROLE ARGS...: ovtund in ROLE's namespace, bounded in time;
# stdout, stderr and the exit code land in $out, $err and $rc.
run_daemon() {
	local role=$1
	shift
	rc=0
	nsenter --net="/run/netns/$(ns "$role")" -- timeout 10 "$OVTUND" "$@" \
		>"$WORKDIR/out" 2>"$WORKDIR/err" || rc=$?
	out=$(cat "$WORKDIR/out")
	err=$(cat "$WORKDIR/err")
}

# links ROLE: the interfaces of ROLE's namespace but lo, space-separated.
links() {
	ip -n "$(ns "$1")" -o link show | awk -F': ' '$2 != "lo" { print $2 }' |
		tr '\n' ' '
}

# nothing_created SOCK ROLE...: no interface but lo in the roles'
# namespaces, no socket file.
nothing_created() {
	local sock=$1 role
	shift
	[ ! -e "$sock" ] || fail "$sock exists"
	for role in "$@"; do
		assert_eq "$(links "$role")" "" "interfaces in $role"
	done
}

# A box and the namespace its TAP would go to, with no underlay at all:
# the daemon listens on the wildcard address.
ns_add cb c1 b3 left2
good_conf() {
	cat <<EOF
interface = "ovt0"
netns = "$(ns c1)"
address = "10.0.0.1/24"
encap = "vxlan"
key = 123
control = "$WORKDIR/c.sock"
peer "box-2" {
	remote = "192.0.2.2"
}
EOF
}
good_conf >"$WORKDIR/good.conf"

log "(a) -t on a good configuration: ok, exit 0, nothing created"
run_daemon cb -t -c "$WORKDIR/good.conf"
assert_eq "$rc" 0 "ovtund -t exit code"
assert_eq "$out" "$WORKDIR/good.conf: ok" "ovtund -t output"
assert_eq "$err" "" "ovtund -t stderr"
nothing_created "$WORKDIR/c.sock" cb c1

log "(b) bad configurations: exit 1, one FILE:LINE message, nothing created"
# bad_case NAME LINE PATTERN: the good configuration with one mistake.
bad_case() {
	local name=$1 line=$2 pattern=$3 f="$WORKDIR/$1.conf" flag
	for flag in -f -t ""; do
		# shellcheck disable=SC2086
		run_daemon cb $flag -c "$f"
		assert_eq "$rc" 1 "$name ($flag): exit code"
		assert_eq "$out" "" "$name ($flag): stdout"
		assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "$name ($flag): lines on stderr"
		case $err in
		"$f:$line: "*$pattern*) ;;
		*) fail "$name ($flag): expected '$f:$line: ...$pattern...', got '$err'" ;;
		esac
		nothing_created "$WORKDIR/c.sock" cb c1
	done
}
good_conf | sed '3a\mtu_size = 1400' >"$WORKDIR/unknown-key.conf"
bad_case unknown-key 4 "mtu_size"
good_conf | sed 's/^address = .*/address = "10.0.0.300\/24"/' >"$WORKDIR/bad-address.conf"
bad_case bad-address 3 "10.0.0.300"
good_conf | sed 's/remote = "192.0.2.2"/remote = "192.0.2"/' >"$WORKDIR/bad-remote.conf"
bad_case bad-remote 8 "192.0.2"
good_conf | sed 's/^\tremote = .*/\tencap = "geneve"/' >"$WORKDIR/no-remote.conf"
bad_case no-remote 7 "no remote"
good_conf | sed 's/^key = 123/key = 16777216/' >"$WORKDIR/bad-key.conf"
bad_case bad-key 5 "16777216"

log "(b') what only start-up used to find, -t finds too, with FILE:LINE"
good_conf | sed "s/^netns = .*/netns = \"$(ns nonexistent)\"/" >"$WORKDIR/no-netns.conf"
bad_case no-netns 2 "$(ns nonexistent): there is no such network namespace"
good_conf | sed 's/remote = "192.0.2.2"/remote = "239.1.1.1"/' >"$WORKDIR/multicast.conf"
bad_case multicast 8 "239.1.1.1 is a multicast address"
{ good_conf; printf 'peer "box-3" {\n\tremote = "192.0.2.3"\n\tencryption {\n\t\tpsk = "x"\n\t\thandshake_port = 4789\n\t}\n}\n'; } \
	>"$WORKDIR/port-clash.conf"
bad_case port-clash 14 "UDP port 4789 cannot serve both the key exchange (peer 'box-3') and tunnels (peer 'box-2'"
good_conf | sed '5a\local = "192.0.2.77"' >"$WORKDIR/no-local.conf"
bad_case no-local 6 "local 192.0.2.77: Cannot assign requested address"
good_conf | sed -e '/^netns/d' -e 's/^address = .*/bridge = "nobr0"/' >"$WORKDIR/no-bridge.conf"
bad_case no-bridge 2 "bridge nobr0: no such interface"
# $WORKDIR is mode 0700: nobody cannot reach the file to reload it.
good_conf | sed '1a\user = "nobody"' >"$WORKDIR/unreadable.conf"
bad_case unreadable 2 "user nobody cannot read $WORKDIR/unreadable.conf"

log "(c) -V prints the version"
version=$(sed -n 's/^AC_INIT(\[ovtund\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
[ -n "$version" ] || fail "no version in configure.ac"
rc=0
out=$("$OVTUND" -V) || rc=$?
assert_eq "$rc" 0 "ovtund -V exit code"
assert_eq "$out" "ovtund $version" "ovtund -V"

log "(d) ovtunctl without a daemon"
for sock in "$WORKDIR/nonexistent.sock" stale; do
	if [ "$sock" = stale ]; then
		# A socket file nobody listens on, as a killed daemon leaves.
		sock="$WORKDIR/stale.sock"
		/usr/bin/python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock"
	fi
	rc=0
	err=$("$OVTUNCTL" -s "$sock" peers 2>&1 >/dev/null) || rc=$?
	[ "$rc" != 0 ] || fail "ovtunctl -s $sock: exit code 0"
	case $err in
	*"no ovtund is running"*"$sock"* | *"$sock"*"no ovtund is running"*) ;;
	*) fail "ovtunctl -s $sock: unexpected message '$err'" ;;
	esac
done

log "(e) ovtunctl usage errors: exit 2 with the usage"
# usage_case WHAT ARGS...: exit 2, usage on stderr, nothing on stdout.
usage_case() {
	local what=$1 o e
	shift
	rc=0
	o=$("$OVTUNCTL" -s "$WORKDIR/nonexistent.sock" "$@" 2>"$WORKDIR/err") || rc=$?
	e=$(cat "$WORKDIR/err")
	assert_eq "$rc" 2 "ovtunctl $what: exit code"
	assert_eq "$o" "" "ovtunctl $what: stdout"
	case $e in
	*"usage: ovtunctl"*peers*fdb*stats*show*) ;;
	*) fail "ovtunctl $what: no usage on stderr: '$e'" ;;
	esac
}
usage_case "unknown command" frobnicate
grep -q "unknown command 'frobnicate'" "$WORKDIR/err" ||
	fail "ovtunctl does not name the unknown command: $(cat "$WORKDIR/err")"
usage_case "without a command"
usage_case "with two commands" peers fdb
usage_case "with an unknown option" --frobnicate peers
rc=0
out=$("$OVTUNCTL" --help) || rc=$?
assert_eq "$rc" 0 "ovtunctl --help exit code"
case $out in *"usage: ovtunctl"*) ;; *) fail "ovtunctl --help: '$out'" ;; esac

# A working pair for the rest; start_ovtund sets PID_b1 and PID_b2.
two_hosts vxlan 123 4
# shellcheck disable=SC2154
pid_b1=$PID_b1 pid_b2=$PID_b2
ping_ok left 10.0.0.2 3
sock=$(ctl_sock b1)

log "(f) the control socket is a socket of mode 0600"
assert_eq "$(stat -c %F "$sock")" socket "control socket type"
assert_eq "$(stat -c %a "$sock")" 600 "control socket mode"

log "(g) a second ovtund on the same control socket is refused"
cat >"$WORKDIR/second.conf" <<EOF
interface = "ovt0"
netns = "$(ns left2)"
address = "10.0.0.9/24"
control = "$sock"
peer "box-9" {
	remote = "192.0.2.9"
}
EOF
run_daemon b3 -f -c "$WORKDIR/second.conf"
assert_eq "$rc" 1 "second ovtund: exit code"
case $err in
*"$sock"*"another ovtund"*) ;;
*) fail "second ovtund: unclear message '$err'" ;;
esac
kill -0 "$pid_b1" 2>/dev/null || fail "the first ovtund died"
assert_eq "$(stat -c %F "$sock")" socket "control socket after the second ovtund"
assert_eq "$(stat -c %a "$sock")" 600 "control socket mode after the second ovtund"
assert_eq "$(json b1 show "j['interface']")" ovt0 "first ovtund answers"
assert_eq "$(links left2)" "" "interfaces the second ovtund left in left2"
assert_eq "$(links b3)" "" "interfaces the second ovtund left in b3"
ping_ok left 10.0.0.2 2
# In the background, too: the parent reports the failure.
run_daemon b3 -c "$WORKDIR/second.conf"
assert_eq "$rc" 1 "second ovtund, background: exit code"
kill -0 "$pid_b1" 2>/dev/null || fail "the first ovtund died"
assert_eq "$(json b1 show "j['interface']")" ovt0 "first ovtund answers"

log "(h) every command, in text and in JSON"
right_mac=$(mac_of right ovt0)
left_mac=$(mac_of left ovt0)
text=$(ctl b1 peers)
case $(printf '%s\n' "$text" | head -1) in
NAME*SOURCE*REMOTE*ENCAP*KEY*PORT*STATE*RX_PACKETS*RX_BYTES*TX_PACKETS*TX_BYTES*RX_DROPS*LAST_RX*) ;;
*) fail "peers: unexpected header: $text" ;;
esac
printf '%s\n' "$text" | grep -Eq '^box-2 +file +192\.0\.2\.2 +vxlan +123 +4789 +active ' ||
	fail "peers: no row for box-2: $text"
text=$(ctl b1 fdb)
case $(printf '%s\n' "$text" | head -1) in
MAC*PEER*REMOTE*AGE_S*) ;;
*) fail "fdb: unexpected header: $text" ;;
esac
printf '%s\n' "$text" | grep -Eq "^$right_mac +box-2 +192\.0\.2\.2 +[0-9]+\$" ||
	fail "fdb: no row for $right_mac: $text"
printf '%s\n' "$text" | grep -Eq "^$left_mac +local +- +[0-9]+\$" ||
	fail "fdb: no row for $left_mac: $text"
text=$(ctl b1 stats)
for k in uptime_s tap_rx_packets tap_tx_packets underlay_rx_packets \
	underlay_tx_packets flooded; do
	printf '%s\n' "$text" | grep -Eq "^$k: [0-9]+\$" || fail "stats: no $k: $text"
done
for k in fdb drops; do
	printf '%s\n' "$text" | grep -q "^$k:\$" || fail "stats: no $k section: $text"
done
for k in entries limit learned moved expired evicted local_entries; do
	printf '%s\n' "$text" | grep -Eq "^  $k: [0-9]+\$" || fail "stats: no fdb $k: $text"
done
# Every drop reason of drop.h, under its name, in both forms.
reasons=$(sed -n 's/^[[:space:]]*X([A-Z_]*,[[:space:]]*"\([a-z_]*\)").*/\1/p' "$top_srcdir/src/drop.h" |
	grep -vx none)
[ "$(printf '%s\n' "$reasons" | wc -l)" -ge 10 ] || fail "cannot read the drop reasons of drop.h"
for k in $reasons; do
	printf '%s\n' "$text" | grep -Eq "^  $k: [0-9]+\$" || fail "stats: no drop counter $k"
done
assert_eq "$(json b1 stats "' '.join(j['drops'])")" "${reasons//$'\n'/ }" "JSON drop counters"
text=$(ctl b1 show)
for kv in "interface: ovt0" "mtu: 1450" "netns: $(ns left)" "address: 10.0.0.1/24" \
	"encap: vxlan" "key: 123" "port: 4789" "local: 192.0.2.1" "control: $sock" \
	"peer_count: 1" "config: $WORKDIR/b1.conf"; do
	printf '%s\n' "$text" | grep -qxF "$kv" || fail "show: no '$kv': $text"
done
for cmd in peers fdb stats show; do
	for flag in --json -j; do
		/usr/bin/python3 -c 'import json,sys; json.loads(sys.argv[1])' \
			"$(ctl b1 "$flag" "$cmd")" || fail "ovtunctl $flag $cmd: not JSON"
	done
done
assert_eq "$(json b1 peers "[(p['name'], p['remote'], p['encap'], p['key'], p['port'], p['state']) for p in j['peers']]")" \
	"[('box-2', '192.0.2.2', 'vxlan', 123, 4789, 'active')]" "JSON peers"
assert_eq "$(json b1 fdb "sorted(((e['mac'], e['peer'], e['remote']) for e in j['fdb']), key=str)")" \
	"$(/usr/bin/python3 -c 'import sys; print(sorted([(sys.argv[1], None, None), (sys.argv[2], "box-2", "192.0.2.2")], key=str))' "$left_mac" "$right_mac")" \
	"JSON fdb"
assert_eq "$(json b1 stats "j['fdb']['entries']")" 2 "JSON stats fdb entries"
assert_eq "$(json b1 show "(j['interface'], j['mtu'], j['control'], j['peer_count'])")" \
	"('ovt0', 1450, '$sock', 1)" "JSON show"

log "(i) SIGINT: a clean exit, TAP and control socket removed"
kill -INT "$pid_b2"
timeout 5 tail --pid="$pid_b2" -f /dev/null || fail "b2: no exit on SIGINT"
rc=0
wait "$pid_b2" || rc=$?
assert_eq "$rc" 0 "b2 exit code after SIGINT"
assert_eq "$(links right)" "" "interfaces left in right after SIGINT"
[ ! -e "$(ctl_sock b2)" ] || fail "b2's control socket left behind after SIGINT"
stop_ovtund b1
assert_eq "$(links left)" "" "interfaces left in left after SIGTERM"
[ ! -e "$sock" ] || fail "b1's control socket left behind after SIGTERM"

log "(j) a killed daemon's socket is taken over; background start"
# ovtund -c without -f returns once the daemon serves, 0.
good_conf | sed "s|^control = .*|control = \"$(ctl_sock cb)\"|" >"$WORKDIR/bg.conf"
run_daemon cb -c "$WORKDIR/bg.conf"
assert_eq "$rc" 0 "background ovtund: exit code"
ctl cb show >/dev/null || fail "background ovtund does not answer at once"
assert_eq "$(links c1)" "ovt0 " "TAP of the background ovtund"
# Unix sockets are listed per namespace: ask in the daemon's.
bg_pid=$(nsx cb ss -xlpn | grep -F "$(ctl_sock cb) " |
	sed -n 's/.*"ovtund",pid=\([0-9]*\),.*/\1/p' | head -1)
[ -n "$bg_pid" ] || fail "cannot find the background ovtund"
DAEMON_PIDS+=("$bg_pid")
kill -KILL "$bg_pid"
timeout 5 tail --pid="$bg_pid" -f /dev/null || fail "background ovtund survived SIGKILL"
assert_eq "$(stat -c %F "$(ctl_sock cb)")" socket "socket file left by SIGKILL"
assert_eq "$(links c1)" "" "interfaces after SIGKILL"
start_ovtund cb "$WORKDIR/bg.conf"
assert_eq "$(stat -c %a "$(ctl_sock cb)")" 600 "mode of the socket taken over"
assert_eq "$(links c1)" "ovt0 " "TAP of the restarted ovtund"
stop_ovtund cb
[ ! -e "$(ctl_sock cb)" ] || fail "cb's control socket left behind"
echo "cli: all cases passed"
