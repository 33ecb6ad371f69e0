#!/bin/sh
# The whole test suite on a fresh Debian 12 machine (as root): installs
# everything the tests need, builds, and runs `make check` (unit tests and
# the network-namespace integration tests).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
make -j"$(nproc)" check || { cat test-suite.log; exit 1; }
