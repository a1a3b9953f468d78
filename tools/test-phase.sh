#!/bin/bash
# One phase of `make test`: runs the command with CHAT_TEST_TALLY set to
# TALLY, where the test runners add their counts. A phase that fails
# without having counted a failure (it did not build, a program was
# missing) adds one, so the total never reads as a success. Always exits 0:
# the next phase runs anyway. Usage: test-phase.sh TALLY COMMAND...
set -u
tally=$1
shift
failures() {
	[ -f "$tally" ] && awk '{ f += $2 } END { print f + 0 }' "$tally" ||
		echo 0
}
before=$(failures)
CHAT_TEST_TALLY=$tally "$@"
rc=$?
if [ "$rc" -ne 0 ] && [ "$(failures)" -eq "$before" ]; then
	echo "make test: '$*' failed (exit $rc) before its tests counted it"
	echo "0 1" >> "$tally"
fi
exit 0
