#!/bin/sh
# get-page: GetPage (async) hands the text to Print (sync), which prints it.
. "$(dirname "$0")/lib.sh"
run "$1"
expect_rc 0
expect_output "This is the page /rust-lang."
