#!/bin/bash
# The restart delay doubles (with jitter below the nominal value) and goes
# back to RestartSec after RestartResetSec of healthy run. Delays are read
# from agentd's log ("restart N in D"), not measured.
. "$(dirname "$0")/common.sh"

count=$T/count
# crashes 4 times at once, then runs 1 s (healthy), crashes, then runs.
crasher=$(agent_script crasher "
n=\$(cat '$count' 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >'$count'
[ \$n -le 4 ] && exit 1
[ \$n -eq 5 ] && { sleep 1; exit 1; }
exec sleep 1000")
write_unit flaky.agent <<EOF2
[Agent]
ExecStart=$crasher
Type=exec
RestartSec=40ms
RestartMaxSec=10s
RestartResetSec=500ms
EOF2
start_agentd "$UNITS"
wait_until eval '[ "$(cat "$count" 2>/dev/null)" = 6 ]'
wait_state flaky running
# delays in microseconds-ish units from "restart N in 123ms" / "1.234s"
delays=$(grep -oE 'flaky: .*restart [0-9]+ in [0-9.]+m?s' "$T/agentd.log" |
	sed -E 's/.* in ([0-9.]+)(m?s)$/\1 \2/' |
	awk '{ if ($2 == "ms") print $1 * 1000; else print $1 * 1000000 }' |
	tr '\n' ' ')
step "delays (us): $delays"
set -- $delays
[ $# -eq 5 ] || fail "expected 5 restarts, got $#: $delays"
[ "$1" -lt "$2" ] && [ "$2" -lt "$3" ] && [ "$3" -lt "$4" ] ||
	fail "delays do not grow: $delays"
[ "$4" -le 320000 ] || fail "4th delay above 40ms * 2^3: $4"
[ "$5" -lt "$3" ] || fail "delay after a healthy run did not reset: $delays"
[ "$5" -le 40000 ] || fail "delay after reset above RestartSec: $5"
stop_agentd
pass
