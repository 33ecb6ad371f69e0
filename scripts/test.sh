#!/bin/sh
# The whole test suite on a fresh Debian 12 machine (as root): installs
# everything the tests need, builds, and runs
#   1. `make check`: unit tests, fuzz corpus replays, namespace tests;
#   2. the same suite built with AddressSanitizer and UBSan (a copy of the
#      tree, configured --enable-sanitizers);
#   3. the data path tests with the TAP offloads (TSO/GRO) off, and with
#      one worker thread;
#   4. the threaded paths (workers, keys, reload) with the daemon built
#      with ThreadSanitizer, which ends it at the first data race;
#   5. the two-host ping test with the daemon under valgrind memcheck;
#   6. every fuzz harness under libFuzzer for FUZZ_SECONDS (default 20).
set -eu
cd "$(dirname "$0")/.."
top=$PWD
scripts/install-deps.sh
scripts/build.sh
make -j"$(nproc)" check || { cat test-suite.log; exit 1; }

echo "== the suite again under AddressSanitizer + UBSan"
san=$(mktemp -d /tmp/ovtund-san.XXXXXX)
tsan=$(mktemp -d /tmp/ovtund-tsan.XXXXXX)
trap 'rm -rf "$san" "$tsan"' EXIT
git ls-files -z | xargs -0 tar cf - | tar xf - -C "$san"
(
	cd "$san"
	./autogen.sh >/dev/null
	./configure -q --enable-sanitizers
	make -j"$(nproc)" >/dev/null
	ASAN_OPTIONS=detect_leaks=1 make -j"$(nproc)" check ||
		{ cat test-suite.log; exit 1; }
)

echo "== the data path tests again with the TAP offloads (TSO/GRO) off"
for t in ping mesh mtu kernel-vxlan ovs-interop; do
	OVTUND_OFFLOAD=no top_builddir="$top" bash "tests/netns/$t.sh"
done

echo "== the data path tests again with one worker thread"
for t in ping encrypted; do
	OVTUND_WORKERS=1 top_builddir="$top" bash "tests/netns/$t.sh"
done

echo "== the threaded paths with the daemon under ThreadSanitizer"
git ls-files -z | xargs -0 tar cf - | tar xf - -C "$tsan"
(
	cd "$tsan"
	./autogen.sh >/dev/null
	./configure -q --enable-tsan
	make -j"$(nproc)" ovtund ovtunctl >/dev/null
	for t in workers encrypted reload; do
		TSAN_OPTIONS="halt_on_error=1 exitcode=66" top_builddir="$tsan" \
			bash "tests/netns/$t.sh"
	done
)

echo "== two-host ping with the daemon under valgrind memcheck"
OVTUND_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	top_builddir="$top" bash tests/netns/ping.sh

echo "== fuzzing, ${FUZZ_SECONDS:-20} s per harness"
FUZZ_OUT="$top/fuzz-out" bash tests/fuzz/run.sh "${FUZZ_SECONDS:-20}"
