#!/bin/bash
# Runs cmocka test programs, then prints one summary line counting
# individual tests. Usage: run-tests.sh LABEL BINARY...
#
# CHAT_TEST_JOBS=N runs up to N programs at once, except those named in
# CHAT_TEST_SOLO (space-separated program names), which run alone: the
# ones that load the machine or measure latency. Each program's output is
# printed whole when it ends.
# With CHAT_TEST_TALLY set, the counts are also appended to that file;
# run-tests.sh --total FILE prints the sum of such a file.
set -u
if [ "${1:-}" = "--total" ]; then
	awk '{ p += $1; f += $2; s += $3 } END {
		printf "total: %d passed, %d failed", p, f
		if (s > 0) printf ", %d skipped", s
		printf "\n"; exit f > 0 }' "$2"
	exit $?
fi
label=$1
shift
jobs=${CHAT_TEST_JOBS:-1}
solo=" ${CHAT_TEST_SOLO:-} "
passed=0
failed=0
skipped=0
broken=""
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A running=() # pid -> program name

# Runs one program into its log; the exit status and time go next to it.
run_one() {
	local t=$1 name=${1##*/} started
	started=$(date +%s)
	"$t" > "$logs/$name.log" 2>&1
	echo "$? $(($(date +%s) - started))" > "$logs/$name.rc"
}

# Prints a finished program's output and adds up its counts.
report() {
	local name=$1 rc seconds p f s
	read -r rc seconds < "$logs/$name.rc"
	echo "=== $label: $name"
	cat "$logs/$name.log"
	echo "=== $label: $name: $seconds s"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$logs/$name.log" |
		tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$logs/$name.log" |
		tail -n 1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$logs/$name.log" |
		tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	skipped=$((skipped + ${s:-0}))
	if { [ -z "$p" ] && [ -z "$f" ]; } ||
		{ [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
		# Crashed, or failed after cmocka reported (a sanitizer at exit):
		# count the program as one failure.
		failed=$((failed + 1))
		broken="$broken $name"
	elif [ -n "$f" ] && [ "$f" -gt 0 ]; then
		broken="$broken $name"
	fi
}

# Waits for one running program and reports it.
reap_one() {
	local pid
	wait -n -p pid "${!running[@]}"
	report "${running[$pid]}"
	unset "running[$pid]"
}

for t in "$@"; do
	name=${t##*/}
	if [ "$jobs" -le 1 ] || [[ "$solo" == *" $name "* ]]; then
		while [ "${#running[@]}" -gt 0 ]; do reap_one; done
		run_one "$t"
		report "$name"
		continue
	fi
	while [ "${#running[@]}" -ge "$jobs" ]; do reap_one; done
	run_one "$t" &
	running[$!]=$name
done
while [ "${#running[@]}" -gt 0 ]; do reap_one; done

[ -n "$broken" ] && echo "$label: failing programs:$broken"
summary="$label: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
if [ -n "${CHAT_TEST_TALLY:-}" ]; then
	echo "$passed $failed $skipped" >> "$CHAT_TEST_TALLY"
fi
[ "$failed" -eq 0 ]
