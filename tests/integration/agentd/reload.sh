#!/bin/bash
# reload (agentctl reload and SIGHUP) applies the difference: untouched
# agents keep their pid, changed ones restart, new ones start, removed ones
# stop; a broken set is refused and the running set kept.
. "$(dirname "$0")/common.sh"

unit() { # name arg
	write_unit "$1.agent" <<EOF2
[Agent]
ExecStart=/bin/sleep $2
Type=exec
EOF2
}
unit keep 1000
unit change 1000
unit remove 1000
start_agentd "$UNITS"
for n in keep change remove; do wait_state $n running; done
keep=$(agent_pid keep)
change=$(agent_pid change)
remove=$(agent_pid remove)

unit change 2000
unit add 1000
rm "$UNITS/remove.agent"
ctl_ok reload
assert_contains "$OUT" "1 added, 1 removed, 1 changed"
wait_state add running
wait_state change running
assert_eq "$(agent_pid keep)" "$keep" "untouched agent's pid"
assert_ne "$(agent_pid change)" "$change" "changed agent's pid"
wait_until pids_gone "$remove"
ctl status remove
assert_eq "$RC" 1 "status of a removed agent"

step "a broken set is refused"
keep=$(agent_pid keep)
printf '[Agent]\nExecStart=/bin/sleep 1000\nBogus=1\n' >"$UNITS/broken.agent"
ctl_fails 1 reload
assert_contains "$ERR$OUT" "broken.agent:3: unknown key Bogus"
assert_eq "$(agent_pid keep)" "$keep"

step "SIGHUP reloads too"
rm "$UNITS/broken.agent"
unit late 1000
kill -HUP "$AGENTD_PID"
wait_state late running
assert_eq "$(agent_pid keep)" "$keep"
stop_agentd
pass
