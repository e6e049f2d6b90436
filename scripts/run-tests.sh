#!/usr/bin/env bash
# The whole test suite: install what is missing, build with warnings as
# errors, run every test, then do it all again under ASan+UBSan.
# Last line: "N passed, N failed" summed over both runs.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/install-deps.sh || { echo "install-deps failed" >&2; exit 1; }

total_pass=0 total_fail=0 total_skip=0 total_flaky=0 status=0

# run_suite NAME MESON_ARGS...
run_suite() {
	local name=$1 dir="build/test-$1" log
	shift
	echo "=== $name: configure and build" >&2
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null || return 1
	else
		meson setup "$dir" --werror "$@" >/dev/null || return 1
	fi
	ninja -C "$dir" || return 1
	echo "=== $name: meson test" >&2
	log="$dir/meson-logs/suite-summary.txt"
	meson test -C "$dir" --print-errorlogs --num-processes 2 \
		--timeout-multiplier "${TIMEOUT_MULTIPLIER:-1}" 2>&1 | tee "$log"
	local ok xfail fail xpass skip tout
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	xfail=$(sed -n 's/^Expected Fail: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	xpass=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	tout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	[ -n "$ok" ] || { echo "=== $name: no test summary" >&2; return 1; }
	local bad=$((${fail:-0} + ${xpass:-0} + ${tout:-0})) t
	# A failed test runs once more, alone. A pass then counts, but the test
	# is named FLAKY here and in the total: a flake is a bug to fix, and
	# it must not hide the rest of the run.
	if [ "$bad" -gt 0 ] && [ "$bad" -le 3 ]; then
		for t in $(failed_tests "$dir/meson-logs/testlog.json"); do
			echo "=== $name: running $t again" >&2
			if meson test -C "$dir" --print-errorlogs "$t" >&2; then
				echo "FLAKY: $name/$t failed once, passed alone" >&2
				bad=$((bad - 1)) ok=$((ok + 1))
				total_flaky=$((total_flaky + 1))
			fi
		done
	fi
	total_pass=$((total_pass + ok + ${xfail:-0}))
	total_fail=$((total_fail + bad))
	total_skip=$((total_skip + ${skip:-0}))
	[ "$bad" -eq 0 ]
}

# failed_tests TESTLOG_JSON: bare names of the tests that did not pass.
failed_tests() {
	python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j["result"] not in ("OK", "SKIP", "EXPECTEDFAIL"):
        print(j["name"].split(" / ")[-1])
PY
}

run_suite plain || status=1
run_suite asan -Db_sanitize=address,undefined -Db_lundef=false || status=1

if [ "$total_pass" -eq 0 ]; then
	echo "no test ran" >&2
	status=1
fi
[ "$total_flaky" -eq 0 ] || echo "$total_flaky test(s) passed only on a second run (FLAKY lines above)" >&2
echo "${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
exit $status
