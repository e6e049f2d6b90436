#!/bin/bash
# demo.sh AGENTD AGENTCTL UNITS_DIR - the main job (scripts/run-demo.sh):
# agentd in the foreground on the example units; ping and pong exchange
# messages across processes (each line shown by agentd with the agent's
# name); Ctrl-C (SIGINT) stops them in group order (clients, then
# services) and agentd exits 0, leaving no process behind.
set -u
agentd=$1 agentctl=$2 units=$3
T=$(mktemp -d -t a.XXXXXX) || exit 1
log=$T/agentd.log
pid=
pids=

fail() {
	echo "FAIL: $*" >&2
	sed 's/^/  | /' "$log" >&2
	exit 1
}

cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# wait_for SECONDS CMD...: poll CMD every 50 ms up to a deadline
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

in_log() { grep -qxE -- "$1" "$log"; }
gone() { ! kill -0 "$1" 2>/dev/null; }

"$agentd" --units "$units" --runtime-dir "$T" >"$log" 2>&1 &
pid=$!

# three round trips, seen from both sides
wait_for 20 in_log 'ping: ping #3 <- pong has seen 3 pings' ||
	fail "ping and pong did not exchange 3 messages"
for n in 1 2 3; do
	in_log "ping: ping #$n -> pong" || fail "ping #$n not sent"
	in_log "pong: ping #$n from ping" || fail "pong did not see ping #$n"
done

# the agents' pids, to check that they are gone at the end
status=$(AGENTD_RUNTIME_DIR=$T "$agentctl" status) || fail "agentctl status"
pids=$(printf '%s\n' "$status" | awk '$1 == "ping" || $1 == "pong" { print $4 }')
[ "$(printf '%s\n' $pids | grep -c '^[0-9][0-9]*$')" -eq 2 ] ||
	fail "no pids for ping and pong in: $status"

kill -INT "$pid"
wait_for 20 gone "$pid" || fail "agentd did not exit after SIGINT"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] || fail "agentd exited with $rc"
for p in $pids; do
	gone "$p" || fail "agent pid $p is still there"
done
# clients stop before services: ping ends before pong
p=$(grep -nE '^ping: stopping after [0-9]+ pings' "$log" | cut -d: -f1)
q=$(grep -nE '^pong: stopping after [0-9]+ pings' "$log" | cut -d: -f1)
[ -n "$p" ] && [ -n "$q" ] || fail "ping and pong did not both finalize"
[ "$p" -lt "$q" ] || fail "pong stopped before ping"
# both ended as interrupted (exit status 2), not failed or killed (a leak
# or a crash under the sanitizers would change the status)
for a in ping pong; do
	grep -qE "^agentd: .*\<$a\>.* exited 2\>" "$log" ||
		fail "$a did not exit with status 2 (interrupted)"
done
sed 's/^/  | /' "$log"
exit 0
