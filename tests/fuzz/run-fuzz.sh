#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-fuzz.sh FUZZER SEEDGEN - one bounded libFuzzer run of FUZZER on a fresh
# corpus that SEEDGEN fills with one valid message per type. Fails on any
# crash, leak, sanitizer report or broken invariant, and prints the input
# that triggered it. FUZZ_SECONDS (default 30) bounds the run.
# Exit: 0 pass, 1 fail, 77 skip (no working clang fuzzer runtime).
set -u

fuzzer=${1:?usage: run-fuzz.sh FUZZER SEEDGEN}
seedgen=${2:?usage: run-fuzz.sh FUZZER SEEDGEN}
secs=${FUZZ_SECONDS:-30}

if [ "$fuzzer" = none ]; then
	echo "clang with a libFuzzer runtime is not available: skipped"
	exit 77
fi
case $secs in
''|*[!0-9]*) echo "FUZZ_SECONDS must be a number of seconds: $secs"; exit 1 ;;
esac

dir=$(mktemp -d -t fuzz.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
mkdir "$dir/corpus" "$dir/artifacts" "$dir/rt" || exit 1
# a throwaway runtime dir for fuzzers that need one (fuzz-inbox: its reply
# addresses), known to the seed generator too
FUZZ_RUNTIME_DIR=$dir/rt
export FUZZ_RUNTIME_DIR

if ! "$seedgen" "$dir/corpus"; then
	echo "FAIL: the seed generator failed"
	exit 1
fi
seeds=$(ls "$dir/corpus" | wc -l)
if [ "$seeds" -lt 2 ]; then
	echo "FAIL: only $seeds seed files"
	exit 1
fi
echo "seeded $seeds inputs; fuzzing for ${secs}s"

: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=1}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS UBSAN_OPTIONS

"$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
	-max_len=16384 -print_final_stats=1 \
	-artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1
rc=$?

bad=0
if [ $rc -ne 0 ]; then
	echo "FAIL: the fuzzer exited with status $rc"
	bad=1
fi
if grep -Eq 'ERROR: (Address|Leak|Undefined|Memory)Sanitizer|runtime error:|deadly signal|invariant failed|ERROR: libFuzzer' "$dir/log"; then
	echo "FAIL: sanitizer or fuzzer report"
	bad=1
fi
if ! grep -Eq '^Done [0-9]+ runs' "$dir/log"; then
	echo "FAIL: the fuzzer did not complete its run"
	bad=1
fi
if [ $bad -ne 0 ]; then
	tail -n 60 "$dir/log"
	for f in "$dir"/artifacts/*; do
		[ -f "$f" ] || continue
		echo "--- reproducer $(basename "$f") (base64):"
		base64 "$f" | head -n 40
	done
	exit 1
fi
grep -E '^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb' "$dir/log"
grep -E '^#[0-9]+.*(DONE|INITED)' "$dir/log" | tail -n 2
exit 0
