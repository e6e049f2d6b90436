#!/bin/sh
# functional: a sync function and an async function run as one-shot agents
# and their results are read back.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "sum_of_powers: $(sum_of_powers)
load_page: This is the page /knowledge.dev."
