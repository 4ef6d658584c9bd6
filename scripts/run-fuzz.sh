#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan)
# and run each for SECS seconds. Called by `make fuzz SECS=N`.
#
# usage: scripts/run-fuzz.sh [BUILD_DIR [SECS [TARGET...]]]
#   BUILD_DIR  default build-fuzz (configured here if needed)
#   SECS       seconds per target, default 60
#   TARGET     e.g. imap-parser; default all targets
# Each target fuzzes BUILD_DIR/corpus/<target>/ (new inputs land there),
# reading tests/fuzz/corpus/<target>/ as a read-only seed dir, with
# tests/fuzz/<target>.dict. The message target also reads seeds from
# $LOFT_FUZZ_MIME_SEEDS (default ../shared/corpus/mime-zoo-free/Maildir).
# Crashes go to BUILD_DIR/crashes/<target>/, logs to BUILD_DIR/logs/.
# Ends with "fuzz: N clean, M crashed"; exits 1 if anything crashed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-fuzz}
secs=${2:-60}
shift 2 2>/dev/null || shift $#
cd "$top"
if ! command -v clang >/dev/null; then
	echo "clang is missing: run scripts/install-deps.sh as root" >&2
	exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" --buildtype=debugoptimized \
		-Dfuzzing=true -Db_sanitize=address,undefined \
		-Db_lundef=false || exit 1
fi
ninja -C "$build" || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp}
mime_seeds=${LOFT_FUZZ_MIME_SEEDS:-$top/../shared/corpus/mime-zoo-free/Maildir}

if [ $# -gt 0 ]; then
	targets="$*"
else
	targets=$(cd "$build/tests/fuzz" && find . -maxdepth 1 -type f \
		  -perm -u+x -name "fuzz-*" -printf "%f\n" | sort |
		  sed "s/^fuzz-//")
fi
clean=0; crashed=0
mkdir -p "$build/logs"
for t in $targets; do
	exe="$build/tests/fuzz/fuzz-$t"
	[ -x "$exe" ] || { echo "no target $t" >&2; crashed=$((crashed + 1)); continue; }
	mkdir -p "$build/corpus/$t" "$build/crashes/$t"
	# -close_fd_mask=2: the targets' own logging (i_info etc.) would
	# slow fuzzing down; libFuzzer and sanitizer reports still get out
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
	      -close_fd_mask=2 -artifact_prefix="$build/crashes/$t/"
	      -print_final_stats=1)
	[ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
	dirs=("$build/corpus/$t" "tests/fuzz/corpus/$t")
	if [ "$t" = message ]; then
		args+=(-max_len=65536)
		[ -d "$mime_seeds" ] && dirs+=("$mime_seeds")
	fi
	before=$(ls "$build/crashes/$t" | wc -l)
	"$exe" "${args[@]}" "${dirs[@]}" < /dev/null > "$build/logs/$t.log" 2>&1
	rc=$?
	after=$(ls "$build/crashes/$t" | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/logs/$t.log" | tail -1)
	if [ $rc != 0 ] || [ "$after" != "$before" ]; then
		crashed=$((crashed + 1))
		echo "fuzz-$t: CRASH (exit $rc, ${execs:-?} execs) -> $build/crashes/$t/, log $build/logs/$t.log"
		grep -m3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$build/logs/$t.log" | sed 's/^/    /'
	else
		clean=$((clean + 1))
		echo "fuzz-$t: ok (${execs:-?} execs, corpus $(ls "$build/corpus/$t" | wc -l))"
	fi
done
echo "fuzz: $clean clean, $crashed crashed"
[ "$crashed" = 0 ]
