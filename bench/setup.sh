#!/bin/bash
# Creates the chat data every product run starts from, once per `make
# bench`, in TEMPLATE (each run copies it into its own fresh folder):
#
#   chat.db       users u0..u<USERS-1>, one device token each (`chatctl
#                 user add`); the direct conversations of pairs 0..9
#                 (`chatctl convo direct u<2k> u<2k+1>`); groups of 10 and
#                 100 members (u0.. and u0..u99), written straight into
#                 SQLite as a conversation row and member rows with
#                 joined_seq 0, since chatctl has no group command
#   catchup.db    chat.db plus BACKLOG messages from u0 in pair 0's
#                 conversation, inserted into SQLite with the columns and
#                 id layout the bridge writes (seq 1..BACKLOG, no gaps)
#   bridge.token  the service token of both databases
#   roster        what bench/load/roster.h describes, for chat-load
#
# Usage: bench/setup.sh TEMPLATE USERS BACKLOG BODY
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${CHAT_BUILD_DIR:-build}
. bench/server.sh

template=$1 users=$2 backlog=$3 body=$4
PAIRS=10
GROUP_SIZES="10 100"
BATCHES=4 # chatctl processes at once while adding users

rm -rf "$template"
mkdir -p "$template"
server_config product "$template" 1
ctl() { "$BUILD/chatctl" -c "$template/mosquitto.conf" "$@"; }

# Users in BATCHES parallel sequences; tokens come back in each batch's
# order, so batch b holds users b, b+BATCHES, b+2*BATCHES, ...
add_users() {
	local b i
	for ((b = 0; b < BATCHES; b++)); do
		(for ((i = b; i < users; i += BATCHES)); do
			ctl user add "u$i" 2>/dev/null
		done >"$template/tokens.$b") &
	done
	wait
	for ((b = 0; b < BATCHES; b++)); do
		seq "$b" "$BATCHES" $((users - 1)) | sed 's/^/u/' |
			paste -d' ' - "$template/tokens.$b" | sed 's/^/user /'
		rm "$template/tokens.$b"
	done >"$template/roster"
	[ "$(grep -c ' .* .' "$template/roster")" -eq "$users" ]
}

add_pairs() {
	local k convo
	for ((k = 0; k < PAIRS; k++)); do
		convo=$(ctl convo direct "u$((2 * k))" "u$((2 * k + 1))" \
			2>/dev/null)
		echo "direct $k $convo u$((2 * k)) u$((2 * k + 1))"
	done >>"$template/roster"
}

# A group is a conversation row and one member row per member (joined at
# seq 0): the rows the plugin fans out to.
group_sql() {
	local size=$1 convo=$2 i
	echo "BEGIN;"
	echo "INSERT INTO conversations (id, kind, created_at)"
	echo "  VALUES ('$convo', 'group', 0);"
	for ((i = 0; i < size; i++)); do
		echo "INSERT INTO members (convo_id, user_id, joined_seq)"
		echo "  VALUES ('$convo', 'u$i', 0);"
	done
	echo "COMMIT;"
}

add_groups() {
	local size
	for size in $GROUP_SIZES; do
		group_sql "$size" "bench-group-$size" |
			sqlite3 "$template/chat.db"
		echo "group $size bench-group-$size" >>"$template/roster"
	done
}

# The bridge's id layout: milliseconds since 2024-01-01 in bits 63..22,
# node 1 in bits 21..12, a counter below; here 4096 messages a millisecond.
add_backlog() {
	local convo
	convo=$(awk '$1 == "direct" && $2 == 0 { print $3 }' "$template/roster")
	cp "$template/chat.db" "$template/catchup.db"
	sqlite3 "$template/catchup.db" <<-SQL
		WITH RECURSIVE n(seq) AS (SELECT 1
		    UNION ALL SELECT seq + 1 FROM n WHERE seq < $backlog)
		INSERT INTO messages (convo_id, seq, id, sender, cmid, ts, body)
		SELECT '$convo', seq,
		       ((strftime('%s', 'now') * 1000 - 1704067200000 - 86400000
		         + seq / 4096) << 22) | (1 << 12) | (seq % 4096),
		       'u0', 's0-' || seq,
		       strftime('%s', 'now') * 1000 - 86400000 + seq / 4096,
		       printf('T%020d S%06d K%010d ', 0, 0, seq) ||
		           substr(replace(hex(zeroblob($body)), '00', 'x'), 1,
		                  $body - 42)
		FROM n;
	SQL
	sqlite3 "$template/catchup.db" "PRAGMA wal_checkpoint(TRUNCATE);" \
		>/dev/null
	echo "backlog $convo u0 u1" >>"$template/roster"
}

ctl init >/dev/null
add_users
add_pairs
add_groups
sqlite3 "$template/chat.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
add_backlog
