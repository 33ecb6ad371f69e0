#!/bin/bash
# Encrypted tunnels end to end, for every encapsulation (vxlan 123, geneve
# 123, gretap key 123) x cipher (chacha20-poly1305, aes256-gcm) x ESP
# transport (ip, udp) over an IPv4 underlay, plus vxlan/chacha20/ip and
# gretap/aes256/udp over IPv6. In each case:
# - ping both ways and a 2 MiB TCP transfer with checksums compared; the
#   time from starting the second daemon to the first ping reply is
#   printed;
# - `ovtunctl --json sa` on both ends: one out SA, in SAs, the configured
#   cipher, b1's out SPI among b2's in SPIs and the other way round; the
#   peer state is "up"; no drop counter moved (but handshake_replay and
#   handshake_stale, which crossing initiations at start-up may bump by
#   design, see doc/handshake.md);
# - the underlay (captured in b2's namespace while each side pings) carries
#   nothing but ESP (IP protocol 50, or UDP 4500 -> 4500 for transport udp)
#   and the key exchange (UDP 4797): no GRE, VXLAN or Geneve in clear, no
#   malformed packet or expert error, every UDP checksum good (tx offload
#   off on the veths, so the kernel completes them) or, inside ESP over
#   IPv4, absent;
# - aes256-gcm: tshark, given the key log lines as uat:esp_sa records,
#   checks every ICV and dissects down to VXLAN/Geneve/GRE with VNI/key
#   123, Ethernet and ICMP echo requests and replies;
# - both ciphers: tests/netns/lib.sh's esptool (Python, python3-
#   cryptography) decrypts every ESP packet with the key log (RFC 7634 /
#   RFC 4106: nonce = salt || IV, AAD = SPI || seq), and checks the
#   RFC 4303 padding, the next header (17 for vxlan/geneve with UDP to
#   4789/6081 and a checksum over the outer addresses, 47 for gretap), the
#   VNI or GRE key 123 and inner ICMP echo requests and replies;
# - the two ends seal with different AEAD engines (crypto_engine libsodium
#   against openssl, both ways, and auto), where the build has OpenSSL:
#   each SA in `ovtunctl sa` names the engine configured (auto: the one
#   `ovtunctl show` says auto picks, from its measured figures);
# - SIGTERM stops both daemons cleanly.
. "$(dirname "$0")/lib.sh"

for tool in tshark ethtool; do
	command -v "$tool" >/dev/null ||
		{ echo "SKIP: $(basename "$0") needs $tool"; exit 77; }
done
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
	{ echo "SKIP: $(basename "$0") needs python3-cryptography"; exit 77; }

# Drops that may happen in a healthy start: crossing initiations.
BENIGN="handshake_replay handshake_stale"
FIELDS=(frame.protocols _ws.expert.severity udp.srcport udp.dstport
	udp.checksum.status esp.icv_good esp.icv_bad icmp.type vxlan.vni
	geneve.vni gre.key icmpv6.type)
TIMES=()

# wire_check PCAP TRANSPORT ENCAP DECRYPTED: one tshark pass, judged in
# Python; DECRYPTED=1 when tshark was given the keys (aes256-gcm).
wire_check() {
	local pcap=$1 tr=$2 encap=$3 dec=$4 opts=() line f
	for f in "${FIELDS[@]}"; do opts+=(-e "$f"); done
	if [ "$dec" = 1 ]; then
		opts+=(-o esp.enable_encryption_decode:TRUE
			-o esp.enable_authentication_check:TRUE)
		while read -r line; do
			opts+=(-o "uat:esp_sa:$line")
		done < <(grep -v '^#' "$WORKDIR/keylog" | sort -u)
	fi
	# The TCP transfer's random payload is data: no heuristic dissector
	# gets to mistake it for a protocol and call it malformed.
	tshark -n -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-d tcp.port==5001,data -r "$pcap" -T fields "${opts[@]}" >"$pcap.txt" \
		2>"$WORKDIR/tshark.err" ||
		{ cat "$WORKDIR/tshark.err" >&2; fail "tshark failed on $pcap"; }
	/usr/bin/python3 - "$pcap.txt" "$tr" "$encap" "$dec" <<'PY' ||
import sys
path, tr, encap, dec = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1'
n = dict(esp=0, hs=0, icmp=0, icv_good=0, req=0, rep=0)
bad = []
for no, line in enumerate(open(path), 1):
    f = line.rstrip('\n').split('\t')
    prot, sev, sp, dp, ck, good, icvbad, icmp, vni, gvni, gkey, icmp6 = f
    layers = prot.split(':')
    sp, dp = sp.split(','), dp.split(',')
    outer = layers[:layers.index('esp')] if 'esp' in layers else layers
    if 'malformed' in prot or any(int(s, 0) >= 0x800000 for s in sev.split(',') if s):
        bad.append('%d: malformed or expert error (%s)' % (no, prot))
    # Good, or over IPv4 absent (3): the UDP header inside ESP carries
    # none there (RFC 7348 5).
    if any(c != '1' and (c != '3' or 'ipv6' in outer) for c in ck.split(',') if c):
        bad.append('%d: udp checksum status %s' % (no, ck))
    ports = set(sp[:1] + dp[:1]) if 'udp' in outer else set()
    if set(outer) & {'gre', 'vxlan', 'geneve'} or {'4789', '6081'} & ports:
        bad.append('%d: tunnel in clear: %s' % (no, prot))
    elif 'esp' in layers and (tr == 'ip') == ('udp' not in outer) and \
            (tr == 'ip' or (sp[0], dp[0]) == ('4500', '4500')):
        n['esp'] += 1
    elif 'esp' not in layers and 'udp' in layers and (sp[0], dp[0]) == ('4797', '4797'):
        n['hs'] += 1
    elif icmp6 in ('135', '136') or (icmp == '3' or icmp6 == '1') and dp == ['4797']:
        n['icmp'] += 1      # neighbour discovery; a key exchange before b2 listened
    else:
        bad.append('%d: neither ESP (%s) nor key exchange: %s %s>%s' % (no, tr, prot, sp, dp))
    if dec and 'esp' in layers:
        n['icv_good'] += good == '1' and icvbad != '1'
        key = {'vxlan': vni, 'geneve': gvni, 'gretap': gkey}[encap]
        inner = layers[layers.index('esp') + 1:]
        want = {'vxlan': ['udp', 'vxlan'], 'geneve': ['udp', 'geneve'], 'gretap': ['gre']}[encap]
        if inner[:len(want)] == want and 'eth' in inner and int(key or '-1', 0) == 123:
            n['req'] += icmp == '8'
            n['rep'] += icmp == '0'
if n['esp'] < 100 or n['hs'] < 2:
    bad.append('only %(esp)d ESP packets, %(hs)d key exchange messages' % n)
if dec and (n['icv_good'] != n['esp'] or n['req'] < 4 or n['rep'] < 4):
    bad.append('tshark decryption: %r' % n)
print('%(esp)d ESP, %(hs)d key exchange, %(icmp)d ICMP' % n + (', tshark: %(icv_good)d ICVs good, '
      '%(req)d echo requests, %(rep)d replies inside' % n if dec else ''))
if bad:
    print('\n'.join(bad[:20]), file=sys.stderr)
    sys.exit(1)
PY
		fail "wire check of $pcap"
}

# esp_check PCAP ENCAP CIPHER FAMILY: decryption by esptool, judged here.
# The UDP header inside ESP has no checksum over IPv4, one over IPv6.
esp_check() {
	local r want zero
	r=$(esptool decrypt "$1" "$WORKDIR/keylog") || fail "esptool failed on $1"
	zero="j['csum_zero'] == j['nh'].get('17', 0)"
	[ "$4" = 4 ] || zero="j['csum_zero'] == 0"
	case $2 in
	vxlan) want="j['nh'].get('17', 0) > 0 and j['vni'] == ['vxlan:123'] and $zero" ;;
	geneve) want="j['nh'].get('17', 0) > 0 and j['vni'] == ['geneve:123'] and $zero" ;;
	gretap) want="j['nh'].get('47', 0) > 0 and j['gre_key'] == [123]" ;;
	esac
	case $3 in
	aes256-gcm) want="$want and j['ciphers'] == ['AES-GCM with 16 octet ICV [RFC4106]']" ;;
	*) want="$want and j['ciphers'] == ['ChaCha20-Poly1305 [RFC7634]']" ;;
	esac
	[ "$(pyeval "$r" "j['esp'] >= 100 and j['ok'] == j['esp'] and j['n_errors'] == 0
		and j['csum_bad'] == 0 and j['addr_mismatch'] == 0 and $want
		and j['icmp'].get('8', 0) >= 4 and j['icmp'].get('0', 0) >= 4
		and set(j['nh']) <= {'17', '47', '59'}")" = True ] ||
		fail "python decryption: $r"
	log "python: $(pyeval "$r" "'%d/%d ESP packets decrypted, next headers %s, %s, icmp %s' % (j['ok'], j['esp'], j['nh'], j['vni'] or j['gre_key'], j['icmp'])")"
}

# state_check CIPHER ENGINE1 ENGINE2: b1's and b2's SAs, peers, drop
# counters and crypto engines, judged in one go: each end has one out SA,
# and in SAs; every SA has the cipher and the end's engine (auto: the one
# `ovtunctl show` says auto picks for the cipher, measured); each end's
# out SPI is among the other's in SPIs; both peers are "up" with that
# encryption; no drop counter but the BENIGN ones moved.
state_check() {
	local r=() role cmd
	for role in b1 b2; do
		for cmd in sa peers stats show; do
			r+=("$(ctl "$role" --json "$cmd")")
		done
	done
	/usr/bin/python3 - "$1" "$BENIGN" "$2" "$3" "${r[@]}" <<'PY' || fail "state of b1/b2"
import json, sys
cipher, benign, e1, e2 = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]
sa1, p1, st1, sh1, sa2, p2, st2, sh2 = [json.loads(x) for x in sys.argv[5:]]
bad = []
for me, sa, other, p, st, sh, eng in (('b1', sa1, sa2, p1, st1, sh1, e1),
                                      ('b2', sa2, sa1, p2, st2, sh2, e2)):
    out = [s['spi'] for s in sa['sas'] if s['dir'] == 'out']
    ins = [s['spi'] for s in other['sas'] if s['dir'] == 'in']
    if len(out) != 1 or out[0] not in ins or not any(s['dir'] == 'in' for s in sa['sas']):
        bad.append('%s: out %s, the other end\'s in %s' % (me, out, ins))
    if any(s['cipher'] != cipher for s in sa['sas']):
        bad.append('%s: SA ciphers %s' % (me, [s['cipher'] for s in sa['sas']]))
    rows = [a for a in sh['aead'] if a['cipher'] == cipher]
    picked = [a['engine'] for a in rows if a['auto'] is True]
    if sh['crypto_engine'] != eng or len(picked) != 1 or \
            any(type(a['sealed_mb_s']) is not int or a['sealed_mb_s'] <= 0 for a in rows):
        bad.append('%s: show: crypto_engine %s, aead %s' % (me, sh['crypto_engine'], sh['aead']))
    want = picked[0] if eng == 'auto' and picked else eng
    if any(s['engine'] != want for s in sa['sas']):
        bad.append('%s: SA engines %s, want %s' % (me, [s['engine'] for s in sa['sas']], want))
    peer = p['peers'][0]
    if (peer['state'], peer['encryption']) != ('up', cipher):
        bad.append('%s: peer %s %s' % (me, peer['state'], peer['encryption']))
    drops = {k: v for k, v in st['drops'].items() if v and k not in benign}
    if drops:
        bad.append('%s: drops %s' % (me, drops))
if bad:
    print('\n'.join(bad), sa1, sa2, file=sys.stderr)
    sys.exit(1)
print(' '.join('%s %s' % (me, {k: st['drops'][k] for k in benign if st['drops'][k]} or 'none')
               for me, st in (('b1', st1), ('b2', st2))))
PY
}

# The engine pairs the cases take in turn: each end seals what the other
# opens. Without OpenSSL in the build, libsodium on both.
ENGINES=(libsodium:openssl openssl:libsodium auto:openssl libsodium:auto)
printf 'crypto_engine = "openssl"\n' >"$WORKDIR/openssl.conf"
"$OVTUND" -t -c "$WORKDIR/openssl.conf" >/dev/null 2>&1 ||
	{ log "no OpenSSL in this build: libsodium on both ends"; ENGINES=(libsodium:libsodium); }
N_CASE=0

run_case() {
	local encap=$1 cipher=$2 tr=$3 fam=$4 t1 cap dec=0 out e1 e2
	e1=${ENGINES[N_CASE % ${#ENGINES[@]}]}
	e2=${e1#*:}
	e1=${e1%:*}
	N_CASE=$((N_CASE + 1))
	log "case: $encap $cipher transport=$tr IPv$fam underlay, engines $e1 / $e2"
	enc_setup "$encap" 123 "$fam" "$cipher" "$tr"
	echo "crypto_engine = \"$e1\"" >>"$WORKDIR/b1.conf"
	echo "crypto_engine = \"$e2\"" >>"$WORKDIR/b2.conf"
	# The wire from before the first key exchange, with real UDP
	# checksums: the kernel completes them before the capture tap.
	nsx b1 ethtool -K u1 tx off >/dev/null
	nsx b2 ethtool -K u2 tx off >/dev/null
	cap=$WORKDIR/wire.pcap
	enc_cap_start b2 u2 "$cap" "(ip or ip6) and host $(underlay_addr 1 "$fam") and host $(underlay_addr 2 "$fam")"
	enc_start
	t1=$(first_ping left 10.0.0.2 5000)
	log "first reply $((t1 - ENC_T0)) ms after b2 started ($((ENC_T1 - ENC_T0)) ms to its control socket)"
	TIMES+=("$encap/$cipher/$tr/v$fam:$((t1 - ENC_T0))")
	ping_ok left 10.0.0.2 3
	ping_ok right 10.0.0.1 3
	tcp_transfer left right 10.0.0.2
	enc_cap_stop
	out=$(state_check "$cipher" "$e1" "$e2")
	log "SAs match, peers up; benign drops: $out"

	[ "$cipher" = aes256-gcm ] && dec=1
	out=$(wire_check "$cap" "$tr" "$encap" "$dec")
	log "tshark: $out"
	esp_check "$cap" "$encap" "$cipher" "$fam"

	stop_ovtund b1
	stop_ovtund b2
	end_case
	rm -f "$WORKDIR/keylog"
}

for encap in vxlan geneve gretap; do
	for cipher in chacha20-poly1305 aes256-gcm; do
		for tr in ip udp; do
			run_case "$encap" "$cipher" "$tr" 4
		done
	done
done
run_case vxlan chacha20-poly1305 ip 6
run_case gretap aes256-gcm udp 6
log "ms from starting b2 to the first reply: ${TIMES[*]}"
echo "encrypted: all cases passed"
