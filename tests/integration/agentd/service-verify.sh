#!/bin/bash
# units/agentd.service passes `systemd-analyze verify` with no output at
# all (it exits 0 on warnings, so the output is what counts). The installed
# paths do not exist in the build tree: the programs' paths are pointed at
# the built binaries in a copy.
set -u
SERVICE=${AGENTD_SERVICE:-}
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze" >&2; exit 77; }
[ -f "$SERVICE" ] || { echo "agentd.service not configured: '$SERVICE'" >&2; exit 1; }
[ -x "$AGENTD" ] && [ -x "$AGENTCTL" ] || { echo "binaries not built" >&2; exit 77; }
T=$(mktemp -d -t a.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
sed -E -e "s#^ExecStart=[^ ]+#ExecStart=$AGENTD#" \
	-e "s#^ExecReload=[^ ]+#ExecReload=$AGENTCTL#" "$SERVICE" >"$T/agentd.service"
grep -q "^ExecStart=$AGENTD " "$T/agentd.service" || { echo "ExecStart= not rewritten" >&2; exit 1; }
out=$(systemd-analyze verify --man=no "$T/agentd.service" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "systemd-analyze verify (exit $rc):" >&2
	echo "$out" >&2
	exit 1
fi
# the settings the design depends on
for k in Type=notify KillMode=mixed Delegate=yes RuntimeDirectory=agentd WatchdogSec= ExecReload=; do
	grep -q "^$k" "$SERVICE" || { echo "missing $k" >&2; exit 1; }
done
echo "ok: systemd-analyze verify printed nothing"
exit 0
