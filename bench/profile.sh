#!/bin/bash
# Where the chat server spends its CPU in the 1:1 scenario of `make bench`
# (lifted rate limits, as in the capacity runs).
#
# With hardware counters (`perf stat -e instructions true` works), perf
# samples the broker and the bridge at full speed. Without them, as on
# most virtual machines, the broker (with the plugin) and the bridge run
# under valgrind's callgrind, about 50 times slower: there the shares of
# user-space instructions matter, not the rates, and kernel time is not
# counted. PROFILE_TOOL=perf or =callgrind forces one of them (perf falls
# back to its cpu-clock timer without counters).
#
# Usage: bench/profile.sh [SECONDS]   after `make bench`, whose template
# it reuses. Output in $BUILD/bench/profile/: the raw profiles and, per
# process, the costliest functions (*.txt).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${CHAT_BUILD_DIR:-build}
OUT=$BUILD/bench
PROFILE=$OUT/profile
LOAD_SECONDS=${1:-5}
TOOL=${PROFILE_TOOL:-auto}
. bench/server.sh

if [ "$TOOL" = auto ]; then
	TOOL=callgrind
	perf stat -e instructions true 2>&1 | grep -q 'not supported' ||
		TOOL=perf
fi
TEMPLATE=$OUT/template
if [ ! -e "$TEMPLATE/roster" ]; then
	bench/setup.sh "$TEMPLATE" 100 1000 200 || exit 1
fi
rm -rf "$PROFILE"
mkdir -p "$PROFILE"
dir=$(mktemp -d "${TMPDIR:-/tmp}/chat-profile-XXXXXX")
trap 'server_stop; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM HUP PIPE

start_server() {
	local port=$1
	cp "$TEMPLATE/chat.db" "$TEMPLATE/bridge.token" "$dir/"
	server_config product "$dir" "$port" \
		"plugin_opt_user_send_rate 1000000" \
		"plugin_opt_user_send_burst 1000000" \
		"plugin_opt_convo_delivery_rate 100000000"
	if [ "$TOOL" = callgrind ]; then
		local cg="valgrind --tool=callgrind --callgrind-out-file"
		BROKER_WRAPPER="$cg=$PROFILE/broker.callgrind"
		BRIDGE_WRAPPER="$cg=$PROFILE/bridge.callgrind"
	fi
	server_start product "$dir" "$port"
}

# Under callgrind the server is slow: a small window keeps latency sane.
run_load() {
	local port=$1 inflight=80
	[ "$TOOL" = callgrind ] && inflight=20
	taskset -c "$CLIENT_CORE" "$BUILD/chat-load" pairs --mode product \
		--port "$port" --roster "$TEMPLATE/roster" \
		--inflight "$inflight" --warmup 2 --window "$LOAD_SECONDS" \
		--turn-us 1000 --broker-pid "$BROKER_PID" \
		--bridge-pid "$BRIDGE_PID" >"$PROFILE/load.txt"
}

# perf records both processes through the measurement window.
perf_during_load() {
	local port=$1 broker bridge
	(sleep 2 && perf record -g -q -o "$PROFILE/broker.perf" \
		-p "$BROKER_PID" -- sleep "$LOAD_SECONDS") >/dev/null 2>&1 &
	broker=$!
	(sleep 2 && perf record -g -q -o "$PROFILE/bridge.perf" \
		-p "$BRIDGE_PID" -- sleep "$LOAD_SECONDS") >/dev/null 2>&1 &
	bridge=$!
	run_load "$port"
	wait "$broker" "$bridge"
}

report_callgrind() { # NAME
	callgrind_annotate --inclusive=no "$PROFILE/$1.callgrind" \
		>"$PROFILE/$1.txt" 2>/dev/null
	callgrind_annotate --inclusive=yes "$PROFILE/$1.callgrind" \
		>"$PROFILE/$1.inclusive.txt" 2>/dev/null
}

report_perf() { # NAME
	perf report -i "$PROFILE/$1.perf" --no-children --sort dso,sym \
		-g none --stdio >"$PROFILE/$1.txt" 2>/dev/null
	perf report -i "$PROFILE/$1.perf" --no-children --sort dso \
		-g none --stdio >"$PROFILE/$1.objects.txt" 2>/dev/null
}

# The top of a report, and the functions of our own code (OBJECT); with
# callgrind also our functions with what they call (inclusive).
show() { # NAME OBJECT
	local rows='^ *[0-9,.]+ *(\([ 0-9.]+%\)|%)' own
	own="$2\]|$(pwd)/(plugin|bridge|common)/"
	echo "== $1: costliest functions (self)"
	grep -E "$rows" "$PROFILE/$1.txt" | head -n 15
	echo "== $1: costliest functions of $2 (self)"
	grep -E "$rows" "$PROFILE/$1.txt" | grep -F "$2" | head -n 10
	[ -e "$PROFILE/$1.inclusive.txt" ] || return 0
	echo "== $1: costliest functions of $2 with their callees"
	grep -E "$rows" "$PROFILE/$1.inclusive.txt" | grep -E "$own" |
		grep -v '???:' | head -n 20
}

port=$("$BUILD/chat-load" free-port)
start_server "$port" || exit 1
echo "profile: $TOOL, ${LOAD_SECONDS} s of the 1:1 scenario"
if [ "$TOOL" = callgrind ]; then
	run_load "$port"
	server_stop
	report_callgrind broker
	report_callgrind bridge
else
	perf_during_load "$port"
	server_stop
	report_perf broker
	report_perf bridge
fi
cat "$PROFILE/load.txt"
show broker chat_plugin.so
show bridge chat-bridge
