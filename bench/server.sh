# shellcheck shell=bash
# Starting and stopping one server under test, for bench/run.sh and
# bench/setup.sh (sourced, bash). A server lives in its own fresh folder:
#
#   product  mosquitto with the chat plugin, and the bridge, configured
#            from the repository's mosquitto.conf (SQLite synchronous=full
#            unless that file says otherwise)
#   plain    the same mosquitto.conf without the plugin and its options,
#            and allow_anonymous true
#
# Both get the same listener options. The broker runs on core 0, the
# bridge (and the generator, started by run.sh) on core 1.

MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
# Commands put in front of the broker and the bridge (bench/profile.sh
# runs them under valgrind); empty for measurements.
BROKER_WRAPPER=${BROKER_WRAPPER:-}
BRIDGE_WRAPPER=${BRIDGE_WRAPPER:-}
BROKER_CORE=0
CLIENT_CORE=1
BROKER_PID=""
BRIDGE_PID=""

# server_config MODE DIR PORT [LINE...]: writes DIR/mosquitto.conf. Each
# extra LINE replaces the line with the same first word, or is added.
server_config() {
	local mode=$1 dir=$2 port=$3
	shift 3
	awk -v mode="$mode" -v dir="$dir" -v port="$port" \
		-v plugin="$(realpath "$BUILD/chat_plugin.so")" \
		-v user="$(id -un)" -v extra="$(printf '%s\n' "$@")" '
	BEGIN {
		n = split(extra, lines, "\n")
		for (i = 1; i <= n; i++)
			if (lines[i] != "") {
				split(lines[i], w, " ")
				override[w[1]] = lines[i]
			}
	}
	function put(line,    w) {
		split(line, w, " ")
		if (w[1] in override) {
			line = override[w[1]]
			delete override[w[1]]
		}
		print line
	}
	/^[ \t]*(#|$)/ { next }
	$1 == "user" { put("user " user); next }
	$1 == "listener" { put("listener " port " 127.0.0.1"); next }
	$1 == "allow_anonymous" && mode == "plain" {
		put("allow_anonymous true"); next
	}
	$1 == "plugin" || $1 ~ /^plugin_opt_/ { if (mode == "plain") next }
	$1 == "plugin" { put("plugin " plugin); next }
	$1 == "plugin_opt_database" { put($1 " " dir "/chat.db"); next }
	$1 == "plugin_opt_service_token_file" {
		put($1 " " dir "/bridge.token"); next
	}
	{ put($0) }
	END { for (k in override) print override[k] }
	' mosquitto.conf >"$dir/mosquitto.conf"
}

# Waits until something listens on 127.0.0.1:PORT (5 s at most, 60 s
# under a wrapper).
server_wait_port() {
	local port=$1 tries=100
	[ -n "$BROKER_WRAPPER" ] && tries=1200
	for _ in $(seq "$tries"); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$BROKER_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# server_start MODE DIR PORT: the broker (and in product mode the bridge)
# of the configuration already in DIR; sets BROKER_PID and BRIDGE_PID.
server_start() {
	local mode=$1 dir=$2 port=$3
	# shellcheck disable=SC2086
	taskset -c "$BROKER_CORE" $BROKER_WRAPPER "$MOSQUITTO" \
		-c "$dir/mosquitto.conf" >"$dir/broker.log" 2>&1 &
	BROKER_PID=$!
	if ! server_wait_port "$port"; then
		echo "bench: mosquitto did not start; see $dir/broker.log" >&2
		return 1
	fi
	[ "$mode" = product ] || return 0
	# shellcheck disable=SC2086
	taskset -c "$CLIENT_CORE" $BRIDGE_WRAPPER "$BUILD/chat-bridge" \
		-c "$dir/mosquitto.conf" >"$dir/bridge.log" 2>&1 &
	BRIDGE_PID=$!
}

# Stops one process we started: SIGTERM, SIGKILL after 3 s (30 s under a
# wrapper, which may have a profile to write).
server_stop_pid() {
	local pid=$1 tries=30
	[ -n "$pid" ] || return 0
	[ -n "$BROKER_WRAPPER$BRIDGE_WRAPPER" ] && tries=300
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq "$tries"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

server_stop() {
	server_stop_pid "$BRIDGE_PID"
	server_stop_pid "$BROKER_PID"
	BRIDGE_PID=""
	BROKER_PID=""
}
