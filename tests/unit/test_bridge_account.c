/*
 * Presence and the account against a real SQLite file: presence the
 * plugin reports is kept in users.online and users.last_seen (riding on
 * the batch's transaction), who may see whose presence (sharing a
 * conversation, hiding is mutual, oneself always), the hide_presence
 * setting and its announcement, a user's devices and revoking them (own
 * only), and whoami.
 */
#include "bridge/announce.h"
#include "bridge/commit.h"
#include "bridge/handoff.h"
#include "bridge/request.h"
#include "bridge/store.h"
#include "db.h"
#include "token.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

struct fixture {
	char dir[64];
	char path[128];
	sqlite3 *db;
	struct bridge_store *store;
	struct chat_options opts;
	/* What the last request's change announced. */
	struct bridge_entries announced;
	uint64_t next_id;
};

static void exec_sql(sqlite3 *db, const char *fmt, ...)
{
	char sql[2048], *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static long long query_int(sqlite3 *db, const char *fmt, ...)
{
	char sql[1024];
	sqlite3_stmt *stmt;
	long long v = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	                 SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_type(stmt, 0) == SQLITE_NULL
		        ? -2
		        : sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/*
 * alice, bob, carol and dave; alice and bob share "team", carol was in
 * it and left; dave shares nothing. alice has devices 1 and 2, bob 3.
 */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_int_equal(chat_crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bridge_account_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/chat.db", f->dir);
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "normal",
	                              5000, &f->db, err, sizeof(err)),
	                 SQLITE_OK);
	assert_int_equal(chat_db_migrate(f->db, err, sizeof(err)), SQLITE_OK);
	exec_sql(
	    f->db,
	    "INSERT INTO users (id, created_at) VALUES ('alice', 0),"
	    " ('bob', 0), ('carol', 0), ('dave', 0);"
	    "INSERT INTO users (id, kind, created_at) VALUES"
	    " ('svc', 'service', 0);"
	    "INSERT INTO devices (id, user_id, token_hash, label,"
	    " created_at) VALUES (1, 'alice', x'01', 'phone', 100),"
	    " (2, 'alice', x'02', NULL, 200), (3, 'bob', x'03', 'pc', 300);"
	    "INSERT INTO conversations (id, kind, title, created_at)"
	    " VALUES ('team', 'group', 'Team', 0);"
	    "INSERT INTO members (convo_id, user_id, left_seq) VALUES"
	    " ('team', 'alice', NULL), ('team', 'bob', NULL),"
	    " ('team', 'carol', 4)");
	assert_int_equal(bridge_store_open(f->db, &f->store), SQLITE_OK);
	chat_options_defaults(&f->opts);
	f->next_id = 7404551231553458176ULL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char file[160];

	bridge_entries_clear(&f->announced);
	bridge_store_close(f->store);
	sqlite3_close(f->db);
	unlink(f->path);
	snprintf(file, sizeof(file), "%s-wal", f->path);
	unlink(file);
	snprintf(file, sizeof(file), "%s-shm", f->path);
	unlink(file);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Answers a request of user from device (0: none known), given as
 * printf-style JSON; checks the reply header and returns the response. */
static cJSON *ask(struct fixture *f, const char *user, long long device,
                  const char *fmt, ...)
{
	struct bridge_request_context ctx = {f->store, &f->opts, NULL};
	struct bridge_request request;
	char text[4096], header[256];
	struct json_writer out;
	const char *newline;
	cJSON *response;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(&request, 0, sizeof(request));
	snprintf(request.user, sizeof(request.user), "%s", user);
	request.client = "phone-1";
	request.device = device;
	request.req = cJSON_Parse(text);
	assert_non_null(request.req);
	bridge_entries_clear(&f->announced);
	json_writer_init(&out);
	assert_int_equal(
	    bridge_request_answer(&ctx, &request, &out, &f->announced), 0);
	newline = memchr(out.data, '\n', out.len);
	assert_non_null(newline);
	snprintf(header, sizeof(header),
	         "{\"user\":\"%s\",\"client\":"
	         "\"phone-1\"}",
	         user);
	assert_int_equal((size_t)(newline - out.data), strlen(header));
	assert_memory_equal(out.data, header, strlen(header));
	response = cJSON_Parse(newline + 1);
	assert_non_null(response);
	json_writer_free(&out);
	cJSON_Delete(request.req);
	return response;
}

static const char *text(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsString(item));
	return item->valuestring;
}

static bool flag(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsBool(item));
	return cJSON_IsTrue(item);
}

/* A field printed as compact JSON, into out. */
static const char *printed(const cJSON *o, const char *key, char *out,
                           size_t outlen)
{
	char *p =
	    cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, key));

	snprintf(out, outlen, "%s", p ? p : "(absent)");
	free(p);
	return out;
}

static void assert_ok(const cJSON *r)
{
	if (!flag(r, "ok")) {
		char *p = cJSON_PrintUnformatted(r);

		fail_msg("not ok: %s", p);
	}
}

static void assert_error(cJSON *r, const char *code)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(r, "error");

	assert_false(flag(r, "ok"));
	assert_string_equal(text(error, "code"), code);
	cJSON_Delete(r);
}

/* The announced entries as one JSON array text, into out. */
static const char *announced_text(struct fixture *f, char *out, size_t outlen)
{
	struct json_writer w;

	json_writer_init(&w);
	json_writer_open_array(&w);
	for (size_t i = 0; i < f->announced.count; i++)
		bridge_announce_entry(&w, &f->announced.items[i]);
	json_writer_close_array(&w);
	snprintf(out, outlen, "%s", w.data);
	json_writer_free(&w);
	return out;
}

/* The users' presence rows as "user:online:last_seen ..." (-2: NULL). */
static const char *presence_rows(struct fixture *f, char *out, size_t outlen)
{
	sqlite3_stmt *stmt;
	size_t used = 0;

	assert_int_equal(
	    sqlite3_prepare_v2(f->db,
	                       "SELECT id, online, COALESCE(last_seen, -2)"
	                       " FROM users WHERE kind = 'user' ORDER BY id",
	                       -1, &stmt, NULL),
	    SQLITE_OK);
	out[0] = '\0';
	while (sqlite3_step(stmt) == SQLITE_ROW)
		used += (size_t)snprintf(
		    out + used, outlen - used, "%s%s:%d:%lld", used ? " " : "",
		    (const char *)sqlite3_column_text(stmt, 0),
		    sqlite3_column_int(stmt, 1), sqlite3_column_int64(stmt, 2));
	sqlite3_finalize(stmt);
	return out;
}

/* Hands presence reports to the store as the service does. */
static void report_presence(struct fixture *f, const char *payload)
{
	struct bridge_presence_queue q = {NULL, 0, 0};

	bridge_handoff_presence(payload, strlen(payload), &q);
	for (size_t i = 0; i < q.count; i++)
		assert_int_equal(
		    bridge_store_note_presence(f->store, q.changes[i].user,
		                               q.changes[i].online,
		                               q.changes[i].last_seen),
		    SQLITE_OK);
	bridge_presence_queue_clear(&q);
}

/* Commits one message of alice in team. */
static void commit_a_message(struct fixture *f)
{
	struct bridge_batch batch = {NULL, 0, 0};
	struct bridge_entries entries;
	struct bridge_message *m;

	batch.messages = calloc(1, sizeof(*m));
	batch.count = batch.cap = 1;
	m = &batch.messages[0];
	snprintf(m->convo, sizeof(m->convo), "team");
	snprintf(m->from, sizeof(m->from), "alice");
	snprintf(m->cmid, sizeof(m->cmid), "m%llu",
	         (unsigned long long)f->next_id);
	m->id = f->next_id++;
	m->ts = 1764770000000LL;
	m->body = strdup("hi");
	m->client = strdup("phone-1");
	assert_int_equal(bridge_commit(f->store, &batch, &entries, NULL, NULL),
	                 BRIDGE_COMMIT_DONE);
	assert_int_equal(entries.items[0].outcome, BRIDGE_STORED);
	bridge_entries_clear(&entries);
	bridge_batch_clear(&batch);
}

/* ---- presence reports ---- */

static void test_presence_reports_ride_on_the_batch_transaction(void **state)
{
	struct fixture *f = *state;
	char rows[256];

	report_presence(
	    f, "[{\"user\":\"alice\",\"online\":true,\"status\":\"away\","
	       "\"since\":1000},{\"user\":\"bob\",\"online\":true,"
	       "\"status\":\"available\",\"since\":1000},"
	       "{\"user\":\"bob\",\"online\":false,\"last_seen\":5000},"
	       "{\"online\":true},{\"user\":\"carol\",\"online\":false},"
	       "{\"user\":\"a/b\",\"online\":true}]");
	assert_true(bridge_store_presence_pending(f->store));
	/* Nothing is written until a transaction takes it along. */
	assert_string_equal(presence_rows(f, rows, sizeof(rows)),
	                    "alice:0:-2 bob:0:-2 carol:0:-2 dave:0:-2");

	commit_a_message(f);
	assert_false(bridge_store_presence_pending(f->store));
	/* The newest report wins; malformed ones are skipped. */
	assert_string_equal(presence_rows(f, rows, sizeof(rows)),
	                    "alice:1:-2 bob:0:5000 carol:0:-2 dave:0:-2");
}

static void test_presence_flush_keeps_the_last_seen_when_back(void **state)
{
	struct fixture *f = *state;
	char rows[256];

	/* Nothing pending: no transaction at all. */
	assert_int_equal(bridge_store_flush_deferred(f->store), SQLITE_OK);
	report_presence(f, "[{\"user\":\"dave\",\"online\":false,"
	                   "\"last_seen\":7000}]");
	assert_int_equal(bridge_store_flush_deferred(f->store), SQLITE_OK);
	assert_false(bridge_store_presence_pending(f->store));
	assert_string_equal(presence_rows(f, rows, sizeof(rows)),
	                    "alice:0:-2 bob:0:-2 carol:0:-2 dave:0:7000");

	/* Back online: last seen still tells when it was last away, also
	 * when both reports wait for the same transaction. */
	report_presence(f, "[{\"user\":\"dave\",\"online\":true,"
	                   "\"status\":\"available\",\"since\":9000},"
	                   "{\"user\":\"carol\",\"online\":false,"
	                   "\"last_seen\":8000},{\"user\":\"carol\","
	                   "\"online\":true,\"status\":\"away\","
	                   "\"since\":8500}]");
	assert_int_equal(bridge_store_flush_deferred(f->store), SQLITE_OK);
	assert_string_equal(presence_rows(f, rows, sizeof(rows)),
	                    "alice:0:-2 bob:0:-2 carol:1:8000 dave:1:7000");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM users"
	                                  " WHERE online = 1"),
	                 2);
}

/* ---- presence requests ---- */

/* The users of a presence answer, as "user:online:last_seen ...". */
static const char *presence_answer(cJSON *r, char *out, size_t outlen)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(r, "presence");
	const cJSON *p;
	size_t used = 0;

	assert_ok(r);
	assert_true(cJSON_IsArray(list));
	out[0] = '\0';
	cJSON_ArrayForEach(p, list)
	{
		const cJSON *seen =
		    cJSON_GetObjectItemCaseSensitive(p, "last_seen");

		used += (size_t)snprintf(out + used, outlen - used,
		                         "%s%s:%d:%s", used ? " " : "",
		                         text(p, "user"), flag(p, "online"),
		                         cJSON_IsNull(seen) ? "null" : "t");
		if (cJSON_IsNumber(seen))
			used +=
			    (size_t)snprintf(out + used, outlen - used, "%lld",
			                     (long long)seen->valuedouble);
	}
	cJSON_Delete(r);
	return out;
}

static void test_presence_shows_contacts_and_oneself(void **state)
{
	struct fixture *f = *state;
	char got[256];

	exec_sql(f->db, "UPDATE users SET online = 1 WHERE id = 'bob';"
	                "UPDATE users SET last_seen = 4000 WHERE id = 'alice';"
	                "UPDATE users SET online = 1, last_seen = 10"
	                " WHERE id IN ('carol', 'dave')");
	/* carol left team and dave shares nothing; nobody, svc and a
	 * non-existent user are left out silently. */
	assert_string_equal(
	    presence_answer(ask(f, "alice", 1,
	                        "{\"id\":\"p1\",\"op\":\"presence\",\"users\":"
	                        "[\"bob\",\"alice\",\"carol\",\"dave\","
	                        "\"nobody\",\"svc\",\"bob\"]}"),
	                    got, sizeof(got)),
	    "bob:1:null alice:0:t4000");
	assert_string_equal(
	    presence_answer(ask(f, "carol", 0,
	                        "{\"id\":\"p2\",\"op\":\"presence\",\"users\":"
	                        "[\"alice\",\"carol\"]}"),
	                    got, sizeof(got)),
	    "carol:1:t10");
}

static void test_hiding_presence_is_mutual(void **state)
{
	struct fixture *f = *state;
	char got[256];
	const char *both = "{\"id\":\"p\",\"op\":\"presence\",\"users\":"
	                   "[\"alice\",\"bob\"]}";

	exec_sql(f->db, "UPDATE users SET hide_presence = 1 WHERE id = 'bob'");
	/* Nobody sees bob, and bob sees nobody but himself. */
	assert_string_equal(
	    presence_answer(ask(f, "alice", 1, both), got, sizeof(got)),
	    "alice:0:null");
	assert_string_equal(
	    presence_answer(ask(f, "bob", 3, both), got, sizeof(got)),
	    "bob:0:null");
	exec_sql(f->db, "UPDATE users SET hide_presence = 0 WHERE id = 'bob'");
	assert_string_equal(
	    presence_answer(ask(f, "alice", 1, both), got, sizeof(got)),
	    "alice:0:null bob:0:null");
}

static void test_presence_refuses_bad_lists(void **state)
{
	struct fixture *f = *state;
	char many[2048];
	size_t used;

	assert_error(ask(f, "alice", 1, "{\"id\":\"p\",\"op\":\"presence\"}"),
	             "bad_request");
	assert_error(ask(f, "alice", 1,
	                 "{\"id\":\"p\",\"op\":\"presence\",\"users\":"
	                 "[\"a/b\"]}"),
	             "bad_request");
	used = (size_t)snprintf(many, sizeof(many), "[");
	for (int i = 0; i < 101; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used,
		                         "%s\"u%d\"", i ? "," : "", i);
	snprintf(many + used, sizeof(many) - used, "]");
	assert_error(ask(f, "alice", 1,
	                 "{\"id\":\"p\",\"op\":\"presence\",\"users\":%s}",
	                 many),
	             "bad_request");
}

/* ---- settings ---- */

static void test_settings_change_hiding_and_announce_it(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	cJSON *r;

	r = ask(f, "bob", 3, "{\"id\":\"s1\",\"op\":\"settings\"}");
	assert_ok(r);
	assert_string_equal(printed(r, "settings", buf, sizeof(buf)),
	                    "{\"hide_presence\":false}");
	cJSON_Delete(r);
	assert_int_equal(f->announced.count, 0);

	r = ask(f, "bob", 3,
	        "{\"id\":\"s2\",\"op\":\"settings\",\"hide_presence\":true}");
	assert_ok(r);
	assert_string_equal(printed(r, "settings", buf, sizeof(buf)),
	                    "{\"hide_presence\":true}");
	cJSON_Delete(r);
	assert_int_equal(
	    query_int(f->db, "SELECT hide_presence FROM users WHERE id='bob'"),
	    1);
	/* The plugin drops what it cached about bob. */
	assert_string_equal(announced_text(f, buf, sizeof(buf)),
	                    "[{\"settings\":\"bob\"}]");

	/* Setting what is set already announces nothing. */
	r = ask(f, "bob", 3,
	        "{\"id\":\"s3\",\"op\":\"settings\",\"hide_presence\":true}");
	assert_ok(r);
	cJSON_Delete(r);
	assert_int_equal(f->announced.count, 0);

	r = ask(f, "bob", 3,
	        "{\"id\":\"s4\",\"op\":\"settings\",\"hide_presence\":false}");
	assert_ok(r);
	cJSON_Delete(r);
	assert_int_equal(
	    query_int(f->db, "SELECT hide_presence FROM users WHERE id='bob'"),
	    0);
	assert_string_equal(announced_text(f, buf, sizeof(buf)),
	                    "[{\"settings\":\"bob\"}]");

	assert_error(ask(f, "bob", 3,
	                 "{\"id\":\"s5\",\"op\":\"settings\","
	                 "\"hide_presence\":1}"),
	             "bad_request");
}

/* ---- devices ---- */

static void test_devices_lists_only_ones_own(void **state)
{
	struct fixture *f = *state;
	char buf[512];
	cJSON *r;

	exec_sql(f->db, "UPDATE devices SET revoked_at = 900 WHERE id = 2");
	r = ask(f, "alice", 1, "{\"id\":\"d1\",\"op\":\"devices\"}");
	assert_ok(r);
	assert_string_equal(
	    printed(r, "devices", buf, sizeof(buf)),
	    "[{\"device\":\"1\",\"label\":\"phone\",\"created\":100,"
	    "\"revoked\":null},{\"device\":\"2\",\"label\":null,"
	    "\"created\":200,\"revoked\":900}]");
	cJSON_Delete(r);
	r = ask(f, "dave", 0, "{\"id\":\"d2\",\"op\":\"devices\"}");
	assert_ok(r);
	assert_string_equal(printed(r, "devices", buf, sizeof(buf)), "[]");
	cJSON_Delete(r);
}

static void test_revoke_device_only_ones_own(void **state)
{
	struct fixture *f = *state;
	long long revoked;
	cJSON *r;

	/* bob's device, or one that does not exist: the same answer. */
	assert_error(ask(f, "alice", 1,
	                 "{\"id\":\"r1\",\"op\":\"revoke_device\","
	                 "\"device\":\"3\"}"),
	             "no_such_device");
	assert_error(ask(f, "alice", 1,
	                 "{\"id\":\"r2\",\"op\":\"revoke_device\","
	                 "\"device\":\"99\"}"),
	             "no_such_device");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM devices"
	                                  " WHERE revoked_at IS NOT NULL"),
	                 0);
	assert_error(ask(f, "alice", 1,
	                 "{\"id\":\"r3\",\"op\":\"revoke_device\","
	                 "\"device\":\"02\"}"),
	             "bad_request");

	r = ask(f, "alice", 1,
	        "{\"id\":\"r4\",\"op\":\"revoke_device\",\"device\":\"2\"}");
	assert_ok(r);
	assert_string_equal(text(r, "device"), "2");
	cJSON_Delete(r);
	revoked = query_int(f->db, "SELECT revoked_at FROM devices"
	                           " WHERE id = 2");
	assert_true(revoked > 1700000000000LL);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM devices"
	                                  " WHERE revoked_at IS NOT NULL"),
	                 1);

	/* Again: nothing changes, the first revocation stands. */
	r = ask(f, "alice", 1,
	        "{\"id\":\"r5\",\"op\":\"revoke_device\",\"device\":2}");
	assert_ok(r);
	cJSON_Delete(r);
	assert_int_equal(query_int(f->db, "SELECT revoked_at FROM devices"
	                                  " WHERE id = 2"),
	                 revoked);
}

/* ---- whoami ---- */

static void test_whoami_names_the_connection(void **state)
{
	struct fixture *f = *state;
	cJSON *r;

	r = ask(f, "alice", 2, "{\"id\":\"w\",\"op\":\"whoami\"}");
	assert_ok(r);
	assert_string_equal(text(r, "op"), "whoami");
	assert_string_equal(text(r, "user"), "alice");
	assert_string_equal(text(r, "device"), "2");
	cJSON_Delete(r);
	r = ask(f, "bob", 0, "{\"id\":\"w\",\"op\":\"whoami\"}");
	assert_ok(r);
	assert_true(
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "device")));
	cJSON_Delete(r);
}

/* The wrapper's device reaches the request. */
static void test_request_handoff_carries_the_device(void **state)
{
	struct bridge_request_queue q = {NULL, 0, 0};
	const char *payload =
	    "[{\"user\":\"alice\",\"client\":\"c1\",\"device\":\"42\","
	    "\"req\":{\"id\":\"a\",\"op\":\"whoami\"}},"
	    "{\"user\":\"bob\",\"client\":\"c2\",\"device\":\"x\","
	    "\"req\":{\"id\":\"b\",\"op\":\"whoami\"}},"
	    "{\"user\":\"carol\",\"client\":\"c3\","
	    "\"req\":{\"id\":\"c\",\"op\":\"whoami\"}}]";

	(void)state;
	assert_int_equal(bridge_handoff_requests(payload, strlen(payload), &q),
	                 3);
	assert_int_equal(q.requests[0].device, 42);
	assert_int_equal(q.requests[1].device, 0);
	assert_int_equal(q.requests[2].device, 0);
	bridge_request_queue_clear(&q);
}

/* Admin requests run as a user, never as one of its connections. */
static void test_account_ops_are_not_for_admin_requests(void **state)
{
	struct fixture *f = *state;
	struct bridge_admin_context admin = {f->store, &f->opts, 1, "alice"};
	struct bridge_entries announce = {NULL, 0, 0};
	struct json_writer out;
	cJSON *req = cJSON_Parse("{\"id\":\"x\",\"op\":\"settings\","
	                         "\"hide_presence\":true}");
	cJSON *r;
	bool answered;

	exec_sql(f->db, "INSERT INTO admin_requests (id, actor, request,"
	                " created_at) VALUES (1, 'alice', '{}', 0)");
	json_writer_init(&out);
	assert_int_equal(bridge_request_respond_admin(&admin, req, &out,
	                                              &announce, &answered),
	                 0);
	r = cJSON_Parse(out.data);
	assert_error(r, "bad_request");
	assert_int_equal(
	    query_int(f->db,
	              "SELECT hide_presence FROM users WHERE id='alice'"),
	    0);
	json_writer_free(&out);
	bridge_entries_clear(&announce);
	cJSON_Delete(req);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_presence_reports_ride_on_the_batch_transaction),
	    TEST(test_presence_flush_keeps_the_last_seen_when_back),
	    TEST(test_presence_shows_contacts_and_oneself),
	    TEST(test_hiding_presence_is_mutual),
	    TEST(test_presence_refuses_bad_lists),
	    TEST(test_settings_change_hiding_and_announce_it),
	    TEST(test_devices_lists_only_ones_own),
	    TEST(test_revoke_device_only_ones_own),
	    TEST(test_whoami_names_the_connection),
	    TEST(test_request_handoff_carries_the_device),
	    TEST(test_account_ops_are_not_for_admin_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
