/*
 * Everything a client (or the bridge) can make the plugin parse: send
 * envelopes, requests, receipts, typing, status, file chunks, and the
 * bridge's announcements and replies, driven through the plugin's event
 * handlers against a real SQLite store. The first input byte picks the
 * topic, the rest is the payload.
 */
#include "plugin/core.h"

#include "db.h"
#include "token.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct chat_plugin plugin;
static int alice_conn, bob_conn, bridge_conn;
static long long clock_ms = 1764770000000LL;

static const char *const topics[] = {
	"chat/send/c1",	     "chat/send/g1",	 "chat/req",
	"chat/ack/c1",	     "chat/ack/g1",	 "chat/typing/c1",
	"chat/status",	     "chat/upload/u_1/0", "$chat/bridge/out/committed",
	"$chat/bridge/out/reply", "$chat/bridge/hello",
};
#define TOPIC_COUNT (sizeof(topics) / sizeof(topics[0]))

static void add_account(sqlite3 *db, const char *user, const char *token,
			const char *kind)
{
	unsigned char hash[CHAT_TOKEN_HASH_LEN];
	char sql[512], hex[2 * CHAT_TOKEN_HASH_LEN + 1];

	chat_token_hash(token, strlen(token), hash);
	for (size_t i = 0; i < sizeof(hash); i++)
		sprintf(hex + 2 * i, "%02x", hash[i]);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO users(id, kind, created_at) VALUES ('%s', '%s', 0);"
		 "INSERT INTO devices(user_id, token_hash, created_at)"
		 " VALUES ('%s', x'%s', 0);",
		 user, kind, user, hex);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void create_store(const char *path)
{
	char err[256];
	sqlite3 *db;

	if (chat_db_open(path, CHAT_DB_READ_WRITE, "off", 1000, &db, err,
			 sizeof(err)) != SQLITE_OK ||
	    chat_db_migrate(db, err, sizeof(err)) != SQLITE_OK)
		abort();
	add_account(db, "alice", "alice-token", "user");
	add_account(db, "bob", "bob-token", "user");
	add_account(db, "$bridge", "bridge-token", "service");
	sqlite3_exec(db,
		     "INSERT INTO conversations(id, kind, created_at) VALUES"
		     " ('c1', 'direct', 0), ('g1', 'group', 0);"
		     "INSERT INTO members(convo_id, user_id) VALUES"
		     " ('c1', 'alice'), ('c1', 'bob'), ('g1', 'alice'),"
		     " ('g1', 'bob');",
		     NULL, NULL, NULL);
	sqlite3_close(db);
}

static struct chat_client_info client(const void *conn, const char *id,
				      const char *user)
{
	struct chat_client_info ci = {.client = conn,
				      .client_id = id,
				      .username = user,
				      .address = "127.0.0.1",
				      .clean_session = true,
				      .now_ms = clock_ms};
	return ci;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/chat-fuzz-XXXXXX";
	struct chat_client_info ci;
	struct chat_options opts;

	(void)argc;
	(void)argv;
	if (chat_crypto_init() != 0 || mkdtemp(dir) == NULL)
		abort();
	chat_options_defaults(&opts);
	snprintf(opts.db_path, sizeof(opts.db_path), "%s/chat.db", dir);
	create_store(opts.db_path);
	if (chat_plugin_setup(&plugin, &opts, NULL) != 0)
		abort();
	ci = client(&alice_conn, "alice-1", "alice");
	chat_on_auth(&plugin, &ci, "alice-token", 11);
	ci = client(&bob_conn, "bob-1", "bob");
	chat_on_auth(&plugin, &ci, "bob-token", 9);
	ci = client(&bridge_conn, "chat-bridge", "$bridge");
	chat_on_auth(&plugin, &ci, "bridge-token", 12);
	chat_on_message(&plugin, &ci, "$chat/bridge/hello", "{}", 2, clock_ms);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chat_client_info ci;
	const char *topic;

	if (size < 1)
		return 0;
	topic = topics[data[0] % TOPIC_COUNT];
	clock_ms += data[0] & 0x0f;
	if (topic[0] == '$')
		ci = client(&bridge_conn, "chat-bridge", "$bridge");
	else
		ci = client(&alice_conn, "alice-1", "alice");
	chat_on_message(&plugin, &ci, topic, data + 1, size - 1, clock_ms);
	if (data[0] & 0x80)
		chat_on_tick(&plugin, clock_ms);
	chat_outbox_clear(&plugin.outbox);
	chat_kicks_clear(&plugin.kicks);
	return 0;
}
