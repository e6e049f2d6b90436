#!/bin/bash
# The link: an agent is running only after its READY; a stop is an
# INTERRUPT first; one that ignores it is SIGTERMed then SIGKILLed within
# StopTimeoutSec; Type=agent without READY hits StartTimeoutSec; garbage on
# one agent's link closes that link and nothing else.
. "$(dirname "$0")/common.sh"
[ -x "$LINK_AGENT" ] || skip "link-agent not built"

write_unit polite.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Environment=LINK_AGENT_RECORD=$REC
EOF2
write_unit deaf.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Environment=LINK_AGENT_IGNORE_INTERRUPT=1
StopTimeoutSec=400ms
EOF2
write_unit mute.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Environment=LINK_AGENT_NO_READY=1
StartTimeoutSec=300ms
Restart=no
EOF2
start_agentd "$UNITS"
wait_state polite running
wait_state deaf running
wait_state mute failed
assert_contains "$(agent_field mute 7) $(agent_field mute 8) $(agent_field mute 9) $(agent_field mute 10) $(agent_field mute 11)" "start timeout"

step "hostile input on an agent's link closes that link, nothing else"
[ ! -e "$RT/link.sock" ] || fail "a link socket file exists: links are socketpairs"
for kind in bad big; do
	write_unit rude-$kind.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Environment=LINK_AGENT_GARBAGE=$kind
StopTimeoutSec=2s
EOF2
done
ctl_ok reload
wait_log "rude-bad: link: malformed message, closing the link"
wait_log "rude-big: link: a [0-9]+-byte message \(max 65536\), closing the link"
wait_log "rude-bad: link-agent rude-bad: agentd closed the link"
wait_log "rude-big: link-agent rude-big: agentd closed the link"
assert_eq "$(agent_state polite)" running
for kind in bad big; do
	assert_eq "$(agent_state rude-$kind)" running
	ctl_ok stop rude-$kind
	assert_eq "$(agent_state rude-$kind)" inactive
	assert_contains "$(agent_field rude-$kind 7) $(agent_field rude-$kind 8) $(agent_field rude-$kind 9)" "SIGTERM"
done

ctl_ok stop polite
assert_eq "$(recorded interrupt)" polite
assert_contains "$(agent_field polite 7) $(agent_field polite 8) $(agent_field polite 9)" "exited 2 (interrupted)"

ctl_ok stop deaf
assert_eq "$(agent_state deaf)" inactive
assert_contains "$(cat "$T/agentd.log")" "deaf: still running after the interrupt, SIGTERM"
assert_contains "$(cat "$T/agentd.log")" "deaf: did not stop within 400ms, SIGKILL"
stop_agentd
pass
