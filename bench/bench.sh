#!/bin/bash
# Throughput, packet rate, latency, CPU and memory of ovtund beside the bare
# veth, the kernel's own vxlan device and two userspace TAP overlays (tinc
# 1.0 in switch mode, OpenVPN 2.6 in p2p tap mode), all measured in one run
# on one topology (two underlay namespaces b1, b2 joined by a veth, overlay
# namespaces left, right behind them), so the ratios hold even on a noisy
# machine. Every case gets fresh namespaces. Prints one table, then a
# memory section; run as root.
#   RUNS=3 SECONDS_PER_RUN=5 bench/bench.sh
# Columns of the table, one row per path, traffic from left to right (b1 to
# b2 for the bare veth):
#   Gbit/s min max  single-stream TCP (iperf3): median, min, max of RUNS
#                   runs of SECONDS_PER_RUN s each
#   x kvxlan        the median's ratio to the kernel vxlan row's
#   P4 Gbit/s       the same with 4 parallel TCP streams (iperf3 -P 4):
#                   median of RUNS runs
#   kpps64          UDP flood of 18-byte payloads (60-byte frames, 64 with
#                   FCS; iperf3 -u -l 18 -b 0 -w PPS_WINDOW, 4M by
#                   default), thousands of packets a second the receiver
#                   got (packets - lost over seconds), median of RUNS runs
#                   of PPS_SECONDS (default SECONDS_PER_RUN) s each
#   pps x kvx       kpps64's ratio to the kernel vxlan row's
#   rtt ms          median of 20 pings at idle, after the TCP runs
#   cpu s/GB        the sending daemon's (b1's) user+system CPU seconds
#                   over the TCP runs per GB moved: ovtund's own
#                   tap_rx_bytes, tinc's and OpenVPN's iperf3 bytes
#                   received (they have no such counter)
#   rss KiB         the sending daemon's resident set at idle, after the
#                   first ping
# A case that fails prints a row of '-'; a measure that fails prints '-'.
# Then the memory section (MEMORY=no skips it): ovtund's RSS at idle with
# 1 peer and the default MAC table, with 1 peer and mac_table_size 65536,
# with 1,000 peers (MEM_PEERS), and with those and the table filled to
# 65,536 entries by a flood of random source MACs from right
# (tests/netns/craft.py flood); then the growth per peer, per MAC entry
# learned, and per entry of table capacity (ovtund allocates the table
# whole at start: where the kernel backs it at once, with transparent huge
# pages, its capacity is what costs and learning adds nothing).
# CASES lists ovtund's variants: ENCAP or ENCAP/CIPHER (encrypted, ESP as
# IP protocol 50) or ENCAP/CIPHER/udp (ESP in UDP 4500), any followed by
# :nooffload for offload = no, :wN for workers = N (default auto), and
# :libsodium or :openssl for that crypto_engine on both ends (default
# auto, which takes the faster here: see ovtunctl show), in any order.
# PIN=yes runs the pinned mode: each host on a CPU of its own, everything
# of b1 and left (the sending daemon, iperf3's client, ping) on CPU 0,
# everything of b2 and right on CPU 1 (taskset; ovtund's workers = auto
# then starts one worker); the kernel's softirq work follows the CPU
# that sends.
# TINC_CIPHERS lists tinc's ("none" or a cipher), OPENVPN_CIPHERS
# OpenVPN's: "none" (no crypto at all) and/or "aes-256-gcm" (TLS p2p mode
# with negotiated data channel cipher); an empty list skips the peer.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench >/dev/null
export top_builddir=${top_builddir:-$PWD}
. tests/netns/lib.sh

RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-5}
PPS_SECS=${PPS_SECONDS:-$SECS}
# Socket buffers of the UDP flood's two ends (iperf3 -w): with the default
# (~280 small datagrams) the receiving iperf3 drops whenever it is not
# scheduled, and the figure measures that rather than the path.
PPS_WINDOW=${PPS_WINDOW:-4M}
CASES=${CASES-vxlan vxlan:w1 vxlan:nooffload geneve gretap vxlan/chacha20-poly1305 vxlan/chacha20-poly1305/udp vxlan/chacha20-poly1305/udp:w1 vxlan/chacha20-poly1305/udp:libsodium vxlan/chacha20-poly1305/udp:openssl vxlan/aes256-gcm/udp vxlan/aes256-gcm/udp:libsodium vxlan/aes256-gcm/udp:openssl}
PIN=${PIN:-no}
TINC_CIPHERS=${TINC_CIPHERS-none aes-256-cbc}
OPENVPN_CIPHERS=${OPENVPN_CIPHERS-none aes-256-gcm}
MEMORY=${MEMORY:-yes}
# Memory section: peers of the big configuration, and the MAC flood.
MEM_PEERS=${MEM_PEERS:-1000}
MEM_MACS=65536
FLOOD_COUNT=${FLOOD_COUNT:-200000}
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
FLOOD_PPS=${FLOOD_PPS:-60000}
CRAFT=$PWD/tests/netns/craft.py
PY=/usr/bin/python3
command -v iperf3 >/dev/null || fail "iperf3 is not installed (scripts/install-deps.sh)"
[ "$PIN" != yes ] || [ "$(nproc)" -ge 2 ] || fail "PIN=yes needs 2 CPUs"

# pin ROLE: the command prefix that keeps ROLE's host on its CPU in the
# pinned mode (b1 and left: CPU 0; b2 and right: CPU 1); nothing else.
pin() {
	[ "$PIN" = yes ] || return 0
	case $1 in
	b1|left) echo "taskset -c 0" ;;
	*) echo "taskset -c 1" ;;
	esac
}

# --- measures: each prints '-' for what it could not measure -------------

# iperf_runs FROM TO ADDR SECS FIELDS [IPERF3_ARG...]: RUNS iperf3 runs of
# SECS s from FROM to ADDR (a one-shot server in TO); each run's
# end.sum_received, s, goes through the Python expression FIELDS, whose
# value is printed as a line of $WORKDIR/runs (nothing for a failed run).
iperf_runs() {
	local from=$1 to=$2 addr=$3 secs=$4 fields=$5 pid i out
	shift 5
	: >"$WORKDIR/runs"
	for i in $(seq "$RUNS"); do
		# shellcheck disable=SC2046
		nsx "$to" $(pin "$to") timeout $((secs + 10)) iperf3 -s -1 \
			>/dev/null 2>&1 &
		pid=$!
		sleep 0.3
		# shellcheck disable=SC2046
		out=$(nsx "$from" $(pin "$from") timeout $((secs + 10)) \
			iperf3 -c "$addr" -t "$secs" -J "$@" 2>/dev/null) || out=""
		wait "$pid" 2>/dev/null || true
		$PY -c "import json,sys
try:
    s = json.loads(sys.argv[1])['end']['sum_received']
    print($fields)
except Exception:
    pass" "$out" >>"$WORKDIR/runs"
	done
}

# iperf_tcp FROM TO ADDR [IPERF3_ARG...]: "MEDIAN MIN MAX BYTES" of RUNS
# TCP runs, each SECS long: Gbit/s, and the bytes received over all runs.
iperf_tcp() {
	iperf_runs "$1" "$2" "$3" "$SECS" \
		'"%f %d" % (s["bits_per_second"] / 1e9, s["bytes"])' "${@:4}"
	$PY -c '
import statistics,sys
v = [l.split() for l in open(sys.argv[1]) if l.strip()]
g = [float(x[0]) for x in v]
if g:
    print("%.2f %.2f %.2f %d" % (statistics.median(g), min(g), max(g),
                                 sum(int(x[1]) for x in v)))
else:
    print("- - - 0")' "$WORKDIR/runs"
}

# iperf_pps FROM TO ADDR: median kpps received of RUNS UDP floods of
# 18-byte payloads, each PPS_SECS long.
iperf_pps() {
	iperf_runs "$1" "$2" "$3" "$PPS_SECS" \
		'(s["packets"] - s["lost_packets"]) / s["seconds"] / 1e3' \
		-u -l 18 -b 0 -w "$PPS_WINDOW"
	$PY -c '
import statistics,sys
v = [float(l) for l in open(sys.argv[1]) if l.strip()]
print("%.0f" % statistics.median(v) if v else "-")' "$WORKDIR/runs"
}

# rtt_ms FROM ADDR: median round trip of 20 pings at 50 ms spacing.
rtt_ms() {
	# shellcheck disable=SC2046
	nsx "$1" $(pin "$1") ping -c 20 -i 0.05 -W 1 "$2" 2>/dev/null | $PY -c '
import re,statistics,sys
v=[float(m.group(1)) for m in re.finditer(r"time=([0-9.]+)", sys.stdin.read())]
print("%.3f" % statistics.median(v) if v else "-")' || echo -
}

# cpu_ticks PID: user+system clock ticks the process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo -; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -; }
tap_rx_bytes() {
	json "$1" stats "j['tap_rx_bytes']" 2>/dev/null || echo -
}

# measure NAME FROM TO ADDR [PID [OVTUND_ROLE]]: one row of the table for
# the path from FROM to ADDR (in TO). PID is the sending daemon (its CPU
# and RSS); with OVTUND_ROLE its own tap_rx_bytes count the GB, else
# iperf3's bytes received.
measure() {
	local name=$1 from=$2 to=$3 addr=$4 pid=${5:-} role=${6:-}
	local rss=- cpu=- t0=- t1=- b0=- b1=- tcp med min max bytes rtt kpps p4
	if [ -n "$pid" ]; then
		rss=$(rss_kb "$pid")
		t0=$(cpu_ticks "$pid")
	fi
	[ -z "$role" ] || b0=$(tap_rx_bytes "$role")
	tcp=$(iperf_tcp "$from" "$to" "$addr")
	read -r med min max bytes <<<"$tcp"
	if [ -n "$pid" ]; then
		t1=$(cpu_ticks "$pid")
		[ -z "$role" ] || b1=$(tap_rx_bytes "$role")
		cpu=$($PY -c '
import sys
t0, t1, b0, b1, iperf_bytes, hz = sys.argv[1:]
try:
    gb = (int(b1) - int(b0) if b0 != "-" else int(iperf_bytes)) / 1e9
    print("%.2f" % ((int(t1) - int(t0)) / int(hz) / gb) if gb > 0 else "-")
except ValueError:
    print("-")' "$t0" "$t1" "$b0" "$b1" "$bytes" "$(getconf CLK_TCK)")
	fi
	p4=$(iperf_tcp "$from" "$to" "$addr" -P 4 | awk '{ print $1 }')
	rtt=$(rtt_ms "$from" "$addr")
	kpps=$(iperf_pps "$from" "$to" "$addr")
	echo "$name|$med $min $max $p4 $kpps $rtt $cpu $rss" >>"$WORKDIR/rows"
}

# --- cases: each runs in a subshell with namespaces of its own -----------

CASE_PID=
case_kill() {
	[ -n "$CASE_PID" ] || return 0
	kill -TERM "$CASE_PID" 2>/dev/null
	# Its commands are bounded in time; it ends them on the way out.
	timeout 30 tail --pid="$CASE_PID" -f /dev/null
	CASE_PID=
}
on_exit case_kill
: >"$WORKDIR/rows"
: >"$WORKDIR/mem"

# run_case NAME COMMAND...: fresh lab (b1, b2 on a veth, left and right
# empty), COMMAND in a subshell that stops its daemons and deletes the
# namespaces whatever happens; if it wrote no row, a row of '-'.
run_case() {
	local name=$1 rc=0 n
	shift
	log "$name"
	n=$(wc -l <"$WORKDIR/rows")
	ns_add b1 b2 left right
	wire b1 u1 192.0.2.1 b2 u2 192.0.2.2
	(
		trap end_case EXIT
		trap 'exit 130' INT TERM
		"$@"
	) &
	CASE_PID=$!
	wait "$CASE_PID" || rc=$?
	CASE_PID=
	end_case
	[ "$rc" -lt 128 ] || exit "$rc"
	if [ "$rc" != 0 ]; then
		log "$name failed (exit $rc)"
	fi
	[ "$name" = memory ] || [ "$(wc -l <"$WORKDIR/rows")" != "$n" ] ||
		echo "$name|- - - - - - - -" >>"$WORKDIR/rows"
}

case_veth() {
	measure "bare veth" b1 b2 192.0.2.2
}

case_kvxlan() {
	local side other
	for side in 1 2; do
		other=$((3 - side))
		ip -n "$(ns b$side)" link add vx0 type vxlan id 123 dstport 4789 \
			local "192.0.2.$side" remote "192.0.2.$other" dev "u$side"
		ip -n "$(ns b$side)" link set vx0 netns "$(ns "$([ $side = 1 ] && echo left || echo right)")"
	done
	ip -n "$(ns left)" addr add 10.0.0.1/24 dev vx0
	ip -n "$(ns right)" addr add 10.0.0.2/24 dev vx0
	ip -n "$(ns left)" link set vx0 up
	ip -n "$(ns right)" link set vx0 up
	ping_ok left 10.0.0.2 1
	measure "kernel vxlan" left right 10.0.0.2
}

# bench_conf ROLE ...: ovtund_conf, plus an encryption block when the
# case names a cipher, and its crypto_engine.
bench_conf() {
	local f
	f=$(ovtund_conf "$@")
	if [ -n "$cipher" ]; then
		printf 'encryption {\n  psk = "bench"\n  cipher = "%s"\n  transport = "%s"\n}\n' \
			"$cipher" "$transport" >>"$f"
	fi
	[ -z "$engine" ] || printf 'crypto_engine = "%s"\n' "$engine" >>"$f"
	echo "$f"
}

wrapper=${OVTUND_WRAPPER:-}
case_ovtund() {
	local case=$1 variant encap opt
	variant=${case%%:*}
	encap=${variant%%/*}
	cipher=""
	transport=ip
	[ "$encap" = "$variant" ] || cipher=${variant#*/}
	case $cipher in
	*/udp) cipher=${cipher%/udp} transport=udp ;;
	esac
	OVTUND_OFFLOAD=""
	OVTUND_WORKERS=""
	engine=""
	for opt in $(echo "${case#"$variant"}" | tr ':' ' '); do
		case $opt in
		nooffload) OVTUND_OFFLOAD=no ;;
		w*) OVTUND_WORKERS=${opt#w} ;;
		libsodium|openssl) engine=$opt ;;
		*) fail "case $case: unknown option :$opt" ;;
		esac
	done
	OVTUND_WRAPPER="$(pin b1) $wrapper" start_ovtund b1 \
		"$(bench_conf b1 left 10.0.0.1/24 "$encap" 123 192.0.2.1 box-2 192.0.2.2)"
	OVTUND_WRAPPER="$(pin b2) $wrapper" start_ovtund b2 \
		"$(bench_conf b2 right 10.0.0.2/24 "$encap" 123 192.0.2.2 box-1 192.0.2.1)"
	[ -z "$cipher" ] || log "$case: b1 seals with $(json b1 sa \
		"[s['engine'] for s in j['sas'] if s['dir'] == 'out']" 2>/dev/null)"
	ping_ok left 10.0.0.2 1
	# shellcheck disable=SC2154 # start_ovtund sets PID_b1
	measure "ovtund $case" left right 10.0.0.2 "$PID_b1" b1
	stop_ovtund b1
	stop_ovtund b2
}

# overlay_up_script FILE OVERLAY ADDR: a script that moves the interface
# named by its first argument (OpenVPN) or $INTERFACE (tinc) into the
# overlay namespace and gives it ADDR, like ovtund's netns/address.
overlay_up_script() {
	local n
	n=$(ns "$2")
	cat >"$1" <<EOF
#!/bin/sh
dev=\${INTERFACE:-\$1}
ip link set "\$dev" netns $n
ip -n $n addr add $3 dev "\$dev"
ip -n $n link set "\$dev" up
EOF
	chmod +x "$1"
}

# wait_dev OVERLAY DEV: up to 10 s for the daemons to move DEV there.
wait_dev() {
	for _ in $(seq 100); do
		nsx "$1" ip link show "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "$2 did not appear in $1"
}

# tinc 1.0 in switch mode, the classic userspace TAP overlay.
tinc_conf() {
	local n=$1 addr=$2 ovl=$3 oaddr=$4 peer=$5 cipher=$6 d=$WORKDIR/tinc-$1
	rm -rf "$d"
	mkdir -p "$d/hosts"
	printf 'Name = %s\nMode = switch\nInterface = tinc%s\nAddressFamily = ipv4\nConnectTo = %s\n' \
		"$n" "$n" "$peer" >"$d/tinc.conf"
	printf 'Address = %s\nPort = 655\nCipher = %s\nDigest = %s\n' "$addr" \
		"$cipher" "$([ "$cipher" = none ] && echo none || echo sha256)" \
		>"$d/hosts/$n"
	overlay_up_script "$d/tinc-up" "$ovl" "$oaddr"
	tincd -c "$d" -K 2048 </dev/null >/dev/null 2>&1
}

# peer_daemon NS LOG CMD...: starts a reference daemon in NS's network
# namespace, output to LOG; its PID goes to PEER_PIDS (and DAEMON_PIDS,
# which the teardown ends).
PEER_PIDS=()
peer_daemon() {
	local n=$1 log=$2
	shift 2
	# shellcheck disable=SC2046
	nsenter --net="/run/netns/$(ns "$n")" -- $(pin "$n") "$@" >"$log" 2>&1 &
	PEER_PIDS+=($!)
	DAEMON_PIDS+=($!)
}

# peer_up DEV_LEFT DEV_RIGHT: both daemons' TAPs are up in left and right,
# and the overlay answers a ping.
peer_up() {
	wait_dev left "$1"
	wait_dev right "$2"
	ping_ok left 10.0.0.2 1
}

case_tinc() {
	local cipher=$1 n
	tinc_conf b1 192.0.2.1 left 10.0.0.1/24 b2 "$cipher"
	tinc_conf b2 192.0.2.2 right 10.0.0.2/24 b1 "$cipher"
	cp "$WORKDIR/tinc-b1/hosts/b1" "$WORKDIR/tinc-b2/hosts/"
	cp "$WORKDIR/tinc-b2/hosts/b2" "$WORKDIR/tinc-b1/hosts/"
	for n in b1 b2; do
		peer_daemon "$n" "$WORKDIR/tinc-$n.log" tincd -c \
			"$WORKDIR/tinc-$n" -D --pidfile="$WORKDIR/tinc-$n.pid"
	done
	peer_up tincb1 tincb2
	measure "tinc switch/$cipher" left right 10.0.0.2 "${PEER_PIDS[0]}"
}

# OpenVPN 2.6, point-to-point (no server, no pool), UDP, tap. "none":
# neither --secret nor TLS, --cipher none --auth none: the data channel
# is the bare frame behind OpenVPN's opcode (2.6 warns that 2.7 drops
# this). A cipher: TLS between self-signed EC certificates pinned with
# --peer-fingerprint (2.6's p2p mode negotiates the data channel cipher:
# AEAD ciphers need TLS, static-key mode has CBC+HMAC only), the cipher
# the only --data-ciphers entry. No --ifconfig: the up script moves the
# tap into the overlay namespace and gives it its address. DCO does not do
# tap; --disable-dco says so.
openvpn_args() {
	local n=$1 o=$((3 - $1)) cipher=$2 ovl d=$WORKDIR/openvpn
	ovl=$([ "$n" = 1 ] && echo left || echo right)
	overlay_up_script "$d/up$n" "$ovl" "10.0.0.$n/24"
	printf '%s\n' --dev "ovpn$n" --dev-type tap --proto udp --local "192.0.2.$n" \
		--lport 1194 --remote "192.0.2.$o" --rport 1194 --disable-dco \
		--script-security 2 --up "$d/up$n" --verb 3
	if [ "$cipher" = none ]; then
		printf '%s\n' --cipher none --auth none
	else
		printf '%s\n' --cert "$d/b$n.crt" --key "$d/b$n.key" \
			--peer-fingerprint \
			"$(openssl x509 -in "$d/b$o.crt" -noout -fingerprint -sha256 | cut -d= -f2)" \
			--dh none --data-ciphers "$cipher" \
			"$([ "$n" = 1 ] && echo --tls-server || echo --tls-client)"
	fi
}

case_openvpn() {
	local cipher=$1 n args d=$WORKDIR/openvpn
	mkdir -p "$d"
	if [ "$cipher" != none ]; then
		for n in 1 2; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
				-nodes -days 2 -subj "/CN=b$n" -keyout "$d/b$n.key" \
				-out "$d/b$n.crt" >/dev/null 2>&1 ||
				fail "openssl could not make a certificate"
		done
	fi
	for n in 1 2; do
		mapfile -t args < <(openvpn_args "$n" "$cipher")
		peer_daemon "b$n" "$d/b$n.log" openvpn "${args[@]}"
	done
	peer_up ovpn1 ovpn2
	if [ "$cipher" != none ]; then
		grep -qi "Data Channel: cipher '$cipher'" "$d/b1.log" ||
			fail "OpenVPN did not negotiate $cipher: $(grep 'Data Channel' "$d/b1.log")"
	fi
	measure "openvpn tap/$cipher" left right 10.0.0.2 "${PEER_PIDS[0]}"
}

# --- memory ----------------------------------------------------------------

# mem_conf ROLE OVERLAY ADDRESS LOCAL NPEERS TABLE PEER_NAME REMOTE: a
# vxlan config with mac_table_size TABLE ("" for the default), the one
# real peer and NPEERS - 1 more at 198.18.x.y (RFC 2544's benchmarking
# range, unrouted here: they exist only in the config).
mem_conf() {
	local f i
	f=$(ovtund_conf "$1" "$2" "$3" vxlan 123 "$4" "$7" "$8")
	{
		[ -z "$6" ] || echo "mac_table_size = $6"
		for i in $(seq 2 "$5"); do
			printf 'peer "fake-%d" {\n  remote = "198.18.%d.%d"\n}\n' \
				"$i" $((i / 250)) $((i % 250 + 1))
		done
	} >>"$f"
	echo "$f"
}

# mem_b1 NPEERS TABLE: (re)starts b1 with that config, pings across, and
# sets MEM_RSS to its RSS after a second at idle (not in a $(...): the
# daemon's PID must stay known to this shell).
mem_b1() {
	[ -z "${PID_b1:-}" ] || stop_ovtund b1
	start_ovtund b1 "$(mem_conf b1 left 10.0.0.1/24 192.0.2.1 "$1" "$2" box-2 192.0.2.2)"
	ping_ok left 10.0.0.2 3
	sleep 1
	MEM_RSS=$(rss_kb "$PID_b1")
}

case_memory() {
	local rss0 rss1 rssn rssf peers limit e0 e1 full mleft flood
	start_ovtund b2 "$(mem_conf b2 right 10.0.0.2/24 192.0.2.2 1 "$MEM_MACS" box-1 192.0.2.1)"
	PID_b1=
	mem_b1 1 ""
	rss0=$MEM_RSS
	limit=$(json b1 stats "j['fdb']['limit']")
	echo "ovtund idle, 1 peer, mac_table_size $limit|$rss0 KiB" >>"$WORKDIR/mem"
	mem_b1 1 "$MEM_MACS"
	rss1=$MEM_RSS
	echo "ovtund idle, 1 peer, mac_table_size $MEM_MACS|$rss1 KiB" >>"$WORKDIR/mem"
	mem_b1 "$MEM_PEERS" "$MEM_MACS"
	rssn=$MEM_RSS
	peers=$(ctl b1 --json peers | $PY -c 'import json,sys; j=json.load(sys.stdin); print(len(j["peers"]) if isinstance(j, dict) else len(j))')
	assert_eq "$peers" "$MEM_PEERS" "peers of the big configuration"
	echo "ovtund idle, $peers peers|$rssn KiB" >>"$WORKDIR/mem"
	e0=$(json b1 stats "j['fdb']['entries']")
	mleft=$(nsx left cat /sys/class/net/ovt0/address)
	# From right, through b2, to left: b1 learns every source MAC behind
	# box-2 until its table is full.
	flood=$(nsenter --net="/run/netns/$(ns right)" -- \
		timeout $((FLOOD_SECONDS + 10)) $PY "$CRAFT" flood ovt0 "$mleft" \
		"$FLOOD_COUNT" "$FLOOD_SECONDS" "$FLOOD_PPS") ||
		fail "the flooder failed"
	log "flooder: $flood"
	sleep 1
	e1=$(json b1 stats "j['fdb']['entries']")
	evicted=$(json b1 stats "j['fdb']['evicted']")
	log "b1 fdb: $e0 -> $e1 entries (limit $(json b1 stats "j['fdb']['limit']")), evicted $evicted"
	rssf=$(rss_kb "$PID_b1")
	echo "ovtund $peers peers, $e1 MACs learned|$rssf KiB" >>"$WORKDIR/mem"
	[ "$e1" = "$MEM_MACS" ] ||
		log "NOTE: the table holds $e1 entries, not $MEM_MACS: per-entry figure over $((e1 - e0))"
	$PY -c '
import sys
r0, r1, rn, rf, n, e0, e1, t0, t1 = map(int, sys.argv[1:])
print("growth per peer|%.0f bytes" % ((rn - r1) * 1024 / max(n - 1, 1)))
print("growth per MAC entry learned|%.0f bytes" % ((rf - rn) * 1024 / max(e1 - e0, 1)))
print("table size, per entry of capacity|%.0f bytes" % ((r1 - r0) * 1024 / max(t1 - t0, 1)))' \
		"$rss0" "$rss1" "$rssn" "$rssf" "$peers" "$e0" "$e1" "$limit" \
		"$MEM_MACS" >>"$WORKDIR/mem"
	stop_ovtund b1
	stop_ovtund b2
}

# --- the run ---------------------------------------------------------------

run_case "bare veth" case_veth
run_case "kernel vxlan" case_kvxlan
for c in $CASES; do
	run_case "ovtund $c" case_ovtund "$c"
done
if command -v tincd >/dev/null; then
	for c in $TINC_CIPHERS; do
		run_case "tinc switch/$c" case_tinc "$c"
	done
elif [ -n "$TINC_CIPHERS" ]; then
	log "NOTE: tincd is not installed: no tinc rows"
fi
if command -v openvpn >/dev/null; then
	for c in $OPENVPN_CIPHERS; do
		run_case "openvpn tap/$c" case_openvpn "$c"
	done
elif [ -n "$OPENVPN_CIPHERS" ]; then
	log "NOTE: openvpn is not installed: no OpenVPN rows"
fi
if [ "$MEMORY" = yes ]; then
	run_case memory case_memory
fi

kvx=$(awk -F'|' '$1 == "kernel vxlan" { print $2 }' "$WORKDIR/rows")
kvx_gbps=$(echo "$kvx" | awk '{ print $1 }')
kvx_kpps=$(echo "$kvx" | awk '{ print $5 }')
# ratio A B: A / B to two places, or '-'.
ratio() {
	$PY -c '
import sys
try:
    a, b = float(sys.argv[1]), float(sys.argv[2])
    print("%.2f" % (a / b) if b > 0 else "-")
except ValueError:
    print("-")' "$1" "$2"
}
echo
echo "ovtund benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs$([ "$PIN" != yes ] || echo ", pinned: one CPU per host"), kernel $(uname -r), $RUNS x ${SECS}s iperf3 single TCP stream, $RUNS x ${PPS_SECS}s UDP 64-byte frames"
fmt='%-46s %7s %6s %6s %8s %9s %7s %9s %7s %8s %8s\n'
# shellcheck disable=SC2059
printf "$fmt" path "Gbit/s" min max "x kvxlan" "P4 Gbit/s" kpps64 "pps x kvx" "rtt ms" "cpu s/GB" "rss KiB"
while IFS='|' read -r name vals; do
	[ "$name" != memory ] || continue
	read -r med min max p4 kpps rtt cpu rss <<<"$vals"
	# shellcheck disable=SC2059
	printf "$fmt" "$name" "$med" "$min" "$max" "$(ratio "$med" "$kvx_gbps")" \
		"$p4" "$kpps" "$(ratio "$kpps" "$kvx_kpps")" "$rtt" "$cpu" "$rss"
done <"$WORKDIR/rows"
if [ "$MEMORY" = yes ]; then
	echo
	echo "ovtund memory: VmRSS of b1's daemon (vxlan) at idle after pings; the peers but one are unrouted addresses"
	if [ -s "$WORKDIR/mem" ]; then
		while IFS='|' read -r name val; do
			read -r v u <<<"$val"
			printf '%-44s %8s %s\n' "$name" "$v" "$u"
		done <"$WORKDIR/mem"
	else
		echo "- (the memory case failed)"
	fi
fi
