#!/bin/bash
# Agents with User=nobody can become ready: Type=notify through
# notify.sock (systemd-notify --ready), Type=agent through its inherited link, and a
# libagent agent can create its socket in inbox/. (They used to stay
# starting until their start timeout: runtime dir 0700, sockets 0600.)
. "$(dirname "$0")/common.sh"
[ "$(id -u)" = 0 ] || skip "needs root (User=nobody)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v systemd-notify >/dev/null || skip "no systemd-notify"
# TEST_AGENT and LINK_AGENT come from meson (agentd/meson.build); empty
# when not built.

# /tmp/a.XXXXXX is 0700 root: agentd makes its runtime dir ($RT = $T)
# 0711, the scripts here are 0755. The agents built in the tree run as
# nobody only if nobody can reach them (a checkout under a 0700 directory,
# e.g. mktemp -d, cannot): then those parts are skipped, and said so.
nobody_can_run() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		/usr/bin/test -x "$1" 2>/dev/null
}
for v in LINK_AGENT TEST_AGENT; do
	if [ ! -x "${!v}" ]; then
		step "skipping the $v part: not built ($v='${!v}')"
	elif ! nobody_can_run "${!v}"; then
		step "skipping the $v part: nobody cannot execute ${!v}"
		printf -v "$v" '%s' ""
	fi
done
notifier=$(agent_script notifier 'systemd-notify --ready; exec sleep 1000')
write_unit n.agent <<EOF2
[Agent]
ExecStart=$notifier
Type=notify
User=nobody
StartTimeoutSec=20s
Restart=no
EOF2
if [ -x "$LINK_AGENT" ]; then
	write_unit l.agent <<EOF2
[Agent]
ExecStart=$LINK_AGENT
Type=agent
User=nobody
StartTimeoutSec=20s
Restart=no
EOF2
fi
if [ -x "$TEST_AGENT" ]; then
	write_unit t.agent <<EOF2
[Agent]
ExecStart=$TEST_AGENT
Type=agent
User=nobody
StartTimeoutSec=20s
Restart=no
EOF2
fi
start_agentd "$UNITS"
wait_state n running
assert_eq "$(stat -c %U "/proc/$(agent_pid n)")" nobody "n runs as"
if [ -x "$LINK_AGENT" ]; then
	wait_state l running
	assert_eq "$(stat -c %U "/proc/$(agent_pid l)")" nobody "l runs as"
fi
if [ -x "$TEST_AGENT" ]; then
	wait_state t running
	wait_until test -S "$RT/inbox/t.sock"
	assert_eq "$(stat -c %U "$RT/inbox/t.sock")" nobody "t's inbox owner"
	# the answer comes back from an agent of another user
	ctl_ok ping t
	assert_contains "$OUT" "mailbox answered in"
	ctl_ok call t echo '"x"'
	assert_eq "$OUT" '"x"' "call to a User=nobody agent"
fi
stop_agentd
pass
