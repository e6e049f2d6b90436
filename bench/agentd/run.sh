#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh BENCH-AGENTD AGENTD AGENTCTL BENCH-AGENT [ARGS...]
#
# Runs bench-agentd twice, unpinned and pinned to one CPU (taskset -c 0;
# agentd and every agent inherit the affinity), and shows the memory
# before and after. Extra ARGS (or $BENCH_AGENTD_ARGS) go to bench-agentd,
# e.g. `-n 300 -k 200 start status`. Set BENCH_AGENTD_PIN=only|no to run
# only the pinned / only the unpinned pass. See README.md.
set -eu

[ $# -ge 4 ] || { echo "usage: $0 BENCH-AGENTD AGENTD AGENTCTL BENCH-AGENT [ARGS...]" >&2; exit 2; }
bench=$1 agentd=$2 agentctl=$3 agent=$4
shift 4
# shellcheck disable=SC2206
extra=(${BENCH_AGENTD_ARGS:-} "$@")
pin=${BENCH_AGENTD_PIN:-both}
common=(--agentd "$agentd" --agentctl "$agentctl" --agent "$agent")

echo "# $(date -u '+%F %T') UTC, $(uname -r), $(nproc) CPUs"
free -m | sed 's/^/# /'
if [ "$pin" != only ]; then
	echo "#### unpinned"
	"$bench" "${common[@]}" "${extra[@]}"
fi
if [ "$pin" != no ]; then
	echo "#### pinned (taskset -c 0)"
	taskset -c 0 "$bench" "${common[@]}" "${extra[@]}"
fi
free -m | sed 's/^/# /'
