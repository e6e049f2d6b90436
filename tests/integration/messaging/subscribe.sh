#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Subscriptions between agent processes under a private agentd: a
# subscriber gets the snapshot first, then every update in order; a second
# one unsubscribes and gets nothing more; a subscriber that stalls (its
# loop blocked) while the publisher bursts falls behind and is told how many
# updates it missed (seq jumps by exactly that); the publisher forgets a
# subscriber that agentd reports dead.
. "$(dirname "$0")/common.sh"
# more updates than the buffers between two processes hold (~40,000 here)
BURST=${MSG_BURST:-150000}

write_unit pub.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT pub
UNIT
start_agentd "$UNITS"
ctl_ok --timeout 20s wait pub

u64() { # CALL-ARGS... -> $JV = j[0]
	ctl_ok call "$@"
	json_eval "$OUT" 'j[0]'
}
# got NAME: [updates, last seq, last value, missed, errors, snapshots]
got() {
	ctl call "$1" got
	[ "$RC" = 0 ] || return 1
	GOT=$OUT
}
got_seq() { # NAME SEQ: NAME has seen SEQ
	got "$1" && json_eval "$GOT" 'j[1]' && [ "$JV" = "$2" ]
}
subs_are() {
	ctl call pub subs
	[ "$RC" = 0 ] && json_eval "$OUT" 'j[0]' && [ "$JV" = "$1" ]
}

step "five values before anyone subscribes"
for i in 1 2 3 4 5; do u64 pub bump; done
assert_eq "$JV" 5

step "a subscriber gets the snapshot (seq 5, value 5), then updates in order"
write_unit s1.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sub pub t
Restart=no
UNIT
write_unit s2.agent <<UNIT
[Agent]
Type=agent
ExecStart=$MSG_AGENT sub pub t
UNIT
ctl_ok reload
ctl_ok start s1 s2
ctl_ok --timeout 20s wait s1 s2
wait_until got_seq s1 5
wait_until got_seq s2 5
wait_until subs_are 2
json_eval "$GOT" 'j'
for i in 6 7 8; do u64 pub bump; done
wait_until got_seq s1 8
got s1
json_eval "$GOT" 'j'
assert_eq "$JV" "[3, 8, 8, 0, 0, 1]" "s1: 3 updates, seq 8, value 8, none missed, no error, one snapshot"

step "unsubscribe: s2 gets nothing more"
ctl_ok call s2 unsub
wait_until subs_are 1
u64 pub bump
wait_until got_seq s1 9
got s2
json_eval "$GOT" 'j[1]'
assert_eq "$JV" 8 "s2 stopped at seq 8"

step "a stalled subscriber falls behind and is told how many it missed"
# s1 blocks its loop until $T/go exists (its inbox is not read meanwhile)
ctl_ok send s1 stall "\"$T/go\""
wait_until test -e "$T/go.stalled"
ctl_ok --timeout 120s call pub burst "[$BURST]"
json_eval "$OUT" 'j[0]'
echo "burst reached the subscriber $JV times out of $BURST" >&2
touch "$T/go"
u64 pub bump
last=$JV
wait_until -t 60 got_seq s1 "$last"
got s1
json_eval "$GOT" 'j'
echo "s1 after the burst: $JV" >&2
json_eval "$GOT" 'j[4]'
assert_eq "$JV" 0 "seq always == previous + 1 + missed"
json_eval "$GOT" "j[3] > 0 and j[0] + j[3] == 4 + $BURST + 1"
assert_eq "$JV" true "updates seen + missed = updates published since the snapshot"

step "the publisher forgets a subscriber agentd reports dead"
ctl_ok kill s1
wait_until subs_are 0

stop_agentd
pass
