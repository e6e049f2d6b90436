#!/bin/bash
# Group order after the start phase: `agentctl start a b` (a in an earlier
# group, ready late) starts b only once a is running; so does a reload that
# adds c (early group, ready late) and d (later group).
. "$(dirname "$0")/common.sh"
command -v systemd-notify >/dev/null || skip "no systemd-notify"

# slow NAME: records "start NAME", waits for $T/go-NAME, records
# "ready NAME", then READY=1.
slow() {
	agent_script "$1" "echo \"start $1\" >>\"$REC\"
while [ ! -e \"$T/go-$1\" ]; do sleep 0.02; done
echo \"ready $1\" >>\"$REC\"
systemd-notify --ready
exec sleep 1000"
}
fast() {
	agent_script "$1" "echo \"start $1\" >>\"$REC\"; systemd-notify --ready; exec sleep 1000"
}
write_unit early.group <<EOF2
[Group]
Order=1
EOF2
write_unit late.group <<EOF2
[Group]
Order=2
EOF2
unit() { # unit NAME GROUP SCRIPT
	write_unit "$1.agent" <<EOF2
[Agent]
ExecStart=$3
Type=notify
Group=$2
StartTimeoutSec=60s
EOF2
}
unit a early "$(slow a)"
unit b late "$(fast b)"
touch "$T/go-a"
start_agentd "$UNITS"
wait_state a running
wait_state b running

step "stop a b; start a b: b waits for a's READY"
ctl_ok stop a b
rm "$T/go-a"
: >"$REC"
ctl_bg "$T/start.out" --timeout 60s start a b
starter=$BG_PID
wait_until grep -qx "start a" "$REC"
wait_state a starting
assert_eq "$(agent_state b)" inactive "b while a is not ready"
touch "$T/go-a"
wait_state b running
wait "$starter" || fail "agentctl start a b failed: $(cat "$T/start.out" "$T/start.out.err")"
assert_eq "$(recorded start) / $(recorded ready)" "a b / a"
assert_match "$(grep -n . "$REC" | tr '\n' ' ')" "^1:start a 2:ready a 3:start b $"

step "reload adds c (early, slow) and d (late): d waits for c"
: >"$REC"
unit c early "$(slow c)"
unit d late "$(fast d)"
ctl_ok reload
assert_contains "$OUT" "2 added"
wait_until grep -qx "start c" "$REC"
wait_state c starting
assert_eq "$(agent_state d)" inactive "d while c is not ready"
touch "$T/go-c"
wait_state d running
assert_match "$(grep -n . "$REC" | tr '\n' ' ')" "^1:start c 2:ready c 3:start d $"
stop_agentd
pass
