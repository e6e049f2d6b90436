#!/usr/bin/env bash
# The main job: install what is missing, build, and run agentd in the
# foreground on the example units, with a local runtime directory and no
# systemd. Ctrl-C (SIGINT) stops every agent in reverse order and exits.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

# ipc socket paths must stay under 107 bytes: keep the runtime dir short.
rt="$top/build/run"
case ${#rt} in
	[0-9]|[0-6][0-9]) ;;
	*) rt=$(mktemp -d -t agentd.XXXXXX) ;;
esac
mkdir -p "$rt"

echo "agentd: units in build/examples/units, runtime dir $rt" >&2
echo "agentd: in another shell: AGENTD_RUNTIME_DIR=$rt build/agentctl/agentctl status" >&2
exec build/agentd/agentd --units build/examples/units --runtime-dir "$rt" "$@"
