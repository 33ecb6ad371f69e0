#!/bin/bash
# bench/etcd-bench.sh: a daemon starting into a fleet of N synthetic
# members (default 1,000) already in etcd (one member, in a namespace):
# the time from its start until all N are its peers, and its RSS and CPU
# seconds then, beside a daemon of the same build in an empty fleet (the
# reference, same run). Figures, not a test; run as root from a build tree:
#   top_builddir=$PWD bash bench/etcd-bench.sh        (N=... to change)
. "$(dirname "$0")/../tests/netns/lib.sh"
. "$(dirname "$0")/../tests/netns/etcd-lib.sh"

N=${N:-1000}
fleet_switch
etcd_cluster 1
# The reference: the same daemon, no member but itself.
host_prepare 2
sed -i "s|^  prefix = .*|  prefix = \"$PREFIX-empty\"|" "$WORKDIR/b2.conf"
start_ovtund b2 "$WORKDIR/b2.conf"
/usr/bin/python3 - "$PREFIX/members" "$N" >"$WORKDIR/txn.json" <<'PY'
import base64, json, sys
b = lambda s: base64.b64encode(s.encode()).decode()
ops = []
for i in range(int(sys.argv[2])):
    name = "m%05d" % i
    v = {"version": 1, "name": name, "addresses": ["198.18.%d.%d" % (i // 250, i % 250 + 1)],
         "encap": "vxlan", "key": 77, "port": 4789, "mtu": 1450,
         "public_key": None, "encryption": None}
    ops.append({"request_put": {"key": b(sys.argv[1] + "/" + name), "value": b(json.dumps(v))}})
print(json.dumps({"success": ops}))
PY
nsx e1 curl -sf -X POST --data-binary "@$WORKDIR/txn.json" \
	"$(etcd_url 1)/v3/kv/txn" >/dev/null || fail "etcd refused the members"
host_prepare 1
sed -i "s/^  ttl = .*/  ttl = 10\n  member_limit = $((N + 10))/" "$WORKDIR/b1.conf"
t0=$(now_ms)
start_ovtund b1 "$WORKDIR/b1.conf"
for _ in $(seq 600); do
	[ "$(ctl b1 --json show | grep -o '"members_applied":[0-9]*' | cut -d: -f2)" = "$N" ] && break
	sleep 0.1
done
t=$(($(now_ms) - t0))
applied=$(ctl b1 --json show | grep -o '"members_applied":[0-9]*' | cut -d: -f2)
[ "$applied" = "$N" ] || fail "only $applied of $N members applied"
pid=$PID_b1
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$pid/stat")
echo "members: $N"
echo "converged_ms: $t (start to all $N peers)"
echo "rss_kib: $rss"
echo "cpu_s: $cpu (user + system until then)"
sleep 5
cpu5=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$pid/stat")
echo "cpu_s_5s_later: $cpu5 (idle with $N peers: path MTU checks, keepalives)"
ref_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PID_b2/status")
echo "reference_rss_kib: $ref_rss (no member); ratio $(awk -v a="$rss" -v b="$ref_rss" 'BEGIN {printf "%.2f", a / b}')x"
