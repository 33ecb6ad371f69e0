#!/bin/bash
# The main job, end to end on a fresh Debian 12 machine (as root): installs
# the build dependencies, builds, and runs the classic two-host lab in
# network namespaces: box1 and box2 joined by a veth "wire", one ovtund on
# each, their TAPs in the overlay namespaces left (10.0.0.1) and right
# (10.0.0.2). Pings across the overlay, shows `ovtunctl peers` and `fdb`,
# and tears everything down. ENCAP=gretap|vxlan|geneve picks the tunnel.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh

export top_builddir=$PWD top_srcdir=$PWD
. tests/netns/lib.sh

encap=${ENCAP:-vxlan}
two_hosts "$encap" 123 4
echo "== ping from left (10.0.0.1) to right (10.0.0.2) over $encap"
nsx left ping -c 3 -W 5 10.0.0.2
echo "== ovtunctl peers (box1)"
ctl b1 peers
echo "== ovtunctl fdb (box1)"
ctl b1 fdb
echo "== demo done; tearing down"
