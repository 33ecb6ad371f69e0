#!/bin/bash
# Worker threads: with workers = 2, flows spread over both on each side (a
# TAP queue per worker on the way out, SO_REUSEPORT on the way in), VXLAN
# and Geneve flows leave from source ports of their own, each flow from
# one; raw GRE is received by worker 0 alone; the control socket, which
# pauses the workers for its counters, answers under load without losing
# a byte; a daemon with workers = 1 carries the same traffic.
. "$(dirname "$0")/lib.sh"
command -v iperf3 >/dev/null || fail "iperf3 is not installed (scripts/install-deps.sh)"

# streams N SECS: N parallel TCP streams from left to right for SECS s.
streams() {
	local pid
	nsx right timeout $(($2 + 15)) iperf3 -s -1 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		nsx right ss -ltn | grep -q ":5201 " && break
		sleep 0.1
	done
	nsx left timeout $(($2 + 10)) iperf3 -c 10.0.0.2 -P "$1" -t "$2" \
		>/dev/null || fail "iperf3 -P $1 failed"
	wait "$pid" || true
}

# worker_counts ROLE FIELD: FIELD of each worker, one line.
worker_counts() {
	json "$1" stats "' '.join(str(w['$2']) for w in j['workers'])"
}

# all_moved VALUES: every value is at least 100.
all_moved() {
	local v
	for v in $1; do
		[ "$v" -ge 100 ] || return 1
	done
}

# Which worker a flow lands on is the kernel's hash of its addresses and
# ports (SO_REUSEPORT coming in; going out, the TAP queue its replies
# came by), so 16 streams over 8 source ports miss one worker now and
# then (a few in a hundred): a miss is tried again with fresh daemons,
# whose ports and flow keys are new. Three misses in a row fail.
spread_case() {
	local encap=$1 tx rx try cap
	for try in 1 2 3; do
		log "case: $encap, 2 workers, 16 streams (try $try)"
		OVTUND_WORKERS=2 two_hosts "$encap" 123 4
		assert_eq "$(json b1 show "j['worker_count']")" 2 "b1 workers"
		ping_ok left 10.0.0.2 2
		nsx b2 timeout 20 tcpdump -i u2 -nn -w "$WORKDIR/u2.pcap" \
			-c 4000 "src host 192.0.2.1 and udp dst port $(
			[ "$encap" = vxlan ] && echo 4789 || echo 6081)" \
			>/dev/null 2>&1 &
		cap=$!
		sleep 0.5
		streams 16 2
		kill "$cap" 2>/dev/null || true
		wait "$cap" 2>/dev/null || true
		tx=$(worker_counts b1 tap_rx_packets)
		rx=$(worker_counts b2 underlay_rx_packets)
		log "b1 TAP reads per worker: $tx; b2 underlay reads per worker: $rx"
		source_ports "$WORKDIR/u2.pcap"
		end_case
		all_moved "$tx" && all_moved "$rx" && return 0
	done
	fail "$encap: the flows kept to one worker in three tries"
}

# source_ports PCAP: the outer UDP source port of b1's packets follows the
# inner flow: several ports for the 16 streams, one port for each, all
# from b1's ephemeral range, none the tunnel's own.
source_ports() {
	local lo hi
	read -r lo hi < <(nsx b1 cat /proc/sys/net/ipv4/ip_local_port_range)
	tshark -r "$1" -T fields -e udp.srcport -e tcp.srcport -e tcp.dstport \
		-Y tcp 2>/dev/null | /usr/bin/python3 -c '
import sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
flows = {}
for line in sys.stdin:
    f = line.split()
    if len(f) != 3:
        continue
    outer = int(f[0].split(",")[0])
    flows.setdefault((f[1], f[2]), set()).add(outer)
ports = set().union(*flows.values()) if flows else set()
print("# flows %d, outer source ports %s" % (len(flows), sorted(ports)))
if len(flows) < 16:
    sys.exit("only %d flows captured" % len(flows))
for k, v in flows.items():
    if len(v) != 1:
        sys.exit("flow %s left from ports %s" % (k, sorted(v)))
if len(ports) < 2 or len(ports) > 8:
    sys.exit("%d source ports, not 2 to 8" % len(ports))
bad = [p for p in ports if not lo <= p <= hi]
if bad:
    sys.exit("ports outside %d-%d: %s" % (lo, hi, bad))
' "$lo" "$hi" || fail "outer source ports"
}

gre_case() {
	local rx
	log "case: gretap, 2 workers: worker 0 alone reads the raw socket"
	OVTUND_WORKERS=2 two_hosts gretap 123 4
	ping_ok left 10.0.0.2 2
	streams 4 1
	rx=$(worker_counts b2 underlay_rx_packets)
	log "b2 underlay reads per worker: $rx"
	assert_ge "${rx%% *}" 100 "b2 worker 0 underlay_rx_packets"
	assert_eq "${rx##* }" 0 "b2 worker 1 underlay_rx_packets"
	end_case
}

# The control socket pauses the workers for each answer: under load it
# must neither stall nor corrupt what crosses.
ctl_under_load_case() {
	local pid i
	log "case: ovtunctl under load"
	OVTUND_WORKERS=2 two_hosts vxlan 123 4
	ping_ok left 10.0.0.2 2
	streams 4 3 &
	pid=$!
	for i in $(seq 60); do
		ctl b1 stats >/dev/null || fail "stats $i"
		ctl b2 peers >/dev/null || fail "peers $i"
		ctl b2 --json sa >/dev/null || fail "sa $i"
	done
	wait "$pid" || fail "the streams under ovtunctl"
	tcp_transfer left right 10.0.0.2
	end_case
}

one_worker_case() {
	log "case: workers = 1"
	OVTUND_WORKERS=1 two_hosts vxlan 123 4
	assert_eq "$(json b1 show "j['worker_count']")" 1 "b1 workers"
	ping_ok left 10.0.0.2 2
	tcp_transfer left right 10.0.0.2
	streams 4 1
	assert_eq "$(json b2 stats "len(j['workers'])")" 1 "b2 workers listed"
	end_case
}

spread_case vxlan
spread_case geneve
gre_case
ctl_under_load_case
one_worker_case
echo "workers: all cases passed"
