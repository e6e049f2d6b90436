#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A pipeline across processes: source -> mid (a pool, Instances=4) -> sink.
# The source sends to the pool's unit name; libagent spreads the items over
# the instances and skips one that does not keep up; each mid instance
# forwards to the sink and pauses its mailbox while the sink is full
# (backpressure all the way up). Every item arrives exactly once, and
# every instance of the pool took a share.
. "$(dirname "$0")/common.sh"
N=${MSG_PIPE_N:-200000}

write_unit sink.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
Environment=MSG_UNORDERED=1
UNIT
write_unit mid.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT relay sink
Instances=4
After=sink
UNIT
write_unit src.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT source mid $N 5 stay
After=mid
UNIT

start_agentd "$UNITS"

step "$N items through 4 relays: each exactly once"
wait_until -t 150 sink_has "$N"
sink_stat 0; assert_eq "$JV" "$N" "items at the sink"
sink_stat 1; assert_eq "$JV" 0 "duplicates at the sink"
sink_stat 3; assert_eq "$JV" 0 "drops at the sink"
total=0
for i in 1 2 3 4; do
	ctl_ok call mid@$i stats
	json_eval "$OUT" 'j[0]'
	echo "mid@$i forwarded $JV" >&2
	[ "$JV" -gt 0 ] || fail "mid@$i took no share"
	total=$(( total + JV ))
done
assert_eq "$total" "$N" "forwarded by the pool"

stop_agentd
pass
