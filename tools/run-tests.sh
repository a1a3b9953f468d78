#!/bin/bash
# Runs cmocka test programs one after another, then prints one summary line
# counting individual tests. Usage: run-tests.sh LABEL BINARY...
set -u
label=$1
shift
passed=0
failed=0
broken=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
	echo "=== $label: $(basename "$t")"
	"$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
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
[ "$failed" -eq 0 ]
