#!/bin/bash
# one_for_one, one_for_all and rest_for_one: kill one agent, see who is
# restarted (new pid) and who keeps its pid.
. "$(dirname "$0")/common.sh"

sleeper=$(agent_script sleeper 'exec sleep 1000')
for g in one_for_one one_for_all rest_for_one; do
	write_unit $g.group <<EOF2
[Group]
Strategy=$g
Intensity=10
Period=1min
EOF2
	# a, b (After=a), c (After=b): start order a b c
	prev=
	for n in a b c; do
		write_unit ${g}_$n.agent <<EOF2
[Agent]
ExecStart=$sleeper
Type=exec
Group=$g
Restart=always
RestartSec=0
${prev:+After=$prev}
EOF2
		prev=${g}_$n
	done
done
start_agentd "$UNITS"
for g in one_for_one one_for_all rest_for_one; do
	for n in a b c; do
		wait_state ${g}_$n running
	done
done

# check GROUP: kill GROUP_b, wait until it runs again, print which changed
check() {
	local g=$1 n before=() after=() changed=
	for n in a b c; do
		before+=("$(agent_pid ${g}_$n)")
	done
	kill -KILL "${before[1]}"
	wait_until eval '[ "$(agent_pid ${g}_b)" != "${before[1]}" ] && state_is ${g}_b running'
	for n in a b c; do
		wait_state ${g}_$n running
	done
	for i in 0 1 2; do
		local now
		now=$(agent_pid ${g}_$(echo a b c | cut -d' ' -f$((i + 1))))
		[ "$now" != "${before[$i]}" ] && changed+="$(echo a b c | cut -d' ' -f$((i + 1)))"
	done
	echo "$changed"
}

step "one_for_one: only b restarts"
assert_eq "$(check one_for_one)" "b" "restarted in one_for_one"
step "one_for_all: a, b and c restart"
assert_eq "$(check one_for_all)" "abc" "restarted in one_for_all"
step "rest_for_one: b and c restart, a keeps running"
assert_eq "$(check rest_for_one)" "bc" "restarted in rest_for_one"
assert_eq "$(agent_field one_for_all_a 6)" 1 "restart count of a sibling"
step "every exit agentd read was released: no zombie child"
wait_until agentd_no_zombies
stop_agentd
pass
