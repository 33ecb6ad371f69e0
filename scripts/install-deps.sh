#!/bin/sh
# Installs what ovtund needs to build, test and benchmark on Debian 12.
# Idempotent; run as root.
set -eu
export DEBIAN_FRONTEND=noninteractive

BUILD="build-essential autoconf automake libtool pkg-config
	libevent-dev libsodium-dev libconfuse-dev libmnl-dev libsystemd-dev
	libcap-ng-dev libssl-dev check libcurl4-openssl-dev libjansson-dev"
RUNTIME="iproute2 iputils-ping procps"
TEST="tshark openvswitch-switch socat ethtool python3 python3-scapy prometheus
	python3-cryptography python3-jsonschema dnsmasq-base tcpdump
	etcd-server etcd-client curl openssl
	systemd clang libclang-rt-14-dev valgrind git"
BENCH="iperf3 tinc openvpn openssl"

case "${1:-all}" in
build)	pkgs="$BUILD $RUNTIME" ;;
bench)	pkgs="$BUILD $RUNTIME $BENCH" ;;
*)	pkgs="$BUILD $RUNTIME $TEST $BENCH" ;;
esac

missing=$(for p in $pkgs; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null |
		grep -qx installed || echo "$p"
done)
if [ -z "$missing" ]; then
	echo "install-deps: everything is installed"
	exit 0
fi
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
