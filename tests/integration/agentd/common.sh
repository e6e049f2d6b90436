# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# common.sh - helpers for agentd's integration tests, on top of ../lib.sh.
. "${INTEGRATION_LIB:-$(dirname "$0")/../lib.sh}"

: "${LINK_AGENT:=}"
REC=$T/record

# agent_script NAME BODY: write an executable shell script $T/NAME.sh.
agent_script() {
	local f=$T/$1.sh
	printf '#!/bin/sh\n%s\n' "$2" >"$f"
	chmod +x "$f"
	echo "$f"
}

# The lines of the record file matching a word, in order, space separated.
recorded() {
	[ -f "$REC" ] || return 0
	grep -E "^$1 " "$REC" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//'
}

# line_no WORD NAME: line number of "WORD NAME" in the record (0 if none).
line_no() {
	local n
	n=$(grep -nxF "$1 $2" "$REC" 2>/dev/null | head -n1 | cut -d: -f1)
	echo "${n:-0}"
}

# wait_log REGEX: wait until agentd's log has a matching line.
wait_log() {
	wait_until grep -qE "$1" "$T/agentd.log"
}

# pid_gone_all PID...: true when none of the pids is alive.
pids_gone() {
	local p
	for p in "$@"; do
		pid_alive "$p" && return 1
	done
	return 0
}
