#!/bin/bash
# Throughput and latency of ovtund beside the bare veth and the kernel's own
# vxlan device, all measured in one run on one topology (two underlay
# namespaces joined by a veth, overlay namespaces behind them), so the
# ratios hold even on a noisy machine. Prints one table; run as root.
#   RUNS=3 SECONDS_PER_RUN=5 bench/bench.sh
# CASES lists ovtund's variants: ENCAP or ENCAP/CIPHER (encrypted, ESP as
# IP protocol 50), either followed by :nooffload for offload = no.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh bench >/dev/null
export top_builddir=${top_builddir:-$PWD}
. tests/netns/lib.sh

RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-5}
CASES=${CASES:-vxlan vxlan:nooffload geneve gretap vxlan/chacha20-poly1305 vxlan/aes256-gcm}
command -v iperf3 >/dev/null || fail "iperf3 is not installed (scripts/install-deps.sh)"

ns_add b1 b2 left right
wire b1 u1 192.0.2.1 b2 u2 192.0.2.2

# iperf_gbps FROM TO ADDR: median, min and max Gbit/s of RUNS single-stream
# TCP runs, each SECS long.
iperf_gbps() {
	local from=$1 to=$2 addr=$3 pid i out results=()
	for i in $(seq "$RUNS"); do
		nsx "$to" timeout $((SECS + 10)) iperf3 -s -1 >/dev/null 2>&1 &
		pid=$!
		sleep 0.3
		out=$(nsx "$from" timeout $((SECS + 10)) iperf3 -c "$addr" \
			-t "$SECS" -J 2>/dev/null) || out=""
		wait "$pid" 2>/dev/null || true
		results+=("$(/usr/bin/python3 -c 'import json,sys
try: print(json.loads(sys.argv[1])["end"]["sum_received"]["bits_per_second"]/1e9)
except Exception: print(0)' "$out")")
	done
	printf '%s\n' "${results[@]}" | sort -g | /usr/bin/python3 -c '
import statistics,sys
v=[float(x) for x in sys.stdin]
print("%.2f %.2f %.2f" % (statistics.median(v), min(v), max(v)))'
}

# rtt_ms FROM ADDR: median round trip of 20 pings at 50 ms spacing.
rtt_ms() {
	nsx "$1" ping -c 20 -i 0.05 -W 1 "$2" 2>/dev/null | /usr/bin/python3 -c '
import re,statistics,sys
v=[float(m.group(1)) for m in re.finditer(r"time=([0-9.]+)", sys.stdin.read())]
print("%.3f" % statistics.median(v) if v else "nan")'
}

# cpu_ticks PID: user+system clock ticks the process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# row NAME "MEDIAN MIN MAX" RTT CPU_PER_GB RSS
ROWS=()
row() { ROWS+=("$1|$2 $3 $4 $5"); }

log "bare veth"
veth=$(iperf_gbps b1 b2 192.0.2.2)
row "bare veth" "$veth" "$(rtt_ms b1 192.0.2.2)" - -

log "kernel vxlan"
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
kvx=$(iperf_gbps left right 10.0.0.2)
row "kernel vxlan" "$kvx" "$(rtt_ms left 10.0.0.2)" - -
ip -n "$(ns left)" link del vx0
ip -n "$(ns right)" link del vx0

# bench_conf ROLE ...: ovtund_conf, plus an encryption block when the
# case names a cipher.
bench_conf() {
	local f
	f=$(ovtund_conf "$@")
	if [ -n "$cipher" ]; then
		printf 'encryption {\n  psk = "bench"\n  cipher = "%s"\n}\n' \
			"$cipher" >>"$f"
	fi
	echo "$f"
}

for case in $CASES; do
	variant=${case%%:*}
	encap=${variant%%/*}
	cipher=""
	[ "$encap" = "$variant" ] || cipher=${variant#*/}
	OVTUND_OFFLOAD=""
	[ "$variant" = "$case" ] || OVTUND_OFFLOAD=no
	log "ovtund $case"
	start_ovtund b1 "$(bench_conf b1 left 10.0.0.1/24 "$encap" 123 192.0.2.1 box-2 192.0.2.2)"
	start_ovtund b2 "$(bench_conf b2 right 10.0.0.2/24 "$encap" 123 192.0.2.2 box-1 192.0.2.1)"
	ping_ok left 10.0.0.2 1
	idle_rss=$(rss_kb "$PID_b1")
	t0=$(cpu_ticks "$PID_b1")
	g=$(iperf_gbps left right 10.0.0.2)
	t1=$(cpu_ticks "$PID_b1")
	b1_stats=$(ctl b1 --json stats)
	gb=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tap_rx_bytes"]/1e9)' "$b1_stats")
	cpu_per_gb=$(/usr/bin/python3 -c "print('%.2f' % ((($t1 - $t0) / $(getconf CLK_TCK)) / max($gb, 1e-9)))")
	row "ovtund $case" "$g" "$(rtt_ms left 10.0.0.2)" "$cpu_per_gb" "$idle_rss"
	stop_ovtund b1
	stop_ovtund b2
	DAEMON_PIDS=()
done

# tinc 1.0 in switch mode, the classic userspace TAP overlay, as a
# reference: TINC_CIPHERS lists "none" (unencrypted) and/or a cipher.
tinc_conf() {
	local n=$1 addr=$2 ovl=$3 oaddr=$4 peer=$5 cipher=$6 d=$WORKDIR/tinc-$1
	rm -rf "$d"
	mkdir -p "$d/hosts"
	printf 'Name = %s\nMode = switch\nInterface = tinc%s\nAddressFamily = ipv4\nConnectTo = %s\n' \
		"$n" "$n" "$peer" >"$d/tinc.conf"
	printf 'Address = %s\nPort = 655\nCipher = %s\nDigest = %s\n' "$addr" \
		"$cipher" "$([ "$cipher" = none ] && echo none || echo sha256)" \
		>"$d/hosts/$n"
	printf '#!/bin/sh\nip link set "$INTERFACE" netns %s\nip -n %s addr add %s dev "$INTERFACE"\nip -n %s link set "$INTERFACE" up\n' \
		"$(ns "$ovl")" "$(ns "$ovl")" "$oaddr" "$(ns "$ovl")" >"$d/tinc-up"
	chmod +x "$d/tinc-up"
	tincd -c "$d" -K 2048 </dev/null >/dev/null 2>&1
}

if command -v tincd >/dev/null; then
	for cipher in ${TINC_CIPHERS:-none aes-256-cbc}; do
		log "tinc 1.0 switch, cipher $cipher"
		tinc_conf b1 192.0.2.1 left 10.0.0.1/24 b2 "$cipher"
		tinc_conf b2 192.0.2.2 right 10.0.0.2/24 b1 "$cipher"
		cp "$WORKDIR/tinc-b1/hosts/b1" "$WORKDIR/tinc-b2/hosts/"
		cp "$WORKDIR/tinc-b2/hosts/b2" "$WORKDIR/tinc-b1/hosts/"
		tinc_pids=()
		for n in b1 b2; do
			nsenter --net="/run/netns/$(ns "$n")" -- tincd -c \
				"$WORKDIR/tinc-$n" -D \
				--pidfile="$WORKDIR/tinc-$n.pid" \
				>"$WORKDIR/tinc-$n.log" 2>&1 &
			tinc_pids+=($!)
			DAEMON_PIDS+=($!)
		done
		for _ in $(seq 100); do
			nsx right ip link show tincb2 >/dev/null 2>&1 &&
				nsx left ip link show tincb1 >/dev/null 2>&1 && break
			sleep 0.1
		done
		ping_ok left 10.0.0.2 1
		g=$(iperf_gbps left right 10.0.0.2)
		row "tinc switch/$cipher" "$g" "$(rtt_ms left 10.0.0.2)" - \
			"$(rss_kb "${tinc_pids[0]}")"
		end_case
		ns_add b1 b2 left right
		wire b1 u1 192.0.2.1 b2 u2 192.0.2.2
	done
fi

kvx_median=${kvx%% *}
echo
echo "ovtund benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r), $RUNS x ${SECS}s iperf3 single TCP stream"
printf '%-30s %8s %8s %8s %9s %9s %10s %9s\n' path "Gbit/s" min max "x kvxlan" "rtt ms" "cpu s/GB" "rss KiB"
for r in "${ROWS[@]}"; do
	read -r med min max rtt cpu rss <<<"${r#*|}"
	ratio=$(/usr/bin/python3 -c "print('%.2f' % ($med / $kvx_median) if $kvx_median > 0 else 'nan')")
	printf '%-30s %8s %8s %8s %9s %9s %10s %9s\n' "${r%%|*}" "$med" "$min" "$max" "$ratio" "$rtt" "$cpu" "$rss"
done
