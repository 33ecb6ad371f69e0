#!/bin/sh
# Builds every fuzz harness with libFuzzer, ASan and UBSan, and runs each
# for a bounded time from its seed corpus.
#
#   tests/fuzz/run.sh [SECONDS [HARNESS...]]      (default: 30, all)
#
# SECONDS is per harness. Work files (binaries, the growing corpus, logs)
# go to $FUZZ_OUT (default ./fuzz-out, under the current directory); the
# seed corpus in the source tree is only read. Prints the executions of
# each harness from libFuzzer's final stats; on any crash, leak, timeout
# or OOM copies the input to tests/fuzz/crashes/HARNESS/ (replayed by
# `make check` from then on) and exits non-zero.
# CC (default clang) must support -fsanitize=fuzzer; FUZZ_CFLAGS adds to
# the compiler flags (e.g. -DFUZZ_CTL_RAW_BYTES, see fuzz_ctl.c).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-30}
[ $# -gt 0 ] && shift
all="gre vxlan geneve config ctl fdb esp handshake offload member"
harnesses=${*:-$all}
out=${FUZZ_OUT:-$PWD/fuzz-out}
cc=${CC:-clang}
case $cc in *clang*) ;; *) cc=clang ;; esac

pkgflags() {
	pkg-config --cflags --libs "$@" 2>/dev/null || {
		# Debian's libconfuse has no .pc file everywhere.
		for p in "$@"; do
			case $p in
			libconfuse) printf ' -lconfuse' ;;
			libsodium) printf ' -lsodium' ;;
			libcrypto) printf ' -lcrypto' ;;
			libevent) printf ' -levent' ;;
			jansson) printf ' -ljansson' ;;
			esac
		done
	}
}

# The AEADs: libsodium's, and OpenSSL's where libcrypto is installed (as
# configure decides).
if pkg-config --exists 'libcrypto >= 3.0' 2>/dev/null; then
	aead="src/aead.c src/aead-sodium.c src/aead-openssl.c"
	crypto_cflags=-DHAVE_LIBCRYPTO
	crypto_lib=libcrypto
else
	aead="src/aead.c src/aead-sodium.c"
	crypto_cflags=
	crypto_lib=
fi

# What each harness links: the code it tests, and its libraries.
srcs() {
	case $1 in
	gre)	echo "src/gre.c src/drop.c" ;;
	vxlan)	echo "src/vxlan.c src/drop.c" ;;
	geneve)	echo "src/geneve.c src/drop.c" ;;
	config)	echo "src/config.c src/addr.c src/key.c $aead" ;;
	ctl)	echo "src/emit.c" ;;
	fdb)	echo "src/fdb.c" ;;
	esp)	echo "src/esp.c src/replay.c src/drop.c $aead" ;;
	handshake)	echo "src/handshake.c src/hkdf.c src/cookie.c" ;;
	offload)	echo "src/offload.c src/flow.c" ;;
	member)	echo "src/member.c src/config.c src/addr.c src/key.c $aead" ;;
	esac
}
libs() {
	case $1 in
	config)	printf -- '-pthread '; pkgflags libconfuse libsodium $crypto_lib ;;
	ctl)	pkgflags libevent ;;
	fdb)	printf -- '-pthread '; pkgflags libsodium ;;
	esp)	printf -- '-pthread '; pkgflags libsodium $crypto_lib ;;
	handshake|offload)	pkgflags libsodium ;;
	member)	printf -- '-pthread '; pkgflags libconfuse libsodium jansson $crypto_lib ;;
	esac
}

# LOCALSTATEDIR as configure sets it by default (config.c names the etcd
# state file under it). -Wno-missing-field-initializers: clang flags config.c's field table,
# where gcc (the project's compiler) does not.
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -DLOCALSTATEDIR=\"/var\" -I$top/src -I$here \
	-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer $crypto_cflags ${FUZZ_CFLAGS:-}"

mkdir -p "$out" || exit 1
status=0
summary=""
for h in $harnesses; do
	if [ -z "$(srcs "$h")" ]; then
		echo "run.sh: no harness '$h' (have: $all)" >&2
		exit 2
	fi
	bin=$out/fuzz_$h
	files=""
	for f in $(srcs "$h"); do
		files="$files $top/$f"
	done
	# shellcheck disable=SC2046,SC2086
	if ! $cc $cflags -o "$bin" "$here/fuzz_$h.c" $files $(libs "$h"); then
		echo "run.sh: building fuzz_$h failed" >&2
		exit 2
	fi
	mkdir -p "$out/corpus/$h" "$out/artifacts/$h"
	log=$out/fuzz_$h.log
	echo "== fuzz_$h: ${secs}s"
	# The working corpus first (new inputs land there), then the seeds
	# and past crashes, read only. LSan is on by default with ASan.
	seeds=$here/corpus/$h
	crashes=""
	[ -d "$here/crashes/$h" ] && crashes=$here/crashes/$h
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
	    -rss_limit_mb=2048 -max_len=4096 \
	    -artifact_prefix="$out/artifacts/$h/" \
	    "$out/corpus/$h" "$seeds" $crashes >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	found=$(ls "$out/artifacts/$h" 2>/dev/null)
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		status=1
		mkdir -p "$here/crashes/$h"
		for a in $found; do
			known=""
			for k in "$here/crashes/$h"/*; do
				[ -f "$k" ] && cmp -s "$k" "$out/artifacts/$h/$a" &&
				    known=$k
			done
			if [ -n "$known" ]; then
				echo "   known crash: tests/fuzz/crashes/$h/${known##*/}"
			else
				cp "$out/artifacts/$h/$a" "$here/crashes/$h/$a"
				echo "   saved tests/fuzz/crashes/$h/$a"
			fi
			rm -f "$out/artifacts/$h/$a"
		done
		# The report: from the sanitizer's or the harness's first word.
		grep -m 1 -B 2 -A 25 -E '^==[0-9]+==ERROR|runtime error|check failed|bad JSON|deadly signal' "$log" | head -n 40
		echo "   FAILED (exit $rc), full log: $log"
		summary="$summary
fuzz_$h	${execs:-?} execs	FAILED"
	else
		echo "   ${execs:-?} executions, no crash"
		summary="$summary
fuzz_$h	${execs:-?} execs	ok"
	fi
done
echo "== summary ($secs s each)$summary"
exit $status
