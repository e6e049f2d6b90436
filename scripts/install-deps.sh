#!/usr/bin/env bash
# Install what building and testing agentd needs on Debian 12, idempotently:
# packages already present are left alone and apt-get is not even called.
set -euo pipefail

pkgs=(
	meson ninja-build pkg-config gcc cmake
	libnng-dev libmsgpack-dev libsystemd-dev libinih-dev libjansson-dev
	libcmocka-dev
	clang libclang-rt-14-dev   # libFuzzer target and its runtime
	systemd                    # systemd-analyze verify, systemd-notify
	procps psmisc              # pgrep/ps in integration tests
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
