# shellcheck shell=bash
# lib.sh - shared setup, teardown and assertions for the namespace tests.
# Source it first thing; it installs the cleanup trap. Every namespace it
# makes carries a per-run suffix, every daemon runs inside a namespace, and
# everything is torn down on exit. Nothing is sent from the root namespace.

set -eu

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: $(basename "$0") needs root (network namespaces)"
	exit 77
fi

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
OVTUND=${OVTUND:-$top_builddir/ovtund}
OVTUNCTL=${OVTUNCTL:-$top_builddir/ovtunctl}
# Optional wrapper for the daemon (e.g. "valgrind --error-exitcode=99 ...").
OVTUND_WRAPPER=${OVTUND_WRAPPER:-}

RUN_ID=$(printf '%04x%s' $(($$ % 65536)) "$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')")
WORKDIR=$(mktemp -d "/tmp/ovt-$RUN_ID.XXXXXX")
NAMESPACES=()
DAEMON_PIDS=()
CLEANUPS=()

# Namespace names: ovt<run><role>, short enough for any tool.
ns() { echo "ovt$RUN_ID$1"; }

log() { echo "# $*"; }

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# end_case: every daemon still running stopped (SIGTERM, then SIGKILL
# after 5 s), every namespace deleted: the next case starts afresh.
end_case() {
	local pid i n
	for pid in "${DAEMON_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${DAEMON_PIDS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	DAEMON_PIDS=()
	for n in "${NAMESPACES[@]}"; do
		ip netns del "$n" 2>/dev/null || true
	done
	NAMESPACES=()
}

cleanup() {
	local rc=$? i
	set +e
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[i]}"
	done
	end_case
	if [ "$rc" != 0 ] && [ -n "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $WORKDIR" >&2
	else
		rm -rf "$WORKDIR"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

on_exit() { CLEANUPS+=("$*"); }

# ns_add ROLE...: creates namespaces with loopback up.
ns_add() {
	local role n
	for role in "$@"; do
		n=$(ns "$role")
		ip netns add "$n"
		NAMESPACES+=("$n")
		ip -n "$n" link set lo up
	done
}

nsx() {
	local n
	n=$(ns "$1")
	shift
	ip netns exec "$n" "$@"
}

# wire ROLE_A DEV_A ADDR_A ROLE_B DEV_B ADDR_B: a veth between two
# namespaces, created directly inside them, with addresses (IPv4 /24 or
# IPv6 /64, no DAD so the test need not wait).
wire() {
	local a b
	a=$(ns "$1")
	b=$(ns "$4")
	ip link add "$2" netns "$a" type veth peer name "$5" netns "$b"
	addr_up "$1" "$2" "$3"
	addr_up "$4" "$5" "$6"
}

addr_up() {
	local n
	n=$(ns "$1")
	case $3 in
	*:*) ip -n "$n" addr add "$3/64" dev "$2" nodad ;;
	?*) ip -n "$n" addr add "$3/24" dev "$2" ;;
	esac
	ip -n "$n" link set "$2" up
}

# write_conf FILE KEY=VALUE... [peer NAME REMOTE [KEY=VALUE...]]...
# is left to the tests: a heredoc reads better. This names the control
# socket of a role.
ctl_sock() { echo "$WORKDIR/$1.sock"; }

# start_ovtund ROLE CONF: runs the daemon in the foreground inside the
# role's namespace and waits until its control socket answers.
start_ovtund() {
	local role=$1 conf=$2 pid i
	# nsenter execs the daemon itself (ip netns exec may fork), so $! is
	# the daemon's PID and signals reach it.
	# shellcheck disable=SC2086
	nsenter --net="/run/netns/$(ns "$role")" -- $OVTUND_WRAPPER \
		"$OVTUND" -f -v -c "$conf" >"$WORKDIR/$role.log" 2>&1 &
	pid=$!
	DAEMON_PIDS+=("$pid")
	eval "PID_$role=$pid"
	for i in $(seq 100); do
		if "$OVTUNCTL" -s "$(ctl_sock "$role")" show >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORKDIR/$role.log" >&2
	fail "ovtund for $role did not come up"
}

# stop_ovtund ROLE: SIGTERM, then waits; fails if the daemon does not exit
# cleanly within 5 s.
stop_ovtund() {
	local role=$1 pid rc
	eval "pid=\$PID_$role"
	kill -TERM "$pid"
	rc=0
	timeout 5 tail --pid="$pid" -f /dev/null || fail "$role: no exit on SIGTERM"
	wait "$pid" || rc=$?
	forget_pid "$pid"
	[ "$rc" = 0 ] || fail "$role: ovtund exited with $rc"
}

# forget_pid PID: the process is gone; cleanup must not signal its PID,
# which the system may hand to another process.
forget_pid() {
	local keep=() p
	for p in "${DAEMON_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	DAEMON_PIDS=("${keep[@]}")
}

ctl() {
	local role=$1
	shift
	"$OVTUNCTL" -s "$(ctl_sock "$role")" "$@"
}

# json ROLE COMMAND PYEXPR: evaluates a Python expression over the parsed
# `ovtunctl --json COMMAND` answer (bound to j) and prints the result.
json() {
	local out
	out=$(ctl "$1" --json "$2")
	/usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$out" "$3"
}

# ping_ok ROLE ADDR [COUNT]: the overlay answers; up to 5 s for the first
# reply (ARP, neighbour discovery), then every ping must come back.
ping_ok() {
	local role=$1 addr=$2 count=${3:-3}
	nsx "$role" ping -c 1 -W 5 "$addr" >/dev/null ||
		fail "$role: no reply from $addr"
	nsx "$role" ping -c "$count" -i 0.2 -W 2 "$addr" >/dev/null ||
		fail "$role: lost pings to $addr"
}

# tcp_transfer FROM TO ADDR: sends 2 MiB of random bytes over TCP across the
# overlay and compares checksums on both ends.
tcp_transfer() {
	local from=$1 to=$2 addr=$3 port=5001 in out sum_in sum_out pid
	in="$WORKDIR/tcp.in"
	out="$WORKDIR/tcp.out"
	head -c 2097152 /dev/urandom >"$in"
	rm -f "$out"
	nsx "$to" timeout 20 socat -u "TCP-LISTEN:$port,reuseaddr" \
		"OPEN:$out,creat,trunc" &
	pid=$!
	for _ in $(seq 50); do
		nsx "$to" ss -ltn | grep -q ":$port " && break
		sleep 0.1
	done
	nsx "$from" timeout 20 socat -u "OPEN:$in" "TCP:$addr:$port" ||
		fail "tcp transfer to $addr failed"
	wait "$pid" || fail "tcp receiver on $to failed"
	sum_in=$(sha256sum <"$in")
	sum_out=$(sha256sum <"$out")
	[ "$sum_in" = "$sum_out" ] || fail "tcp transfer to $addr corrupted"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

assert_ge() {
	[ "$1" -ge "$2" ] || fail "${3:-value}: expected >= $2, got $1"
}

# underlay_addr HOST FAMILY: the underlay address of box HOST (1, 2, 3).
underlay_addr() {
	if [ "$2" = 6 ]; then echo "fd00:5::$1"; else echo "192.0.2.$1"; fi
}

# ovtund_conf ROLE OVERLAY_NS ADDRESS ENCAP KEY LOCAL [PEER_NAME REMOTE]...
# writes $WORKDIR/ROLE.conf for a daemon whose TAP goes into OVERLAY_NS.
ovtund_conf() {
	local role=$1 overlay=$2 address=$3 encap=$4 key=$5 local_ip=$6 f
	shift 6
	f="$WORKDIR/$role.conf"
	{
		echo "interface = \"ovt0\""
		echo "netns = \"$(ns "$overlay")\""
		echo "address = \"$address\""
		echo "encap = \"$encap\""
		[ -z "$key" ] || echo "key = $key"
		echo "local = \"$local_ip\""
		echo "control = \"$(ctl_sock "$role")\""
		# OVTUND_OFFLOAD=no runs a test with the TAP offloads off,
		# OVTUND_WORKERS=N with N worker threads (default: auto).
		[ -z "${OVTUND_OFFLOAD:-}" ] || echo "offload = $OVTUND_OFFLOAD"
		[ -z "${OVTUND_WORKERS:-}" ] || echo "workers = $OVTUND_WORKERS"
		while [ $# -ge 2 ]; do
			printf 'peer "%s" {\n  remote = "%s"\n}\n' "$1" "$2"
			shift 2
		done
	} >"$f"
	echo "$f"
}

# two_hosts ENCAP KEY FAMILY: box b1 and b2 on a veth wire, each running
# ovtund with its TAP in overlay namespace left (10.0.0.1) or right
# (10.0.0.2), the classic lab.
two_hosts() {
	local encap=$1 key=$2 fam=$3 a1 a2
	a1=$(underlay_addr 1 "$fam")
	a2=$(underlay_addr 2 "$fam")
	ns_add b1 b2 left right
	wire b1 u1 "$a1" b2 u2 "$a2"
	start_ovtund b1 "$(ovtund_conf b1 left 10.0.0.1/24 "$encap" "$key" \
		"$a1" box-2 "$a2")"
	start_ovtund b2 "$(ovtund_conf b2 right 10.0.0.2/24 "$encap" "$key" \
		"$a2" box-1 "$a1")"
}

# underlay_switch N: boxes b1..bN on one L2 segment, a Linux bridge in
# namespace sw, with 192.0.2.I/24 on each box's u<I>.
underlay_switch() {
	local n=$1 i
	ns_add sw
	ip -n "$(ns sw)" link add br0 type bridge stp_state 0
	ip -n "$(ns sw)" link set br0 up
	for i in $(seq "$n"); do
		ns_add "b$i"
		ip link add "u$i" netns "$(ns "b$i")" type veth \
			peer name "p$i" netns "$(ns sw)"
		ip -n "$(ns sw)" link set "p$i" master br0 up
		addr_up "b$i" "u$i" "$(underlay_addr "$i" 4)"
	done
}

# quiet_ns ROLE...: no IPv6 there, so no router solicitations or MLD
# reports: counters move only with the traffic a test makes.
quiet_ns() {
	local role
	for role in "$@"; do
		nsx "$role" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
}

# rss_bounds_apply PID: whether memory figures of that daemon mean what
# they say. Under AddressSanitizer (the CI's second pass) freed memory sits
# in quarantine, so RSS bounds are reported, not asserted.
rss_bounds_apply() {
	if grep -q libasan "/proc/$1/maps" 2>/dev/null; then
		log "NOTE: PID $1 runs under AddressSanitizer: RSS bounds not asserted"
		return 1
	fi
	return 0
}

# fdb_sampler ROLE FILE SECONDS: in the background, ROLE's MAC table size
# every 0.25 s into FILE, for at most SECONDS or until FILE.done exists;
# its PID in SAMPLER_PID (killed on exit).
fdb_sampler() {
	(
		for _ in $(seq $(($3 * 4))); do
			[ -e "$2.done" ] && break
			json "$1" stats "j['fdb']['entries']" 2>/dev/null
			sleep 0.25
		done
	) >"$2" &
	SAMPLER_PID=$!
	on_exit 'kill $SAMPLER_PID 2>/dev/null'
}

# mac_of ROLE DEV: the MAC address of DEV inside the role's namespace.
mac_of() {
	cat "/sys/class/net/$2/address" 2>/dev/null && return
	nsx "$1" cat "/sys/class/net/$2/address"
}

# --- added by encrypted tests ---
# Helpers for encrypted.sh, esp-attacks.sh and rekey-restart.sh.

# now_ms: the monotonic-enough wall clock in milliseconds.
now_ms() { date +%s%3N; }

# enc_block FILE CIPHER TRANSPORT [PSK [LINE...]]: appends a top-level
# encryption block to a config written by ovtund_conf, plus a key log that
# both daemons of a test share ($WORKDIR/keylog). LINEs go in the block
# as they are (e.g. "rekey_after = 10").
enc_block() {
	local f=$1 cipher=$2 transport=$3 psk=${4:-ovtund test psk} line
	shift 3
	[ $# -eq 0 ] || shift
	{
		echo "keylog = \"$WORKDIR/keylog\""
		echo "encryption {"
		echo "  psk = \"$psk\""
		echo "  cipher = \"$cipher\""
		echo "  transport = \"$transport\""
		for line in "$@"; do echo "  $line"; done
		echo "}"
	} >>"$f"
}

# enc_setup ENCAP KEY FAMILY CIPHER TRANSPORT [PSK_OF_B2 [LINE...]]: the
# two_hosts lab with encryption on both daemons, namespaces and configs
# only; enc_start then starts the daemons. IPv6 is off in the overlay
# namespaces, so that nothing but the test's own traffic crosses the
# tunnel.
enc_setup() {
	local encap=$1 key=$2 fam=$3 cipher=$4 transport=$5 psk2=${6:-} a1 a2
	local role
	shift 5
	[ $# -eq 0 ] || shift
	a1=$(underlay_addr 1 "$fam")
	a2=$(underlay_addr 2 "$fam")
	ns_add b1 b2 left right
	for role in left right; do
		nsx "$role" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
	wire b1 u1 "$a1" b2 u2 "$a2"
	enc_block "$(ovtund_conf b1 left 10.0.0.1/24 "$encap" "$key" "$a1" \
		box-2 "$a2")" "$cipher" "$transport" "" "$@"
	enc_block "$(ovtund_conf b2 right 10.0.0.2/24 "$encap" "$key" "$a2" \
		box-1 "$a1")" "$cipher" "$transport" "$psk2" "$@"
}

# enc_start: starts b1, then b2; ENC_T0 (ms) is when b2 starts, ENC_T1
# when its control socket answers.
enc_start() {
	start_ovtund b1 "$WORKDIR/b1.conf"
	ENC_T0=$(now_ms)
	start_ovtund b2 "$WORKDIR/b2.conf"
	ENC_T1=$(now_ms)
}

# enc_hosts ARGS...: enc_setup ARGS..., then enc_start.
enc_hosts() {
	enc_setup "$@"
	enc_start
}

# first_ping ROLE ADDR LIMIT_MS: pings once every ~0.2 s until a reply or
# LIMIT_MS; prints the ms at which the reply came (now_ms). Fails at the
# limit.
first_ping() {
	local role=$1 addr=$2 limit=$3 start
	start=$(now_ms)
	while :; do
		if nsx "$role" ping -c 1 -W 0.2 "$addr" >/dev/null 2>&1; then
			now_ms
			return 0
		fi
		[ $(($(now_ms) - start)) -lt "$limit" ] ||
			fail "$role: no reply from $addr within $limit ms"
		sleep 0.02
	done
}

# drops ROLE [NAME...]: the sum of the named drop counters, or of all of
# them without names.
drops() {
	local role=$1 expr
	shift
	if [ $# -eq 0 ]; then
		expr="sum(j['drops'].values())"
	else
		expr="sum(j['drops'][k] for k in '$*'.split())"
	fi
	json "$role" stats "$expr"
}

# enc_cap_start ROLE DEV FILE FILTER: captures inside ROLE's namespace
# with dumpcap (it starts in a tenth of tshark's time) into a classic pcap,
# bounded by count (20000) and time (90 s), and returns once dumpcap has
# written the file header (the interface is open and filtered). The PID
# (dumpcap's own: nsenter execs) is in ENC_CAP_PID.
ENC_CAP_PID=
enc_cap_kill() {
	[ -z "$ENC_CAP_PID" ] || kill -TERM "$ENC_CAP_PID" 2>/dev/null
	ENC_CAP_PID=
}
enc_cap_start() {
	[ -n "${ENC_CAP_TRAP:-}" ] || { on_exit enc_cap_kill; ENC_CAP_TRAP=1; }
	rm -f "$3"
	nsenter --net="/run/netns/$(ns "$1")" -- dumpcap -q -i "$2" -c 20000 \
		-a duration:90 -P -w "$3" -f "$4" >"$3.log" 2>&1 &
	ENC_CAP_PID=$!
	for _ in $(seq 200); do
		[ -s "$3" ] && return 0
		kill -0 "$ENC_CAP_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$3.log" >&2
	fail "dumpcap did not start capturing on $2"
}

# enc_cap_stop: lets dumpcap drain, then stops it (SIGTERM; it closes the
# file properly) and waits for it, at most 5 s.
enc_cap_stop() {
	local pid=$ENC_CAP_PID
	sleep 0.3
	ENC_CAP_PID=
	kill -TERM "$pid" 2>/dev/null || true
	timeout 5 tail --pid="$pid" -f /dev/null || kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
}

# pyeval JSON EXPR: evaluates a Python expression over parsed JSON (j).
pyeval() {
	/usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval("(" + sys.argv[2] + ")"))' "$1" "$2"
}

# esptool COMMAND ARG...: an ESP toolbox in Python, independent of ovtund's
# code (python3-cryptography for the AEADs; packets parsed by hand):
#   decrypt PCAP KEYLOG   decrypts every ESP packet (IP protocol 50 or UDP
#                         4500) of a classic pcap with the keys of the key
#                         log, checks RFC 4303 padding, the next header,
#                         the inner UDP checksum (over the outer addresses;
#                         0 allowed over IPv4, counted as csum_zero),
#                         the VXLAN/Geneve/GRE header, and prints a JSON
#                         summary
#   last PCAP SRC [MIN]   the last ESP packet from SRC of at least MIN
#                         bytes (ESP header to ICV): "SPI SEQ HEX"
#   reseal HEX KEYLOG SEQ [flip]  opens the ESP packet HEX and seals its
#                         payload again with sequence number (and IV) SEQ;
#                         flip inverts one ciphertext byte afterwards
#   send DST HEX COUNT [udp]  sends the bytes COUNT times as IP protocol
#                         50, or as UDP 4500 -> 4500 (checksum 0, IPv4)
#   udp DST PORT HEX      sends one UDP datagram
#   count PCAP            how many packets PCAP holds
# esptool runs here; `nsx ROLE /usr/bin/python3 "$(esptool_py)" ...` runs
# it in a role's namespace (send, udp).
esptool() { /usr/bin/python3 "$(esptool_py)" "$@"; }
esptool_py() {
	[ -s "$WORKDIR/esptool.py" ] || cat >"$WORKDIR/esptool.py" <<'PY'
import csv, json, socket, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

def frames(path):
    d = open(path, 'rb').read()
    e = '<' if d[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    assert struct.unpack(e + 'I', d[20:24])[0] == 1, 'not ethernet'
    off = 24
    while off + 16 <= len(d):
        n = struct.unpack(e + 'I', d[off + 8:off + 12])[0]
        yield d[off + 16:off + 16 + n]
        off += 16 + n

def esp_packets(path):
    for f in frames(path):
        et, p = struct.unpack('>H', f[12:14])[0], f[14:]
        if et == 0x0800:
            ihl, proto = (p[0] & 15) * 4, p[9]
            fam, src, dst = socket.AF_INET, p[12:16], p[16:20]
            pl = p[ihl:struct.unpack('>H', p[2:4])[0]]
        elif et == 0x86dd:
            proto, fam, src, dst = p[6], socket.AF_INET6, p[8:24], p[24:40]
            pl = p[40:40 + struct.unpack('>H', p[4:6])[0]]
        else:
            continue
        if proto == 50:
            tr = 'ip'
        elif proto == 17 and pl[0:4] == b'\x11\x94\x11\x94' and len(pl) > 16:
            tr, pl = 'udp', pl[8:]
        else:
            continue
        yield dict(fam=fam, src=src, dst=dst, tr=tr, esp=pl,
                   s=socket.inet_ntop(fam, src), d=socket.inet_ntop(fam, dst))

def keylog(path):
    keys = {}
    for line in open(path):
        line = line.strip()
        if line.startswith('# '):
            line = line[2:]
        if not line.startswith('"IPv'):
            continue
        r = next(csv.reader([line]))
        keys[int(r[3], 16)] = (r[1], r[2], r[4], bytes.fromhex(r[5][2:]))
    return keys

def aead(cipher, keymat):
    return (ChaCha20Poly1305 if cipher.startswith('ChaCha20') else AESGCM)(keymat[:32])

def esp_open(esp, keys):
    spi, seq = struct.unpack('>II', esp[:8])
    src, dst, cipher, km = keys[spi]
    pt = aead(cipher, km).decrypt(km[32:36] + esp[8:16], esp[16:], esp[:8])
    return spi, seq, src, dst, cipher, pt

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s

def decrypt(pcap, kl):
    keys, r = keylog(kl), dict(esp=0, ok=0, n_errors=0, errors=[], nh={}, vni=[],
        gre_key=[], icmp={}, arp=0, dummy=0, csum_bad=0, csum_zero=0, tr=[],
        addr_mismatch=0, ciphers=[])
    def error(msg):
        r['n_errors'] += 1
        if len(r['errors']) < 5:
            r['errors'].append(msg)
    def add(lst, v):
        if v not in lst:
            lst.append(v)
    for pk in esp_packets(pcap):
        r['esp'] += 1
        add(r['tr'], pk['tr'])
        try:
            spi, seq, src, dst, cipher, pt = esp_open(pk['esp'], keys)
        except Exception as ex:
            error('open: %r' % ex)
            continue
        add(r['ciphers'], cipher)
        r['addr_mismatch'] += (src, dst) != (pk['s'], pk['d'])
        padlen, nh = pt[-2], pt[-1]
        body = pt[:-2 - padlen]
        if pt[-2 - padlen:-2] != bytes(range(1, padlen + 1)) or len(pt) % 4:
            error('padding %r' % pt[-2 - padlen:])
            continue
        r['ok'] += 1
        r['nh'][str(nh)] = r['nh'].get(str(nh), 0) + 1
        if nh == 59:
            r['dummy'] += 1
            continue
        if nh == 17:
            sp, dp, ulen, ck = struct.unpack('>HHHH', body[:8])
            if pk['fam'] == socket.AF_INET:
                pseudo = pk['src'] + pk['dst'] + struct.pack('>BBH', 0, 17, ulen)
            else:
                pseudo = pk['src'] + pk['dst'] + struct.pack('>IxxxB', ulen, 17)
            if ulen != len(body) or sp != dp or (csum(pseudo + body) != 0xffff
                    and not (ck == 0 and pk['fam'] == socket.AF_INET)):
                r['csum_bad'] += 1
            r['csum_zero'] += ck == 0
            if dp == 4789:
                if body[8:12] != b'\x08\0\0\0' or body[15] != 0:
                    error('vxlan header %s' % body[8:16].hex())
                add(r['vni'], 'vxlan:%d' % int.from_bytes(body[12:15], 'big'))
                frame = body[16:]
            elif dp == 6081:
                ol = (body[8] & 0x3f) * 4
                if body[8] >> 6 != 0 or body[10:12] != b'\x65\x58':
                    error('geneve header %s' % body[8:16].hex())
                add(r['vni'], 'geneve:%d' % int.from_bytes(body[12:15], 'big'))
                frame = body[16 + ol:]
            else:
                error('udp port %d' % dp)
                continue
        elif nh == 47:
            fl = struct.unpack('>H', body[:2])[0]
            if body[2:4] != b'\x65\x58' or fl & 0x4fff != 0:
                error('gre header %s' % body[:4].hex())
            o = 8 if fl & 0x8000 else 4
            if fl & 0x2000:
                add(r['gre_key'], struct.unpack('>I', body[o:o + 4])[0])
                o += 4
            frame = body[o + (4 if fl & 0x1000 else 0):]
        else:
            error('next header %d' % nh)
            continue
        et = struct.unpack('>H', frame[12:14])[0]
        if et == 0x0806:
            r['arp'] += 1
        elif et == 0x0800 and frame[23] == 1:
            t = str(frame[14 + (frame[14] & 15) * 4])
            r['icmp'][t] = r['icmp'].get(t, 0) + 1
    print(json.dumps(r))

def reseal(hexesp, kl, seq, flip=False):
    keys, esp = keylog(kl), bytes.fromhex(hexesp)
    spi, _, _, _, cipher, pt = esp_open(esp, keys)
    km, hdr = keys[spi][3], struct.pack('>IIQ', spi, seq, seq)
    ct = bytearray(aead(cipher, km).encrypt(km[32:36] + hdr[8:], pt, hdr[:8]))
    if flip:
        ct[len(ct) // 2] ^= 0x01
    return (hdr + bytes(ct)).hex()

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == 'decrypt':
    decrypt(a[0], a[1])
elif cmd == 'last':
    last = [p['esp'] for p in esp_packets(a[0]) if p['s'] == a[1] and
            len(p['esp']) >= int((a + ['0'])[2])][-1]
    print('0x%08x %d %s' % (struct.unpack('>II', last[:8]) + (last.hex(),)))
elif cmd == 'count':
    print(sum(1 for _ in frames(a[0])))
elif cmd == 'reseal':
    print(reseal(a[0], a[1], int(a[2]), len(a) > 3 and a[3] == 'flip'))
elif cmd == 'send':
    b, udp = bytes.fromhex(a[1]), len(a) > 3 and a[3] == 'udp'
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 17 if udp else 50)
    if udp:
        b = struct.pack('>HHHH', 4500, 4500, 8 + len(b), 0) + b
    for _ in range(int(a[2])):
        s.sendto(b, (a[0], 0))
elif cmd == 'udp':
    fam = socket.AF_INET6 if ':' in a[0] else socket.AF_INET
    socket.socket(fam, socket.SOCK_DGRAM).sendto(bytes.fromhex(a[2]), (a[0], int(a[1])))
PY
	echo "$WORKDIR/esptool.py"
}
