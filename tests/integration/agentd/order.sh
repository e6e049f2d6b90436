#!/bin/bash
# Ordered start gated on readiness (groups by Order=, After= inside a
# group) and exact reverse stop order, each group fully down before the next.
. "$(dirname "$0")/common.sh"
command -v systemd-notify >/dev/null || skip "no systemd-notify"

# A Type=notify agent: records start, becomes ready after a pause, records
# its stop on SIGTERM.
agent=$(agent_script agent '
echo "start $AGENTD_NAME" >>"$REC"
trap "echo stop $AGENTD_NAME >>\"$REC\"; exit 0" TERM
sleep 0.2
echo "ready $AGENTD_NAME" >>"$REC"
systemd-notify --ready
while :; do sleep 1 & wait $!; done')

write_unit first.group <<EOF2
[Group]
Order=1
EOF2
write_unit second.group <<EOF2
[Group]
Order=2
EOF2
unit() { # name group after
	write_unit "$1.agent" <<EOF2
[Agent]
ExecStart=$agent
Type=notify
Group=$2
After=$3
Environment=REC=$REC
StopTimeoutSec=10s
EOF2
}
unit db first ""
unit cache first ""
unit api first "db cache"
unit web second ""
unit worker second "web"

start_agentd "$UNITS"
for n in db cache api web worker; do
	wait_state $n running
done
step "start order: $(recorded start)"
for n in db cache api web worker; do
	[ "$(line_no start $n)" -gt 0 ] && [ "$(line_no ready $n)" -gt 0 ] || fail "$n: start/ready not recorded"
done
# api starts only after db and cache are ready
[ "$(line_no start api)" -gt "$(line_no ready db)" ] || fail "api started before db was ready"
[ "$(line_no start api)" -gt "$(line_no ready cache)" ] || fail "api started before cache was ready"
# the second group starts only after every agent of the first is ready
for n in db cache api; do
	[ "$(line_no start web)" -gt "$(line_no ready $n)" ] || fail "web started before $n was ready"
done
[ "$(line_no start worker)" -gt "$(line_no ready web)" ] || fail "worker started before web was ready"

check_stop_order() {
	for n in db cache api web worker; do
		[ "$(line_no stop $n)" -gt 0 ] || fail "no stop recorded for $n"
	done
	[ "$(line_no stop worker)" -lt "$(line_no stop web)" ] || fail "web stopped before worker"
	for n in db cache api; do
		[ "$(line_no stop web)" -lt "$(line_no stop $n)" ] || fail "$n stopped before web (group order)"
	done
	[ "$(line_no stop api)" -lt "$(line_no stop db)" ] || fail "db stopped before api"
	[ "$(line_no stop api)" -lt "$(line_no stop cache)" ] || fail "cache stopped before api"
}

step "agentctl stop of all of them, named in any order, stops in reverse order"
ctl_ok stop cache db web api worker
for n in db cache api web worker; do
	assert_eq "$(agent_state $n)" inactive "$n after stop"
done
step "stop order: $(recorded stop)"
check_stop_order

rm -f "$REC"
ctl_ok start db cache api web worker
for n in db cache api web worker; do
	assert_eq "$(agent_state $n)" running "$n after start"
done
stop_agentd
stops=$(recorded stop)
step "stop order: $stops"
check_stop_order
pass
