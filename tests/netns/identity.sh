#!/bin/bash
# Per-host identity (key pairs) against a member of the overlay turned
# attacker. Hosts A (b1) and B (b2) sit on two subnets that C (b3)
# routes between, so C is on the path of everything A and B exchange:
#   A u1 192.0.2.1/24 --- 192.0.2.254 ca [C] cb 198.51.100.254 --- u2 198.51.100.2/24 B
# (a) ovtunctl genkey | pubkey round trip, pubkey of RFC 7748's Alice;
#     key mode with no psk at all: ping both ways; the time from starting
#     the second daemon to the first ping reply is printed.
# (b) key mode, A and B also sharing the group psk that C holds, C with a
#     valid key of its own: C takes A's address (on its loopback, so that
#     B's packets to A end at C) and runs ovtund as "A" with B's public
#     key. C's initiations as A fail at B (handshake_auth_failed rises, B's
#     SAs for A stay as they were); B, restarted, initiates to A and C
#     cannot answer (its mac1 check fails: the initiation is keyed to A's
#     public key), so B never brings A up; once C lets go of A's address,
#     A and B talk again (within B's handshake retry interval).
# (c) the same with the group psk alone: C does complete a handshake as
#     A with B. This is what PSK-only mode cannot prevent (see README),
#     and it shows that (b)'s attack is a real one.
. "$(dirname "$0")/lib.sh"

A=192.0.2.1
B=198.51.100.2
PSK="group psk that C holds too"

# keypair NAME ROLE: NAME.key and NAME.pub, the key also as ROLE.key,
# which conf names.
keypair() {
	(umask 077 && "$OVTUNCTL" genkey >"$WORKDIR/$1.key")
	"$OVTUNCTL" pubkey <"$WORKDIR/$1.key" >"$WORKDIR/$1.pub"
	cp -p "$WORKDIR/$1.key" "$WORKDIR/$2.key"
}

# routed: the three boxes, overlay namespaces left (A) and right (B).
routed() {
	ns_add b1 b2 b3 left right
	quiet_ns left right
	wire b1 u1 "$A" b3 ca 192.0.2.254
	wire b2 u2 "$B" b3 cb 198.51.100.254
	ip -n "$(ns b1)" route add default via 192.0.2.254
	ip -n "$(ns b2)" route add default via 198.51.100.254
	nsx b3 sysctl -qw net.ipv4.ip_forward=1
}

# conf ROLE OVERLAY ADDRESS LOCAL PEER REMOTE PUBKEY_OF [PSK]: a key-mode
# config (no key file for PUBKEY_OF "": psk mode) with one peer.
conf() {
	local role=$1 overlay=$2 address=$3 local_ip=$4 peer=$5 remote=$6
	local keyof=$7 psk=${8:-} f="$WORKDIR/$1.conf"
	{
		echo "interface = \"ovt0\""
		echo "netns = \"$(ns "$overlay")\""
		echo "address = \"$address\""
		echo "encap = \"vxlan\""
		echo "key = 77"
		echo "local = \"$local_ip\""
		echo "control = \"$(ctl_sock "$role")\""
		[ -z "$keyof" ] || echo "private_key_file = \"$WORKDIR/$role.key\""
		echo "encryption {"
		echo "  cipher = \"chacha20-poly1305\""
		echo "  transport = \"udp\""
		[ -z "$psk" ] || echo "  psk = \"$psk\""
		echo "}"
		echo "peer \"$peer\" {"
		echo "  remote = \"$remote\""
		[ -z "$keyof" ] || echo "  public_key = \"$(cat "$WORKDIR/$keyof.pub")\""
		echo "}"
	} >"$f"
	echo "$f"
}

state() { json "$1" peers "j['peers'][0]['state']"; }

log "(a) keys: genkey | pubkey, the RFC 7748 vector, key mode without a psk"
keypair a b1
keypair b b2
keypair c b3
[ "$(stat -c %a "$WORKDIR/a.key")" = 600 ] || fail "genkey under umask 077: mode"
grep -Eqx '[A-Za-z0-9+/]{43}=' "$WORKDIR/a.key" || fail "genkey: not base64"
grep -Eqx '[A-Za-z0-9+/]{43}=' "$WORKDIR/a.pub" || fail "pubkey: not base64"
[ "$(cat "$WORKDIR/a.key")" != "$(cat "$WORKDIR/b.key")" ] || fail "genkey repeats"
[ "$("$OVTUNCTL" genpsk)" != "$("$OVTUNCTL" genpsk)" ] || fail "genpsk repeats"
assert_eq "$(echo dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo= | "$OVTUNCTL" pubkey)" \
	hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo= "pubkey of RFC 7748's Alice"
! echo "not a key" | "$OVTUNCTL" pubkey 2>/dev/null || fail "pubkey took garbage"

routed
start_ovtund b1 "$(conf b1 left 10.0.0.1/24 "$A" B "$B" b)"
t0=$(now_ms)
start_ovtund b2 "$(conf b2 right 10.0.0.2/24 "$B" A "$A" a)"
t1=$(first_ping right 10.0.0.1 10000)
log "second daemon start to first ping reply: $((t1 - t0)) ms"
ping_ok left 10.0.0.2
assert_eq "$(state b1)" up "A's peer B"
assert_eq "$(json b1 peers "j['peers'][0]['endpoint']")" "$B" "A's peer B: endpoint"
assert_eq "$(json b1 peers "j['peers'][0]['public_key']")" "$(cat "$WORKDIR/b.pub")" \
	"A's peer B: public_key"
assert_eq "$(drops b1 handshake_auth_failed)" 0 "A: handshake_auth_failed"
end_case

log "(b) key mode + group psk: C, holding A's address, cannot be A to B"
routed
start_ovtund b1 "$(conf b1 left 10.0.0.1/24 "$A" B "$B" b "$PSK")"
start_ovtund b2 "$(conf b2 right 10.0.0.2/24 "$B" A "$A" a "$PSK")"
ping_ok right 10.0.0.1
spi=$(json b2 sa "[s['spi'] for s in j['sas'] if s['dir'] == 'out'][0]")
# C takes A's address: B's packets to A now end at C.
ip -n "$(ns b3)" addr add "$A/32" dev lo
ns_add evil
start_ovtund b3 "$(conf b3 evil 10.0.0.1/24 "$A" B "$B" b "$PSK")"
nsx evil ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 || true
for _ in $(seq 30); do
	[ "$(drops b2 handshake_auth_failed)" -ge 1 ] && break
	sleep 0.1
done
assert_ge "$(drops b2 handshake_auth_failed)" 1 "B: C's initiations refused"
assert_eq "$(json b2 sa "[s['spi'] for s in j['sas'] if s['dir'] == 'out'][0]")" \
	"$spi" "B's outbound SA for A"
# B starts over and initiates to A: C receives it and cannot answer.
stop_ovtund b2
start_ovtund b2 "$WORKDIR/b2.conf"
nsx right ping -c 3 -i 0.3 -W 1 10.0.0.1 >/dev/null 2>&1 || true
assert_ge "$(drops b3 handshake_auth_failed)" 1 "C: B's initiations to A"
[ "$(state b2)" != up ] || fail "B brought A up while C held A's address"
[ "$(state b3)" != up ] || fail "C completed a handshake as A"
stop_ovtund b3
ip -n "$(ns b3)" addr del "$A/32" dev lo
# B's next retransmission (backed off to 8 s, plus jitter) reaches A.
first_ping right 10.0.0.1 15000 >/dev/null
ping_ok right 10.0.0.1
end_case

log "(c) the group psk alone: C can be A to B (what PSK mode cannot prevent)"
routed
start_ovtund b2 "$(conf b2 right 10.0.0.2/24 "$B" A "$A" "" "$PSK")"
ip -n "$(ns b3)" addr add "$A/32" dev lo
ns_add evil
start_ovtund b3 "$(conf b3 evil 10.0.0.1/24 "$A" B "$B" "" "$PSK")"
ping_ok evil 10.0.0.2
assert_eq "$(state b2)" up "B's peer 'A' (really C)"
end_case
log "PASS"
