#!/bin/sh
# run_libfuzzer.sh SECONDS [fuzz_X ...] - build each fuzz target with
# clang-14 libFuzzer + ASan + UBSan into build/libfuzzer/ and run it for
# SECONDS, seeded from tests/fuzz/corpus/fuzz_X (read, never written: new
# inputs go to build/libfuzzer/corpus/fuzz_X). Fails on the first crash,
# leak, sanitizer report or timeout, leaving the input in
# build/libfuzzer/artifacts/. Copy a finding into the seed corpus so that
# `make test` replays it from then on.
#
# Targets default to every tests/fuzz/fuzz_*.c. They link against an
# archive of daemon/$FUZZ_MODULES (default: core codec registry rules) plus the generated
# protobuf code; `make` is run first if that code is missing.
# Environment: FUZZ_MODULES, FUZZ_MAX_LEN (default 8192), FUZZ_JOBS.
set -eu

secs=${1:-60}
[ $# -gt 0 ] && shift
cd "$(dirname "$0")/../.."

CC=${FUZZ_CC:-clang-14}
OUT=build/libfuzzer
MODULES=${FUZZ_MODULES:-core codec registry rules}
MAX_LEN=${FUZZ_MAX_LEN:-8192}

command -v "$CC" >/dev/null || { echo "run_libfuzzer: $CC not found" >&2; exit 1; }
if [ ! -f build/gen/hazard.pb-c.c ] || [ ! -f build/gen/google/protobuf/timestamp.pb-c.c ]; then
	make build/gen/hazard.pb-c.c build/gen/google/protobuf/timestamp.pb-c.c
fi

PKGS="libpq rdkafka libprotobuf-c jansson yaml-0.1"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=c11 -D_GNU_SOURCE -pthread -g -O1 $SAN -Idaemon -Ibuild/gen $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lpthread -lm"

mkdir -p "$OUT/obj" "$OUT/artifacts"
rm -f "$OUT/obj"/*.o "$OUT/libfuzz.a"
srcs=""
for m in $MODULES; do srcs="$srcs $(ls daemon/"$m"/*.c)"; done
srcs="$srcs build/gen/hazard.pb-c.c build/gen/google/protobuf/timestamp.pb-c.c"
for s in $srcs; do
	o="$OUT/obj/$(echo "$s" | tr '/' '_' | sed 's/\.c$/.o/')"
	# a file that does not compile is skipped: the link fails if it was needed
	"$CC" $CFLAGS -fsanitize=fuzzer-no-link -c "$s" -o "$o" ||
		echo "run_libfuzzer: skipping $s" >&2
done
ar rcs "$OUT/libfuzz.a" "$OUT"/obj/*.o

if [ $# -gt 0 ]; then
	targets="$*"
else
	targets=$(ls tests/fuzz/fuzz_*.c | sed 's|.*/||; s|\.c$||')
fi

status=0
for t in $targets; do
	bin="$OUT/$t"
	"$CC" $CFLAGS -fsanitize=fuzzer "tests/fuzz/$t.c" "$OUT/libfuzz.a" $LIBS -o "$bin"
	seed="tests/fuzz/corpus/$t"
	work="$OUT/corpus/$t"
	mkdir -p "$work" "$seed"
	dict=""
	[ -f "tests/fuzz/corpus/$t.dict" ] && dict="-dict=tests/fuzz/corpus/$t.dict"
	echo "== $t: ${secs}s, seeds from $seed"
	log="$OUT/$t.log"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$MAX_LEN" \
		-print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" \
		${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS} $dict \
		"$work" "$seed" >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		echo "   ok: ${execs:-?} runs, $cov, corpus $(ls "$work" | wc -l) files"
	else
		echo "   FAILED: see $log and $OUT/artifacts/" >&2
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20 >&2 || true
		status=1
	fi
done
exit $status
