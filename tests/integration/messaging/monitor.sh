#!/bin/bash
# SPDX-License-Identifier: MIT
#
# agentd's registry over the link: an agent monitors another and is told
# its transitions in order (the current state first, then stopping, the
# restart with the new pid, a stop); RESOLVE gives a name's inbox, pid and
# state, an unknown name is "unknown", and the unit of a pool resolves to
# its running instances in turn.
. "$(dirname "$0")/common.sh"

write_unit callee.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
UNIT
write_unit pool.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
Instances=3
UNIT
write_unit watcher.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT watcher callee
UNIT

start_agentd "$UNITS"
ctl_ok --timeout 20s wait callee watcher pool@1 pool@2 pool@3
pid1=$(agent_pid callee)

seen() {
	ctl call watcher seen
	[ "$RC" = 0 ] || return 1
	SEEN=$OUT
}
seen_has() {
	seen && json_eval "$SEEN" "'$1' in j" && [ "$JV" = true ]
}

step "the monitor starts with the current state"
wait_until seen_has "callee:running:$pid1"

step "a restart: stopping, then running with the new pid, in order"
ctl_ok restart callee
wait_until runs_anew callee "$pid1"
pid2=$(agent_pid callee)
wait_until seen_has "callee:running:$pid2"
json_eval "$SEEN" "[s for s in j if s.startswith('callee:')]"
echo "seen: $JV" >&2
json_eval "$SEEN" "j.index('callee:running:$pid1') < [i for i, s in enumerate(j) if s.startswith('callee:stopping')][0] < j.index('callee:running:$pid2')"
assert_eq "$JV" true "running -> stopping -> running again, in order"

step "a stop is seen too"
ctl_ok stop callee
wait_until eval 'seen && json_eval "$SEEN" "j[-1].split(\":\")[1]" && [ "$JV" != running ] && [ "$JV" != stopping ]'
echo "last: $JV" >&2

step "resolve: a running agent, an unknown name"
ctl_ok start callee
wait_state callee running
pid3=$(agent_pid callee)
ctl_ok call watcher resolve '"callee"'
json_eval "$OUT" 'j[0] + " " + str(j[2]) + " " + j[3]'
assert_eq "$JV" "callee $pid3 running"
json_eval "$OUT" 'j[1]'
assert_eq "$JV" "ipc://$RT/inbox/callee.sock" "callee's inbox"
ctl_ok call watcher resolve '"nosuch"'
json_eval "$OUT" 'j[3] + " " + str(j[2]) + " [" + j[1] + "]"'
assert_eq "$JV" "unknown 0 []"

step "resolve a pool's unit name: its instances in turn"
names=
for i in 1 2 3 4 5 6; do
	ctl_ok call watcher resolve '"pool"'
	json_eval "$OUT" 'j[0]'
	names="$names $JV"
done
echo "pool resolved to:$names" >&2
for n in pool@1 pool@2 pool@3; do
	assert_contains "$names" "$n"
done

stop_agentd
pass
