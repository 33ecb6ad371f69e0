# shellcheck shell=bash
# etcd-lib.sh - a fleet for the etcd membership tests, sourced after
# lib.sh: one underlay segment (a bridge in namespace sw) joining real
# etcd members (Debian's etcd-server, each in its own namespace e<I>,
# 192.0.2.10<I>) and ovtund hosts (b<I>, 192.0.2.<I>, TAP in o<I> with
# 10.0.0.<I>), none with a static peer.

ETCD=${ETCD:-etcd}
ETCDCTL=${ETCDCTL:-etcdctl}
command -v "$ETCD" >/dev/null || { echo "SKIP: no etcd"; exit 77; }
ETCD_N=0
TTL=${TTL:-3}
PREFIX=/ovtund/t$RUN_ID

fleet_switch() {
	ns_add sw
	ip -n "$(ns sw)" link add br0 type bridge stp_state 0
	ip -n "$(ns sw)" link set br0 up
}

# switch_port ROLE ADDR: namespace ROLE on the segment with ADDR.
switch_port() {
	ns_add "$1"
	ip link add "u$1" netns "$(ns "$1")" type veth peer name "p$1" \
		netns "$(ns sw)"
	ip -n "$(ns sw)" link set "p$1" master br0 up
	addr_up "$1" "u$1" "$2"
}

etcd_addr() { echo "192.0.2.10$1"; }
etcd_url() { echo "http://$(etcd_addr "$1"):2379"; }
etcd_endpoints() {
	local i out=
	for i in $(seq "$ETCD_N"); do out="$out${out:+,}$(etcd_url "$i")"; done
	echo "$out"
}

# etcd_cluster N: N members, each in its namespace, quick elections.
etcd_cluster() {
	local i
	ETCD_N=$1
	for i in $(seq "$ETCD_N"); do
		switch_port "e$i" "$(etcd_addr "$i")"
	done
	for i in $(seq "$ETCD_N"); do
		etcd_start "$i" new
	done
	etcd_wait_healthy
}

etcd_initial_cluster() {
	local i out=
	for i in $(seq "$ETCD_N"); do
		out="$out${out:+,}e$i=http://$(etcd_addr "$i"):2380"
	done
	echo "$out"
}

# etcd_start I new|existing: member I (its data kept across restarts).
etcd_start() {
	local i=$1 pid
	nsenter --net="/run/netns/$(ns "e$i")" -- "$ETCD" --name "e$i" \
		--data-dir "$WORKDIR/etcd$i" \
		--listen-client-urls "http://$(etcd_addr "$i"):2379" \
		--advertise-client-urls "$(etcd_url "$i")" \
		--listen-peer-urls "http://$(etcd_addr "$i"):2380" \
		--initial-advertise-peer-urls "http://$(etcd_addr "$i"):2380" \
		--initial-cluster "$(etcd_initial_cluster)" \
		--initial-cluster-state "$2" \
		--initial-cluster-token "t$RUN_ID" \
		--heartbeat-interval 100 --election-timeout 600 \
		--max-txn-ops 20000 --log-level error \
		>>"$WORKDIR/etcd$i.log" 2>&1 &
	pid=$!
	eval "ETCD_PID_$i=$pid"
	on_exit "kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null"
}

# etcd_kill I: SIGKILL member I and wait for it to be gone.
etcd_kill() {
	local pid
	eval "pid=\$ETCD_PID_$1"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# ectl ARGS: etcdctl against the cluster, from the first member's
# namespace that still answers.
ectl() {
	local i
	for i in $(seq "$ETCD_N"); do
		if ETCDCTL_API=3 nsx "e$i" timeout 10 "$ETCDCTL" \
			--endpoints "$(etcd_endpoints)" \
			--dial-timeout 2s --command-timeout 8s "$@"; then
			return 0
		fi
	done
	return 1
}

etcd_wait_healthy() {
	local i
	for i in $(seq 100); do
		ectl endpoint health >/dev/null 2>&1 && ectl put "$PREFIX/probe" x \
			>/dev/null 2>&1 && return 0
		sleep 0.2
	done
	cat "$WORKDIR"/etcd*.log >&2
	fail "etcd cluster did not come up"
}

# etcd_leader: the index of the member that leads.
etcd_leader() {
	local i
	for i in $(seq "$ETCD_N"); do
		if ETCDCTL_API=3 nsx "e$i" timeout 5 "$ETCDCTL" --endpoints \
			"$(etcd_url "$i")" endpoint status -w json 2>/dev/null |
			/usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["leader"]==s["header"]["member_id"] else 1)'; then
			echo "$i"
			return 0
		fi
	done
	return 1
}

# fleet_conf I [KEY=VALUE lines for the etcd block...]: host I's config.
fleet_conf() {
	local i=$1 f="$WORKDIR/b$1.conf" extra
	shift
	extra=$(printf '  %s\n' "$@")
	cat >"$f" <<CONF
interface = "ovt0"
netns = "$(ns "o$i")"
address = "10.0.0.$i/24"
encap = "vxlan"
key = 77
local = "192.0.2.$i"
control = "$(ctl_sock "b$i")"
etcd {
  endpoints = "$(etcd_endpoints)"
  prefix = "$PREFIX"
  name = "host-$i"
  ttl = $TTL
  state_file = "$WORKDIR/b$i.members"
$extra
}
CONF
	echo "$f"
}

# host_prepare I: namespaces, underlay port and the config of host I;
# host_add I: and its daemon.
host_prepare() {
	switch_port "b$1" "192.0.2.$1"
	ns_add "o$1"
	quiet_ns "o$1"
	fleet_conf "$1" >/dev/null
}
host_add() {
	host_prepare "$1"
	start_ovtund "b$1" "$WORKDIR/b$1.conf"
}

# peers_of I: host I's etcd peers, "name name ...", sorted (no python:
# the tests poll this).
peers_of() {
	ctl "b$1" --json peers | grep -o '"name":"[^"]*","source":"etcd"' |
		cut -d'"' -f4 | sort | tr '\n' ' ' | sed 's/ $//'
}

# wait_peers I WANT SECONDS: until host I's etcd peers are WANT; prints
# the milliseconds it took, fails after SECONDS.
wait_peers() {
	local i=$1 want=$2 limit=$(($3 * 1000)) t0 now got
	t0=$(now_ms)
	while :; do
		got=$(peers_of "$i")
		now=$(now_ms)
		[ "$got" = "$want" ] && { echo $((now - t0)); return 0; }
		[ $((now - t0)) -lt "$limit" ] ||
			fail "b$i: peers '$got', want '$want' within $3 s"
		sleep 0.05
	done
}

# wait_all T0 SECONDS|MSms I=WANT...: polls the hosts in parallel until each
# host I has the etcd peers WANT (comma-separated); prints the slowest time since T0 (ms),
# fails past SECONDS. Polling all at once keeps the figure close to what
# the daemons did on a loaded machine (an ovtunctl call takes ~100 ms).
wait_all() {
	local t0=$1 secs=$2 limit spec i want worst=0 t pids=()
	shift 2
	case $secs in
	*ms) limit=${secs%ms} ;;
	*) limit=$((secs * 1000)) ;;
	esac
	for spec in "$@"; do
		i=${spec%%=*}
		want=${spec#*=}
		want=${want//,/ }
		rm -f "$WORKDIR/wait.$i"
		(
			while :; do
				got=$(peers_of "$i")
				now=$(now_ms)
				if [ "$got" = "$want" ]; then
					echo $((now - t0)) >"$WORKDIR/wait.$i"
					exit 0
				fi
				if [ $((now - t0)) -ge "$limit" ]; then
					echo "b$i: peers '$got', want '$want'" \
						>"$WORKDIR/wait.$i"
					exit 1
				fi
				sleep 0.02
			done
		) &
		pids+=($!)
	done
	# Only these: the shell's other children (etcd) never end.
	wait "${pids[@]}" || true
	for spec in "$@"; do
		i=${spec%%=*}
		t=$(cat "$WORKDIR/wait.$i")
		case $t in
		*[!0-9]*) fail "$t within $limit ms" ;;
		esac
		[ "$t" -gt "$worst" ] && worst=$t
	done
	echo "$worst"
}

# monitor_start I...: the event stream (`ovtunctl monitor --json`) of
# hosts I... into $WORKDIR/ev.I; the daemons stamp each event, so a
# bound checked on them does not count how slowly a loaded machine lets
# the test look.
monitor_start() {
	local i
	for i in "$@"; do
		ctl "b$i" monitor --json >"$WORKDIR/ev.$i" 2>/dev/null &
		on_exit "kill $! 2>/dev/null"
	done
}

# events_by T0 LIMIT_MS EVENT PEER I...: every host I had EVENT
# (peer_added, peer_removed) about PEER within LIMIT_MS of T0 (wall clock,
# ms); prints the slowest, fails when one did not.
events_by() {
	local t0=$1 limit=$2 ev=$3 peer=$4 i t worst=0
	shift 4
	for i in "$@"; do
		t=
		for _ in $(seq 150); do
			t=$(grep "\"event\":\"$ev\",\"peer\":\"$peer\"" \
				"$WORKDIR/ev.$i" | head -1 |
				grep -o '"time_ms":[0-9]*' | cut -d: -f2) || true
			[ -n "$t" ] && break
			sleep 0.1
		done
		[ -n "$t" ] || fail "b$i: no $ev $peer"
		t=$((t - t0))
		[ "$t" -le "$limit" ] ||
			fail "b$i: $ev $peer after $t ms (> $limit ms)"
		[ "$t" -gt "$worst" ] && worst=$t
	done
	echo "$worst"
}

# expect N SKIP...: "I=WANT" for every host I of 1..N not in SKIP, WANT
# being the others not in SKIP.
expect() {
	local n=$1 i want
	shift
	for i in $(seq "$n"); do
		case " $* " in *" $i "*) continue ;; esac
		want=$(names_except "$n" "$i" "$@")
		printf '%s=%s\n' "$i" "${want// /,}"
	done
}

# names_except N SKIP...: "host-1 ... host-N" less the SKIP ones.
names_except() {
	local n=$1 i out=
	shift
	for i in $(seq "$n"); do
		case " $* " in *" $i "*) continue ;; esac
		out="$out${out:+ }host-$i"
	done
	echo "$out"
}

# continuous_ping FROM TO COUNT: pings every 0.1 s in the background;
# assert_no_loss waits for them and fails on any lost.
continuous_ping() {
	nsx "o$1" ping -i 0.1 -c "$3" -W 1 "10.0.0.$2" >"$WORKDIR/ping.out" 2>&1 &
	PING_PID=$!
}
assert_no_loss() {
	local out tx rx
	wait "$PING_PID" || true
	out=$(grep -o '[0-9]* packets transmitted, [0-9]* received' \
		"$WORKDIR/ping.out") || fail "no ping summary"
	tx=${out%% packets*}
	rx=${out#*transmitted, }
	rx=${rx%% received}
	assert_ge "$tx" 20 "pings sent"
	[ "$tx" = "$rx" ] || fail "$1: pings lost: $out"
	log "  $1: $out, none lost"
}

etcd_show() { json "b$1" show "j['etcd']$2"; }

# show_until I FIELD PATTERN: waits (up to 10 s) until host I's etcd FIELD
# (a subscript such as "['state']") matches the shell PATTERN; fails
# saying what it was.
show_until() {
	local v
	for _ in $(seq 50); do
		v=$(etcd_show "$1" "$2")
		# shellcheck disable=SC2254
		case $v in $3) return 0 ;; esac
		sleep 0.2
	done
	fail "b$1: etcd$2 is '$v', want $3"
}
