#!/usr/bin/env bash
# Run every test: cmocka unit tests and fuzz-target replays through
# meson, then the pytest integration suite against the sanitizer build.
# Ends with the line "N passed, M failed".
set -u
build=${1:-build-test}
top=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp}
# run_suite SUITE: runs one meson test suite, prints its per-test lines
# and "SUITE: N passed, M failed"; sets suite_pass/suite_fail.
run_suite() {
	local suite=$1 log="$build/$1.log" timeout
	meson test -C "$build" --suite "$suite" --print-errorlogs \
		--num-processes 2 > "$log" 2>&1
	cat "$log" | grep -E '^ *[0-9]+/[0-9]+ ' || true
	suite_pass=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	suite_fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	suite_pass=${suite_pass:-0}
	suite_fail=$(( ${suite_fail:-0} + ${timeout:-0} ))
	if [ "$suite_pass" = 0 ] && [ "$suite_fail" = 0 ]; then
		echo "$suite tests did not run:"; tail -30 "$log"; suite_fail=1
	fi
	echo "$suite: $suite_pass passed, $suite_fail failed"
}
run_suite unit
unit_pass=$suite_pass; unit_fail=$suite_fail
# fuzz targets replaying their seed corpora (tests/fuzz/meson.build)
run_suite fuzz
fuzz_pass=$suite_pass; fuzz_fail=$suite_fail

export LOFT_BUILD_DIR=$(cd "$build" && pwd)
export LOFT_CORPUS=${LOFT_CORPUS:-$top/../shared/corpus}
py_out="$build/pytest.log"
/usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE "$top/tests/integration" 2>&1 | tee "$py_out"
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|no tests ran' "$py_out" | tail -1)
py_pass=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
py_fail=$(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
py_err=$(echo "$summary" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+' || true)
py_pass=${py_pass:-0}; py_fail=$(( ${py_fail:-0} + ${py_err:-0} ))
if [ "$py_pass" = 0 ] && [ "$py_fail" = 0 ]; then
	echo "integration tests did not run"; py_fail=1
fi
echo "integration: $py_pass passed, $py_fail failed"
total_pass=$((unit_pass + fuzz_pass + py_pass))
total_fail=$((unit_fail + fuzz_fail + py_fail))
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
