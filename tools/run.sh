#!/bin/bash
# `make run`: the broker with the chat plugin and the bridge, in the
# foreground, from the repository root and its mosquitto.conf. Ctrl-C stops
# both. The database and the broker's own files live in state/.
set -euo pipefail
cd "$(dirname "$0")/.."

conf=mosquitto.conf
listener=$(awk '$1 == "listener" { print $3 ":" $2; exit }' "$conf")
db=$(awk '$1 == "plugin_opt_database" { print $2; exit }' "$conf")

# The database holds every message: readable by its owner only.
umask 077
mkdir -p state
build/chatctl -c "$conf" init

port=${listener##*:}
port=${port:-1883}
# Something else listening there would take the bridge's connection.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "chat: 127.0.0.1:$port is already in use (another server?);" \
		"stop it, or change the listener line of $conf" >&2
	exit 1
fi

echo "chat: broker on ${listener:-127.0.0.1:1883}, database ${db:-state/chat.db}"
echo "chat: admin CLI: build/chatctl -c $conf help   (Ctrl-C here stops the server)"

mosquitto -c "$conf" &
broker=$!
# Give the broker a moment to listen, so the bridge's first attempt works.
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$broker" 2>/dev/null || break
	sleep 0.1
done
build/chat-bridge -c "$conf" &
bridge=$!

stop() {
	trap - INT TERM EXIT
	kill -TERM "$bridge" "$broker" 2>/dev/null || true
	wait "$bridge" "$broker" 2>/dev/null || true
	echo "chat: stopped"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Whichever stops first (a crash, a port already in use) stops the other.
set +e
wait -n "$broker" "$bridge"
status=$?
set -e
if [ "$status" -eq 0 ]; then
	echo "chat: stopping" >&2 # Ctrl-C reaches both processes too
else
	echo "chat: a server process exited (status $status); stopping" >&2
fi
exit "$status"
