#!/bin/bash
# `make valgrind`: integration test programs with the broker (and the chat
# plugin inside it) and the bridge under Valgrind's memcheck. With
# CHAT_VALGRIND=1 the harness starts both parts under valgrind
# (tests/harness/valgrind.c) and fails a test whose reports show a memory
# error or a definite or indirect leak. This script runs the programs,
# keeps every report in $CHAT_BUILD_DIR/valgrind/ and summarises them.
# Usage: valgrind.sh TEST_PROGRAM...
set -u
build=${CHAT_BUILD_DIR:-build}
tools=$(cd "$(dirname "$0")" && pwd)

if ! command -v valgrind > /dev/null; then
	echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 2
fi
# Memcheck and the sanitizers cannot share a process.
if nm -D "$build/chat-bridge" 2> /dev/null | grep -q __asan_init; then
	echo "valgrind.sh: $build holds a sanitizer build; use the plain one" >&2
	exit 2
fi

reports="$build/valgrind"
rm -rf "$reports"
mkdir -p "$reports"
export CHAT_BUILD_DIR="$build"
export CHAT_VALGRIND=1
export CHAT_VALGRIND_LOG_DIR
CHAT_VALGRIND_LOG_DIR=$(cd "$reports" && pwd)
if [ -f "$tools/valgrind.supp" ]; then
	export CHAT_VALGRIND_SUPPRESSIONS="$tools/valgrind.supp"
fi

started=$(date +%s)
"$tools/run-tests.sh" valgrind "$@"
rc=$?

# One line per part: reports, reports cut short (kill -9 by a test, so no
# leak check), errors, and bytes definitely and indirectly lost.
summarise() {
	local part=$1
	awk -v part="$part" '
		FNR == 1 { files++; summary[FILENAME] = 0 }
		/ERROR SUMMARY:/ {
			summary[FILENAME] = 1
			errors += $4
			if ($4 > 0) flagged[FILENAME] = 1
		}
		/definitely lost:/ { gsub(",", "", $4); definite += $4 }
		/indirectly lost:/ { gsub(",", "", $4); indirect += $4 }
		END {
			for (f in summary) if (!summary[f]) cut++
			printf "valgrind: %s: %d runs (%d killed before the leak " \
			       "check), %d errors, %d bytes definitely and %d " \
			       "indirectly lost\n", part, files, cut, errors,
			       definite, indirect
			for (f in flagged) print "valgrind:   see " f
		}' "$reports"/*-valgrind-"$part".*.log 2> /dev/null
}
if compgen -G "$reports/*-valgrind-*.log" > /dev/null; then
	summarise broker
	summarise bridge
else
	echo "valgrind: no reports in $reports" >&2
	rc=1
fi
echo "valgrind: $(($(date +%s) - started)) s; reports in $reports"
exit $rc
