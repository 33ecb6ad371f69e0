#!/bin/bash
# How long a metrics scrape pauses the worker threads, and what a scrape
# costs, by number of peers. One daemon in a namespace (its underlay a
# dummy device, the peers' remotes routed into it, no traffic), for each
# PEERS count: SCRAPES scrapes of /metrics over one keep-alive connection,
# each answer's ovtund_scrape_pause_seconds (the daemon's own measure:
# pause requested to workers running again), and beside them the wall
# time of the scrape and of `ovtunctl --json stats` and `peers` (which
# pauses the workers while it renders every peer). Prints one table:
#   peers  pause ms median p90 max  scrape ms median  bytes  stats ms  peers ms
#   PEERS="1 100 1000" SCRAPES=50 bench/metrics-pause.sh
. "$(dirname "$0")/../tests/netns/lib.sh"

PEERS=${PEERS:-1 100 1000}
SCRAPES=${SCRAPES:-50}

ns_add b1 b2 left
wire b1 u1 192.0.2.1 b2 u2 192.0.2.2
ip -n "$(ns b1)" route add 198.18.0.0/15 via 192.0.2.2

printf '%-6s %8s %8s %8s %10s %8s %9s %9s\n' peers "pause" p90 max \
	"scrape" bytes "stats" "peers"
printf '%-6s %8s %8s %8s %10s %8s %9s %9s\n' "" "ms" ms ms ms "" ms ms
for n in $PEERS; do
	f="$WORKDIR/b1-$n.conf"
	{
		echo "interface = \"ovt0\""
		echo "netns = \"$(ns left)\""
		echo "encap = \"vxlan\""
		echo "key = 1"
		echo "local = \"192.0.2.1\""
		echo "control = \"$(ctl_sock b1)\""
		echo "metrics = \"192.0.2.1:9477\""
		for i in $(seq 0 $((n - 1))); do
			printf 'peer "p%d" { remote = "198.18.%d.%d" }\n' "$i" \
				$((i / 250)) $((i % 250 + 1))
		done
	} >"$f"
	start_ovtund b1 "$f"
	row=$(nsx b1 /usr/bin/python3 - "$SCRAPES" <<'PY'
import http.client, re, statistics, sys, time
n = int(sys.argv[1])
c = http.client.HTTPConnection("192.0.2.1", 9477, timeout=10)
pauses, walls, size = [], [], 0
for _ in range(n):
    t0 = time.monotonic()
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    walls.append(time.monotonic() - t0)
    size = len(body)
    pauses.append(float(re.search(r"^ovtund_scrape_pause_seconds (\S+)$",
                                  body, re.M).group(1)))
    time.sleep(0.02)
pauses.sort()
print("%.3f %.3f %.3f %.2f %d" % (statistics.median(pauses) * 1e3,
      pauses[int(len(pauses) * 0.9) - 1] * 1e3, pauses[-1] * 1e3,
      statistics.median(walls) * 1e3, size))
PY
)
	t0=$(date +%s%N)
	for _ in 1 2 3 4 5; do ctl b1 --json stats >/dev/null; done
	t1=$(date +%s%N)
	for _ in 1 2 3 4 5; do ctl b1 --json peers >/dev/null; done
	t2=$(date +%s%N)
	read -r med p90 max wall bytes <<<"$row"
	printf '%-6s %8s %8s %8s %10s %8s %9.2f %9.2f\n' "$n" "$med" "$p90" \
		"$max" "$wall" "$bytes" "$(echo "($t1 - $t0) / 5000000" | bc -l)" \
		"$(echo "($t2 - $t1) / 5000000" | bc -l)"
	stop_ovtund b1
done
