# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lib.sh - shared helpers for the integration tests (source it from bash).
#
#	#!/bin/bash
#	. "$(dirname "$0")/../lib.sh"      # or "$INTEGRATION_LIB"
#	write_unit a.agent <<EOF
#	[Agent]
#	ExecStart=$TEST_AGENT
#	EOF
#	start_agentd "$UNITS"
#	wait_state a running
#	ctl stop a
#	stop_agentd                          # SIGTERM, asserts exit 0
#	pass
#
# What it gives a test:
#  - $T: a private temporary directory (mktemp -d -t a.XXXXXX: short, because
#    ipc paths are limited to 107 bytes); $RT = $T is the runtime directory,
#    exported as AGENTD_RUNTIME_DIR; $UNITS = $T/units is an empty unit dir.
#  - start_agentd UNITS_DIR [ARGS...]: agentd in the background (pid in
#    $AGENTD_PID, output in $T/agentd.log), returns once control.sock answers;
#    fails with the log tail if agentd dies or does not answer in time.
#  - stop_agentd [EXPECTED_STATUS]: SIGTERM, wait with a deadline, check the
#    exit status (default 0).
#  - ctl ARGS...: run agentctl (stdout in $OUT, stderr in $ERR, status in
#    $RC; never fails by itself). ctl_ok / ctl_fails N run it and assert.
#    ctl_bg FILE ARGS...: agentctl in the background (stdout in FILE,
#    stderr in FILE.err, pid in $BG_PID, killed at exit if still there).
#    last_log_is NAME LINE: true if NAME's last output line is LINE.
#  - wait_until [-t SECONDS] CMD...: poll CMD every 20 ms until it succeeds,
#    fail after the deadline ($WAIT_TIMEOUT, default 20 s).
#  - wait_state NAME STATE..., agent_state NAME, agent_pid NAME,
#    has_pid NAME, runs_anew NAME OLD_PID, wait_pid_gone PID [SECONDS],
#    pid_alive PID.
#  - wait_agentd_exit (after `agentctl shutdown`; status in $RC).
#  - json_eval JSON PYTHON-EXPR: the expression on the parsed JSON `j`,
#    result in $JV (e.g. json_eval "$OUT" 'len(j)'); json_check
#    PYTHON-EXPR [MSG]: fail unless the expression on $OUT is True.
#  - assert helpers: assert_eq, assert_ne, assert_match, assert_contains,
#    assert_not_contains, assert_no_leftovers, fail, skip, pass, step.
#  - Process accounting: every process agentd starts carries
#    AGENTD_TEST_TAG=$TAG in its environment (agentd passes its environment
#    on; units may also set it with Environment=). The exit trap stops
#    agentd (SIGTERM, deadline, SIGKILL), kills and reports any tagged
#    process left, and fails the test if there was one. Processes a test
#    starts itself can be tagged with `tagged CMD...`, or started in the
#    background with `spawn_tagged CMD...` (pid in $SPAWNED_PID, killed at
#    exit).
#
# Environment from meson (tests/integration/meson.build): AGENTD, AGENTCTL,
# BUILD_ROOT, SOURCE_ROOT, PYTHON, TEST_AGENT (a libagent agent binary, may
# be empty: call need_test_agent), FAKE_CTL (a fake control socket:
# silent|garbage|echo|pair, may be empty).
# TEST_AGENT (agentctl/helpers/test-agent.c) runs as an actor until
# stopped; from other processes (agentctl send/call) it handles the event
# "note" (counted), and the requests "count" (the number of notes), "echo"
# (answers its body), "fail" (answers -EINVAL) and "hang" (never answers).
# Set KEEP_TMP=1 to keep $T after the run; LIB_NEEDS_AGENTD=no (before
# sourcing) for a test that runs without agentd.
#
# Exit status (meson's exitcode protocol): 0 pass, 77 skip, anything else
# fail.

set -u
set -o pipefail

: "${AGENTD:=}"
: "${AGENTCTL:=}"
: "${BUILD_ROOT:=}"
: "${SOURCE_ROOT:=}"
: "${PYTHON:=python3}"
: "${TEST_AGENT:=}"
: "${FAKE_CTL:=}"
: "${WAIT_TIMEOUT:=20}"
: "${STOP_TIMEOUT:=20}"
: "${KEEP_TMP:=}"

TEST_NAME=$(basename "$0" .sh)

_lib_log() {
	printf '%s: %s\n' "$TEST_NAME" "$*" >&2
}

# Print a step of the test (shows up in meson's test log).
step() {
	printf '# %s\n' "$*" >&2
}

skip() {
	_lib_log "SKIP: $*"
	_LIB_RESULT=77
	exit 77
}

# Fail the test now, with the tail of agentd's log.
fail() {
	_lib_log "FAIL: $*"
	if [ -n "${T:-}" ] && [ -s "$T/agentd.log" ]; then
		echo "---- last lines of agentd's log ($T/agentd.log) ----" >&2
		tail -n 40 "$T/agentd.log" >&2
		echo "----" >&2
	fi
	_LIB_RESULT=1
	exit 1
}

pass() {
	_LIB_RESULT=0
	exit 0
}

# A test that does not need agentd sets LIB_NEEDS_AGENTD=no before
# sourcing this file.
if [ "${LIB_NEEDS_AGENTD:-yes}" != no ]; then
	[ -n "$AGENTD" ] && [ -x "$AGENTD" ] || skip "agentd binary not built (AGENTD='$AGENTD')"
fi
[ -n "$AGENTCTL" ] && [ -x "$AGENTCTL" ] || skip "agentctl binary not built (AGENTCTL='$AGENTCTL')"

T=$(mktemp -d -t a.XXXXXX) || { echo "mktemp failed" >&2; exit 1; }
RT=$T
UNITS=$T/units
mkdir -p "$UNITS"
export AGENTD_RUNTIME_DIR=$RT
if [ -r /proc/sys/kernel/random/uuid ]; then
	TAG=$(cat /proc/sys/kernel/random/uuid)
else
	TAG=$$-$RANDOM-$RANDOM-$(date +%s%N)
fi
# Not exported: only agentd (and what it starts) and tagged commands get it,
# so the test shell and its helpers never match the scan.
AGENTD_PID=
_LIB_RESULT=
_LIB_TRACKED=()

# Skip the test when no libagent test agent was built.
need_test_agent() {
	[ -n "$TEST_AGENT" ] && [ -x "$TEST_AGENT" ] ||
		skip "no libagent test agent built (TEST_AGENT='$TEST_AGENT')"
}

# ---- time ------------------------------------------------------------------

# Monotonic-enough microseconds (bash 5's EPOCHREALTIME).
now_us() {
	local t=${EPOCHREALTIME/./}
	echo "${t#0}"
}

# ---- processes -------------------------------------------------------------

# True if pid exists and is not a zombie.
pid_alive() {
	local st
	[ -n "$1" ] || return 1
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -e 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# True if pid is a live child of the test shell. A tracked pid that the
# test has already reaped (wait) may have been reused by anyone: pids
# wrap within seconds on a busy machine (pid_max 32768).
is_our_child() {
	local ppid
	pid_alive "$1" || return 1
	ppid=$(sed -e 's/^.*) . \([0-9]*\) .*/\1/' "/proc/$1/stat" 2>/dev/null) ||
		return 1
	[ "$ppid" = "$$" ]
}

# Run a command with the test tag in its environment.
tagged() {
	AGENTD_TEST_TAG=$TAG "$@"
}

# Start a command in the background with the tag, tracked for cleanup;
# its pid in $SPAWNED_PID.
spawn_tagged() {
	AGENTD_TEST_TAG=$TAG "$@" &
	SPAWNED_PID=$!
	_LIB_TRACKED+=("$SPAWNED_PID")
}

# Remember a pid to kill at exit (for processes a test starts itself,
# children of the test shell).
track() {
	_LIB_TRACKED+=("$@")
}

# Pids of every live process whose environment carries our tag.
tagged_pids() {
	local f pid
	# grep -z reads the NUL-separated environ; -l prints matching files.
	for f in $(grep -lsxzF "AGENTD_TEST_TAG=$TAG" /proc/[0-9]*/environ 2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/environ}
		pid_alive "$pid" && echo "$pid"
	done
	return 0
}

# Describe pids for a message: "pid (comm)".
describe_pids() {
	local p
	for p in "$@"; do
		printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null || echo '?')"
	done
}

# Fail if any tagged process is alive.
assert_no_leftovers() {
	local left
	left=$(tagged_pids | tr '\n' ' ')
	[ -z "${left// /}" ] || fail "processes left behind: $(describe_pids $left)"
}

# True when agentd has no zombie child: every exit it read was released.
agentd_no_zombies() {
	local st
	st=$(ps --ppid "$AGENTD_PID" -o stat= 2>/dev/null)
	! grep -q '^Z' <<<"$st"
}

# Wait (deadline in seconds) for a pid to be gone; 0 if it is.
wait_pid_gone() {
	local pid=$1 secs=${2:-$STOP_TIMEOUT} end
	end=$(( $(now_us) + secs * 1000000 ))
	while pid_alive "$pid"; do
		[ "$(now_us)" -lt "$end" ] || return 1
		sleep 0.02
	done
	return 0
}

# ---- agentd ----------------------------------------------------------------

# Write a unit file into $UNITS from stdin: write_unit NAME.agent <<EOF ...
write_unit() {
	cat >"$UNITS/$1"
}

# start_agentd UNITS_DIR [ARGS...]: start a private agentd on $RT and wait
# until its control socket answers `agentctl status`.
start_agentd() {
	local units=$1
	shift
	[ -z "$AGENTD_PID" ] || fail "start_agentd: agentd already running ($AGENTD_PID)"
	step "start agentd --units $units --runtime-dir $RT $*"
	AGENTD_TEST_TAG=$TAG "$AGENTD" --units "$units" --runtime-dir "$RT" "$@" \
		</dev/null >>"$T/agentd.log" 2>&1 &
	AGENTD_PID=$!
	_wait_agentd_answers || fail "agentd did not answer on $RT/control.sock within ${WAIT_TIMEOUT}s"
}

_wait_agentd_answers() {
	local end
	end=$(( $(now_us) + WAIT_TIMEOUT * 1000000 ))
	while :; do
		if ! pid_alive "$AGENTD_PID"; then
			wait "$AGENTD_PID"
			local rc=$?
			AGENTD_PID=
			fail "agentd exited early with status $rc"
		fi
		if [ -S "$RT/control.sock" ] &&
		   "$AGENTCTL" --runtime-dir "$RT" --timeout 2s status >/dev/null 2>&1; then
			return 0
		fi
		[ "$(now_us)" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# stop_agentd [EXPECTED_STATUS]: SIGTERM agentd, wait for it with a deadline
# ($STOP_TIMEOUT), assert its exit status (default 0).
stop_agentd() {
	local want=${1:-0} rc
	[ -n "$AGENTD_PID" ] || fail "stop_agentd: agentd is not running"
	step "SIGTERM agentd ($AGENTD_PID)"
	kill -TERM "$AGENTD_PID" 2>/dev/null
	if ! wait_pid_gone "$AGENTD_PID" "$STOP_TIMEOUT"; then
		kill -KILL "$AGENTD_PID" 2>/dev/null
		wait "$AGENTD_PID" 2>/dev/null
		AGENTD_PID=
		fail "agentd did not exit within ${STOP_TIMEOUT}s of SIGTERM"
	fi
	wait "$AGENTD_PID"
	rc=$?
	AGENTD_PID=
	[ "$rc" = "$want" ] || fail "agentd exited with status $rc, expected $want"
}

# Wait for agentd to exit by itself (after `agentctl shutdown`); sets $RC.
wait_agentd_exit() {
	[ -n "$AGENTD_PID" ] || fail "wait_agentd_exit: agentd is not running"
	wait_pid_gone "$AGENTD_PID" "$STOP_TIMEOUT" ||
		fail "agentd did not exit within ${STOP_TIMEOUT}s"
	wait "$AGENTD_PID"
	RC=$?
	AGENTD_PID=
}

# ---- agentctl --------------------------------------------------------------

# ctl ARGS...: run agentctl against $RT. Sets OUT, ERR and RC; returns 0.
ctl() {
	local ef=$T/ctl.err
	OUT=$("$AGENTCTL" --runtime-dir "$RT" "$@" 2>"$ef")
	RC=$?
	ERR=$(cat "$ef")
	return 0
}

# ctl_ok ARGS...: ctl, and fail unless it exits 0.
ctl_ok() {
	ctl "$@"
	[ "$RC" = 0 ] || fail "agentctl $* exited $RC: $ERR"
}

# ctl_fails CODE ARGS...: ctl, and fail unless it exits CODE.
ctl_fails() {
	local want=$1
	shift
	ctl "$@"
	[ "$RC" = "$want" ] || fail "agentctl $* exited $RC, expected $want (stdout: $OUT; stderr: $ERR)"
}

# ctl_bg FILE ARGS...: agentctl ARGS in the background against $RT, stdout
# in FILE, stderr in FILE.err; its pid in $BG_PID (tracked: killed at exit).
ctl_bg() {
	local f=$1
	shift
	"$AGENTCTL" --runtime-dir "$RT" "$@" >"$f" 2>"$f.err" &
	BG_PID=$!
	track "$BG_PID"
}

# last_log_is NAME LINE: true if `agentctl logs -n 1 NAME` is exactly LINE.
last_log_is() {
	"$AGENTCTL" --runtime-dir "$RT" logs -n 1 "$1" 2>/dev/null | grep -qx -- "$2"
}

# agent_field NAME COLUMN: a column of `agentctl status NAME` (plain output:
# a header line, then NAME GROUP STATE PID UPTIME RESTARTS LAST-EXIT, "-"
# for empty fields). COLUMN is 1-based. Prints nothing if unknown.
agent_field() {
	"$AGENTCTL" --runtime-dir "$RT" status "$1" 2>/dev/null |
		awk -v n="$1" -v c="$2" 'NR > 1 && $1 == n { print $c; exit }'
	return 0
}

agent_state() {
	agent_field "$1" 3
}

agent_pid() {
	local p
	p=$(agent_field "$1" 4)
	[ "$p" = - ] && p=
	echo "$p"
}

# has_pid NAME: true if NAME has a process (for wait_until; never write
# `wait_until test -n "$(agent_pid X)"`: that is evaluated only once).
has_pid() {
	[ -n "$(agent_pid "$1")" ]
}

# runs_anew NAME OLD_PID: true once NAME is running under a pid other
# than OLD_PID (restarted).
runs_anew() {
	local p
	p=$(agent_pid "$1")
	[ -n "$p" ] && [ "$p" != "$2" ] && state_is "$1" running
}

# state_is NAME STATE...: true if NAME is in one of the states.
state_is() {
	local n=$1 s cur
	shift
	cur=$(agent_state "$n")
	for s in "$@"; do
		[ "$cur" = "$s" ] && return 0
	done
	return 1
}

# ---- waiting ---------------------------------------------------------------

# wait_until [-t SECONDS] CMD...: poll CMD every 20 ms until it succeeds;
# fail the test after the deadline. Also fails early if agentd died.
wait_until() {
	local secs=$WAIT_TIMEOUT end
	if [ "${1:-}" = -t ]; then
		secs=$2
		shift 2
	fi
	end=$(( $(now_us) + secs * 1000000 ))
	while ! "$@"; do
		if [ -n "$AGENTD_PID" ] && ! pid_alive "$AGENTD_PID"; then
			wait "$AGENTD_PID"
			local rc=$?
			AGENTD_PID=
			fail "agentd died (status $rc) while waiting for: $*"
		fi
		[ "$(now_us)" -lt "$end" ] || fail "timed out after ${secs}s waiting for: $*"
		sleep 0.02
	done
}

# wait_state NAME STATE...: wait until NAME is in one of the states.
wait_state() {
	wait_until state_is "$@"
}

# ---- assertions ------------------------------------------------------------

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', expected '$2'"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "${3:-values equal}: got '$1'"
}

# assert_match STRING ERE [MSG]
assert_match() {
	[[ $1 =~ $2 ]] || fail "${3:-no match}: '$1' !~ /$2/"
}

# assert_contains HAYSTACK NEEDLE [MSG]
assert_contains() {
	case $1 in
	*"$2"*) ;;
	*) fail "${3:-missing text}: '$2' not in '$1'" ;;
	esac
}

assert_not_contains() {
	case $1 in
	*"$2"*) fail "${3:-unexpected text}: '$2' in '$1'" ;;
	*) ;;
	esac
}

# json_eval JSON EXPR: evaluate a Python expression on the parsed JSON `j`
# and store the result in $JV (json.dumps for non-strings). Fails the test
# on bad JSON or a failing expression.
json_eval() {
	JV=$("$PYTHON" -c '
import json, sys
j = json.loads(sys.argv[1])
r = eval(sys.argv[2], {"j": j, "len": len, "sorted": sorted})
print(r if isinstance(r, str) else json.dumps(r, sort_keys=True))
' "$1" "$2") || fail "json_eval: cannot evaluate '$2' on: $1"
}

# json_check EXPR [MSG]: evaluate a Python expression on $OUT (parsed as
# JSON into j) and fail unless it is True.
json_check() {
	json_eval "$OUT" "$1"
	[ "$JV" = true ] || fail "${2:-JSON check}: $1 is $JV on: $OUT"
}

# ---- cleanup ---------------------------------------------------------------

_lib_cleanup() {
	local rc=$? left p
	trap - EXIT INT TERM
	[ -n "$_LIB_RESULT" ] && rc=$_LIB_RESULT
	if [ -n "$AGENTD_PID" ] && pid_alive "$AGENTD_PID"; then
		kill -TERM "$AGENTD_PID" 2>/dev/null
		if ! wait_pid_gone "$AGENTD_PID" "$STOP_TIMEOUT"; then
			_lib_log "agentd ignored SIGTERM for ${STOP_TIMEOUT}s, SIGKILL"
			kill -KILL "$AGENTD_PID" 2>/dev/null
		fi
		wait "$AGENTD_PID" 2>/dev/null
	fi
	for p in "${_LIB_TRACKED[@]}"; do
		if is_our_child "$p"; then
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	# Agents get a moment to follow agentd (PR_SET_PDEATHSIG) before they
	# count as left behind.
	left=
	if [ -n "$TAG" ]; then
		local end=$(( $(now_us) + 5 * 1000000 ))
		while left=$(tagged_pids | tr '\n' ' '); [ -n "${left// /}" ]; do
			[ "$(now_us)" -lt "$end" ] || break
			sleep 0.02
		done
	fi
	if [ -n "${left// /}" ]; then
		_lib_log "FAIL: processes left behind: $(describe_pids $left)"
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		if [ "$rc" = 0 ] || [ "$rc" = 77 ]; then
			rc=1
		fi
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -s "$T/agentd.log" ] &&
	   [ -z "$_LIB_RESULT" ]; then
		echo "---- last lines of agentd's log ----" >&2
		tail -n 40 "$T/agentd.log" >&2
	fi
	if [ -n "$KEEP_TMP" ]; then
		_lib_log "kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _lib_cleanup EXIT
trap 'fail "interrupted"' INT TERM
