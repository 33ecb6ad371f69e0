# shellcheck shell=bash
# ovs.sh - run private Open vSwitch *userspace* (datapath_type=netdev)
# instances inside network namespaces and use them as gre/vxlan/geneve
# tunnel peers for ovtund tests.  Source it; nothing runs at source time.
#
# Every instance lives entirely under its own RUNDIR (db, sockets, pid and
# log files), so instances never collide with each other or a system OVS.
# Keep RUNDIR short (e.g. mktemp -d /tmp/ovs.XXXXXX): unix socket paths are
# limited to 107 bytes and OVS puts BRIDGE.mgmt sockets there.
#
# Topology built by ovs_underlay + ovs_tunnel_peer inside netns NS:
#
#   OVERLAY_NS: BR-i (OVERLAY_CIDR)
#        | veth
#   NS:  BR-o --[BR (netdev)]-- BR-t (tunnel port, type gre|vxlan|geneve|ip6gre)
#                                  :  encap/decap in ovs-vswitchd, then routed
#                                  :  (OVS route table, mirrored from NS) to
#   NS:  br-underlay (internal tap, LOCAL_IP) --[br-underlay (netdev)]-- DEV
#
# The userspace datapath only terminates tunnels whose endpoint address sits
# on an OVS internal port, hence the separate br-underlay bridge owning DEV.

OVS_SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
OVS_TIMEOUT=${OVS_TIMEOUT:-10}

# Environment for OVS tools so that defaults (bridge .mgmt sockets, logs,
# db) resolve inside RUNDIR instead of /var/run/openvswitch.
_ovs_env() {
	local rundir=$1; shift
	env OVS_RUNDIR="$rundir" OVS_LOGDIR="$rundir" OVS_DBDIR="$rundir" \
		OVS_SYSCONFDIR="$rundir" "$@"
}

# ovs_start NS RUNDIR
# Create a fresh db and start ovsdb-server + ovs-vswitchd inside NS.
# ovs-vswitchd --detach returns only once it is initialised; the
# --disable-system flag keeps it from probing the (absent) kernel datapath.
ovs_start() {
	local ns=$1 rundir=$2
	mkdir -p "$rundir" || return 1
	rundir=$(cd "$rundir" && pwd) || return 1
	if [ ${#rundir} -gt 80 ]; then
		echo "ovs_start: RUNDIR '$rundir' too long for unix sockets" >&2
		return 1
	fi
	if [ -e "$rundir/conf.db" ]; then
		echo "ovs_start: $rundir already holds an instance" >&2
		return 1
	fi
	ovsdb-tool create "$rundir/conf.db" "$OVS_SCHEMA" || return 1
	_ovs_env "$rundir" ip netns exec "$ns" ovsdb-server "$rundir/conf.db" \
		--remote="punix:$rundir/db.sock" \
		--pidfile="$rundir/ovsdb-server.pid" \
		--unixctl="$rundir/ovsdb-server.ctl" \
		-vconsole:off -vsyslog:off --log-file="$rundir/ovsdb-server.log" \
		--detach --no-chdir || return 1
	# Record PIDs as soon as each daemon runs, so ovs_stop can clean up
	# after a half-failed start.
	cat "$rundir/ovsdb-server.pid" >"$rundir/pids" || return 1
	ovs_vsctl "$rundir" --no-wait init || return 1
	_ovs_env "$rundir" ip netns exec "$ns" ovs-vswitchd "unix:$rundir/db.sock" \
		--pidfile="$rundir/ovs-vswitchd.pid" \
		--unixctl="$rundir/ovs-vswitchd.ctl" \
		-vconsole:off -vsyslog:off --log-file="$rundir/ovs-vswitchd.log" \
		--disable-system --detach --no-chdir || return 1
	cat "$rundir/ovs-vswitchd.pid" >>"$rundir/pids"
}

# ovs_stop RUNDIR
# Ask both daemons to exit (vswitchd with --cleanup: the netdev datapath's
# tap devices - ovs-netdev and every internal port, with their addresses -
# otherwise persist in the netns).  Then wait for exactly the PIDs recorded
# by ovs_start, escalating to SIGTERM and SIGKILL after 5 s each; a PID whose
# command line no longer names RUNDIR has exited and is left alone.  Keeps
# the logs; removes the db and sockets so RUNDIR can host ovs_start again.
ovs_stop() {
	local rundir pid sig
	[ -f "$1/pids" ] || return 0
	rundir=$(cd "$1" && pwd) || return 1	# as on the daemons' cmdline
	ovs_appctl "$rundir" exit --cleanup >/dev/null 2>&1 || :
	ovs-appctl -t "$rundir/ovsdb-server.ctl" --timeout="$OVS_TIMEOUT" exit \
		>/dev/null 2>&1 || :
	while read -r pid; do
		for sig in none TERM KILL; do
			grep -qsF -- "$rundir" "/proc/$pid/cmdline" || break
			[ "$sig" = none ] || kill -"$sig" "$pid" 2>/dev/null || :
			_ovs_wait_gone "$pid" && break
		done
	done <"$rundir/pids"
	rm -f "$rundir"/{pids,conf.db,.conf.db.~lock~,*.pid,*.ctl,*.sock} \
		"$rundir"/*.{mgmt,snoop}
}

_ovs_wait_gone() {
	local pid=$1
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# ovs_vsctl RUNDIR ARGS... / ovs_appctl RUNDIR ARGS... / ovs_ofctl RUNDIR ARGS...
# The usual tools pointed at the private instance.  ovs_ofctl accepts plain
# bridge names (resolved to RUNDIR/BRIDGE.mgmt).
ovs_vsctl() {
	local rundir=$1; shift
	ovs-vsctl --db="unix:$rundir/db.sock" --timeout="$OVS_TIMEOUT" "$@"
}

ovs_appctl() {
	local rundir=$1; shift
	ovs-appctl -t "$rundir/ovs-vswitchd.ctl" --timeout="$OVS_TIMEOUT" "$@"
}

ovs_ofctl() {
	local rundir=$1; shift
	_ovs_env "$rundir" ovs-ofctl --timeout="$OVS_TIMEOUT" "$@"
}

# ovs_underlay NS RUNDIR DEV LOCAL_CIDR [LOCAL_CIDR...]
# Enslave DEV (already in NS, e.g. one end of the veth "wire") to a netdev
# bridge br-underlay and put the tunnel endpoint address(es) on its internal
# port.  The kernel routes that appear for those addresses are mirrored into
# OVS's own route table (ovs-appctl ovs/route/show) automatically.
ovs_underlay() {
	local ns=$1 rundir=$2 dev=$3 cidr; shift 3
	# A veth with tx checksum offload hands its peer's AF_PACKET readers
	# UDP with an unfilled checksum, which the userspace datapath drops
	# (coverage counter datapath_drop_tunnel_pop_error).  What matters is
	# the *sending* end: the far end of DEV (e.g. ovtund's veth) needs
	# "ethtool -K DEV tx off" as well.
	ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null || return 1
	# Up before OVS opens it, else vswitchd logs receive errors.
	ip -n "$ns" link set "$dev" up || return 1
	ovs_vsctl "$rundir" -- add-br br-underlay \
		-- set bridge br-underlay datapath_type=netdev \
		-- add-port br-underlay "$dev" || return 1
	for cidr in "$@"; do
		# nodad: an IPv6 tentative address would not be usable for ~2 s.
		case $cidr in
		*:*) ip -n "$ns" addr add "$cidr" dev br-underlay nodad ;;
		*) ip -n "$ns" addr add "$cidr" dev br-underlay ;;
		esac || return 1
	done
	ip -n "$ns" link set br-underlay up
}

# ovs_tunnel_peer NS RUNDIR BR TYPE LOCAL_IP REMOTE_IP KEY OVERLAY_NS OVERLAY_CIDR
#                 [OPTION=VALUE...]
# Bridge BR (netdev, at most 13 chars) with tunnel port BR-t of TYPE
# (gre|ip6gre|vxlan|geneve) towards REMOTE_IP, plus a veth BR-o (on BR) /
# BR-i (in OVERLAY_NS, address OVERLAY_CIDR).  LOCAL_IP and KEY may be "" to
# leave options:local_ip / options:key unset (GRE then carries no key; for
# vxlan/geneve KEY is the VNI, default 0).  Extra arguments become further
# interface options, e.g. csum=true (GRE/UDP checksums), dst_port=N, ttl=N.
# Requires ovs_underlay first.
ovs_tunnel_peer() {
	local ns=$1 rundir=$2 br=$3 type=$4 local_ip=$5 remote_ip=$6 key=$7
	local ovl_ns=$8 ovl_cidr=$9 opt
	shift 9
	local -a opts=(options:remote_ip="$remote_ip")
	[ -n "$local_ip" ] && opts+=(options:local_ip="$local_ip")
	[ -n "$key" ] && opts+=(options:key="$key")
	for opt in "$@"; do
		opts+=("options:$opt")
	done
	ip -n "$ns" link add "$br-o" type veth peer name "$br-i" \
		netns "$ovl_ns" || return 1
	# Else inner TCP/UDP from OVERLAY_NS is tunnelled with bad checksums.
	ip netns exec "$ns" ethtool -K "$br-o" tx off >/dev/null || return 1
	ip netns exec "$ovl_ns" ethtool -K "$br-i" tx off >/dev/null || return 1
	ip -n "$ns" link set "$br-o" up || return 1
	ovs_vsctl "$rundir" -- add-br "$br" \
		-- set bridge "$br" datapath_type=netdev \
		-- add-port "$br" "$br-o" \
		-- add-port "$br" "$br-t" \
		-- set interface "$br-t" type="$type" "${opts[@]}" || return 1
	ip -n "$ovl_ns" addr add "$ovl_cidr" dev "$br-i" || return 1
	ip -n "$ovl_ns" link set "$br-i" up
}

# ovs_tunnel_peer_del NS RUNDIR BR
# Undo ovs_tunnel_peer (deleting BR-o also removes its peer BR-i).
ovs_tunnel_peer_del() {
	local ns=$1 rundir=$2 br=$3
	ovs_vsctl "$rundir" --if-exists del-br "$br" || return 1
	ip -n "$ns" link del "$br-o" 2>/dev/null || :
}

# ovs_geneve_tlv_map RUNDIR BR CLASS TYPE LEN [IDX]
# Geneve packets carrying TLV options are dropped by the userspace datapath
# unless each option (class,type,len bytes) is mapped to a tun_metadataIDX
# field.  Example: ovs_geneve_tlv_map "$R" br-gnv 0xffff 0x80 4
ovs_geneve_tlv_map() {
	local rundir=$1 br=$2 class=$3 type=$4 len=$5 idx=${6:-0}
	ovs_ofctl "$rundir" add-tlv-map "$br" \
		"{class=$class,type=$type,len=$len}->tun_metadata$idx"
}
