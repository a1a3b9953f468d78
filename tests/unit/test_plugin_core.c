/* The plugin's event handlers against a real SQLite store, without a
 * broker: what a client may do, and what the plugin publishes as a result
 * (read from the outbox the broker would be handed). */
#include "plugin/core.h"

#include "db.h"
#include "token.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define T0 1764770000000LL

struct fixture {
	char dir[64];
	char db_path[128];
	struct chat_plugin p;
	int alice_conn, bob_conn, carol_conn, bridge_conn;
};

static const char *tokens[][2] = {
	{"alice", "alice-token"}, {"bob", "bob-token"},
	{"carol", "carol-token"}, {"$bridge", "bridge-token"},
};

static void exec_sql(sqlite3 *db, const char *sql)
{
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static void add_account(sqlite3 *db, const char *user, const char *token,
			const char *kind, int revoked)
{
	unsigned char hash[CHAT_TOKEN_HASH_LEN];
	sqlite3_stmt *stmt;

	chat_token_hash(token, strlen(token), hash);
	sqlite3_prepare_v2(db,
			   "INSERT OR IGNORE INTO users(id, kind, created_at)"
			   " VALUES (?1, ?2, 0)",
			   -1, &stmt, NULL);
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	sqlite3_prepare_v2(db,
			   "INSERT INTO devices(user_id, token_hash, created_at,"
			   " revoked_at) VALUES (?1, ?2, 0, ?3)",
			   -1, &stmt, NULL);
	sqlite3_bind_text(stmt, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, hash, sizeof(hash), SQLITE_STATIC);
	if (revoked)
		sqlite3_bind_int(stmt, 3, 1);
	else
		sqlite3_bind_null(stmt, 3);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
}

static void create_store(struct fixture *f)
{
	char err[256];
	sqlite3 *db;

	assert_int_equal(chat_db_open(f->db_path, CHAT_DB_READ_WRITE, "off",
				      1000, &db, err, sizeof(err)),
			 SQLITE_OK);
	assert_int_equal(chat_db_migrate(db, err, sizeof(err)), SQLITE_OK);
	for (int i = 0; i < 3; i++)
		add_account(db, tokens[i][0], tokens[i][1], "user", 0);
	add_account(db, "alice", "old-alice-token", "user", 1);
	add_account(db, "$bridge", "bridge-token", "service", 0);
	exec_sql(db, "INSERT INTO conversations(id, kind, created_at)"
		     " VALUES ('c1', 'direct', 0);"
		     "INSERT INTO members(convo_id, user_id) VALUES"
		     " ('c1', 'alice'), ('c1', 'bob');");
	/* A group: carol joined at seq 5, dave left (was removed) at 3. */
	add_account(db, "dave", "dave-token", "user", 0);
	exec_sql(db, "INSERT INTO conversations(id, kind, created_at)"
		     " VALUES ('g1', 'group', 0), ('ch1', 'channel', 0);"
		     "UPDATE conversations SET broadcast = 1 WHERE id = 'ch1';"
		     "INSERT INTO members(convo_id, user_id, joined_seq,"
		     " left_seq) VALUES ('g1', 'alice', 0, NULL),"
		     " ('g1', 'bob', 0, NULL), ('g1', 'carol', 5, NULL),"
		     " ('g1', 'dave', 0, 3),"
		     " ('ch1', 'alice', 0, NULL), ('ch1', 'bob', 2, NULL);");
	sqlite3_close(db);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct chat_options opts;

	snprintf(f->dir, sizeof(f->dir), "/tmp/chat-core-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db_path, sizeof(f->db_path), "%s/chat.db", f->dir);
	create_store(f);
	chat_options_defaults(&opts);
	snprintf(opts.db_path, sizeof(opts.db_path), "%s", f->db_path);
	opts.max_pending = 3;
	opts.user_send_burst = 5;
	opts.user_send_rate = 1;
	opts.max_client_requests = 2;
	opts.max_connections_per_user = 3;
	opts.max_subscriptions_per_connection = 3;
	assert_int_equal(chat_plugin_setup(&f->p, &opts, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[160];

	chat_plugin_teardown(&f->p);
	snprintf(path, sizeof(path), "%s/chat.db", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/chat.db-wal", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/chat.db-shm", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct chat_client_info client(const void *conn, const char *id,
				      const char *user)
{
	struct chat_client_info ci = {.client = conn,
				      .client_id = id,
				      .username = user,
				      .address = "127.0.0.1",
				      .clean_session = true};
	return ci;
}

static bool connect_as(struct fixture *f, const void *conn, const char *id,
		       const char *user, const char *token)
{
	struct chat_client_info ci = client(conn, id, user);

	return chat_on_auth(&f->p, &ci, token, token ? strlen(token) : 0);
}

/* Connects alice, bob, carol and the bridge, and lets the bridge say hello. */
static void connect_everyone(struct fixture *f)
{
	struct chat_client_info bridge =
		client(&f->bridge_conn, "chat-bridge", "$bridge");

	assert_true(connect_as(f, &f->alice_conn, "alice-1", "alice",
			       "alice-token"));
	assert_true(connect_as(f, &f->bob_conn, "bob-1", "bob", "bob-token"));
	assert_true(connect_as(f, &f->carol_conn, "carol-1", "carol",
			       "carol-token"));
	assert_true(connect_as(f, &f->bridge_conn, "chat-bridge", "$bridge",
			       "bridge-token"));
	assert_true(chat_on_message(&f->p, &bridge, "$chat/bridge/hello",
				    "{\"version\":1}", 13, T0));
	chat_on_tick(&f->p, T0); /* the broker ticks every loop pass */
	chat_outbox_clear(&f->p.outbox);
}

static bool publish(struct fixture *f, const void *conn, const char *id,
		    const char *user, const char *topic, const char *payload)
{
	struct chat_client_info ci = client(conn, id, user);

	return chat_on_message(&f->p, &ci, topic, payload, strlen(payload), T0);
}

static bool alice_sends(struct fixture *f, const char *cmid)
{
	char payload[128];

	snprintf(payload, sizeof(payload), "{\"cmid\":\"%s\",\"body\":\"hi\"}",
		 cmid);
	return publish(f, &f->alice_conn, "alice-1", "alice", "chat/send/c1",
		       payload);
}

/* The head line the bridge writes for a message (bridge/announce.h). */
static cJSON *head_of(const cJSON *msg)
{
	static const char *const keys[] = {"convo", "seq", "from", "cmid",
					   "type"};
	cJSON *head = cJSON_CreateObject();

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *item = cJSON_GetObjectItem(msg, keys[i]);

		if (item)
			cJSON_AddItemToObject(head, keys[i],
					      cJSON_Duplicate(item, 1));
	}
	return head;
}

static void append_line(char **out, size_t *len, const cJSON *value)
{
	char *line = cJSON_PrintUnformatted(value);
	size_t n = strlen(line);

	*out = realloc(*out, *len + n + 2);
	memcpy(*out + *len, line, n);
	(*out)[*len + n] = '\n';
	*len += n + 1;
	(*out)[*len] = '\0';
	free(line);
}

/* Writes the entries of a JSON array the way the bridge puts them on the
 * wire: one line per entry, a message entry's line naming the message by
 * its head and followed by the message's own line. */
static char *frame_announcement(const char *array_json)
{
	cJSON *entries = cJSON_Parse(array_json), *entry;
	char *out = calloc(1, 1);
	size_t len = 0;

	assert_non_null(entries);
	cJSON_ArrayForEach(entry, entries)
	{
		cJSON *msg = cJSON_GetObjectItem(entry, "msg");
		cJSON *line = cJSON_Duplicate(entry, 1);

		if (msg)
			cJSON_ReplaceItemInObject(line, "msg", head_of(msg));
		append_line(&out, &len, line);
		if (msg)
			append_line(&out, &len, msg);
		cJSON_Delete(line);
	}
	cJSON_Delete(entries);
	return out;
}

static void bridge_says(struct fixture *f, const char *topic,
			const char *payload)
{
	struct chat_client_info bridge =
		client(&f->bridge_conn, "chat-bridge", "$bridge");
	char *framed = NULL;

	if (strcmp(topic, "$chat/bridge/out/committed") == 0)
		payload = framed = frame_announcement(payload);
	chat_on_message(&f->p, &bridge, topic, payload, strlen(payload), T0);
	free(framed);
}

/* Takes the outbox; returns how many publishes went to topic (and, when
 * not NULL, the payload of the last one, to be freed). */
static int taken_to(struct fixture *f, const char *client_id,
		    const char *topic, char **payload)
{
	struct chat_publish *list = chat_outbox_take(&f->p.outbox), *pub;
	int n = 0;

	for (pub = list; pub; pub = pub->next) {
		bool same_client = client_id == NULL
					   ? pub->client_id == NULL
					   : pub->client_id &&
						     strcmp(pub->client_id,
							    client_id) == 0;

		if (!same_client || strcmp(pub->topic, topic) != 0)
			continue;
		n++;
		if (payload) {
			free(*payload);
			*payload = strndup(pub->payload, pub->len);
		}
	}
	chat_publish_free(list);
	return n;
}

static const char *field(cJSON *obj, const char *name)
{
	cJSON *item = cJSON_GetObjectItem(obj, name);

	return cJSON_IsString(item) ? item->valuestring : "";
}

static void tokens_decide_who_connects(void **state)
{
	struct fixture *f = *state;
	int conn;

	assert_true(connect_as(f, &conn, "a1", "alice", "alice-token"));
	assert_false(connect_as(f, &conn, "a2", "alice", "bob-token"));
	assert_false(connect_as(f, &conn, "a3", "alice", "old-alice-token"));
	assert_false(connect_as(f, &conn, "a4", "alice", ""));
	assert_false(connect_as(f, &conn, "a5", "alice", NULL));
	assert_false(connect_as(f, &conn, "a6", "nobody", "alice-token"));
	assert_false(connect_as(f, &conn, "a7", NULL, "alice-token"));
	assert_false(connect_as(f, &conn, "a8", "al/ice", "alice-token"));
	assert_false(connect_as(f, &conn, "a9", "a+b", "alice-token"));
	assert_false(connect_as(f, &conn, "a10", "#", "alice-token"));
	assert_false(connect_as(f, &conn, "a11", "bad\x01name", "alice-token"));
	/* The service account: only with its token and its client id. */
	assert_false(connect_as(f, &conn, "x", "$bridge", "bridge-token"));
	assert_false(
		connect_as(f, &conn, "chat-bridge", "$bridge", "alice-token"));
	assert_false(
		connect_as(f, &conn, "chat-bridge", "alice", "alice-token"));
	/* A user cannot pose as the service with a user token either. */
	assert_false(connect_as(f, &conn, "a12", "$bridge", "alice-token"));
}

static void another_users_client_id_is_refused(void **state)
{
	struct fixture *f = *state;
	int conn;

	assert_true(connect_as(f, &f->alice_conn, "phone", "alice",
			       "alice-token"));
	assert_false(connect_as(f, &conn, "phone", "bob", "bob-token"));
	assert_true(connect_as(f, &conn, "phone", "alice", "alice-token"));
}

static void send_is_refused_until_the_bridge_says_hello(void **state)
{
	struct fixture *f = *state;
	char *event = NULL;
	cJSON *obj;

	assert_true(connect_as(f, &f->alice_conn, "alice-1", "alice",
			       "alice-token"));
	assert_false(alice_sends(f, "m1"));
	assert_int_equal(taken_to(f, NULL, "chat/u/alice/event", &event), 1);
	obj = cJSON_Parse(event);
	assert_string_equal(field(obj, "code"), "unavailable");
	assert_string_equal(field(obj, "cmid"), "m1");
	assert_string_equal(field(obj, "convo"), "c1");
	cJSON_Delete(obj);
	free(event);
}

static void accepted_send_leaves_for_the_bridge_at_tick(void **state)
{
	struct fixture *f = *state;
	char *batch = NULL;
	cJSON *items, *item;

	connect_everyone(f);
	assert_true(alice_sends(f, "m1"));
	assert_int_equal(
		taken_to(f, "chat-bridge", "$chat/bridge/in/messages", NULL), 0);
	chat_on_tick(&f->p, T0);
	assert_int_equal(
		taken_to(f, "chat-bridge", "$chat/bridge/in/messages", &batch),
		1);
	items = cJSON_Parse(batch);
	assert_int_equal(cJSON_GetArraySize(items), 1);
	item = cJSON_GetArrayItem(items, 0);
	assert_string_equal(field(item, "from"), "alice");
	assert_string_equal(field(item, "convo"), "c1");
	assert_string_equal(field(item, "cmid"), "m1");
	assert_string_equal(field(item, "client"), "alice-1");
	assert_true(strlen(field(item, "id")) > 10);
	cJSON_Delete(items);
	free(batch);
}

static void retransmit_while_pending_is_dropped(void **state)
{
	struct fixture *f = *state;
	char *batch = NULL;
	cJSON *items;

	connect_everyone(f);
	assert_true(alice_sends(f, "m1"));
	assert_true(alice_sends(f, "m1")); /* acknowledged, not forwarded */
	assert_true(alice_sends(f, "m2"));
	chat_on_tick(&f->p, T0);
	taken_to(f, "chat-bridge", "$chat/bridge/in/messages", &batch);
	items = cJSON_Parse(batch);
	assert_int_equal(cJSON_GetArraySize(items), 2);
	assert_int_equal(f->p.stats.duplicates, 1);
	cJSON_Delete(items);
	free(batch);
}

static void non_member_gets_an_error_and_nothing_is_forwarded(void **state)
{
	struct fixture *f = *state;
	char *event = NULL;
	cJSON *obj;

	connect_everyone(f);
	assert_false(publish(f, &f->carol_conn, "carol-1", "carol",
			     "chat/send/c1", "{\"cmid\":\"x\",\"body\":\"hi\"}"));
	assert_int_equal(taken_to(f, NULL, "chat/u/carol/event", &event), 1);
	obj = cJSON_Parse(event);
	assert_string_equal(field(obj, "code"), "not_member");
	cJSON_Delete(obj);
	free(event);
	chat_on_tick(&f->p, T0);
	assert_int_equal(
		taken_to(f, "chat-bridge", "$chat/bridge/in/messages", NULL), 0);
}

static void too_many_pending_messages_make_the_server_busy(void **state)
{
	struct fixture *f = *state;
	char *event = NULL;
	cJSON *obj;

	connect_everyone(f);
	assert_true(alice_sends(f, "m1"));
	assert_true(alice_sends(f, "m2"));
	assert_true(alice_sends(f, "m3"));
	chat_outbox_clear(&f->p.outbox);
	assert_false(alice_sends(f, "m4")); /* max_pending is 3 */
	assert_int_equal(taken_to(f, NULL, "chat/u/alice/event", &event), 1);
	obj = cJSON_Parse(event);
	assert_string_equal(field(obj, "code"), "busy");
	cJSON_Delete(obj);
	free(event);
}

static const char committed[] =
	"[{\"msg\":{\"convo\":\"c1\",\"seq\":1,\"id\":\"42\",\"from\":\"alice\","
	"\"ts\":1,\"cmid\":\"m1\",\"body\":\"hi\"}}]";

static int messages_handed_over(struct fixture *f)
{
	return taken_to(f, "chat-bridge", "$chat/bridge/in/messages", NULL);
}

/* Sends n messages from alice, named from first on. */
static void alice_sends_several(struct fixture *f, int first, int n)
{
	char cmid[16];

	for (int i = first; i < first + n; i++) {
		snprintf(cmid, sizeof(cmid), "m%d", i);
		assert_true(alice_sends(f, cmid));
	}
}

/* Under load (a batch of several messages in flight) newer messages wait
 * for the bridge's announcement; a commit slower than the wait ends the
 * waiting until the bridge speaks again; anything else takes the waiting
 * messages along; and behind a lone message nothing waits. */
static void messages_wait_for_the_batch_being_committed(void **state)
{
	struct fixture *f = *state;

	f->p.opts.max_pending = 100;
	f->p.limits.rates[CHAT_LIMIT_SEND].burst = 100;
	connect_everyone(f);
	alice_sends_several(f, 1, 4);
	chat_on_tick(&f->p, T0);
	assert_int_equal(messages_handed_over(f), 1);
	alice_sends_several(f, 5, 4);
	chat_on_tick(&f->p, T0 + 1);
	assert_int_equal(messages_handed_over(f), 0);
	bridge_says(f, "$chat/bridge/out/committed", committed);
	chat_outbox_clear(&f->p.outbox);
	chat_on_tick(&f->p, T0 + 2);
	assert_int_equal(messages_handed_over(f), 1);

	/* No answer: m9 leaves when the wait runs out; after that nothing
	 * waits, large batches included, until the bridge speaks. */
	alice_sends_several(f, 9, 1);
	chat_on_tick(&f->p, T0 + 3);
	assert_int_equal(messages_handed_over(f), 0);
	chat_on_tick(&f->p, T0 + 7);
	assert_int_equal(messages_handed_over(f), 1);
	alice_sends_several(f, 10, 4);
	chat_on_tick(&f->p, T0 + 8);
	assert_int_equal(messages_handed_over(f), 1);
	alice_sends_several(f, 14, 1);
	chat_on_tick(&f->p, T0 + 8);
	assert_int_equal(messages_handed_over(f), 1);

	/* A lone message in flight: the next one does not wait. */
	bridge_says(f, "$chat/bridge/out/committed", committed);
	chat_outbox_clear(&f->p.outbox);
	alice_sends_several(f, 15, 1);
	chat_on_tick(&f->p, T0 + 9);
	assert_int_equal(messages_handed_over(f), 1);
	alice_sends_several(f, 16, 1);
	chat_on_tick(&f->p, T0 + 9);
	assert_int_equal(messages_handed_over(f), 1);

	/* Behind a large batch m21 waits again, until a request leaves
	 * with it. */
	alice_sends_several(f, 17, 4);
	chat_on_tick(&f->p, T0 + 10);
	assert_int_equal(messages_handed_over(f), 1);
	alice_sends_several(f, 21, 1);
	chat_on_tick(&f->p, T0 + 10);
	assert_int_equal(f->p.outbox.count, 0);
	assert_true(publish(f, &f->bob_conn, "bob-1", "bob", "chat/req",
			    "{\"id\":\"r1\",\"op\":\"sync\"}"));
	chat_on_tick(&f->p, T0 + 10);
	assert_int_equal(f->p.outbox.count, 2);
	assert_int_equal(messages_handed_over(f), 1);
}

static void committed_message_reaches_every_member(void **state)
{
	struct fixture *f = *state;
	char *to_bob = NULL;
	cJSON *msg;

	connect_everyone(f);
	assert_true(alice_sends(f, "m1"));
	chat_on_tick(&f->p, T0);
	chat_outbox_clear(&f->p.outbox);
	bridge_says(f, "$chat/bridge/out/committed", committed);
	/* Routed by subscription (no client id): every device of each. */
	assert_int_equal(taken_to(f, NULL, "chat/u/bob/msg", &to_bob), 1);
	msg = cJSON_Parse(to_bob);
	assert_int_equal(cJSON_GetObjectItem(msg, "seq")->valueint, 1);
	assert_string_equal(field(msg, "body"), "hi");
	cJSON_Delete(msg);
	free(to_bob);
	/* Committed, so no longer pending: a later resend reaches the bridge
	 * (which answers it with a fresh tick). */
	assert_int_equal(f->p.pending.count, 0);
}

static void committed_message_is_delivered_byte_for_byte(void **state)
{
	struct fixture *f = *state;
	const char *msg = "{\"convo\":\"c1\",\"seq\":12,\"id\":\"7404551231553458176\","
			  "\"from\":\"alice\",\"ts\":1764770000123,\"cmid\":\"m\\\"1\","
			  "\"body\":\"caf\u00e9 \\n \\\\ \\u0001\","
			  "\"attachments\":[\"0123456789abcdef0123456789abcdef"
			  "0123456789abcdef0123456789abcdef\"]}";
	char committed[1024], *to_bob = NULL;

	connect_everyone(f);
	snprintf(committed, sizeof(committed), "[{\"msg\":%s}]", msg);
	bridge_says(f, "$chat/bridge/out/committed", committed);
	assert_int_equal(taken_to(f, NULL, "chat/u/bob/msg", &to_bob), 1);
	assert_string_equal(to_bob, msg);
	free(to_bob);
}

static void committed_message_ticks_the_sender(void **state)
{
	struct fixture *f = *state;

	connect_everyone(f);
	bridge_says(f, "$chat/bridge/out/committed", committed);
	assert_int_equal(taken_to(f, NULL, "chat/u/alice/msg", NULL), 1);
}

static void duplicate_goes_back_to_its_sender_only(void **state)
{
	struct fixture *f = *state;
	struct chat_publish *list, *pub;
	int publishes = 0;

	connect_everyone(f);
	bridge_says(f, "$chat/bridge/out/committed",
		    "[{\"msg\":{\"convo\":\"c1\",\"seq\":1,\"id\":\"42\","
		    "\"from\":\"alice\",\"ts\":1,\"cmid\":\"m1\",\"body\":\"hi\"},"
		    "\"to\":\"alice\"}]");
	list = chat_outbox_take(&f->p.outbox);
	for (pub = list; pub; pub = pub->next) {
		assert_string_equal(pub->topic, "chat/u/alice/msg");
		publishes++;
	}
	assert_int_equal(publishes, 1);
	chat_publish_free(list);
}

static void rejection_becomes_the_senders_error_event(void **state)
{
	struct fixture *f = *state;
	char *event = NULL;
	cJSON *obj;

	connect_everyone(f);
	bridge_says(f, "$chat/bridge/out/committed",
		    "[{\"reject\":{\"convo\":\"c1\",\"from\":\"alice\","
		    "\"cmid\":\"m7\",\"client\":\"alice-1\","
		    "\"code\":\"storage_error\",\"message\":\"disk full\"}}]");
	assert_int_equal(taken_to(f, NULL, "chat/u/alice/event", &event), 1);
	obj = cJSON_Parse(event);
	assert_string_equal(field(obj, "code"), "storage_error");
	assert_string_equal(field(obj, "cmid"), "m7");
	cJSON_Delete(obj);
	free(event);
}

static void reply_goes_to_the_requesting_connection_only(void **state)
{
	struct fixture *f = *state;
	char *resp = NULL;

	connect_everyone(f);
	bridge_says(f, "$chat/bridge/out/reply",
		    "{\"user\":\"bob\",\"client\":\"bob-1\"}\n"
		    "{\"id\":\"r1\",\"op\":\"ping\",\"ok\":true}");
	assert_int_equal(taken_to(f, "bob-1", "chat/u/bob/resp", &resp), 1);
	assert_string_equal(resp, "{\"id\":\"r1\",\"op\":\"ping\",\"ok\":true}");
	free(resp);
	/* A client id now owned by someone else receives nothing. */
	bridge_says(f, "$chat/bridge/out/reply",
		    "{\"user\":\"bob\",\"client\":\"alice-1\"}\n{\"id\":\"r2\"}");
	assert_int_equal(f->p.outbox.count, 0);
}

static void request_is_forwarded_with_the_authenticated_user(void **state)
{
	struct fixture *f = *state;
	char *batch = NULL;
	cJSON *items, *item;

	connect_everyone(f);
	assert_true(publish(f, &f->bob_conn, "bob-1", "bob", "chat/req",
			    "{\"id\":\"r1\",\"op\":\"sync\",\"user\":\"alice\"}"));
	chat_on_tick(&f->p, T0);
	assert_int_equal(
		taken_to(f, "chat-bridge", "$chat/bridge/in/requests", &batch),
		1);
	items = cJSON_Parse(batch);
	item = cJSON_GetArrayItem(items, 0);
	assert_string_equal(field(item, "user"), "bob");
	assert_string_equal(field(item, "client"), "bob-1");
	cJSON_Delete(items);
	free(batch);
}

static void bad_request_is_answered_by_the_plugin(void **state)
{
	struct fixture *f = *state;
	char *resp = NULL, *event = NULL;
	cJSON *obj;

	connect_everyone(f);
	assert_false(publish(f, &f->bob_conn, "bob-1", "bob", "chat/req",
			     "{\"id\":\"r1\"}"));
	assert_int_equal(taken_to(f, "bob-1", "chat/u/bob/resp", &resp), 1);
	obj = cJSON_Parse(resp);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(obj, "ok")));
	assert_string_equal(
		field(cJSON_GetObjectItem(obj, "error"), "code"), "bad_request");
	cJSON_Delete(obj);
	assert_false(publish(f, &f->bob_conn, "bob-1", "bob", "chat/req",
			     "not json"));
	assert_int_equal(taken_to(f, "bob-1", "chat/u/bob/resp", &event), 1);
	obj = cJSON_Parse(event);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(obj, "id")));
	assert_string_equal(
		field(cJSON_GetObjectItem(obj, "error"), "code"), "bad_json");
	cJSON_Delete(obj);
	free(resp);
	free(event);
}

static void bridge_disconnect_stops_accepting(void **state)
{
	struct fixture *f = *state;
	struct chat_client_info bridge =
		client(&f->bridge_conn, "chat-bridge", "$bridge");
	int stale;
	struct chat_client_info old = client(&stale, "chat-bridge", "$bridge");

	connect_everyone(f);
	/* A disconnect of some other connection with the bridge's client id
	 * (the old one of a takeover) changes nothing. */
	chat_on_disconnect(&f->p, &old);
	assert_true(alice_sends(f, "m1"));
	chat_on_disconnect(&f->p, &bridge);
	assert_false(alice_sends(f, "m2"));
}

static void sending_faster_than_the_rate_is_refused(void **state)
{
	struct fixture *f = *state;
	char cmid[16], *event = NULL;
	int accepted = 0;
	cJSON *obj;

	connect_everyone(f);
	for (int i = 0; i < 8; i++) {
		snprintf(cmid, sizeof(cmid), "m%d", i);
		accepted += alice_sends(f, cmid);
		/* Commit at once so that max_pending is never the limit. */
		chat_pending_clear(&f->p.pending);
	}
	assert_int_equal(accepted, 5); /* the burst */
	assert_int_equal(taken_to(f, NULL, "chat/u/alice/event", &event), 3);
	obj = cJSON_Parse(event);
	assert_string_equal(field(obj, "code"), "rate_limited");
	cJSON_Delete(obj);
	free(event);
	/* bob has his own allowance. */
	assert_true(publish(f, &f->bob_conn, "bob-1", "bob", "chat/send/c1",
			    "{\"cmid\":\"b1\",\"body\":\"hi\"}"));
}

static void unanswered_requests_per_connection_are_capped(void **state)
{
	struct fixture *f = *state;
	const char *ping = "{\"id\":\"r\",\"op\":\"ping\"}";
	char *resp = NULL;

	connect_everyone(f);
	assert_true(publish(f, &f->bob_conn, "bob-1", "bob", "chat/req", ping));
	assert_true(publish(f, &f->bob_conn, "bob-1", "bob", "chat/req", ping));
	chat_outbox_clear(&f->p.outbox);
	assert_false(
		publish(f, &f->bob_conn, "bob-1", "bob", "chat/req", ping));
	assert_int_equal(taken_to(f, "bob-1", "chat/u/bob/resp", &resp), 1);
	assert_non_null(strstr(resp, "\"busy\""));
	free(resp);
	/* An answer frees a place. */
	bridge_says(f, "$chat/bridge/out/reply",
		    "{\"user\":\"bob\",\"client\":\"bob-1\"}\n{\"id\":\"r\"}");
	assert_true(publish(f, &f->bob_conn, "bob-1", "bob", "chat/req", ping));
	assert_false(
		publish(f, &f->bob_conn, "bob-1", "bob", "chat/req", ping));
	/* Answers that never come are presumed lost after a minute. */
	chat_on_tick(&f->p, T0 + 61000);
	assert_true(publish(f, &f->bob_conn, "bob-1", "bob", "chat/req", ping));
}

static void connections_per_user_are_capped(void **state)
{
	struct fixture *f = *state;
	int conn[4];

	assert_true(connect_as(f, &conn[0], "a1", "alice", "alice-token"));
	assert_true(connect_as(f, &conn[1], "a2", "alice", "alice-token"));
	assert_true(connect_as(f, &conn[2], "a3", "alice", "alice-token"));
	assert_false(connect_as(f, &conn[3], "a4", "alice", "alice-token"));
	/* Reconnecting with a live client id replaces it: still allowed. */
	assert_true(connect_as(f, &conn[3], "a3", "alice", "alice-token"));
	assert_true(connect_as(f, &f->bob_conn, "b1", "bob", "bob-token"));
}

static bool subscribe(struct fixture *f, const char *id, const char *user,
		      const char *filter, bool unsubscribe)
{
	struct chat_acl_request req = {
		.username = user,
		.client_id = id,
		.access = unsubscribe ? CHAT_ACCESS_UNSUBSCRIBE
				      : CHAT_ACCESS_SUBSCRIBE,
		.topic = filter,
	};

	return chat_on_acl(&f->p, &req);
}

static void subscriptions_per_connection_are_capped(void **state)
{
	struct fixture *f = *state;

	connect_everyone(f);
	/* Only the inbox and the topics the server publishes in it. */
	assert_false(subscribe(f, "alice-1", "alice", "chat/u/alice/a", false));
	assert_false(
		subscribe(f, "alice-1", "alice", "chat/u/alice/msg/x", false));
	/* Key topics only of users that exist. */
	assert_false(subscribe(f, "alice-1", "alice", "chat/keys/nobody", false));
	assert_true(subscribe(f, "alice-1", "alice", "chat/u/alice/#", false));
	assert_true(subscribe(f, "alice-1", "alice", "chat/u/alice/msg", false));
	assert_true(subscribe(f, "alice-1", "alice", "chat/keys/bob", false));
	assert_false(subscribe(f, "alice-1", "alice", "chat/u/alice/+", false));
	/* Refused by the ACL: not counted. */
	assert_false(subscribe(f, "bob-1", "bob", "chat/u/alice/#", false));
	assert_true(subscribe(f, "bob-1", "bob", "chat/u/bob/#", false));
	/* An unsubscribe gives nothing back. */
	assert_true(subscribe(f, "alice-1", "alice", "chat/u/alice/msg", true));
	assert_false(subscribe(f, "alice-1", "alice", "chat/u/alice/msg", false));
	/* A new connection starts again. */
	assert_true(connect_as(f, &f->alice_conn, "alice-1", "alice",
			       "alice-token"));
	assert_true(subscribe(f, "alice-1", "alice", "chat/u/alice/+", false));
	/* The bridge is not counted. */
	for (int i = 0; i < 5; i++)
		assert_true(subscribe(f, "chat-bridge", "$bridge",
				      "$chat/bridge/in/messages", true));
}

/* How many publishes the outbox holds for topic (and clears it). */
static int count_to(struct fixture *f, const char *topic)
{
	return taken_to(f, NULL, topic, NULL);
}

static void group_message_reaches_exactly_those_who_may_see_it(void **state)
{
	struct fixture *f = *state;
	struct chat_publish *list, *pub;
	int alice = 0, bob = 0, carol = 0, dave = 0;

	connect_everyone(f);
	/* seq 4: after dave left (3), before carol joined (5). */
	bridge_says(f, "$chat/bridge/out/committed",
		    "[{\"msg\":{\"convo\":\"g1\",\"seq\":4,\"id\":\"9\","
		    "\"from\":\"alice\",\"ts\":1,\"cmid\":\"x\",\"body\":\"b\"}}]");
	list = chat_outbox_take(&f->p.outbox);
	for (pub = list; pub; pub = pub->next) {
		alice += strcmp(pub->topic, "chat/u/alice/msg") == 0;
		bob += strcmp(pub->topic, "chat/u/bob/msg") == 0;
		carol += strcmp(pub->topic, "chat/u/carol/msg") == 0;
		dave += strcmp(pub->topic, "chat/u/dave/msg") == 0;
	}
	chat_publish_free(list);
	assert_int_equal(alice, 1);
	assert_int_equal(bob, 1);
	assert_int_equal(carol, 0);
	assert_int_equal(dave, 0);
}

static void removal_message_also_reaches_the_removed(void **state)
{
	struct fixture *f = *state;

	connect_everyone(f);
	bridge_says(f, "$chat/bridge/out/committed",
		    "[{\"membership\":\"g1\"},"
		    "{\"msg\":{\"convo\":\"g1\",\"seq\":6,\"id\":\"9\","
		    "\"from\":\"alice\",\"ts\":1,\"cmid\":\"op r1\","
		    "\"type\":\"removed\",\"event\":{\"users\":[\"dave\"]}},"
		    "\"also\":[\"dave\"]}]");
	assert_int_equal(count_to(f, "chat/u/dave/msg"), 1);
}

static void membership_entry_reloads_the_members(void **state)
{
	struct fixture *f = *state;
	char err[256];
	sqlite3 *db;

	connect_everyone(f);
	assert_false(publish(f, &f->carol_conn, "carol-1", "carol",
			     "chat/send/c1", "{\"cmid\":\"x\",\"body\":\"hi\"}"));
	chat_outbox_clear(&f->p.outbox);
	/* The bridge adds carol to c1 (the test writes what it would). */
	assert_int_equal(chat_db_open(f->db_path, CHAT_DB_READ_WRITE, "off",
				      1000, &db, err, sizeof(err)),
			 SQLITE_OK);
	exec_sql(db, "INSERT INTO members(convo_id, user_id, joined_seq)"
		     " VALUES ('c1', 'carol', 7)");
	sqlite3_close(db);
	/* Cached: still refused until the bridge says it changed. */
	assert_false(publish(f, &f->carol_conn, "carol-1", "carol",
			     "chat/send/c1", "{\"cmid\":\"y\",\"body\":\"hi\"}"));
	bridge_says(f, "$chat/bridge/out/committed", "[{\"membership\":\"c1\"}]");
	assert_true(publish(f, &f->carol_conn, "carol-1", "carol",
			    "chat/send/c1", "{\"cmid\":\"z\",\"body\":\"hi\"}"));
}

static bool channel_allows(struct fixture *f, const char *user,
			   const char *payload)
{
	struct chat_acl_request req = {
		.username = user,
		.access = payload ? CHAT_ACCESS_READ : CHAT_ACCESS_SUBSCRIBE,
		.topic = "chat/c/ch1",
		.payload = payload,
		.payload_len = payload ? strlen(payload) : 0,
	};

	return chat_on_acl(&f->p, &req);
}

static void channel_message_is_published_once_to_members_only(void **state)
{
	struct fixture *f = *state;
	const char *seq1 = "{\"convo\":\"ch1\",\"seq\":1,\"id\":\"9\","
			   "\"from\":\"alice\",\"ts\":1,\"cmid\":\"x\",\"body\":\"b\"}";
	const char *seq3 = "{\"convo\":\"ch1\",\"seq\":3,\"id\":\"9\","
			   "\"from\":\"alice\",\"ts\":1,\"cmid\":\"y\",\"body\":\"b\"}";
	char committed[512];

	connect_everyone(f);
	snprintf(committed, sizeof(committed), "[{\"msg\":%s}]", seq3);
	bridge_says(f, "$chat/bridge/out/committed", committed);
	assert_int_equal(f->p.outbox.count, 1);
	assert_int_equal(count_to(f, "chat/c/ch1"), 1);
	/* Members may subscribe; others may not. */
	assert_true(channel_allows(f, "bob", NULL));
	assert_false(channel_allows(f, "carol", NULL));
	/* Deliveries follow the seq: bob joined at 2. */
	assert_true(channel_allows(f, "alice", seq1));
	assert_false(channel_allows(f, "bob", seq1));
	assert_true(channel_allows(f, "bob", seq3));
	assert_false(channel_allows(f, "carol", seq3));
	assert_false(channel_allows(f, "bob", "{\"convo\":\"ch1\"}"));
}

static void receipt_is_handed_to_the_bridge(void **state)
{
	struct fixture *f = *state;
	char *batch = NULL, *event = NULL;
	cJSON *items, *item;

	connect_everyone(f);
	assert_true(publish(f, &f->bob_conn, "bob-1", "bob", "chat/ack/c1",
			    "{\"delivered\":5,\"read\":3}"));
	assert_false(publish(f, &f->bob_conn, "bob-1", "bob", "chat/ack/c1",
			     "{\"delivered\":-1}"));
	assert_false(publish(f, &f->bob_conn, "bob-1", "bob", "chat/ack/c1",
			     "{\"read\":1.5}"));
	assert_false(publish(f, &f->bob_conn, "bob-1", "bob", "chat/ack/c1",
			     "{}"));
	assert_false(publish(f, &f->carol_conn, "carol-1", "carol",
			     "chat/ack/c1", "{\"read\":1}"));
	assert_int_equal(taken_to(f, NULL, "chat/u/bob/event", &event), 3);
	assert_non_null(strstr(event, "bad_receipt"));
	free(event);
	chat_on_tick(&f->p, T0);
	assert_int_equal(
		taken_to(f, "chat-bridge", "$chat/bridge/in/receipts", &batch),
		1);
	items = cJSON_Parse(batch);
	assert_int_equal(cJSON_GetArraySize(items), 1);
	item = cJSON_GetArrayItem(items, 0);
	assert_string_equal(field(item, "user"), "bob");
	assert_string_equal(field(item, "convo"), "c1");
	assert_int_equal(cJSON_GetObjectItem(item, "delivered")->valueint, 5);
	assert_int_equal(cJSON_GetObjectItem(item, "read")->valueint, 3);
	cJSON_Delete(items);
	free(batch);
}

static void event_entry_goes_to_that_users_event_topic(void **state)
{
	struct fixture *f = *state;
	char *event = NULL;

	connect_everyone(f);
	bridge_says(f, "$chat/bridge/out/committed",
		    "[{\"event\":{\"type\":\"receipt\",\"convo\":\"c1\","
		    "\"seq\":2,\"delivered\":1,\"read\":0,\"of\":1},"
		    "\"to\":\"alice\"}]");
	assert_int_equal(taken_to(f, NULL, "chat/u/alice/event", &event), 1);
	assert_non_null(strstr(event, "\"receipt\""));
	free(event);
}

static void conversation_delivery_budget_caps_fan_out(void **state)
{
	struct fixture *f = *state;
	char *event = NULL;

	connect_everyone(f);
	/* Four deliveries a second; a message to c1 costs two. */
	f->p.opts.convo_delivery_rate = 4;
	assert_true(alice_sends(f, "m1"));
	assert_true(alice_sends(f, "m2"));
	chat_outbox_clear(&f->p.outbox);
	assert_false(alice_sends(f, "m3"));
	assert_int_equal(taken_to(f, NULL, "chat/u/alice/event", &event), 1);
	assert_non_null(strstr(event, "rate_limited"));
	free(event);
}

static bool may_subscribe_presence(struct fixture *f, const char *viewer,
				   const char *subject)
{
	char topic[64];
	struct chat_acl_request req = {.username = viewer,
				       .access = CHAT_ACCESS_SUBSCRIBE,
				       .topic = topic,
				       .now_ms = T0};

	snprintf(topic, sizeof(topic), "chat/presence/%s", subject);
	return chat_on_acl(&f->p, &req);
}

static void presence_is_visible_only_to_those_sharing_a_conversation(
	void **state)
{
	struct fixture *f = *state;
	char err[256];
	sqlite3 *db;

	assert_true(may_subscribe_presence(f, "alice", "alice"));
	assert_true(may_subscribe_presence(f, "bob", "alice"));
	assert_true(may_subscribe_presence(f, "carol", "alice")); /* g1 */
	assert_false(may_subscribe_presence(f, "dave", "alice")); /* left */
	assert_false(may_subscribe_presence(f, "bob", "nobody"));
	assert_false(may_subscribe_presence(f, "bob", "+"));
	/* alice hides: nobody sees hers, and she sees nobody's. */
	assert_int_equal(chat_db_open(f->db_path, CHAT_DB_READ_WRITE, "off",
				      1000, &db, err, sizeof(err)),
			 SQLITE_OK);
	exec_sql(db, "UPDATE users SET hide_presence = 1 WHERE id = 'alice'");
	sqlite3_close(db);
	bridge_says(f, "$chat/bridge/out/committed",
		    "[{\"settings\":\"alice\"}]");
	assert_false(may_subscribe_presence(f, "bob", "alice"));
	assert_false(may_subscribe_presence(f, "alice", "bob"));
	assert_true(may_subscribe_presence(f, "alice", "alice"));
}

static void presence_goes_online_at_the_tick_after_connecting(void **state)
{
	struct fixture *f = *state;
	char *presence = NULL;
	struct chat_publish *list, *pub;
	bool retained = false;

	connect_everyone(f); /* ends with a tick */
	chat_on_tick(&f->p, T0 + 1);
	list = chat_outbox_take(&f->p.outbox);
	for (pub = list; pub; pub = pub->next)
		if (strcmp(pub->topic, "chat/presence/alice") == 0) {
			retained = pub->retain;
			presence = strndup(pub->payload, pub->len);
		}
	chat_publish_free(list);
	/* connect_everyone cleared the first tick's outbox: that tick
	 * published it; this one has nothing new. */
	assert_null(presence);
	assert_false(retained);
	assert_true(chat_presence_shown_online(&f->p.presence, "alice"));
}

static void typing_reaches_the_other_members_at_qos_0(void **state)
{
	struct fixture *f = *state;
	struct chat_publish *list, *pub;
	int to_bob = 0, to_alice = 0;

	connect_everyone(f);
	assert_true(publish(f, &f->alice_conn, "alice-1", "alice",
			    "chat/typing/c1", ""));
	list = chat_outbox_take(&f->p.outbox);
	for (pub = list; pub; pub = pub->next) {
		if (strcmp(pub->topic, "chat/u/bob/typing") == 0) {
			to_bob++;
			assert_int_equal(pub->qos, 0);
			assert_false(pub->retain);
		}
		to_alice += strcmp(pub->topic, "chat/u/alice/typing") == 0;
	}
	chat_publish_free(list);
	assert_int_equal(to_bob, 1);
	assert_int_equal(to_alice, 0);
	/* Again at once: dropped quietly. A non-member is refused. */
	assert_true(publish(f, &f->alice_conn, "alice-1", "alice",
			    "chat/typing/c1", "{\"typing\":false}"));
	assert_int_equal(count_to(f, "chat/u/bob/typing"), 0);
	assert_false(publish(f, &f->carol_conn, "carol-1", "carol",
			     "chat/typing/c1", ""));
	/* "typing" must be true or false. */
	assert_false(publish(f, &f->bob_conn, "bob-1", "bob", "chat/typing/c1",
			     "{\"typing\":\"x\"}"));
}

static void file_chunk_goes_to_the_bridge_with_who_sent_it(void **state)
{
	struct fixture *f = *state;
	struct chat_client_info ci = client(&f->bob_conn, "bob-1", "bob");
	static char chunk[300 * 1024];
	char *framed = NULL, *resp = NULL;
	cJSON *header;

	connect_everyone(f);
	memset(chunk, 0xab, sizeof(chunk));
	assert_true(chat_on_message(&f->p, &ci, "chat/upload/u_1/0", chunk,
				    1000, T0));
	assert_int_equal(
		taken_to(f, "chat-bridge", "$chat/bridge/in/upload", &framed),
		1);
	header = cJSON_ParseWithLength(framed, strcspn(framed, "\n"));
	assert_string_equal(field(header, "user"), "bob");
	assert_string_equal(field(header, "upload"), "u_1");
	assert_string_equal(field(header, "device"), "2"); /* bob's token */
	assert_int_equal(cJSON_GetObjectItem(header, "index")->valueint, 0);
	cJSON_Delete(header);
	free(framed);
	/* Above 256 KiB: refused, on the asking connection's resp topic. */
	assert_false(chat_on_message(&f->p, &ci, "chat/upload/u_1/1", chunk,
				     sizeof(chunk), T0));
	assert_int_equal(taken_to(f, "bob-1", "chat/u/bob/resp", &resp), 1);
	assert_non_null(strstr(resp, "too_large"));
	free(resp);
}

static void blob_reply_goes_to_the_blob_topic(void **state)
{
	struct fixture *f = *state;

	connect_everyone(f);
	bridge_says(f, "$chat/bridge/out/reply",
		    "{\"user\":\"bob\",\"client\":\"bob-1\",\"kind\":\"blob\"}\n"
		    "{\"id\":\"g\",\"blob\":\"b\",\"index\":0}\nbytes");
	assert_int_equal(taken_to(f, "bob-1", "chat/u/bob/blob", NULL), 1);
}

static void key_change_is_published_retained(void **state)
{
	struct fixture *f = *state;
	struct chat_publish *list = NULL;

	connect_everyone(f);
	bridge_says(f, "$chat/bridge/out/committed",
		    "[{\"keys\":{\"user\":\"alice\",\"version\":2},"
		    "\"user\":\"alice\"}]");
	list = chat_outbox_take(&f->p.outbox);
	assert_non_null(list);
	assert_string_equal(list->topic, "chat/keys/alice");
	assert_true(list->retain);
	chat_publish_free(list);
}

static void revoke_tokens_of(struct fixture *f, const char *user)
{
	char err[256], sql[160];
	sqlite3 *db;

	assert_int_equal(chat_db_open(f->db_path, CHAT_DB_READ_WRITE, "off",
				      1000, &db, err, sizeof(err)),
			 SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "UPDATE devices SET revoked_at = %lld WHERE user_id = '%s'"
		 " AND revoked_at IS NULL",
		 T0 + 500, user);
	exec_sql(db, sql);
	sqlite3_close(db);
}

static void revoked_device_is_disconnected_within_a_second(void **state)
{
	struct fixture *f = *state;

	connect_everyone(f); /* its tick also notes past revocations */
	assert_int_equal(f->p.kicks.count, 0);
	revoke_tokens_of(f, "alice");
	chat_on_tick(&f->p, T0 + 400); /* checks at most once a second */
	assert_int_equal(f->p.kicks.count, 0);
	chat_on_tick(&f->p, T0 + 1000);
	assert_int_equal(f->p.kicks.count, 1);
	assert_string_equal(f->p.kicks.client_ids[0], "alice-1");
	chat_kicks_clear(&f->p.kicks);
	/* bob's device is untouched, and alice's token no longer works. */
	chat_on_tick(&f->p, T0 + 2000);
	assert_int_equal(f->p.kicks.count, 0);
	assert_false(connect_as(f, &f->alice_conn, "alice-1", "alice",
				"alice-token"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tokens_decide_who_connects,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			another_users_client_id_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			send_is_refused_until_the_bridge_says_hello, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			accepted_send_leaves_for_the_bridge_at_tick, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			retransmit_while_pending_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(
			non_member_gets_an_error_and_nothing_is_forwarded,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			too_many_pending_messages_make_the_server_busy, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			messages_wait_for_the_batch_being_committed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			committed_message_reaches_every_member, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			committed_message_ticks_the_sender, setup, teardown),
		cmocka_unit_test_setup_teardown(
			committed_message_is_delivered_byte_for_byte, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			duplicate_goes_back_to_its_sender_only, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			rejection_becomes_the_senders_error_event, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			reply_goes_to_the_requesting_connection_only, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			request_is_forwarded_with_the_authenticated_user,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			bad_request_is_answered_by_the_plugin, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			bridge_disconnect_stops_accepting, setup, teardown),
		cmocka_unit_test_setup_teardown(
			revoked_device_is_disconnected_within_a_second, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			sending_faster_than_the_rate_is_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			unanswered_requests_per_connection_are_capped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			subscriptions_per_connection_are_capped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(connections_per_user_are_capped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			group_message_reaches_exactly_those_who_may_see_it,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			removal_message_also_reaches_the_removed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			membership_entry_reloads_the_members, setup, teardown),
		cmocka_unit_test_setup_teardown(
			channel_message_is_published_once_to_members_only,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			receipt_is_handed_to_the_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(
			event_entry_goes_to_that_users_event_topic, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			conversation_delivery_budget_caps_fan_out, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			presence_is_visible_only_to_those_sharing_a_conversation,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			presence_goes_online_at_the_tick_after_connecting,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			typing_reaches_the_other_members_at_qos_0, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			file_chunk_goes_to_the_bridge_with_who_sent_it, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			blob_reply_goes_to_the_blob_topic, setup, teardown),
		cmocka_unit_test_setup_teardown(
			key_change_is_published_retained, setup, teardown),
	};

	assert_int_equal(chat_crypto_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
