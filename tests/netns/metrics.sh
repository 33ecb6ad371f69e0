#!/bin/bash
# The metrics endpoint, scraped by a real Prometheus.
# Two encrypted daemons (rekey_after = 10), b1 with metrics =
# "192.0.2.1:9477", b2 with "[fd00:5::2]:9477" on an extra IPv6 address
# of the underlay (both forms of the key), move traffic (pings, 2 MiB of
# TCP), and b1 gets 50 hostile ESP packets from b2's address (dropped:
# esp_unknown_spi, counted for box-2).
# - A Prometheus (Debian's), started in b1's namespace with a temporary
#   storage directory and a 1 s scrape interval, scrapes both over the
#   underlay; its HTTP API (queried from inside the namespace) says
#   up == 1 for both, and each daemon's underlay rx/tx packets, summed
#   over its workers, lie between what `ovtunctl --json stats` said
#   before the query (after one scrape interval) and after it.
# - Abuse, while a ping crosses the overlay (none may be lost): 500
#   connections at once (the daemon holds at most 32 + its few own fds;
#   the rest wait in the kernel or are refused), clients that trickle a
#   byte a second (closed within the 10 s deadline), a 1 MiB request
#   header (refused, 4xx or closed), wrong paths (404), POST (405); then
#   /metrics answers again at once and Prometheus still finds both up.
# - After a rekey, /metrics of each daemon passes `promtool check
#   metrics`, has ovtund_build_info and per-peer counters with a peer
#   label, ovtund_peer_drops_total{peer="box-2",reason="esp_unknown_spi"}
#   = 50 on b1 and ovtund_peer_rekeys_total >= 1; asked for OpenMetrics
#   it answers in OpenMetrics (# EOF); `ovtunctl stats --peer box-2`
#   (text and JSON) shows the same 50 drops.
# - contrib/: the alert rules pass `promtool check rules`, and every
#   ovtund_ metric the rules and the Grafana dashboard use is exposed.
# - A unix socket endpoint (metrics = "/path") answers too.
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null && command -v promtool >/dev/null ||
	{ echo "SKIP: $(basename "$0") needs prometheus and promtool"; exit 77; }

# get ROLE URL [ACCEPT]: the body of a GET from inside the role's
# namespace (status line on stderr when not 200).
get() {
	nsx "$1" /usr/bin/python3 -c '
import sys, urllib.request
r = urllib.request.Request(sys.argv[1], headers={"Accept": sys.argv[2]})
sys.stdout.write(urllib.request.urlopen(r, timeout=5).read().decode())' \
		"$2" "${3:-text/plain}"
}

# promq EXPR: the value of an instant query, one "instance value" line per
# series, from Prometheus's HTTP API inside b1.
promq() {
	nsx b1 /usr/bin/python3 -c '
import json, sys, urllib.parse, urllib.request
u = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[1]})
j = json.load(urllib.request.urlopen(u, timeout=5))
assert j["status"] == "success", j
for r in j["data"]["result"]:
    print(r["metric"].get("instance", "-"), r["value"][1])' "$1"
}

enc_setup vxlan 123 4 chacha20-poly1305 ip "" "rekey_after = 10"
ip -n "$(ns b2)" addr add fd00:5::2/64 dev u2 nodad
ip -n "$(ns b1)" addr add fd00:5::1/64 dev u1 nodad
echo 'metrics = "192.0.2.1:9477"' >>"$WORKDIR/b1.conf"
echo 'metrics = "[fd00:5::2]:9477"' >>"$WORKDIR/b2.conf"
enc_start
ping_ok left 10.0.0.2 3
tcp_transfer left right 10.0.0.2

log "hostile: 50 ESP packets with an unknown SPI to b1 from box-2's address"
nsx b2 /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
for i in range(50):
    s.sendto(b"\xde\xad\xbe\xef" + (i + 1).to_bytes(4, "big") + b"\0" * 64, ("192.0.2.1", 0))'
for _ in $(seq 20); do
	[ "$(json b1 stats "j['drops']['esp_unknown_spi']")" -ge 50 ] && break
	sleep 0.1
done

cat >"$WORKDIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ovtund
    static_configs:
      - targets: ['192.0.2.1:9477', '[fd00:5::2]:9477']
EOF
mkdir "$WORKDIR/tsdb"
nsx b1 prometheus --config.file="$WORKDIR/prometheus.yml" \
	--storage.tsdb.path="$WORKDIR/tsdb" \
	--web.listen-address=127.0.0.1:9090 --log.level=warn \
	>"$WORKDIR/prometheus.log" 2>&1 &
prom=$!
on_exit "kill $prom 2>/dev/null; wait $prom 2>/dev/null"

# up == 1 for both, within 20 s of the start.
for i in $(seq 40); do
	up=$(promq 'up == 1' 2>/dev/null | wc -l) || up=0
	[ "$up" = 2 ] && break
	sleep 0.5
done
[ "$up" = 2 ] || fail "Prometheus: up: $(promq up 2>&1); $(tail -5 "$WORKDIR/prometheus.log")"
log "Prometheus: up == 1 for both after ~$((i / 2)) s"

# Counters: what Prometheus has lies between what ovtunctl said one
# scrape interval before the query and right after it.
check_counters() {
	local role=$1 inst=$2 dir=$3 key=$4 before v after
	before=$(json "$role" stats "j['$key']")
	sleep 1.5
	v=$(promq "sum(ovtund_underlay_packets_total{instance=\"$inst\",direction=\"$dir\"})" | awk '{print $2}')
	after=$(json "$role" stats "j['$key']")
	[ -n "$v" ] && [ "$before" -le "$v" ] && [ "$v" -le "$after" ] ||
		fail "$role $key: ovtunctl $before..$after, Prometheus '$v'"
	log "$role $key: ovtunctl $before..$after, Prometheus $v"
}
check_counters b1 192.0.2.1:9477 rx underlay_rx_packets
check_counters b1 192.0.2.1:9477 tx underlay_tx_packets
check_counters b2 '[fd00:5::2]:9477' rx underlay_rx_packets
check_counters b2 '[fd00:5::2]:9477' tx underlay_tx_packets

log "abuse of b1's endpoint, with a ping across the overlay"
nsx left ping -c 150 -i 0.1 -W 1 10.0.0.2 >"$WORKDIR/ping.out" 2>&1 &
pinger=$!
fds0=$(ls "/proc/$PID_b1/fd" | wc -l)
nsx b2 /usr/bin/python3 - "$PID_b1" <<'PY' >"$WORKDIR/abuse.json" || fail "abuse: $(cat "$WORKDIR/abuse.json")"
import json, os, select, socket, sys, time
pid = sys.argv[1]
addr = ("192.0.2.1", 9477)
out = {}
def fds():
    return len(os.listdir("/proc/%s/fd" % pid))
def status(req, timeout=5):
    s = socket.create_connection(addr, timeout=timeout)
    try:
        s.sendall(req)
        d = s.recv(4096)
        return d.split(b"\r\n")[0].decode() if d else "closed"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    finally:
        s.close()
out["wrong_path"] = status(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
out["root"] = status(b"GET / HTTP/1.0\r\n\r\n")
out["post"] = status(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
out["huge_header"] = status(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
out["huge_body"] = status(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + b"b" * 65536)
# 500 connections at once, held idle (non-blocking connects: those the
# kernel's backlog cannot take stay pending or fail).
socks = []
for i in range(500):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(addr)
    socks.append(s)
time.sleep(1.5)
p = select.poll()
for s in socks:
    p.register(s, select.POLLOUT)
ready = {fd for fd, ev in p.poll(0) if ev & select.POLLOUT}
conn = [s for s in socks if s.fileno() in ready and
        s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0]
refused = len(socks) - len(conn)
out["conns_open"] = len(conn)
out["conns_refused"] = refused
out["daemon_fds_held"] = fds()
# A scrape now waits behind them; they are cut after the deadline.
t0 = time.time()
out["scrape_while_held"] = status(b"GET /metrics HTTP/1.0\r\n\r\n", timeout=30)
out["scrape_wait_s"] = round(time.time() - t0, 1)
for s in socks:
    s.close()
# Slow clients: a byte a second; the daemon must cut them by the deadline.
slow = [socket.create_connection(addr, timeout=2) for _ in range(5)]
t0, cut = time.time(), None
req = b"GET /metrics HTTP/1.1\r\nHost: slow\r\n"
for i in range(20):
    try:
        for s in slow:
            s.sendall(req[i:i + 1])
        time.sleep(1)
        for s in slow:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
    except (ConnectionResetError, BrokenPipeError):
        cut = round(time.time() - t0, 1)
        break
out["slow_cut_after_s"] = cut
out["scrape_after"] = status(b"GET /metrics HTTP/1.0\r\n\r\n")
print(json.dumps(out))
PY
log "abuse: $(cat "$WORKDIR/abuse.json")"
a() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORKDIR/abuse.json" "$1"; }
case $(a wrong_path) in *" 404 "*) ;; *) fail "wrong path: $(a wrong_path)" ;; esac
case $(a root) in *" 404 "*) ;; *) fail "/: $(a root)" ;; esac
case $(a post) in *" 405 "*) ;; *) fail "POST: $(a post)" ;; esac
case $(a huge_header) in *" 4"[0-9][0-9]" "*|closed|reset) ;; *) fail "1 MiB header: $(a huge_header)" ;; esac
case $(a huge_body) in *" 4"[0-9][0-9]" "*|closed|reset) ;; *) fail "10 MB body: $(a huge_body)" ;; esac
[ "$(a daemon_fds_held)" -le $((fds0 + 32 + 2)) ] ||
	fail "500 connections: the daemon holds $(a daemon_fds_held) fds (had $fds0)"
case $(a scrape_while_held) in *" 200 "*) ;; *) fail "scrape behind 500 connections: $(a scrape_while_held)" ;; esac
cut=$(a slow_cut_after_s)
[ "$cut" != None ] || fail "slow clients were never cut"
# The deadline (10 s) from when they were accepted, the sweep (1 s) and
# what they waited in the backlog behind the 500.
/usr/bin/python3 -c "import sys; sys.exit(not $cut <= 20)" ||
	fail "slow clients cut only after $cut s (deadline 10 s)"
case $(a scrape_after) in *" 200 "*) ;; *) fail "scrape after the abuse: $(a scrape_after)" ;; esac
wait "$pinger" || fail "pings lost during the abuse: $(tail -2 "$WORKDIR/ping.out")"
log "ping during the abuse: $(grep 'packet loss' "$WORKDIR/ping.out")"
sleep 2
[ "$(promq 'up == 1' | wc -l)" = 2 ] || fail "Prometheus after the abuse: $(promq up)"

# A rekey on both (rekey_after = 10), then the metrics themselves.
for i in $(seq 30); do
	[ "$(promq 'ovtund_peer_rekeys_total >= 1' | wc -l)" = 2 ] && break
	sleep 0.5
done
[ "$(promq 'ovtund_peer_rekeys_total >= 1' | wc -l)" = 2 ] ||
	fail "no rekey seen by Prometheus: $(promq ovtund_peer_rekeys_total)"
get b1 http://192.0.2.1:9477/metrics >"$WORKDIR/b1.prom"
get b2 'http://[fd00:5::2]:9477/metrics' >"$WORKDIR/b2.prom"
for role in b1 b2; do
	promtool check metrics <"$WORKDIR/$role.prom" >"$WORKDIR/promtool.out" 2>&1 ||
		fail "promtool check metrics ($role): $(cat "$WORKDIR/promtool.out")"
	grep -q '^ovtund_build_info{version="' "$WORKDIR/$role.prom" || fail "$role: no build_info"
	grep -q '^ovtund_peer_packets_total{peer="box-' "$WORKDIR/$role.prom" || fail "$role: no peer counters"
	grep -q '^ovtund_batch_packets_bucket{worker="0",direction="rx",le="+Inf"} [1-9]' "$WORKDIR/$role.prom" ||
		fail "$role: no batch sizes"
done
log "promtool check metrics: clean for both ($(grep -vc '^#' "$WORKDIR/b1.prom") samples on b1), pause $(grep '^ovtund_scrape_pause_seconds' "$WORKDIR/b1.prom")"
grep -qx 'ovtund_peer_drops_total{peer="box-2",reason="esp_unknown_spi"} 50' "$WORKDIR/b1.prom" ||
	fail "per-peer drops: $(grep peer_drops "$WORKDIR/b1.prom")"
get b1 http://192.0.2.1:9477/metrics 'application/openmetrics-text;version=1.0.0' >"$WORKDIR/b1.om"
[ "$(tail -1 "$WORKDIR/b1.om")" = "# EOF" ] || fail "OpenMetrics: no # EOF"
grep -qx '# TYPE ovtund_peer_packets counter' "$WORKDIR/b1.om" || fail "OpenMetrics: counter family"
grep -qx '# TYPE ovtund_build info' "$WORKDIR/b1.om" || fail "OpenMetrics: info family"
assert_eq "$(ctl b1 --json stats --peer box-2 |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["drops"]["esp_unknown_spi"])')" 50 "stats --peer drops"
ctl b1 stats --peer box-2 | grep -qE '^ *esp_unknown_spi: 50$' || fail "stats --peer (text): $(ctl b1 stats --peer box-2)"
rc=0
ctl b1 stats --peer nobody >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "stats --peer of an unknown peer"

# contrib/: rules clean, and every metric they and the dashboard name is
# exposed by a daemon.
promtool check rules "$top_srcdir/contrib/prometheus/ovtund-alerts.yml" >"$WORKDIR/rules.out" 2>&1 ||
	fail "promtool check rules: $(cat "$WORKDIR/rules.out")"
/usr/bin/python3 - "$WORKDIR/b1.prom" "$top_srcdir/contrib/prometheus/ovtund-alerts.yml" \
	"$top_srcdir/contrib/grafana/ovtund-dashboard.json" <<'PY' || fail "contrib/ names a metric the daemon does not expose"
import json, re, sys
have = set()
for l in open(sys.argv[1]):
    if not l.startswith("#"):
        have.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", l).group(0))
json.load(open(sys.argv[3]))
used = set()
for f in sys.argv[2:]:
    used |= set(re.findall(r"\bovtund_[a-z0-9_]+", open(f).read()))
# Histogram and counter names as PromQL uses them.
missing = sorted(u for u in used if u not in have)
if missing:
    sys.exit("not exposed: %s" % missing)
print("# contrib/ uses %d metrics, all exposed" % len(used))
PY

log "a unix socket endpoint"
stop_ovtund b2
sed -i "s|^metrics = .*|metrics = \"$WORKDIR/metrics.sock\"|" "$WORKDIR/b2.conf"
start_ovtund b2 "$WORKDIR/b2.conf"
nsx b2 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
d = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    d += c
assert d.startswith(b"HTTP/1.0 200") or d.startswith(b"HTTP/1.1 200"), d[:100]
assert b"\novtund_build_info{" in d' "$WORKDIR/metrics.sock" || fail "unix socket endpoint"
echo "PASS: metrics"
