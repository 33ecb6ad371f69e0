# shellcheck shell=bash
# lib.sh - shared setup, teardown and assertions for the namespace tests.
# Source it first thing; it installs the cleanup trap. Every namespace it
# makes carries a per-run suffix, every daemon runs inside a namespace, and
# everything is torn down on exit. Nothing is sent from the root namespace.

set -eu

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: $(basename "$0") needs root (network namespaces)"
	exit 77
fi

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
OVTUND=${OVTUND:-$top_builddir/ovtund}
OVTUNCTL=${OVTUNCTL:-$top_builddir/ovtunctl}
# Optional wrapper for the daemon (e.g. "valgrind --error-exitcode=99 ...").
OVTUND_WRAPPER=${OVTUND_WRAPPER:-}

RUN_ID=$(printf '%04x%s' $(($$ % 65536)) "$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')")
WORKDIR=$(mktemp -d "/tmp/ovt-$RUN_ID.XXXXXX")
NAMESPACES=()
DAEMON_PIDS=()
CLEANUPS=()

# Namespace names: ovt<run><role>, short enough for any tool.
ns() { echo "ovt$RUN_ID$1"; }

log() { echo "# $*"; }

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cleanup() {
	local rc=$? pid i
	set +e
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[i]}"
	done
	for pid in "${DAEMON_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${DAEMON_PIDS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	for n in "${NAMESPACES[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
	if [ "$rc" != 0 ] && [ -n "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $WORKDIR" >&2
	else
		rm -rf "$WORKDIR"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

on_exit() { CLEANUPS+=("$*"); }

# ns_add ROLE...: creates namespaces with loopback up.
ns_add() {
	local role n
	for role in "$@"; do
		n=$(ns "$role")
		ip netns add "$n"
		NAMESPACES+=("$n")
		ip -n "$n" link set lo up
	done
}

nsx() {
	local n
	n=$(ns "$1")
	shift
	ip netns exec "$n" "$@"
}

# wire ROLE_A DEV_A ADDR_A ROLE_B DEV_B ADDR_B: a veth between two
# namespaces, created directly inside them, with addresses (IPv4 /24 or
# IPv6 /64, no DAD so the test need not wait).
wire() {
	local a b
	a=$(ns "$1")
	b=$(ns "$4")
	ip link add "$2" netns "$a" type veth peer name "$5" netns "$b"
	addr_up "$1" "$2" "$3"
	addr_up "$4" "$5" "$6"
}

addr_up() {
	local n
	n=$(ns "$1")
	case $3 in
	*:*) ip -n "$n" addr add "$3/64" dev "$2" nodad ;;
	?*) ip -n "$n" addr add "$3/24" dev "$2" ;;
	esac
	ip -n "$n" link set "$2" up
}

# write_conf FILE KEY=VALUE... [peer NAME REMOTE [KEY=VALUE...]]...
# is left to the tests: a heredoc reads better. This names the control
# socket of a role.
ctl_sock() { echo "$WORKDIR/$1.sock"; }

# start_ovtund ROLE CONF: runs the daemon in the foreground inside the
# role's namespace and waits until its control socket answers.
start_ovtund() {
	local role=$1 conf=$2 pid i
	# nsenter execs the daemon itself (ip netns exec may fork), so $! is
	# the daemon's PID and signals reach it.
	# shellcheck disable=SC2086
	nsenter --net="/run/netns/$(ns "$role")" -- $OVTUND_WRAPPER \
		"$OVTUND" -f -v -c "$conf" >"$WORKDIR/$role.log" 2>&1 &
	pid=$!
	DAEMON_PIDS+=("$pid")
	eval "PID_$role=$pid"
	for i in $(seq 100); do
		if "$OVTUNCTL" -s "$(ctl_sock "$role")" show >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORKDIR/$role.log" >&2
	fail "ovtund for $role did not come up"
}

# stop_ovtund ROLE: SIGTERM, then waits; fails if the daemon does not exit
# cleanly within 5 s.
stop_ovtund() {
	local role=$1 pid rc
	eval "pid=\$PID_$role"
	kill -TERM "$pid"
	rc=0
	timeout 5 tail --pid="$pid" -f /dev/null || fail "$role: no exit on SIGTERM"
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "$role: ovtund exited with $rc"
}

ctl() {
	local role=$1
	shift
	"$OVTUNCTL" -s "$(ctl_sock "$role")" "$@"
}

# json ROLE COMMAND PYEXPR: evaluates a Python expression over the parsed
# `ovtunctl --json COMMAND` answer (bound to j) and prints the result.
json() {
	local out
	out=$(ctl "$1" --json "$2")
	/usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$out" "$3"
}

# ping_ok ROLE ADDR [COUNT]: the overlay answers; up to 5 s for the first
# reply (ARP, neighbour discovery), then every ping must come back.
ping_ok() {
	local role=$1 addr=$2 count=${3:-3}
	nsx "$role" ping -c 1 -W 5 "$addr" >/dev/null ||
		fail "$role: no reply from $addr"
	nsx "$role" ping -c "$count" -i 0.2 -W 2 "$addr" >/dev/null ||
		fail "$role: lost pings to $addr"
}

# tcp_transfer FROM TO ADDR: sends 2 MiB of random bytes over TCP across the
# overlay and compares checksums on both ends.
tcp_transfer() {
	local from=$1 to=$2 addr=$3 port=5001 in out sum_in sum_out pid
	in="$WORKDIR/tcp.in"
	out="$WORKDIR/tcp.out"
	head -c 2097152 /dev/urandom >"$in"
	rm -f "$out"
	nsx "$to" timeout 20 socat -u "TCP-LISTEN:$port,reuseaddr" \
		"OPEN:$out,creat,trunc" &
	pid=$!
	for _ in $(seq 50); do
		nsx "$to" ss -ltn | grep -q ":$port " && break
		sleep 0.1
	done
	nsx "$from" timeout 20 socat -u "OPEN:$in" "TCP:$addr:$port" ||
		fail "tcp transfer to $addr failed"
	wait "$pid" || fail "tcp receiver on $to failed"
	sum_in=$(sha256sum <"$in")
	sum_out=$(sha256sum <"$out")
	[ "$sum_in" = "$sum_out" ] || fail "tcp transfer to $addr corrupted"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

assert_ge() {
	[ "$1" -ge "$2" ] || fail "${3:-value}: expected >= $2, got $1"
}

# underlay_addr HOST FAMILY: the underlay address of box HOST (1, 2, 3).
underlay_addr() {
	if [ "$2" = 6 ]; then echo "fd00:5::$1"; else echo "192.0.2.$1"; fi
}

# ovtund_conf ROLE OVERLAY_NS ADDRESS ENCAP KEY LOCAL [PEER_NAME REMOTE]...
# writes $WORKDIR/ROLE.conf for a daemon whose TAP goes into OVERLAY_NS.
ovtund_conf() {
	local role=$1 overlay=$2 address=$3 encap=$4 key=$5 local_ip=$6 f
	shift 6
	f="$WORKDIR/$role.conf"
	{
		echo "interface = \"ovt0\""
		echo "netns = \"$(ns "$overlay")\""
		echo "address = \"$address\""
		echo "encap = \"$encap\""
		[ -z "$key" ] || echo "key = $key"
		echo "local = \"$local_ip\""
		echo "control = \"$(ctl_sock "$role")\""
		while [ $# -ge 2 ]; do
			printf 'peer "%s" {\n  remote = "%s"\n}\n' "$1" "$2"
			shift 2
		done
	} >"$f"
	echo "$f"
}

# two_hosts ENCAP KEY FAMILY: box b1 and b2 on a veth wire, each running
# ovtund with its TAP in overlay namespace left (10.0.0.1) or right
# (10.0.0.2), the classic lab.
two_hosts() {
	local encap=$1 key=$2 fam=$3 a1 a2
	a1=$(underlay_addr 1 "$fam")
	a2=$(underlay_addr 2 "$fam")
	ns_add b1 b2 left right
	wire b1 u1 "$a1" b2 u2 "$a2"
	start_ovtund b1 "$(ovtund_conf b1 left 10.0.0.1/24 "$encap" "$key" \
		"$a1" box-2 "$a2")"
	start_ovtund b2 "$(ovtund_conf b2 right 10.0.0.2/24 "$encap" "$key" \
		"$a2" box-1 "$a1")"
}

# mac_of ROLE DEV: the MAC address of DEV inside the role's namespace.
mac_of() {
	cat "/sys/class/net/$2/address" 2>/dev/null && return
	nsx "$1" cat "/sys/class/net/$2/address"
}
