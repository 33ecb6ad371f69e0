#!/bin/sh
# Configures (once) and builds in the source tree. Extra arguments go to
# configure, e.g. --enable-sanitizers.
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || ./autogen.sh
if [ ! -f Makefile ] || [ $# -gt 0 ]; then
	./configure "$@"
fi
make -j"$(nproc)"
