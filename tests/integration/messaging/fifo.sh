#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Batching, FIFO and backpressure between agent processes: one source sends
# MSG_N (default 1,000,000) numbered events to a sink as fast as its inbox
# takes them; then two sources at once to one sink (3 processes): every
# event arrives exactly once and in order per sender, nothing is dropped,
# and the sender saw backpressure (-EAGAIN, retried) rather than losses;
# last a sink that stops reading: its sender gets -EAGAIN and waits.
. "$(dirname "$0")/common.sh"
N=${MSG_N:-1000000}

write_unit sink.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
UNIT
write_unit one.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT source sink $N 1
After=sink
UNIT

start_agentd "$UNITS"

step "one source -> sink: $N events, none missing, duplicated or reordered"
ctl_ok --timeout 20s wait sink
wait_until -t 150 state_is one done failed
ctl_ok status one
[ "$(agent_state one)" = done ] || fail "source did not finish: $OUT"
sink_stat 0; assert_eq "$JV" "$N" "events at the sink"
sink_stat 1; assert_eq "$JV" 0 "sequence errors at the sink"
sink_stat 3; assert_eq "$JV" 0 "drops at the sink"
sink_stat 4; assert_eq "$JV" 0 "malformed at the sink"
step "the counters are visible with agentctl (builtin agent.stats)"
ctl_ok call sink agent.stats
echo "sink: $OUT" >&2
json_check 'j["received"] >= '"$N"' and j["dropped"] == 0 and j["malformed"] == 0' "sink's counters"
ctl_ok call sink ping '"x"'
assert_eq "$OUT" '"x"' "builtin ping echoes its body"

step "two sources -> one sink at once: FIFO per pair"
M=$(( N / 4 ))
write_unit a.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT source sink $M 2
UNIT
write_unit b.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT source sink $M 3
UNIT
ctl_ok reload
ctl_ok start a b
wait_until -t 150 state_is a done failed
wait_until -t 150 state_is b done failed
[ "$(agent_state a)" = done ] || fail "source a did not finish"
[ "$(agent_state b)" = done ] || fail "source b did not finish"
sink_stat 0; assert_eq "$JV" $(( N + 2 * M )) "events at the sink"
sink_stat 1; assert_eq "$JV" 0 "sequence errors at the sink"
sink_stat 3; assert_eq "$JV" 0 "drops at the sink"

# A receiver that does not read (its loop blocked in the "stall" event
# until $T/go exists) makes its sender's sends fail with -EAGAIN (agent.h:
# "retry later: nothing was queued"), which the source retries: once the
# receiver reads again it gets every event, in order. K is more than nng's
# send buffer (128 batches of up to 256 envelopes) and the socket's hold.
step "a stalled sink: the sender gets -EAGAIN and waits; nothing lost, order kept"
K=${MSG_STALL_N:-200000}
write_unit slow.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sink
UNIT
ctl_ok reload
ctl_ok start slow
ctl_ok --timeout 20s wait slow
ctl_ok send slow stall "\"$T/go\""
wait_until -t 20 test -e "$T/go.stalled"
write_unit pushy.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT source slow $K 4
Restart=no
UNIT
ctl_ok reload
ctl_ok start pushy
# (the sink stays stalled until $T/go exists)
wait_until -t 60 grep -q "pushy: source 4: -EAGAIN at seq" "$T/agentd.log"
at=$(sed -n 's/^pushy: source 4: -EAGAIN at seq \([0-9]*\)$/\1/p' "$T/agentd.log")
step "first -EAGAIN at seq $at of $K"
assert_eq "$(agent_state pushy)" running "the source waits while the sink is stalled"
[ "$at" -lt "$K" ] || fail "-EAGAIN after the last event ($at of $K)"
touch "$T/go"
wait_until -t 120 state_is pushy done failed
# its last word: "done: seq K/K retries R eagain E ..." (done means the
# sink answered "fin" with K: it saw the last event as the last)
grep "^pushy: source 4: " "$T/agentd.log" >&2
assert_eq "$(agent_state pushy)" done "the source after the stall"
last=$(grep "^pushy: source 4: done: " "$T/agentd.log")
assert_match "$last" "seq $K/$K retries [1-9][0-9]* eagain [1-9][0-9]* " "the source's final status"
ctl_ok call slow stats
json_check 'j[0] == '"$K"' and j[1] == 0 and j[3] == 0 and j[4] == 0' "stalled sink's [events, errors, received, dropped, malformed]: all $K, in order, none dropped"

stop_agentd
pass
