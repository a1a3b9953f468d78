#!/bin/bash
# Runs cmocka test programs one after another, then prints one summary line
# counting individual tests. Usage: run-tests.sh LABEL BINARY...
# With CHAT_TEST_TALLY set, the counts are also appended to that file;
# run-tests.sh --total FILE prints the sum of such a file.
set -u
if [ "${1:-}" = "--total" ]; then
	awk '{ p += $1; f += $2 } END {
		printf "total: %d passed, %d failed\n", p, f; exit f > 0 }' "$2"
	exit $?
fi
label=$1
shift
passed=0
failed=0
broken=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
	echo "=== $label: $(basename "$t")"
	started=$(date +%s)
	"$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	echo "=== $label: $(basename "$t"): $(($(date +%s) - started)) s"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if { [ -z "$p" ] && [ -z "$f" ]; } ||
		{ [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
		# Crashed, or failed after cmocka reported (a sanitizer at exit):
		# count the program as one failure.
		failed=$((failed + 1))
		broken="$broken $(basename "$t")"
	elif [ -n "$f" ] && [ "$f" -gt 0 ]; then
		broken="$broken $(basename "$t")"
	fi
done
[ -n "$broken" ] && echo "$label: failing programs:$broken"
echo "$label: $passed passed, $failed failed"
if [ -n "${CHAT_TEST_TALLY:-}" ]; then
	echo "$passed $failed" >> "$CHAT_TEST_TALLY"
fi
[ "$failed" -eq 0 ]
