#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Nothing is lost when a sender exits right after its last send: a source
# pushes N numbered events to a sink slower than itself (the sink sleeps
# 1 ms every 200 events) and ends as soon as the last one is accepted,
# with up to 128 batches still in nng's send buffer. nng 1.5.2 has no flush: libagent waits at exit
# until its pipe has written everything nng took. Every event must reach
# the sink, in order.
. "$(dirname "$0")/common.sh"
N=${MSG_N:-100000}

write_unit sink.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
Environment=MSG_SINK_SLOW=200
UNIT
write_unit quick.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT source sink $N 1 exit
After=sink
Restart=no
UNIT
start_agentd "$UNITS"

step "a source that ends after its last send: all $N events arrive"
ctl_ok --timeout 20s wait sink
wait_until -t 120 state_is quick done failed
assert_eq "$(agent_state quick)" done "the source ended cleanly"
wait_until -t 10 sink_has "$N"
sink_stat 0; assert_eq "$JV" "$N" "events at the sink"
sink_stat 1; assert_eq "$JV" 0 "sequence errors at the sink"
stop_agentd
pass
