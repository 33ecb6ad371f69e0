#!/bin/bash
# Fleet membership through a real three-member etcd cluster (each member
# in its own namespace) and ovtund hosts with no static peer:
#  - four hosts find each other and every pair pings;
#  - a fifth host is a peer of all four within 2 s of starting, and
#    answers their pings, no file touched;
#  - a second daemon claiming a name in use is refused, the first kept;
#  - SIGKILL: the host is dropped by all within ttl + 2 s; a clean stop
#    revokes the lease: dropped at once (under 2 s, less than the ttl);
#  - an etcd follower killed, then the leader: the pings between hosts
#    lose nothing, and joins still reach everyone;
#  - hostile entries (malformed JSON, huge values, wrong types, bad names,
#    10,000 junk keys in one transaction) are refused and counted, and the
#    hosts stay healthy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"

TTL=3

# refused I REASON: how many entries host I refused for REASON.
refused() {
	ctl "b$1" --json show | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}

fleet_switch
etcd_cluster 3
for i in 1 2 3 4; do host_add "$i"; done

log "four hosts, no static peers: all see each other, every pair pings"
# shellcheck disable=SC2046
t=$(wait_all "$(now_ms)" 10 $(expect 4))
log "  converged in ${t} ms"
for i in 1 2 3 4; do
	for j in 1 2 3 4; do
		[ "$i" = "$j" ] || ping_ok "o$i" "10.0.0.$j" 1
	done
done
assert_eq "$(json b1 peers "[p['source'] for p in j['peers']]")" \
	"['etcd', 'etcd', 'etcd']" "sources"
assert_eq "$(etcd_show 1 "['registered']")" True "registered"
assert_eq "$(etcd_show 1 "['state']")" watching "state"
assert_eq "$(etcd_show 1 "['members_seen']")" 3 "members seen"
assert_eq "$(etcd_show 1 "['ttl_s']")" "$TTL" "ttl"
assert_eq "$(etcd_show 1 "['last_error']")" None "last error"
assert_ge "$(etcd_show 1 "['lease_id']")" 1 "lease id"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	for cmd in show peers; do
		ctl b1 --json "$cmd" >"$WORKDIR/$cmd.json"
		/usr/bin/python3 "$top_srcdir/tests/netns/jsoncheck.py" \
			"$top_srcdir/doc/ovtunctl.schema.json" "$cmd" \
			"$WORKDIR/$cmd.json" || fail "$cmd --json against the schema"
	done
fi

log "a fifth host joins: a peer of all four within 2 s, reachable"
host_prepare 5
monitor_start 1 2 3 4
sleep 0.5
t0=$(now_ms)
start_ovtund b5 "$WORKDIR/b5.conf"
t=$(events_by "$t0" 2000 peer_added host-5 1 2 3 4)
log "  host-5 a peer of all four ${t} ms after its start"
# shellcheck disable=SC2046
wait_all "$t0" 10 $(expect 5) >/dev/null
monitor_start 5
for i in 1 2 3 4; do
	ping_ok "o$i" 10.0.0.5 1
	ping_ok o5 "10.0.0.$i" 1
done

log "a second daemon claiming host-5 is refused; host-5 keeps its entry"
switch_port b6 192.0.2.6
ns_add o6
quiet_ns o6
fleet_conf 6 >/dev/null
sed -i 's/name = "host-6"/name = "host-5"/' "$WORKDIR/b6.conf"
start_ovtund b6 "$WORKDIR/b6.conf"
show_until 6 "['state']" name_conflict
assert_eq "$(etcd_show 6 "['registered']")" False "impostor registered"
case $(etcd_show 6 "['last_error']") in
*"held by another daemon"*) ;;
*) fail "impostor's last_error: $(etcd_show 6 "['last_error']")" ;;
esac
stop_ovtund b6
sleep 0.5
assert_eq "$(json b1 peers "[p['remote'] for p in j['peers'] if p['name'] == 'host-5']")" \
	"['192.0.2.5']" "host-5's entry"
ping_ok o1 10.0.0.5 1

log "SIGKILL host-4: dropped by all within ttl + 2 s"
t0=$(now_ms)
kill -KILL "$PID_b4"
wait "$PID_b4" 2>/dev/null || true
forget_pid "$PID_b4"
t=$(events_by "$t0" $(((TTL + 2) * 1000)) peer_removed host-4 1 2 3)
log "  gone from all after $t ms (ttl ${TTL} s)"
# shellcheck disable=SC2046
wait_all "$t0" 10 $(expect 5 4) >/dev/null

log "clean stop of host-3: its lease revoked, dropped at once"
t0=$(now_ms)
kill -TERM "$PID_b3"
# Without the revoke the entry would live on for the ttl (3 s).
t=$(events_by "$t0" 1000 peer_removed host-3 1 2 5)
wait "$PID_b3" || fail "b3: exit status $?"
forget_pid "$PID_b3"
log "  gone from all ${t} ms after SIGTERM"

log "kill an etcd follower, then the leader: no ping lost, joins propagate"
continuous_ping 1 2 150
leader=$(etcd_leader) || fail "no etcd leader"
follower=$((leader % 3 + 1))
log "  killing follower e$follower"
etcd_kill "$follower"
start_ovtund b3 "$WORKDIR/b3.conf"
# shellcheck disable=SC2046
t=$(wait_all "$(now_ms)" 10 $(expect 5 4))
log "  host-3 joined with e$follower down (${t} ms)"
etcd_start "$follower" existing
etcd_wait_healthy
leader=$(etcd_leader) || fail "no etcd leader"
log "  killing leader e$leader"
etcd_kill "$leader"
start_ovtund b4 "$WORKDIR/b4.conf"
# shellcheck disable=SC2046
t=$(wait_all "$(now_ms)" 10 $(expect 5))
log "  host-4 joined with the old leader down (${t} ms)"
assert_no_loss "o1 -> 10.0.0.2 over both kills"
etcd_start "$leader" existing
etcd_wait_healthy
ping_ok o4 10.0.0.3 1

log "hostile entries: refused and counted, the hosts unharmed"
M=$PREFIX/members
ectl put "$M/junk-json" '{"version":1,"name":' >/dev/null
ectl put "$M/junk-type" '{"version":1,"name":"junk-type","addresses":"192.0.2.9","encap":"vxlan","key":1}' >/dev/null
ectl put "$M/junk-range" '{"version":1,"name":"junk-range","addresses":["192.0.2.9"],"encap":"vxlan","key":99999999}' >/dev/null
ectl put "$M/junk-rename" '{"version":1,"name":"host-1","addresses":["192.0.2.9"],"encap":"vxlan","key":1}' >/dev/null
ectl put "$M/bad name" '{}' >/dev/null
head -c 300000 /dev/zero | tr '\0' 'x' >"$WORKDIR/huge"
ectl put "$M/junk-huge" <"$WORKDIR/huge" >/dev/null
# 10,000 junk keys in one transaction (etcd started with --max-txn-ops).
/usr/bin/python3 - "$M" >"$WORKDIR/txn.json" <<'PY'
import base64, json, sys
b = lambda s: base64.b64encode(s.encode()).decode()
print(json.dumps({"success": [{"request_put": {"key": b("%s/j%05d" % (sys.argv[1], i)), "value": b("{%d" % i)}} for i in range(10000)]}))
PY
nsx e1 curl -sf -X POST --data-binary "@$WORKDIR/txn.json" \
	"$(etcd_url 1)/v3/kv/txn" >/dev/null ||
	nsx e2 curl -sf -X POST --data-binary "@$WORKDIR/txn.json" \
	"$(etcd_url 2)/v3/kv/txn" >/dev/null || fail "junk txn refused"
for i in 1 5; do
	for _ in $(seq 100); do
		[ "$(refused "$i" malformed)" -ge 10001 ] && break
		sleep 0.1
	done
	assert_ge "$(refused "$i" malformed)" 10001 "b$i malformed"
	assert_ge "$(refused "$i" wrong_type)" 2 "b$i wrong type"
	assert_ge "$(refused "$i" bad_name)" 2 "b$i bad names"
	assert_ge "$(refused "$i" oversized)" 1 "b$i oversized"
done
r=$(etcd_show 1 "['refused']")
# With a 3 s ttl, etcd digesting 10,000 puts on a loaded machine can let
# leases run out: the hosts then register again. They must converge.
# shellcheck disable=SC2046
wait_all "$(now_ms)" 15 $(expect 5) >/dev/null
log "  b1 refused: $r"
for i in 1 2 3 4 5; do
	j=$((i % 5 + 1))
	ping_ok "o$i" "10.0.0.$j" 1
done
# A daemon that starts now ranges all of it (in pages) and is fine too.
stop_ovtund b5
rm -f "$WORKDIR/b5.members"
start_ovtund b5 "$WORKDIR/b5.conf"
wait_all "$(now_ms)" 10 "5=host-1,host-2,host-3,host-4" >/dev/null
assert_ge "$(refused 5 malformed)" 10001 "b5 at start"
ping_ok o5 10.0.0.1 1
log "ok"
