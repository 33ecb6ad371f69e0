#!/bin/bash
# After setup the daemon becomes `user` with only CAP_NET_ADMIN and
# CAP_NET_RAW, and keeps working: traffic, a reload that opens a raw GRE
# socket for a new peer, the control socket shared with control_group
# (whose members may not read the SA keys: only uid 0 may), a clean exit.
. "$(dirname "$0")/lib.sh"

id nobody >/dev/null 2>&1 || fail "no user 'nobody' on this system"
getent group nogroup >/dev/null || fail "no group 'nogroup' on this system"

two_hosts vxlan 123 4
stop_ovtund b1

# The dropped daemon must still read its file (reload) and remove its
# socket: a world-readable file, a socket directory it owns.
chmod 755 "$WORKDIR"
run=$WORKDIR/run
mkdir "$run"
chown nobody:nogroup "$run"
conf=$WORKDIR/b1-priv.conf
sed -e "s|^control = .*|control = \"$run/b1.sock\"|" "$WORKDIR/b1.conf" >"$conf"
printf 'user = "nobody"\ncontrol_group = "nogroup"\n' >>"$conf"
chmod 644 "$conf"
ctl_sock() { echo "$WORKDIR/run/$1.sock"; }
start_ovtund b1 "$conf"

status=/proc/$PID_b1/status
assert_eq "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "$status")" 65534655346553465534 "uids"
assert_eq "$(awk '/^Groups:/ {print $2}' "$status")" "" "supplementary groups"
# CAP_NET_ADMIN (12) and CAP_NET_RAW (13), nothing else, none to regain.
assert_eq "$(awk '/^CapEff:/ {print $2}' "$status")" 0000000000003000 "effective capabilities"
assert_eq "$(awk '/^CapPrm:/ {print $2}' "$status")" 0000000000003000 "permitted capabilities"
assert_eq "$(awk '/^CapBnd:/ {print $2}' "$status")" 0000000000000000 "bounding set"
assert_eq "$(stat -c '%a %G' "$run/b1.sock")" "660 nogroup" "control socket mode and group"

ping_ok left 10.0.0.2 3
ping_ok right 10.0.0.1 3

# A member of control_group may ask anything but the SA keys (SO_PEERCRED
# says who asks): those are root's alone.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$OVTUNCTL" -s "$run/b1.sock" "$@"; }
as_nobody sa >/dev/null || fail "sa as a member of control_group"
if out=$(as_nobody sa --keys 2>&1); then fail "sa --keys answered a non-root member: $out"; fi
case $out in *"only root may read the keys"*) ;; *) fail "sa --keys refusal: $out" ;; esac
ctl b1 sa --keys >/dev/null || fail "sa --keys as root"
grep -q "asked for the SA keys: refused, not root" "$WORKDIR/b1.log" ||
	fail "the refusal is not logged"

# A reload that needs a raw socket (gretap) and a new UDP port (geneve).
printf 'peer "gre-box" {\n  remote = "192.0.2.7"\n  encap = "gretap"\n}\n' >>"$conf"
printf 'peer "gnv-box" {\n  remote = "192.0.2.8"\n  encap = "geneve"\n}\n' >>"$conf"
out=$(ctl b1 reload) || fail "reload as nobody failed: $out"
assert_eq "$(json b1 peers "len(j['peers'])")" 3 "peers after reload"
ping_ok left 10.0.0.2 3

stop_ovtund b1
nsx left ip link show ovt0 >/dev/null 2>&1 && fail "TAP left behind"
[ ! -e "$run/b1.sock" ] || fail "control socket left behind"
grep -q "staying root" "$WORKDIR/b1.log" && fail "warned about staying root"
echo "privdrop: all checks passed"
