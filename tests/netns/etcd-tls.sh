#!/bin/bash
# Fleet membership over TLS with etcd authentication: a CA made here with
# openssl signs etcd's certificate (for its address); each host logs in
# as a user whose role may read and write the overlay's prefix and
# nothing else. Two such hosts find each other and ping; a third whose
# user is limited to another prefix is refused by etcd (it says so in
# `ovtunctl show`) and nobody takes it as a peer; a host that does not
# trust the CA does not get in either.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd-lib.sh"
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }

URL=https://$(etcd_addr 1):2379
PKI=$WORKDIR/pki
mkdir -p "$PKI"
(
	cd "$PKI"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
		-days 2 -subj "/CN=ovtund test CA" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
		-subj "/CN=etcd" 2>/dev/null
	printf 'subjectAltName=IP:%s\n' "$(etcd_addr 1)" >ext.cnf
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		-CAcreateserial -out server.pem -days 2 -extfile ext.cnf 2>/dev/null
	# A CA nobody signed etcd's certificate with.
	openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key \
		-out other.pem -days 2 -subj "/CN=another CA" 2>/dev/null
) || fail "openssl could not make the certificates"

fleet_switch
switch_port e1 "$(etcd_addr 1)"
nsenter --net="/run/netns/$(ns e1)" -- "$ETCD" --name e1 \
	--data-dir "$WORKDIR/etcd1" \
	--listen-client-urls "$URL" --advertise-client-urls "$URL" \
	--listen-peer-urls "http://$(etcd_addr 1):2380" \
	--initial-advertise-peer-urls "http://$(etcd_addr 1):2380" \
	--initial-cluster "e1=http://$(etcd_addr 1):2380" \
	--cert-file "$PKI/server.pem" --key-file "$PKI/server.key" \
	--log-level error >>"$WORKDIR/etcd1.log" 2>&1 &
pid=$!
on_exit "kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null"

# tctl ARGS: etcdctl over TLS, as root once auth is on.
tctl() {
	ETCDCTL_API=3 nsx e1 timeout 10 "$ETCDCTL" --endpoints "$URL" \
		--cacert "$PKI/ca.pem" --dial-timeout 2s ${AUTH:+--user "$AUTH"} "$@"
}
for _ in $(seq 100); do
	tctl endpoint health >/dev/null 2>&1 && break
	sleep 0.2
done
tctl endpoint health >/dev/null 2>&1 || fail "etcd over TLS did not come up"

log "users limited to a prefix, auth on"
{
	tctl user add root:rootpw
	tctl user grant-role root root
	tctl role add overlay
	tctl role grant-permission overlay --prefix=true readwrite "$PREFIX/"
	tctl role add elsewhere
	tctl role grant-permission elsewhere --prefix=true readwrite /other/
	for i in 1 2 3 4; do tctl user add "host-$i:secret-$i"; done
	for i in 1 2 4; do tctl user grant-role "host-$i" overlay; done
	tctl user grant-role host-3 elsewhere
	tctl auth enable
} >/dev/null || fail "etcd user setup failed"
AUTH=root:rootpw

# tls_host I [CA]: host I logs in as host-I, trusting CA (default ours).
tls_host() {
	local i=$1 ca=${2:-$PKI/ca.pem}
	switch_port "b$i" "192.0.2.$i"
	ns_add "o$i"
	quiet_ns "o$i"
	(umask 077; printf 'secret-%s\n' "$i" >"$WORKDIR/pw$i")
	fleet_conf "$i" "ca_file = \"$ca\"" "username = \"host-$i\"" \
		"password_file = \"$WORKDIR/pw$i\"" >/dev/null
	sed -i "s|endpoints = .*|endpoints = \"$URL\"|" "$WORKDIR/b$i.conf"
	start_ovtund "b$i" "$WORKDIR/b$i.conf"
}

log "two hosts with their users find each other over TLS"
tls_host 1
tls_host 2
wait_all "$(now_ms)" 15 "1=host-2" "2=host-1" >/dev/null
ping_ok o1 10.0.0.2 2
assert_eq "$(etcd_show 1 "['registered']")" True "host-1 registered"
assert_eq "$(etcd_show 1 "['endpoint']")" "$URL" "endpoint"

log "a user limited to another prefix is refused"
tls_host 3
show_until 3 "['last_error']" "*permission denied*"
assert_eq "$(etcd_show 3 "['registered']")" False "host-3 registered"

log "a host that does not trust the CA does not get in"
tls_host 4 "$PKI/other.pem"
show_until 4 "['last_error']" "*certificate*"
sleep 1
assert_eq "$(peers_of 1)" host-2 "host-1's peers"
assert_eq "$(peers_of 2)" host-1 "host-2's peers"
assert_eq "$(tctl get --prefix --keys-only "$PREFIX/members/" | grep -c host)" 2 \
	"entries under the prefix"
log "ok"
