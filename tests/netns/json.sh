#!/bin/bash
# Every ovtunctl command's --json answer against doc/ovtunctl.schema.json
# (tests/netns/jsoncheck.py): the commands are those `ovtunctl --help`
# lists, so a new one is checked as soon as it exists. b1 has an
# encrypted VXLAN peer that answers (SAs, learned MACs) and a GRETAP peer
# without a key that does not (null key, port and last_rx_s). Errors under
# --json: a JSON object on stdout and a non-zero exit, for a refused
# reload, no daemon on the socket and an unknown command. ovtund --version
# and ovtunctl --version print the version of configure.ac.
. "$(dirname "$0")/lib.sh"

SCHEMA=$top_srcdir/doc/ovtunctl.schema.json
CHECK=$top_srcdir/tests/netns/jsoncheck.py
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
	{ echo "SKIP: $(basename "$0") needs python3-jsonschema"; exit 77; }

# check COMMAND FILE
check() {
	/usr/bin/python3 "$CHECK" "$SCHEMA" "$1" "$2" || fail "$1: $(head -c 600 "$2")"
}

version=$(sed -n 's/^AC_INIT(\[ovtund\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
assert_eq "$("$OVTUND" --version)" "ovtund $version" "ovtund --version"
assert_eq "$("$OVTUNCTL" --version)" "ovtunctl $version" "ovtunctl --version"

enc_setup vxlan 123 4 chacha20-poly1305 udp
printf 'peer "box-9" {\n\tremote = "192.0.2.9"\n\tencap = "gretap"\n\tencryption {\n\t\tpsk = "another psk, unused"\n\t}\n}\n' >>"$WORKDIR/b1.conf"
sed -i 's/^key = 123$/key = 123/' "$WORKDIR/b1.conf"
enc_start
ping_ok left 10.0.0.2 2

commands=$("$OVTUNCTL" --help | sed -n '/^commands:/,/^[^ ]/{s/^  \([a-z][a-z-]*\) .*/\1/p}')
[ "$(echo "$commands" | wc -w)" -ge 6 ] || fail "cannot read the commands of ovtunctl --help: $commands"
for cmd in $commands; do
	rc=0
	# A command that streams (monitor) is read for 3 s, line by line,
	# while a reload gives it something to say.
	timeout 3 "$OVTUNCTL" -s "$(ctl_sock b1)" --json "$cmd" >"$WORKDIR/$cmd.json" &
	pid=$!
	sleep 0.5
	kill -0 "$pid" 2>/dev/null && kill -HUP "$PID_b1"
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 124 ] || fail "ovtunctl --json $cmd: exit $rc"
	log "$cmd: $(head -c 160 "$WORKDIR/$cmd.json")"
	check "$cmd" "$WORKDIR/$cmd.json"
done
ctl b1 --json sa --keys >"$WORKDIR/sa-keys.json"
check sa "$WORKDIR/sa-keys.json"
assert_eq "$(json b1 peers "[(p['name'], p['key'], p['port'], p['last_rx_s']) for p in j['peers'] if p['name'] == 'box-9']")" \
	"[('box-9', 123, None, None)]" "box-9: GRE key inherited, no port, never heard"

log "errors under --json: an object on stdout, non-zero exit"
# expect_error NAME EXIT ARGS...
expect_error() {
	local name=$1 want=$2 rc=0
	shift 2
	"$OVTUNCTL" --json "$@" >"$WORKDIR/$name.json" 2>"$WORKDIR/$name.err" || rc=$?
	assert_eq "$rc" "$want" "$name: exit code"
	check error "$WORKDIR/$name.json"
	log "$name: $(cat "$WORKDIR/$name.json")"
}
cp "$WORKDIR/b1.conf" "$WORKDIR/b1.good"
echo "mtu = = 1" >>"$WORKDIR/b1.conf"
expect_error refused-reload 1 -s "$(ctl_sock b1)" reload
cp "$WORKDIR/b1.good" "$WORKDIR/b1.conf"
expect_error no-daemon 1 -s "$WORKDIR/nobody.sock" peers
expect_error unknown-command 2 -s "$(ctl_sock b1)" frobnicate
echo "json: all checks passed"
