#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Nothing is lost when a sender exits right after its last send. nng 1.5.2
# has no flush: libagent waits at exit until its pipes have written
# everything nng took (the kernel keeps it for the receiver), for as long
# as the pipes or the receivers' reading make progress.
#   sink/quick:     N events (default 100,000) to a sink a little slower
#                   than the source (1 ms sleep every 200 events): up to
#                   128 batches are still in nng's send buffer at the end.
#   slow/quick2:    N2 events (default 10,000) to a much slower sink (1 ms
#                   every 5): nng's pipe waits seconds for room in the
#                   socket while the sink reads (a fixed 1 s grace lost
#                   2,560 of them: 7,424 arrived).
# Every event must reach its sink, in order.
. "$(dirname "$0")/common.sh"
N=${MSG_N:-100000}
N2=${MSG_N2:-10000}

# sink_unit NAME SLOW / source_unit NAME SINK N ID
sink_unit() {
	printf '[Agent]\nType=agent\nExecStart=%s sink\nEnvironment=MSG_SINK_SLOW=%s\n' \
		"$MSG_AGENT" "$2" | write_unit "$1.agent"
}
source_unit() {
	printf '[Agent]\nType=agent\nExecStart=%s source %s %s %s exit\nAfter=%s\nRestart=no\n' \
		"$MSG_AGENT" "$2" "$3" "$4" "$2" | write_unit "$1.agent"
}
sink_unit sink 200
sink_unit slow 5
source_unit quick sink "$N" 1
source_unit quick2 slow "$N2" 2
start_agentd "$UNITS"

# all_arrive SINK N: the sink works through what its source left in the
# socket buffers; wait while its count grows (a slow sink on a loaded
# machine needs longer than any fixed deadline), fail once it stops short
# of N for 10 s, then check the order.
all_arrive() {
	local sink=$1 n=$2 got=-1 since
	since=$(now_us)
	while sink_stat 0 "$sink" || fail "$sink does not answer"; [ "$JV" -lt "$n" ]; do
		[ "$JV" = "$got" ] || { got=$JV since=$(now_us); }
		[ $(( $(now_us) - since )) -lt 10000000 ] ||
			fail "$sink stopped at $got of $n events (lost at the source's exit?)"
		sleep 0.05
	done
	assert_eq "$JV" "$n" "events at $sink"
	sink_stat 1 "$sink"; assert_eq "$JV" 0 "sequence errors at $sink"
}

step "sources that end after their last send: every event arrives"
ctl_ok --timeout 20s wait sink slow
wait_until -t 120 state_is quick done failed
wait_until -t 120 state_is quick2 done failed
assert_eq "$(agent_state quick)" done "quick ended cleanly"
assert_eq "$(agent_state quick2)" done "quick2 ended cleanly"
all_arrive sink "$N"
all_arrive slow "$N2"
stop_agentd
pass
