#!/bin/bash
# `make bench`: every scenario of docs/PERFORMANCE.md, each run PAIRS times
# against the chat server (mosquitto + plugin + bridge, SQLite
# synchronous=full) and against plain mosquitto, alternating which goes
# first. Every run has a fresh folder and fresh processes, and is stopped
# even when it fails. Results: a table here, $BUILD/bench/results.json and
# $BUILD/bench/results.png. Exit status 1 when any run lost or duplicated
# a message (or could not be made).
#
# Environment: BENCH_PAIRS (5), BENCH_IDLE_MAX (10000 connections),
# BENCH_AS_SHIPPED=1 (keep the shipped rate limits in every run),
# BENCH_ONLY (space-separated scenario labels, e.g. "pairs idle", to run
# only those while working on one figure), TMPDIR.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${CHAT_BUILD_DIR:-build}
OUT=$BUILD/bench
LOAD=$BUILD/chat-load
PAIRS=${BENCH_PAIRS:-5}
IDLE_MAX=${BENCH_IDLE_MAX:-10000}
BACKLOG=100000
BODY=200
. bench/server.sh

# Per-user and per-conversation rate limits are abuse controls sized for
# people (30 messages a second per user). The benchmark's 10 to 100
# connections stand in for many users each, so the capacity runs lift
# these limits, and only these; the "as shipped" runs keep them.
CAPACITY_LINES=(
	"plugin_opt_user_send_rate 1000000"
	"plugin_opt_user_send_burst 1000000"
	"plugin_opt_user_request_rate 1000000"
	"plugin_opt_user_request_burst 1000000"
	"plugin_opt_convo_delivery_rate 100000000"
)
[ "${BENCH_AS_SHIPPED:-0}" = 1 ] && CAPACITY_LINES=()
# Plain mosquitto must be able to queue the whole backlog for the offline
# durable session.
PLAIN_CATCHUP_LINES=("max_queued_messages $((2 * BACKLOG))"
	"max_queued_bytes 0")

# What chat-load runs. Windows: pairs keep 800 sends unfinished in all,
# below the server's 900 messages waiting to be stored (max_pending);
# groups keep 200 or 600 messages unfinished, below the broker's 1,000
# queued messages per subscriber. --turn-us lets packets gather for that
# long per loop turn, so that the generator stays far below the broker's
# CPU; the latency run reacts at once instead.
ONE_TO_ONE="pairs --pairs 10 --inflight 80 --warmup 1 --window 5"
ONE_TO_ONE="$ONE_TO_ONE --turn-us 1000"
GROUP_10="group --members 10 --senders 2 --inflight 300 --warmup 1"
GROUP_10="$GROUP_10 --window 4 --turn-us 1000"
GROUP_100="group --members 100 --senders 2 --inflight 100 --warmup 1"
GROUP_100="$GROUP_100 --window 4 --turn-us 4000"
LATENCY="pairs --pairs 10 --rate 1000 --inflight 1000 --warmup 1 --window 5"
CATCHUP="catchup --backlog $BACKLOG --page 500"
IDLE="idle --clients IDLE --parallel 64"

# label|chat-load arguments|product database
SCENARIOS=(
	"pairs|$ONE_TO_ONE|chat.db"
	"group10|$GROUP_10|chat.db"
	"group100|$GROUP_100|chat.db"
	"latency|$LATENCY|chat.db"
	"catchup|$CATCHUP|catchup.db"
	"idle|$IDLE|chat.db"
)
# Product only, with the shipped configuration untouched.
AS_SHIPPED=(
	"pairs_as_shipped|$ONE_TO_ONE|chat.db"
	"group100_as_shipped|$GROUP_100|chat.db"
	"catchup_as_shipped|$CATCHUP|catchup.db"
)

RUN_DIR=""
FAILED=0

cleanup() {
	server_stop
	[ -n "$RUN_DIR" ] && echo "bench: interrupted; kept $RUN_DIR" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

install_gnuplot() {
	dpkg -s gnuplot-nox >/dev/null 2>&1 && return 0
	echo "bench: installing gnuplot-nox for the chart"
	apt-get install -y gnuplot-nox >/dev/null 2>&1 && return 0
	apt-get update -qq >/dev/null 2>&1
	apt-get install -y gnuplot-nox >/dev/null 2>&1 ||
		echo "bench: gnuplot-nox is missing; no chart" >&2
}

check_tools() {
	local t
	for t in taskset sqlite3 awk "$MOSQUITTO" "$LOAD" "$BUILD/chatctl" \
		"$BUILD/chat-bridge" "$BUILD/chat_plugin.so"; do
		if ! command -v "$t" >/dev/null 2>&1 && [ ! -e "$t" ]; then
			echo "bench: $t is missing" >&2
			exit 1
		fi
	done
	install_gnuplot
}

# As many idle connections as the descriptor limit allows, up to the cap
# (main raises the limit to the hard limit for every process it starts).
idle_clients() {
	local limit
	limit=$(ulimit -n)
	[ "$limit" = unlimited ] && limit=$((IDLE_MAX + 200))
	limit=$((limit - 200))
	echo $((limit < IDLE_MAX ? limit : IDLE_MAX))
}

machine_facts() {
	{
		echo "nproc=$(nproc)"
		echo "cpu=$(sed -n 's/^model name[ \t]*: //p' /proc/cpuinfo |
			head -n 1 | tr ' ' '_')"
		echo "kernel=$(uname -r)"
		echo "mosquitto=$(dpkg-query -W -f='${Version}' mosquitto)"
		echo "sqlite=$(sqlite3 --version | cut -d' ' -f1)"
		echo "tmp_fs=$(df -T "${TMPDIR:-/tmp}" |
			awk 'NR == 2 { print $2 }')"
		echo "fd_limit=$(ulimit -n)"
		echo "capacity_overrides=$(printf '%s,' "${CAPACITY_LINES[@]}" |
			tr ' ' ':' | sed 's/,$//')"
	} >"$OUT/machine.txt"
}

field() { # field NAME LINE
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

# Rows stored, and conversations whose seqs are not exactly 1..count.
store_facts() {
	sqlite3 "$1/chat.db" "SELECT (SELECT count(*) FROM messages),
		(SELECT count(*) FROM (SELECT convo_id FROM messages
		 GROUP BY convo_id HAVING max(seq) != count(*)
		 OR min(seq) != 1));" 2>/dev/null | tr '|' ' '
}

# verdict MODE LINE STORED GAPS GEN_STATUS: "pass" or why not.
verdict() {
	local mode=$1 line=$2 stored=$3 gaps=$4 status=$5 published
	[ -n "$line" ] || { echo "no-result(status-$status)"; return; }
	[ "$(field ok "$line")" = 1 ] ||
		{ echo "generator-check-failed"; return; }
	published=$(field published "$line")
	if [ "$mode" = product ] && [ -n "$published" ]; then
		[ "$stored" = "$published" ] ||
			{ echo "stored-$stored-of-$published"; return; }
		[ "$gaps" = 0 ] || { echo "seq-gaps-in-$gaps-convos"; return; }
	fi
	echo pass
}

# run_one LABEL MODE PAIR ARGS DATABASE [LINE...]
run_one() {
	local label=$1 mode=$2 pair=$3 args=$4 db=$5 port line status
	local stored="-" gaps="-" result
	shift 5
	RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/chat-bench-XXXXXX")
	port=$("$LOAD" free-port)
	if [ "$mode" = product ]; then
		cp "$OUT/template/$db" "$RUN_DIR/chat.db"
		cp "$OUT/template/bridge.token" "$RUN_DIR/"
	fi
	server_config "$mode" "$RUN_DIR" "$port" "$@"
	line=""
	status=1
	if server_start "$mode" "$RUN_DIR" "$port"; then
		# shellcheck disable=SC2086
		timeout 300 taskset -c "$CLIENT_CORE" "$LOAD" $args \
			--mode "$mode" --port "$port" \
			--roster "$OUT/template/roster" \
			--broker-pid "$BROKER_PID" \
			--bridge-pid "${BRIDGE_PID:-0}" \
			>"$RUN_DIR/result" 2>"$RUN_DIR/load.log"
		status=$?
		line=$(head -n 1 "$RUN_DIR/result")
	fi
	server_stop
	if [ "$mode" = product ]; then
		read -r stored gaps <<<"$(store_facts "$RUN_DIR")"
	fi
	result=$(verdict "$mode" "$line" "$stored" "$gaps" "$status")
	echo "label=$label pair=$pair $line stored=$stored gaps=$gaps" \
		"verdict=$result" >>"$OUT/runs.txt"
	progress "$label" "$mode" "$pair" "$line" "$result"
	if [ "$result" = pass ]; then
		rm -rf "$RUN_DIR"
	else
		FAILED=$((FAILED + 1))
		echo "bench: !!! FAILED: $label $mode run $pair: $result;" \
			"kept $RUN_DIR" >&2
		tail -n 5 "$RUN_DIR/load.log" "$RUN_DIR/broker.log" >&2
	fi
	RUN_DIR=""
}

progress() { # LABEL MODE PAIR LINE VERDICT
	local main
	case $1 in
	pairs* | latency) main="accepted/s=$(field accepted_per_s "$4")"
		main="$main recv_p99_ms=$(field recv_p99_ms "$4")" ;;
	group*) main="deliveries/s=$(field deliveries_per_s "$4")" ;;
	catchup*) main="msgs/s=$(field catchup_per_s "$4")" ;;
	idle) main="KiB/conn=$(field broker_kb_per_conn "$4")" ;;
	esac
	printf "  %-20s %-7s run %d  %s  gen_cpu=%s%%  %s\n" "$1" "$2" "$3" \
		"$main" "$(field gen_cpu_pct "$4")" "$5"
}

run_scenario() { # "label|args|db"
	local label args db pair extra=()
	IFS='|' read -r label args db <<<"$1"
	args=${args/IDLE/$(idle_clients)}
	[ "$label" = catchup ] && extra=("${PLAIN_CATCHUP_LINES[@]}")
	echo "bench: $label"
	for ((pair = 1; pair <= PAIRS; pair++)); do
		# Alternate which side goes first, so drift hits both alike.
		if ((pair % 2)); then
			run_one "$label" product "$pair" "$args" "$db" \
				"${CAPACITY_LINES[@]}"
			run_one "$label" plain "$pair" "$args" "$db" \
				"${extra[@]}"
		else
			run_one "$label" plain "$pair" "$args" "$db" \
				"${extra[@]}"
			run_one "$label" product "$pair" "$args" "$db" \
				"${CAPACITY_LINES[@]}"
		fi
	done
}

run_as_shipped() {
	local entry label args db
	echo "bench: as shipped (product only, every limit in force)"
	for entry in "${AS_SHIPPED[@]}"; do
		IFS='|' read -r label args db <<<"$entry"
		run_one "$label" product 1 "$args" "$db"
	done
}

selected() { # LABEL
	[ -z "${BENCH_ONLY:-}" ] && return 0
	[[ " $BENCH_ONLY " == *" $1 "* ]]
}

main() {
	local started=$SECONDS entry
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	check_tools
	mkdir -p "$OUT"
	rm -f "$OUT/runs.txt"
	machine_facts
	echo "bench: creating $(idle_clients) users and the backlog" \
		"(once, in $OUT/template)"
	if ! bench/setup.sh "$OUT/template" "$(idle_clients)" "$BACKLOG" \
		"$BODY"; then
		echo "bench: setup failed" >&2
		exit 1
	fi
	for entry in "${SCENARIOS[@]}"; do
		selected "${entry%%|*}" && run_scenario "$entry"
	done
	[ "${BENCH_AS_SHIPPED:-0}" = 1 ] || [ -n "${BENCH_ONLY:-}" ] ||
		run_as_shipped
	awk -f bench/summarize.awk -v out="$OUT" \
		-v seconds=$((SECONDS - started)) \
		"$OUT/machine.txt" "$OUT/runs.txt"
	if command -v gnuplot >/dev/null 2>&1; then
		gnuplot -e "dir='$OUT'" bench/chart.gp ||
			echo "bench: the chart could not be drawn" >&2
	fi
	echo "bench: $OUT/results.json, $OUT/results.png" \
		"($((SECONDS - started)) s)"
	if ((FAILED > 0)); then
		echo "bench: !!! $FAILED RUN(S) FAILED: messages lost," \
			"duplicated or not measured; see above" >&2
		exit 1
	fi
}

main "$@"
