/*
 * Admin requests against a real SQLite file: the bridge runs what the
 * admin CLI left in admin_requests as the row's actor, with admin rights
 * in every conversation, and stores each response with done_at; a change
 * stores it in the very transaction that makes the change.
 */
#include "bridge/admin.h"
#include "bridge/commit.h"
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
	struct bridge_entries announced;
};

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static long long query_int(sqlite3 *db, const char *fmt, ...)
{
	char sql[512];
	sqlite3_stmt *stmt;
	long long v = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	                 SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static char *query_text(sqlite3 *db, char *out, size_t outlen, const char *fmt,
                        ...)
{
	char sql[512];
	sqlite3_stmt *stmt;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	                 SQLITE_OK);
	out[0] = '\0';
	if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
		snprintf(out, outlen, "%s",
		         (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return out;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_int_equal(chat_crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bridge_admin_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/chat.db", f->dir);
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "normal",
	                              5000, &f->db, err, sizeof(err)),
	                 SQLITE_OK);
	assert_int_equal(chat_db_migrate(f->db, err, sizeof(err)), SQLITE_OK);
	exec_sql(f->db,
	         "INSERT INTO users (id, created_at) VALUES"
	         " ('alice', 0), ('bob', 0), ('carol', 0);"
	         "INSERT INTO conversations (id, kind, title, created_at)"
	         " VALUES ('team', 'group', 'Team', 0);"
	         "INSERT INTO members (convo_id, user_id, role) VALUES"
	         " ('team', 'alice', 'admin'), ('team', 'bob', 'member')");
	assert_int_equal(bridge_store_open(f->db, &f->store), SQLITE_OK);
	chat_options_defaults(&f->opts);
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

/* Leaves a request as the CLI does; returns its row id. */
static long long leave_request(struct fixture *f, const char *actor,
                               const char *request)
{
	sqlite3_stmt *stmt;

	assert_int_equal(sqlite3_prepare_v2(f->db,
	                                    "INSERT INTO admin_requests"
	                                    " (actor, request, created_at)"
	                                    " VALUES (?, ?, 0)",
	                                    -1, &stmt, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(stmt, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, request, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	return sqlite3_last_insert_rowid(f->db);
}

static size_t run(struct fixture *f)
{
	bridge_entries_clear(&f->announced);
	return bridge_admin_run(f->store, &f->opts, &f->announced);
}

/* The stored response of a row, parsed; fails when it has none. */
static cJSON *response(struct fixture *f, long long row)
{
	char text[4096];
	cJSON *r;

	assert_int_equal(query_int(f->db,
	                           "SELECT done_at IS NOT NULL FROM"
	                           " admin_requests WHERE id = %lld",
	                           row),
	                 1);
	query_text(f->db, text, sizeof(text),
	           "SELECT response FROM admin_requests WHERE id = %lld", row);
	r = cJSON_Parse(text);
	assert_non_null(r);
	return r;
}

static const char *text_of(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsString(item));
	return item->valuestring;
}

static bool ok(const cJSON *r)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
}

static const char *error_code(const cJSON *r)
{
	return text_of(cJSON_GetObjectItemCaseSensitive(r, "error"), "code");
}

static void test_admin_creates_a_group_for_its_first_member(void **state)
{
	struct fixture *f = *state;
	long long row = leave_request(
	    f, "$admin",
	    "{\"id\":\"chatctl-1\",\"op\":\"create_group\",\"title\":\"ops\","
	    "\"members\":[\"carol\",\"bob\"]}");
	char convo[65], buf[256];
	cJSON *r;

	assert_int_equal(run(f), 1);
	r = response(f, row);
	assert_true(ok(r));
	assert_string_equal(text_of(r, "id"), "chatctl-1");
	snprintf(convo, sizeof(convo), "%s", text_of(r, "convo"));
	cJSON_Delete(r);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT group_concat(user_id || ':' || role, ' ') FROM"
	           " (SELECT * FROM members WHERE convo_id = '%s'"
	           " ORDER BY user_id)",
	           convo);
	assert_string_equal(buf, "bob:member carol:admin");
	query_text(f->db, buf, sizeof(buf),
	           "SELECT sender || ' ' || cmid || ' ' || type FROM messages"
	           " WHERE convo_id = '%s' AND seq = 1",
	           convo);
	assert_string_equal(buf, "$admin op chatctl-1 created");
	assert_int_equal(f->announced.count, 2);
	assert_int_equal(f->announced.items[0].outcome, BRIDGE_MEMBERSHIP);
	/* Done: the next round leaves it alone. */
	assert_int_equal(run(f), 0);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM conversations"),
	                 2);
}

static void test_a_user_actor_creates_as_itself(void **state)
{
	struct fixture *f = *state;
	long long row =
	    leave_request(f, "bob",
	                  "{\"id\":\"c2\",\"op\":\"create_group\","
	                  "\"title\":\"b\",\"members\":[\"carol\"]}");
	long long empty =
	    leave_request(f, "$admin",
	                  "{\"id\":\"c3\",\"op\":\"create_group\","
	                  "\"title\":\"nobody\"}");
	char buf[128];
	cJSON *r;

	assert_int_equal(run(f), 2);
	r = response(f, row);
	assert_true(ok(r));
	query_text(f->db, buf, sizeof(buf),
	           "SELECT user_id FROM members WHERE convo_id = '%s'"
	           " AND role = 'admin'",
	           text_of(r, "convo"));
	assert_string_equal(buf, "bob");
	cJSON_Delete(r);
	/* $admin belongs to no group: it needs a member to be the admin. */
	r = response(f, empty);
	assert_string_equal(error_code(r), "bad_request");
	cJSON_Delete(r);
}

static void test_admin_rights_reach_every_conversation(void **state)
{
	struct fixture *f = *state;
	long long add =
	    leave_request(f, "$admin",
	                  "{\"id\":\"a1\",\"op\":\"add_members\","
	                  "\"convo\":\"team\",\"users\":[\"carol\"]}");
	long long by_member =
	    leave_request(f, "bob",
	                  "{\"id\":\"a2\",\"op\":\"rename\",\"convo\":\"team\","
	                  "\"title\":\"renamed by bob\"}");
	long long leave = leave_request(
	    f, "$admin", "{\"id\":\"a3\",\"op\":\"leave\",\"convo\":\"team\"}");
	char buf[128];
	cJSON *r;

	assert_int_equal(run(f), 3);
	r = response(f, add);
	assert_true(ok(r));
	assert_int_equal(
	    cJSON_GetObjectItemCaseSensitive(r, "seq")->valuedouble, 1);
	cJSON_Delete(r);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT sender || ' ' || type FROM messages"
	           " WHERE convo_id = 'team' AND seq = 1");
	assert_string_equal(buf, "$admin added");
	/* bob is no admin of team, but an admin request lends the rights;
	 * the change is made in his name. */
	r = response(f, by_member);
	assert_true(ok(r));
	cJSON_Delete(r);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT sender || ' ' || type FROM messages"
	           " WHERE convo_id = 'team' AND seq = 2");
	assert_string_equal(buf, "bob renamed");
	/* Rights are not membership: $admin has nothing to leave. */
	r = response(f, leave);
	assert_string_equal(error_code(r), "not_member");
	cJSON_Delete(r);
}

static void test_refusals_are_stored_as_responses(void **state)
{
	struct fixture *f = *state;
	long long garbled = leave_request(f, "$admin", "{not json");
	long long stranger = leave_request(
	    f, "zed", "{\"id\":\"x\",\"op\":\"members\",\"convo\":\"team\"}");
	long long no_id = leave_request(
	    f, "$admin", "{\"op\":\"members\",\"convo\":\"team\"}");
	char id[32];
	cJSON *r;

	assert_int_equal(run(f), 3);
	r = response(f, garbled);
	assert_string_equal(error_code(r), "bad_json");
	cJSON_Delete(r);
	r = response(f, stranger);
	assert_string_equal(error_code(r), "no_such_user");
	cJSON_Delete(r);
	/* Without an id of its own, the request is named after its row. */
	r = response(f, no_id);
	assert_true(ok(r));
	snprintf(id, sizeof(id), "admin %lld", no_id);
	assert_string_equal(text_of(r, "id"), id);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "members")),
	    2);
	cJSON_Delete(r);
}

static void test_requests_run_oldest_first_a_few_at_a_time(void **state)
{
	struct fixture *f = *state;
	char request[128];

	for (int i = 0; i < BRIDGE_ADMIN_BATCH + 2; i++) {
		snprintf(request, sizeof(request),
		         "{\"id\":\"n%d\",\"op\":\"rename\",\"convo\":\"team\","
		         "\"title\":\"t%d\"}",
		         i, i);
		leave_request(f, "$admin", request);
	}
	assert_int_equal(run(f), BRIDGE_ADMIN_BATCH);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM admin_requests"
	                                  " WHERE done_at IS NULL"),
	                 2);
	assert_int_equal(run(f), 2);
	assert_int_equal(query_int(f->db,
	                           "SELECT COUNT(*) FROM messages m JOIN"
	                           " admin_requests a ON m.cmid = 'op n' ||"
	                           " (a.id - 1) AND m.seq = a.id"),
	                 BRIDGE_ADMIN_BATCH + 2);
}

static void test_the_answer_commits_with_the_change(void **state)
{
	struct fixture *f = *state;
	long long row = leave_request(f, "$admin",
	                              "{\"id\":\"t1\",\"op\":\"rename\","
	                              "\"convo\":\"team\",\"title\":\"new\"}");
	sqlite3 *other;
	char err[256];
	cJSON *r;

	/* Another writer holds the lock: neither the change nor its answer
	 * may happen, and the request waits for the next round. */
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "normal", 0,
	                              &other, err, sizeof(err)),
	                 SQLITE_OK);
	exec_sql(other, "BEGIN IMMEDIATE");
	sqlite3_busy_timeout(f->db, 10);
	assert_int_equal(run(f), 0);
	exec_sql(other, "ROLLBACK");
	sqlite3_close(other);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 0);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM admin_requests"
	                                  " WHERE done_at IS NULL"),
	                 1);
	assert_int_equal(run(f), 1);
	r = response(f, row);
	assert_true(ok(r));
	cJSON_Delete(r);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);
}

static void test_a_change_stores_its_own_answer(void **state)
{
	struct fixture *f = *state;
	static const char rename[] = "{\"id\":\"s1\",\"op\":\"rename\","
	                             "\"convo\":\"team\",\"title\":\"new\"}";
	static const char leave[] = "{\"id\":\"s2\",\"op\":\"leave\","
	                            "\"convo\":\"team\"}";
	struct bridge_admin_context admin = {f->store, &f->opts, 0, "$admin"};
	struct json_writer out;
	bool answered = false;
	cJSON *req, *r;
	char stored[512];

	admin.row = leave_request(f, "$admin", rename);
	req = cJSON_Parse(rename);
	json_writer_init(&out);
	assert_int_equal(bridge_request_respond_admin(&admin, req, &out,
	                                              &f->announced, &answered),
	                 0);
	cJSON_Delete(req);
	/* Committed together: the row is done before anyone else writes. */
	assert_true(answered);
	query_text(f->db, stored, sizeof(stored),
	           "SELECT response FROM admin_requests WHERE id = %lld"
	           " AND done_at IS NOT NULL",
	           admin.row);
	assert_string_equal(stored, out.data);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);
	json_writer_free(&out);

	/* A refusal changes nothing and is left to the caller to store. */
	admin.row = leave_request(f, "$admin", leave);
	req = cJSON_Parse(leave);
	json_writer_init(&out);
	assert_int_equal(bridge_request_respond_admin(&admin, req, &out,
	                                              &f->announced, &answered),
	                 0);
	cJSON_Delete(req);
	assert_false(answered);
	r = cJSON_Parse(out.data);
	assert_string_equal(error_code(r), "not_member");
	cJSON_Delete(r);
	json_writer_free(&out);
	assert_int_equal(query_int(f->db,
	                           "SELECT done_at IS NULL FROM admin_requests"
	                           " WHERE id = %lld",
	                           admin.row),
	                 1);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_admin_creates_a_group_for_its_first_member),
	    TEST(test_a_user_actor_creates_as_itself),
	    TEST(test_admin_rights_reach_every_conversation),
	    TEST(test_refusals_are_stored_as_responses),
	    TEST(test_requests_run_oldest_first_a_few_at_a_time),
	    TEST(test_the_answer_commits_with_the_change),
	    TEST(test_a_change_stores_its_own_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
