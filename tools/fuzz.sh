#!/bin/bash
# Runs the libFuzzer targets in build/fuzz. Usage: fuzz.sh smoke|long
#   smoke: a bounded run of each (part of make test); long: make fuzz.
# New inputs go to a scratch folder, so the checked-in corpus (the seeds
# and every crash found so far, kept as regression inputs) is only read.
# FUZZ_SECONDS sets the time per target.
set -u
mode=${1:-smoke}
case "$mode" in
smoke) seconds=${FUZZ_SECONDS:-10} ;;
long) seconds=${FUZZ_SECONDS:-300} ;;
*) echo "usage: fuzz.sh smoke|long" >&2; exit 2 ;;
esac

artifacts=build/fuzz/artifacts
mkdir -p "$artifacts"
passed=0
failed=0
for fuzzer in build/fuzz/fuzz_*; do
	name=${fuzzer##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	scratch=$(mktemp -d)
	log=$(mktemp)
	echo "=== fuzz ($mode): $name, ${seconds}s"
	# close_fd_mask=2: the targets log every refused input to stderr;
	# libFuzzer keeps its own report.
	"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 \
		-close_fd_mask=2 \
		-artifact_prefix="$artifacts/$name-" "$scratch" "$seeds" \
		>"$log" 2>&1
	status=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log")
	if [ "$status" -eq 0 ]; then
		echo "fuzz: $name: ${runs:-?} executions, no failure"
		passed=$((passed + 1))
	else
		tail -n 40 "$log"
		echo "fuzz: $name FAILED; the input is in $artifacts/;" \
			"copy it into $seeds/ to keep it as a regression input"
		failed=$((failed + 1))
	fi
	rm -rf "$scratch" "$log"
done
echo "fuzz: $passed passed, $failed failed"
if [ -n "${CHAT_TEST_TALLY:-}" ]; then
	echo "$passed $failed" >> "$CHAT_TEST_TALLY"
fi
[ "$failed" -eq 0 ]
