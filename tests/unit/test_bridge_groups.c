/*
 * Groups and channels against a real SQLite file: every operation's
 * permissions, errors and answers, the system messages that record the
 * changes (their seqs, shapes and announcements), who sees what in sync
 * and history, retries, and the rules that outlive an operation (an admin
 * is always left; a group past the fan-out cap turns broadcast).
 */
#include "announcement_lines.h"
#include "bridge/announce.h"
#include "bridge/announcements.h"
#include "bridge/commit.h"
#include "bridge/request.h"
#include "bridge/store.h"
#include "idgen.h"
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

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;

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
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* The first column of the first row as text, "" when there is none. */
static char *query_text(sqlite3 *db, char *out, size_t outlen, const char *fmt,
                        ...)
{
	char sql[1024];
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bridge_groups_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/chat.db", f->dir);
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "normal",
	                              5000, &f->db, err, sizeof(err)),
	                 SQLITE_OK);
	assert_int_equal(chat_db_migrate(f->db, err, sizeof(err)), SQLITE_OK);
	exec_sql(f->db, "INSERT INTO users (id, created_at) VALUES"
	                " ('alice', 0), ('bob', 0), ('carol', 0), ('dave', 0),"
	                " ('erin', 0);"
	                "INSERT INTO users (id, kind, created_at) VALUES"
	                " ('svc', 'service', 0)");
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

/* Answers a request of user, given as printf-style JSON text; what its
 * change announced is in f->announced. */
static cJSON *ask(struct fixture *f, const char *user, const char *fmt, ...)
{
	char request[4096];
	struct json_writer out;
	cJSON *req, *response;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(request, sizeof(request), fmt, ap);
	va_end(ap);
	req = cJSON_Parse(request);
	assert_non_null(req);
	bridge_entries_clear(&f->announced);
	json_writer_init(&out);
	assert_int_equal(bridge_request_respond(f->store, &f->opts, user, req,
	                                        &out, &f->announced),
	                 0);
	response = cJSON_ParseWithLength(out.data, out.len);
	assert_non_null(response);
	json_writer_free(&out);
	cJSON_Delete(req);
	return response;
}

static long long number(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsNumber(item));
	return (long long)item->valuedouble;
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

/* Asserts an ok response and frees it. */
static void expect_ok(cJSON *r)
{
	assert_ok(r);
	cJSON_Delete(r);
}

/* Asserts the error code, and that the message mentions `mentions`
 * (unless NULL); frees the response. */
static void assert_error(cJSON *r, const char *code, const char *mentions)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(r, "error");

	assert_false(flag(r, "ok"));
	assert_string_equal(text(error, "code"), code);
	if (mentions != NULL && !strstr(text(error, "message"), mentions))
		fail_msg("message \"%s\" does not mention %s",
		         text(error, "message"), mentions);
	cJSON_Delete(r);
}

/* Creates a group of alice (admin) and the members listed in JSON;
 * writes its id into convo. */
static void create_group(struct fixture *f, const char *members_json,
                         char convo[65])
{
	cJSON *r =
	    ask(f, "alice",
	        "{\"id\":\"mk\",\"op\":\"create_group\",\"title\":\"team\","
	        "\"members\":%s}",
	        members_json);

	assert_ok(r);
	snprintf(convo, 65, "%s", text(r, "convo"));
	cJSON_Delete(r);
}

/* Commits one ordinary message; returns its outcome. */
static enum bridge_outcome send_message(struct fixture *f, const char *convo,
                                        const char *from, const char *cmid)
{
	struct bridge_batch batch = {NULL, 0, 0};
	struct bridge_entries entries;
	struct bridge_message *m;
	enum bridge_outcome outcome;

	batch.messages = calloc(1, sizeof(*m));
	batch.count = batch.cap = 1;
	m = &batch.messages[0];
	snprintf(m->convo, sizeof(m->convo), "%s", convo);
	snprintf(m->from, sizeof(m->from), "%s", from);
	snprintf(m->cmid, sizeof(m->cmid), "%s", cmid);
	m->id = f->next_id++;
	m->ts = 1764770000000LL;
	m->body = strdup("hello");
	m->client = strdup("phone");
	assert_int_equal(bridge_commit(f->store, &batch, &entries, NULL, NULL),
	                 BRIDGE_COMMIT_DONE);
	outcome = entries.items[0].outcome;
	bridge_entries_clear(&entries);
	bridge_batch_clear(&batch);
	return outcome;
}

/* The seqs of a response's "messages", as "1,2,3". */
static char *seqs(const cJSON *response, char *out, size_t outlen)
{
	const cJSON *messages =
	    cJSON_GetObjectItemCaseSensitive(response, "messages");
	const cJSON *m;
	size_t used = 0;

	assert_true(cJSON_IsArray(messages));
	out[0] = '\0';
	cJSON_ArrayForEach(m, messages)
	{
		used += (size_t)snprintf(out + used, outlen - used, "%s%lld",
		                         used ? "," : "", number(m, "seq"));
	}
	return out;
}

/* The announced entries as one JSON array text. */
static char *announced_text(struct fixture *f)
{
	struct json_writer w;
	char *copy;

	json_writer_init(&w);
	json_writer_open_array(&w);
	for (size_t i = 0; i < f->announced.count; i++)
		bridge_announce_entry(&w, &f->announced.items[i]);
	json_writer_close_array(&w);
	copy = strdup(w.data);
	json_writer_free(&w);
	return copy;
}

/* ---- create_group ---- */

static void test_create_group_records_created_at_seq_one(void **state)
{
	struct fixture *f = *state;
	char convo[65], body[512], buf[512];
	const cJSON *m;
	cJSON *r;

	r = ask(f, "alice",
	        "{\"id\":\"g1\",\"op\":\"create_group\",\"title\":\"climbing\","
	        "\"members\":[\"bob\",\"carol\",\"bob\",\"alice\"]}");
	assert_ok(r);
	assert_string_equal(text(r, "op"), "create_group");
	assert_string_equal(text(r, "kind"), "group");
	assert_int_equal(number(r, "seq"), 1);
	snprintf(convo, sizeof(convo), "%s", text(r, "convo"));
	assert_int_equal(strncmp(convo, "c_", 2), 0);
	assert_int_equal(strlen(convo), 26);
	cJSON_Delete(r);

	/* The creator is the admin; everyone sees from seq 1 on. */
	assert_int_equal(query_int(f->db,
	                           "SELECT COUNT(*) FROM members"
	                           " WHERE convo_id = '%s' AND joined_seq = 0"
	                           " AND left_seq IS NULL",
	                           convo),
	                 3);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT group_concat(user_id || ':' || role, ' ') FROM"
	           " (SELECT * FROM members WHERE convo_id = '%s'"
	           " ORDER BY user_id)",
	           convo);
	assert_string_equal(buf, "alice:admin bob:member carol:member");
	query_text(f->db, body, sizeof(body),
	           "SELECT type || ' ' || sender || ' ' || cmid || ' ' || body"
	           " FROM messages WHERE convo_id = '%s' AND seq = 1",
	           convo);
	assert_string_equal(body, "created alice op g1 {\"title\":\"climbing\","
	                          "\"kind\":\"group\",\"members\":[\"alice\","
	                          "\"bob\",\"carol\"]}");

	/* Members read it like any message, with type and event. */
	r = ask(f, "bob", "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"%s\"}",
	        convo);
	m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "messages"),
	                       0);
	assert_int_equal(number(m, "seq"), 1);
	assert_string_equal(text(m, "from"), "alice");
	assert_string_equal(text(m, "cmid"), "op g1");
	assert_string_equal(text(m, "type"), "created");
	assert_string_equal(printed(m, "event", buf, sizeof(buf)),
	                    "{\"title\":\"climbing\",\"kind\":\"group\","
	                    "\"members\":[\"alice\",\"bob\",\"carol\"]}");
	assert_null(cJSON_GetObjectItemCaseSensitive(m, "body"));
	assert_int_equal(cJSON_GetArraySize(m), 8);
	cJSON_Delete(r);
}

static void test_created_is_announced_after_its_membership(void **state)
{
	struct fixture *f = *state;
	char convo[65], expected[512];
	char *all;

	create_group(f, "[\"bob\"]", convo);
	assert_int_equal(f->announced.count, 2);
	assert_int_equal(f->announced.items[0].outcome, BRIDGE_MEMBERSHIP);
	all = announced_text(f);
	snprintf(expected, sizeof(expected),
	         "[{\"membership\":\"%s\"},{\"msg\":{\"convo\":\"%s\","
	         "\"seq\":1,\"id\":",
	         convo, convo);
	/* convo then seq lead every message: the plugin reads them there. */
	assert_int_equal(strncmp(all, expected, strlen(expected)), 0);
	assert_non_null(strstr(all, "\"cmid\":\"op mk\",\"type\":\"created\","
	                            "\"event\":{\"title\":\"team\""));
	free(all);
}

static void test_create_group_refuses_bad_requests(void **state)
{
	struct fixture *f = *state;
	char title[512];

	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"e1\",\"op\":\"create_group\",\"title\":\"\"}"),
	    "bad_request", "title");
	memset(title, 'x', 101);
	title[101] = '\0';
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e2\",\"op\":\"create_group\","
	                 "\"title\":\"%s\"}",
	                 title),
	             "bad_request", "title");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e3\",\"op\":\"create_group\",\"title\":7}"),
	             "bad_request", "title");
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"e4\",\"op\":\"create_group\",\"title\":\"t\","
	        "\"members\":\"bob\"}"),
	    "bad_request", "members");
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"e5\",\"op\":\"create_group\",\"title\":\"t\","
	        "\"members\":[\"b/b\"]}"),
	    "bad_request", "members");
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"e6\",\"op\":\"create_group\",\"title\":\"t\","
	        "\"channel\":\"yes\"}"),
	    "bad_request", "channel");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e8\",\"op\":\"create_group\","
	                 "\"title\":\"one\\u0001two\"}"),
	             "bad_request", "control");
	{
		static const char *const unfit[] = {
		    "a\\u0085b", "a\\u2028b", "\\u202eevil", "a\\u200bb",
		    "\\ufeffa", "   "};

		for (size_t i = 0; i < sizeof(unfit) / sizeof(unfit[0]); i++)
			assert_error(
			    ask(f, "alice",
			        "{\"id\":\"e9\",\"op\":\"create_group\","
			        "\"title\":\"%s\"}",
			        unfit[i]),
			    "bad_request", "title");
	}
	/* Other scripts and symbols are fine. */
	expect_ok(ask(f, "alice",
	              "{\"id\":\"e10\",\"op\":\"create_group\","
	              "\"title\":\" \\u05e9\\u05dc\\u05d5\\u05dd \\ud83d\\ude00\"}"));
	/* 100 characters are fine, however many bytes they take. */
	title[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(title, "\xc3\xa9");
	expect_ok(ask(
	    f, "alice",
	    "{\"id\":\"e7\",\"op\":\"create_group\",\"title\":\"%s\"}", title));
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM conversations"),
	                 2);
}

/* A user in thousands of conversations lists them page by page. */
static void test_conversations_come_in_pages(void **state)
{
	struct fixture *f = *state;
	char next[64];
	cJSON *page;

	exec_sql(f->db, "BEGIN");
	for (int i = 0; i < 1200; i++) {
		char *sql = sqlite3_mprintf(
		    "INSERT INTO conversations (id, kind, title, created_at)"
		    " VALUES ('c_%04d', 'group', 't', 1);"
		    "INSERT INTO members (convo_id, user_id) VALUES"
		    " ('c_%04d', 'alice')",
		    i, i);

		exec_sql(f->db, sql);
		sqlite3_free(sql);
	}
	exec_sql(f->db, "COMMIT");
	page = ask(f, "alice", "{\"id\":\"l1\",\"op\":\"conversations\"}");
	assert_ok(page);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(page, "conversations")), 500);
	assert_true(flag(page, "more"));
	assert_string_equal(text(page, "next"), "c_0499");
	cJSON_Delete(page);
	page = ask(f, "alice",
	           "{\"id\":\"l2\",\"op\":\"conversations\",\"after\":"
	           "\"c_0499\",\"limit\":5000}");
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(page, "conversations")), 700);
	assert_false(flag(page, "more"));
	assert_null(cJSON_GetObjectItem(page, "next"));
	snprintf(next, sizeof(next), "%s",
	         text(cJSON_GetArrayItem(cJSON_GetObjectItem(page,
	                                                     "conversations"),
	                                 0),
	              "convo"));
	assert_string_equal(next, "c_0500");
	cJSON_Delete(page);
	assert_error(ask(f, "alice",
	                 "{\"id\":\"l3\",\"op\":\"conversations\","
	                 "\"after\":\"a/b\"}"),
	             "bad_request", "after");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"l4\",\"op\":\"conversations\","
	                 "\"limit\":0}"),
	             "bad_request", "limit");
}

/* An answer the broker could not carry becomes a too_large refusal, so
 * the client is answered all the same. */
static void test_an_answer_too_large_to_publish_is_refused(void **state)
{
	struct fixture *f = *state;
	char convo[65];

	create_group(f, "[\"bob\"]", convo);
	exec_sql(f->db, "BEGIN");
	for (int i = 0; i < 40000; i++) {
		char *sql = sqlite3_mprintf(
		    "INSERT INTO users (id, created_at) VALUES"
		    " ('member-with-a-rather-long-name-%05d', 0);"
		    "INSERT INTO members (convo_id, user_id) VALUES"
		    " ('%q', 'member-with-a-rather-long-name-%05d')",
		    i, convo, i);

		exec_sql(f->db, sql);
		sqlite3_free(sql);
	}
	exec_sql(f->db, "COMMIT");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"m1\",\"op\":\"members\","
	                 "\"convo\":\"%s\"}",
	                 convo),
	             "too_large", "ask for less");
}

static void test_unknown_members_are_named(void **state)
{
	struct fixture *f = *state;

	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"u1\",\"op\":\"create_group\",\"title\":\"t\","
	        "\"members\":[\"bob\",\"zoe\",\"svc\",\"yan\"]}"),
	    "no_such_user", "zoe, svc, yan");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM conversations"),
	                 0);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 0);
}

static void test_channel_is_broadcast_from_creation(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	cJSON *r;

	r = ask(f, "alice",
	        "{\"id\":\"ch\",\"op\":\"create_group\",\"title\":\"news\","
	        "\"members\":[\"bob\"],\"channel\":true}");
	assert_ok(r);
	assert_string_equal(text(r, "kind"), "channel");
	assert_int_equal(query_int(f->db,
	                           "SELECT broadcast FROM conversations"
	                           " WHERE id = '%s' AND kind = 'channel'",
	                           text(r, "convo")),
	                 1);
	/* No broadcast message: a channel never was anything else. */
	assert_int_equal(query_int(f->db, "SELECT MAX(seq) FROM messages"), 1);
	/* Nobody subscribed to its topic yet: the inboxes get "created". */
	assert_int_equal(f->announced.count, 2);
	assert_string_equal(f->announced.items[1].also, "[\"alice\",\"bob\"]");
	snprintf(buf, sizeof(buf), "%s", f->announced.items[1].msg.body);
	assert_non_null(strstr(buf, "\"kind\":\"channel\""));
	cJSON_Delete(r);
}

static void test_create_group_retry_answers_the_first_time(void **state)
{
	struct fixture *f = *state;
	char convo[65];
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	r = ask(f, "alice",
	        "{\"id\":\"mk\",\"op\":\"create_group\",\"title\":\"team\","
	        "\"members\":[\"bob\"]}");
	assert_ok(r);
	assert_string_equal(text(r, "convo"), convo);
	assert_string_equal(text(r, "kind"), "group");
	assert_int_equal(number(r, "seq"), 1);
	cJSON_Delete(r);
	assert_int_equal(f->announced.count, 0);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM conversations"),
	                 1);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);
	/* The same id from someone else is a request of its own. */
	r = ask(f, "bob",
	        "{\"id\":\"mk\",\"op\":\"create_group\",\"title\":\"team\"}");
	assert_ok(r);
	assert_string_not_equal(text(r, "convo"), convo);
	cJSON_Delete(r);
}

static void test_group_full_at_creation(void **state)
{
	struct fixture *f = *state;

	f->opts.group_members_max = 3;
	f->opts.channel_members_max = 2;
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"f1\",\"op\":\"create_group\",\"title\":\"t\","
	        "\"members\":[\"bob\",\"carol\",\"dave\"]}"),
	    "group_full", NULL);
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"f2\",\"op\":\"create_group\",\"title\":\"t\","
	        "\"members\":[\"bob\",\"carol\"],\"channel\":true}"),
	    "group_full", NULL);
	expect_ok(ask(f, "alice",
	              "{\"id\":\"f3\",\"op\":\"create_group\",\"title\":\"t\","
	              "\"members\":[\"bob\",\"carol\"]}"));
}

/* ---- add_members ---- */

static void test_add_members_sees_from_its_own_add(void **state)
{
	struct fixture *f = *state;
	char convo[65], list[64], buf[256];
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	assert_int_equal(send_message(f, convo, "bob", "b1"), BRIDGE_STORED);
	r = ask(f, "alice",
	        "{\"id\":\"a1\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"carol\",\"bob\",\"dave\"]}",
	        convo);
	assert_ok(r);
	assert_string_equal(printed(r, "added", buf, sizeof(buf)),
	                    "[\"carol\",\"dave\"]");
	assert_int_equal(number(r, "seq"), 3);
	cJSON_Delete(r);
	assert_int_equal(query_int(f->db,
	                           "SELECT joined_seq FROM members WHERE"
	                           " convo_id = '%s' AND user_id = 'carol'",
	                           convo),
	                 2);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT type || ' ' || body FROM messages"
	           " WHERE convo_id = '%s' AND seq = 3",
	           convo);
	assert_string_equal(buf, "added {\"users\":[\"carol\",\"dave\"]}");
	assert_int_equal(f->announced.count, 2);
	assert_int_equal(f->announced.items[0].outcome, BRIDGE_MEMBERSHIP);
	/* Not broadcast: the plugin's readers include the newcomers. */
	assert_null(f->announced.items[1].also);

	assert_int_equal(send_message(f, convo, "carol", "c1"), BRIDGE_STORED);
	r = ask(f, "carol", "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"%s\"}",
	        convo);
	assert_string_equal(seqs(r, list, sizeof(list)), "3,4");
	cJSON_Delete(r);
	r = ask(f, "carol",
	        "{\"id\":\"h\",\"op\":\"history\",\"convo\":\"%s\"}", convo);
	assert_string_equal(seqs(r, list, sizeof(list)), "3,4");
	assert_false(flag(r, "more"));
	cJSON_Delete(r);
}

static void test_add_members_needs_an_admin(void **state)
{
	struct fixture *f = *state;
	char convo[65];

	create_group(f, "[\"bob\"]", convo);
	assert_error(
	    ask(f, "bob",
	        "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"carol\"]}",
	        convo),
	    "not_admin", NULL);
	assert_error(
	    ask(f, "dave",
	        "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"carol\"]}",
	        convo),
	    "not_member", NULL);
	assert_error(ask(f, "alice",
	                 "{\"id\":\"a\",\"op\":\"add_members\","
	                 "\"convo\":\"nowhere\",\"users\":[\"carol\"]}"),
	             "not_member", NULL);
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"carol\",\"nobody\"]}",
	        convo),
	    "no_such_user", "nobody");
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\"}",
	        convo),
	    "bad_request", "users");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM members"), 2);
}

static void test_adding_members_already_in_changes_nothing(void **state)
{
	struct fixture *f = *state;
	char convo[65], buf[64];
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	r = ask(f, "alice",
	        "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"bob\",\"alice\"]}",
	        convo);
	assert_ok(r);
	assert_string_equal(printed(r, "added", buf, sizeof(buf)), "[]");
	assert_null(cJSON_GetObjectItemCaseSensitive(r, "seq"));
	cJSON_Delete(r);
	assert_int_equal(f->announced.count, 0);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);
}

static void test_retried_add_is_not_applied_twice(void **state)
{
	struct fixture *f = *state;
	char convo[65], buf[64];
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	expect_ok(ask(f, "alice",
	              "{\"id\":\"r1\",\"op\":\"add_members\",\"convo\":\"%s\","
	              "\"users\":[\"carol\"]}",
	              convo));
	expect_ok(ask(f, "alice",
	              "{\"id\":\"r2\",\"op\":\"remove_members\","
	              "\"convo\":\"%s\",\"users\":[\"carol\"]}",
	              convo));
	/* The answer to r1 got lost; it is asked again. */
	r = ask(f, "alice",
	        "{\"id\":\"r1\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"carol\"]}",
	        convo);
	assert_ok(r);
	assert_string_equal(printed(r, "added", buf, sizeof(buf)),
	                    "[\"carol\"]");
	assert_int_equal(number(r, "seq"), 2);
	cJSON_Delete(r);
	assert_int_equal(f->announced.count, 0);
	assert_int_equal(query_int(f->db, "SELECT MAX(seq) FROM messages"), 3);
	assert_int_equal(query_int(f->db,
	                           "SELECT left_seq FROM members WHERE"
	                           " convo_id = '%s' AND user_id = 'carol'",
	                           convo),
	                 3);
	/* The same id for another kind of change is refused. */
	assert_error(ask(f, "alice",
	                 "{\"id\":\"r1\",\"op\":\"rename\",\"convo\":\"%s\","
	                 "\"title\":\"x\"}",
	                 convo),
	             "bad_request", "r1");
}

static void test_readded_member_starts_afresh(void **state)
{
	struct fixture *f = *state;
	char convo[65], list[64];
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	expect_ok(ask(f, "alice",
	              "{\"id\":\"x1\",\"op\":\"remove_members\","
	              "\"convo\":\"%s\",\"users\":[\"bob\"]}",
	              convo));
	assert_int_equal(send_message(f, convo, "alice", "private"),
	                 BRIDGE_STORED);
	expect_ok(ask(f, "alice",
	              "{\"id\":\"x2\",\"op\":\"add_members\",\"convo\":\"%s\","
	              "\"users\":[\"bob\"]}",
	              convo));
	assert_int_equal(query_int(f->db,
	                           "SELECT joined_seq FROM members WHERE"
	                           " convo_id = '%s' AND user_id = 'bob'"
	                           " AND left_seq IS NULL AND role = 'member'",
	                           convo),
	                 3);
	/* Nothing of the time away: seq 3 was said without bob. */
	r = ask(f, "bob", "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"%s\"}",
	        convo);
	assert_string_equal(seqs(r, list, sizeof(list)), "4");
	cJSON_Delete(r);
	assert_int_equal(send_message(f, convo, "bob", "back"), BRIDGE_STORED);
}

/* ---- broadcast ---- */

static void test_group_turns_broadcast_past_the_fanout_cap(void **state)
{
	struct fixture *f = *state;
	char convo[65], buf[256], expected[256];
	cJSON *r;

	f->opts.group_fanout_max = 3;
	create_group(f, "[\"bob\",\"carol\"]", convo);
	assert_int_equal(query_int(f->db,
	                           "SELECT broadcast FROM conversations"
	                           " WHERE id = '%s'",
	                           convo),
	                 0);
	r = ask(f, "alice",
	        "{\"id\":\"big\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"dave\"]}",
	        convo);
	assert_ok(r);
	assert_int_equal(number(r, "seq"), 2);
	cJSON_Delete(r);
	assert_int_equal(query_int(f->db,
	                           "SELECT broadcast FROM conversations"
	                           " WHERE id = '%s'",
	                           convo),
	                 1);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT type || ' ' || cmid || ' ' || body FROM messages"
	           " WHERE convo_id = '%s' AND seq = 3",
	           convo);
	snprintf(expected, sizeof(expected),
	         "broadcast op big broadcast {\"topic\":\"chat/c/%s\"}", convo);
	assert_string_equal(buf, expected);
	/* One membership entry, then added, then broadcast. The plugin
	 * finds the group broadcast already when it fans out "added", which
	 * still belongs in the inboxes (dave has no subscription yet, nor
	 * has anyone else): it names every member to reach. */
	assert_int_equal(f->announced.count, 3);
	assert_int_equal(f->announced.items[0].outcome, BRIDGE_MEMBERSHIP);
	assert_string_equal(f->announced.items[1].msg.type, "added");
	assert_string_equal(f->announced.items[1].also,
	                    "[\"alice\",\"bob\",\"carol\",\"dave\"]");
	assert_string_equal(f->announced.items[2].msg.type, "broadcast");
	assert_int_equal(f->announced.items[2].msg.seq, 3);

	/* Once broadcast, it stays so, and adding says nothing more. */
	r = ask(f, "alice",
	        "{\"id\":\"more\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"erin\"]}",
	        convo);
	assert_int_equal(number(r, "seq"), 4);
	cJSON_Delete(r);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"
	                                  " WHERE type = 'broadcast'"),
	                 1);
}

static void test_group_full_when_adding(void **state)
{
	struct fixture *f = *state;
	char convo[65];

	f->opts.group_members_max = 3;
	create_group(f, "[\"bob\"]", convo);
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"carol\",\"dave\"]}",
	        convo),
	    "group_full", NULL);
	expect_ok(ask(f, "alice",
	              "{\"id\":\"b\",\"op\":\"add_members\",\"convo\":\"%s\","
	              "\"users\":[\"carol\"]}",
	              convo));
}

/* ---- remove_members and leave ---- */

static void test_removed_member_reads_up_to_its_removal(void **state)
{
	struct fixture *f = *state;
	char convo[65], list[64], buf[128];
	const cJSON *c;
	cJSON *r;

	create_group(f, "[\"bob\",\"carol\"]", convo);
	assert_int_equal(send_message(f, convo, "bob", "b1"), BRIDGE_STORED);
	r = ask(f, "alice",
	        "{\"id\":\"rm\",\"op\":\"remove_members\",\"convo\":\"%s\","
	        "\"users\":[\"bob\",\"dave\"]}",
	        convo);
	assert_ok(r);
	assert_string_equal(printed(r, "removed", buf, sizeof(buf)),
	                    "[\"bob\"]");
	assert_int_equal(number(r, "seq"), 3);
	cJSON_Delete(r);
	assert_int_equal(query_int(f->db,
	                           "SELECT left_seq FROM members WHERE"
	                           " convo_id = '%s' AND user_id = 'bob'",
	                           convo),
	                 3);
	assert_int_equal(f->announced.count, 2);
	assert_string_equal(f->announced.items[1].also, "[\"bob\"]");
	assert_string_equal(f->announced.items[1].msg.body,
	                    "{\"users\":[\"bob\"]}");

	/* Writing is over for bob; reading stops at his removal. */
	assert_int_equal(send_message(f, convo, "bob", "b2"), BRIDGE_REJECTED);
	assert_int_equal(send_message(f, convo, "carol", "c1"), BRIDGE_STORED);
	r = ask(f, "bob",
	        "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"%s\",\"after\":1}",
	        convo);
	assert_string_equal(seqs(r, list, sizeof(list)), "2,3");
	assert_int_equal(number(r, "head"), 3);
	assert_int_equal(number(r, "through"), 3);
	assert_false(flag(r, "more"));
	cJSON_Delete(r);
	r = ask(f, "bob", "{\"id\":\"h\",\"op\":\"history\",\"convo\":\"%s\"}",
	        convo);
	assert_string_equal(seqs(r, list, sizeof(list)), "1,2,3");
	assert_int_equal(number(r, "before"), 4);
	cJSON_Delete(r);
	r = ask(f, "bob", "{\"id\":\"c\",\"op\":\"conversations\"}");
	c = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(r, "conversations"), 0);
	assert_false(flag(c, "member"));
	assert_int_equal(number(c, "head"), 3);
	assert_int_equal(number(c, "member_count"), 2);
	cJSON_Delete(r);
	/* Someone who never was a member sees nothing at all. */
	assert_error(ask(f, "dave",
	                 "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"%s\"}",
	                 convo),
	             "not_member", NULL);
	assert_error(ask(f, "dave",
	                 "{\"id\":\"s\",\"op\":\"history\",\"convo\":\"%s\"}",
	                 convo),
	             "not_member", NULL);
}

static void test_remove_needs_an_admin(void **state)
{
	struct fixture *f = *state;
	char convo[65];

	create_group(f, "[\"bob\",\"carol\"]", convo);
	assert_error(ask(f, "bob",
	                 "{\"id\":\"r\",\"op\":\"remove_members\","
	                 "\"convo\":\"%s\",\"users\":[\"carol\"]}",
	                 convo),
	             "not_admin", NULL);
	assert_error(ask(f, "alice",
	                 "{\"id\":\"r\",\"op\":\"remove_members\","
	                 "\"convo\":\"%s\",\"users\":[\"zed\"]}",
	                 convo),
	             "no_such_user", "zed");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);
}

static void test_last_admin_leaving_promotes_the_first_joined(void **state)
{
	struct fixture *f = *state;
	char convo[65], buf[128];
	cJSON *r;

	/* dave and carol joined at the start, bob later. */
	create_group(f, "[\"dave\",\"carol\"]", convo);
	expect_ok(ask(f, "alice",
	              "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\","
	              "\"users\":[\"bob\"]}",
	              convo));
	r = ask(f, "alice",
	        "{\"id\":\"bye\",\"op\":\"leave\",\"convo\":\"%s\"}", convo);
	assert_ok(r);
	assert_int_equal(number(r, "seq"), 3);
	cJSON_Delete(r);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT type || ' ' || sender || ' ' || body FROM messages"
	           " WHERE convo_id = '%s' AND seq = 3",
	           convo);
	assert_string_equal(buf, "left alice {\"promoted\":\"carol\"}");
	query_text(f->db, buf, sizeof(buf),
	           "SELECT group_concat(user_id, ' ') FROM members"
	           " WHERE convo_id = '%s' AND role = 'admin'"
	           " AND left_seq IS NULL",
	           convo);
	assert_string_equal(buf, "carol");
	assert_string_equal(f->announced.items[1].also, "[\"alice\"]");
	assert_int_equal(f->announced.items[0].outcome, BRIDGE_MEMBERSHIP);

	/* A member who is not the last admin leaves without promoting. */
	r = ask(f, "dave", "{\"id\":\"bye\",\"op\":\"leave\",\"convo\":\"%s\"}",
	        convo);
	assert_int_equal(number(r, "seq"), 4);
	cJSON_Delete(r);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT body FROM messages WHERE convo_id = '%s'"
	           " AND seq = 4",
	           convo);
	assert_string_equal(buf, "{}");
	/* Retried, leave answers the same seq; a member no longer, the
	 * leaver may not leave again. */
	r = ask(f, "dave", "{\"id\":\"bye\",\"op\":\"leave\",\"convo\":\"%s\"}",
	        convo);
	assert_ok(r);
	assert_int_equal(number(r, "seq"), 4);
	cJSON_Delete(r);
	assert_error(ask(f, "dave",
	                 "{\"id\":\"again\",\"op\":\"leave\",\"convo\":\"%s\"}",
	                 convo),
	             "not_member", NULL);
	assert_int_equal(query_int(f->db, "SELECT MAX(seq) FROM messages"), 4);
}

/* ---- set_role and rename ---- */

static void test_last_admin_cannot_be_demoted(void **state)
{
	struct fixture *f = *state;
	char convo[65], buf[128];
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	assert_error(ask(f, "alice",
	                 "{\"id\":\"d1\",\"op\":\"set_role\",\"convo\":\"%s\","
	                 "\"user\":\"alice\",\"role\":\"member\"}",
	                 convo),
	             "last_admin", NULL);
	r = ask(f, "alice",
	        "{\"id\":\"p1\",\"op\":\"set_role\",\"convo\":\"%s\","
	        "\"user\":\"bob\",\"role\":\"admin\"}",
	        convo);
	assert_ok(r);
	assert_int_equal(number(r, "seq"), 2);
	cJSON_Delete(r);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT type || ' ' || body FROM messages"
	           " WHERE convo_id = '%s' AND seq = 2",
	           convo);
	assert_string_equal(buf, "role {\"user\":\"bob\",\"role\":\"admin\"}");
	assert_int_equal(f->announced.items[0].outcome, BRIDGE_MEMBERSHIP);
	/* With two admins either may step down. */
	r = ask(f, "bob",
	        "{\"id\":\"d2\",\"op\":\"set_role\",\"convo\":\"%s\","
	        "\"user\":\"alice\",\"role\":\"member\"}",
	        convo);
	assert_int_equal(number(r, "seq"), 3);
	cJSON_Delete(r);
	assert_error(ask(f, "alice",
	                 "{\"id\":\"d3\",\"op\":\"set_role\",\"convo\":\"%s\","
	                 "\"user\":\"bob\",\"role\":\"member\"}",
	                 convo),
	             "not_admin", NULL);
	assert_error(ask(f, "bob",
	                 "{\"id\":\"d4\",\"op\":\"set_role\",\"convo\":\"%s\","
	                 "\"user\":\"bob\",\"role\":\"member\"}",
	                 convo),
	             "last_admin", NULL);
}

static void test_set_role_refuses_bad_targets(void **state)
{
	struct fixture *f = *state;
	char convo[65];

	create_group(f, "[\"bob\"]", convo);
	assert_error(ask(f, "alice",
	                 "{\"id\":\"s1\",\"op\":\"set_role\",\"convo\":\"%s\","
	                 "\"user\":\"carol\",\"role\":\"admin\"}",
	                 convo),
	             "not_member", "carol");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"s2\",\"op\":\"set_role\",\"convo\":\"%s\","
	                 "\"user\":\"ghost\",\"role\":\"admin\"}",
	                 convo),
	             "no_such_user", "ghost");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"s3\",\"op\":\"set_role\",\"convo\":\"%s\","
	                 "\"user\":\"bob\",\"role\":\"owner\"}",
	                 convo),
	             "bad_request", "role");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);
}

static void test_rename_records_the_title(void **state)
{
	struct fixture *f = *state;
	char convo[65], buf[128];
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	assert_error(ask(f, "bob",
	                 "{\"id\":\"n\",\"op\":\"rename\",\"convo\":\"%s\","
	                 "\"title\":\"mine\"}",
	                 convo),
	             "not_admin", NULL);
	r = ask(f, "alice",
	        "{\"id\":\"n\",\"op\":\"rename\",\"convo\":\"%s\","
	        "\"title\":\"bouldering\"}",
	        convo);
	assert_ok(r);
	assert_int_equal(number(r, "seq"), 2);
	cJSON_Delete(r);
	query_text(f->db, buf, sizeof(buf),
	           "SELECT title FROM conversations WHERE id = '%s'", convo);
	assert_string_equal(buf, "bouldering");
	query_text(f->db, buf, sizeof(buf),
	           "SELECT type || ' ' || body FROM messages"
	           " WHERE convo_id = '%s' AND seq = 2",
	           convo);
	assert_string_equal(buf, "renamed {\"title\":\"bouldering\"}");
	/* The title is no membership matter. */
	assert_int_equal(f->announced.count, 1);
	assert_int_equal(f->announced.items[0].outcome, BRIDGE_STORED);
}

/* ---- members, conversations, direct ---- */

static void test_members_lists_roles_and_cursors(void **state)
{
	struct fixture *f = *state;
	char convo[65], buf[512];
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	expect_ok(ask(f, "alice",
	              "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\","
	              "\"users\":[\"carol\"]}",
	              convo));
	exec_sql(f->db, "UPDATE members SET delivered_seq = 2, read_seq = 1"
	                " WHERE user_id = 'bob'");
	r = ask(f, "bob", "{\"id\":\"m\",\"op\":\"members\",\"convo\":\"%s\"}",
	        convo);
	assert_ok(r);
	assert_string_equal(
	    printed(r, "members", buf, sizeof(buf)),
	    "[{\"user\":\"alice\",\"role\":\"admin\",\"joined\":0,"
	    "\"delivered\":0,\"read\":0},{\"user\":\"bob\",\"role\":\"member\","
	    "\"joined\":0,\"delivered\":2,\"read\":1},{\"user\":\"carol\","
	    "\"role\":\"member\",\"joined\":1,\"delivered\":1,\"read\":1}]");
	cJSON_Delete(r);
	assert_error(ask(f, "dave",
	                 "{\"id\":\"m\",\"op\":\"members\",\"convo\":\"%s\"}",
	                 convo),
	             "not_member", NULL);

	/* After leaving, bob sees the members as they were then. */
	expect_ok(ask(f, "bob",
	              "{\"id\":\"l\",\"op\":\"leave\",\"convo\":\"%s\"}",
	              convo));
	expect_ok(ask(f, "alice",
	              "{\"id\":\"b\",\"op\":\"add_members\",\"convo\":\"%s\","
	              "\"users\":[\"dave\"]}",
	              convo));
	r = ask(f, "bob", "{\"id\":\"m\",\"op\":\"members\",\"convo\":\"%s\"}",
	        convo);
	assert_ok(r);
	assert_null(strstr(printed(r, "members", buf, sizeof(buf)), "dave"));
	assert_non_null(strstr(buf, "\"user\":\"bob\""));
	cJSON_Delete(r);
}

static void test_channel_members_have_no_cursors(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	cJSON *r;

	r = ask(f, "alice",
	        "{\"id\":\"c\",\"op\":\"create_group\",\"title\":\"news\","
	        "\"members\":[\"bob\"],\"channel\":true}");
	snprintf(buf, sizeof(buf),
	         "{\"id\":\"m\",\"op\":\"members\",\"convo\":\"%s\"}",
	         text(r, "convo"));
	cJSON_Delete(r);
	r = ask(f, "bob", "%s", buf);
	assert_string_equal(printed(r, "members", buf, sizeof(buf)),
	                    "[{\"user\":\"alice\",\"role\":\"admin\","
	                    "\"joined\":0},{\"user\":\"bob\",\"role\":"
	                    "\"member\",\"joined\":0}]");
	cJSON_Delete(r);
}

static void test_conversations_have_the_documented_fields(void **state)
{
	struct fixture *f = *state;
	char convo[65], buf[128];
	const cJSON *list, *c;
	cJSON *r;

	create_group(f, "[\"bob\"]", convo);
	expect_ok(ask(f, "alice",
	              "{\"id\":\"a\",\"op\":\"add_members\",\"convo\":\"%s\","
	              "\"users\":[\"carol\"]}",
	              convo));
	exec_sql(f->db, "UPDATE members SET delivered_seq = 2, read_seq = 2"
	                " WHERE user_id = 'carol'");
	r = ask(f, "carol", "{\"id\":\"c\",\"op\":\"conversations\"}");
	list = cJSON_GetObjectItemCaseSensitive(r, "conversations");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	c = cJSON_GetArrayItem(list, 0);
	assert_string_equal(text(c, "convo"), convo);
	assert_string_equal(text(c, "kind"), "group");
	assert_string_equal(text(c, "title"), "team");
	assert_int_equal(number(c, "member_count"), 3);
	assert_string_equal(text(c, "role"), "member");
	assert_true(flag(c, "member"));
	assert_false(flag(c, "broadcast"));
	assert_int_equal(number(c, "head"), 2);
	assert_int_equal(number(c, "joined"), 1);
	assert_int_equal(number(c, "delivered"), 2);
	assert_int_equal(number(c, "read"), 2);
	assert_null(cJSON_GetObjectItemCaseSensitive(c, "members"));
	cJSON_Delete(r);

	r = ask(f, "alice",
	        "{\"id\":\"d\",\"op\":\"direct\",\"user\":\"bob\"}");
	cJSON_Delete(r);
	r = ask(f, "alice", "{\"id\":\"c\",\"op\":\"conversations\"}");
	list = cJSON_GetObjectItemCaseSensitive(r, "conversations");
	assert_int_equal(cJSON_GetArraySize(list), 2);
	cJSON_ArrayForEach(c, list)
	{
		if (strcmp(text(c, "kind"), "direct") != 0)
			continue;
		assert_string_equal(printed(c, "members", buf, sizeof(buf)),
		                    "[\"alice\",\"bob\"]");
		assert_true(
		    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c, "title")));
		assert_int_equal(number(c, "head"), 0);
		assert_string_equal(text(c, "role"), "member");
	}
	cJSON_Delete(r);
}

static void test_direct_exists_once_per_pair(void **state)
{
	struct fixture *f = *state;
	char convo[65];
	cJSON *r;

	r = ask(f, "alice",
	        "{\"id\":\"d1\",\"op\":\"direct\",\"user\":\"bob\"}");
	assert_ok(r);
	assert_true(flag(r, "created"));
	snprintf(convo, sizeof(convo), "%s", text(r, "convo"));
	cJSON_Delete(r);
	assert_int_equal(f->announced.count, 1);
	assert_int_equal(f->announced.items[0].outcome, BRIDGE_MEMBERSHIP);
	r = ask(f, "bob",
	        "{\"id\":\"d2\",\"op\":\"direct\",\"user\":\"alice\"}");
	assert_false(flag(r, "created"));
	assert_string_equal(text(r, "convo"), convo);
	cJSON_Delete(r);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM conversations"
	                                  " WHERE kind = 'direct'"
	                                  " AND direct_key = 'alice/bob'"),
	                 1);
	/* No system messages in a direct conversation. */
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 0);
	assert_int_equal(send_message(f, convo, "bob", "hi"), BRIDGE_STORED);
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"d3\",\"op\":\"direct\",\"user\":\"alice\"}"),
	    "bad_request", NULL);
	assert_error(ask(f, "alice",
	                 "{\"id\":\"d4\",\"op\":\"direct\",\"user\":\"zoe\"}"),
	             "no_such_user", "zoe");
	assert_error(
	    ask(f, "alice",
	        "{\"id\":\"d5\",\"op\":\"add_members\",\"convo\":\"%s\","
	        "\"users\":[\"carol\"]}",
	        convo),
	    "bad_request", NULL);
	assert_error(ask(f, "alice",
	                 "{\"id\":\"d6\",\"op\":\"leave\",\"convo\":\"%s\"}",
	                 convo),
	             "bad_request", NULL);
}

/* ---- ids, announcements ---- */

static void test_system_messages_carry_the_bridge_node_id(void **state)
{
	struct fixture *f = *state;
	char convo[65];
	uint64_t first, second;

	create_group(f, "[\"bob\"]", convo);
	first = f->announced.items[1].msg.id;
	expect_ok(ask(f, "alice",
	              "{\"id\":\"n\",\"op\":\"rename\",\"convo\":\"%s\","
	              "\"title\":\"x\"}",
	              convo));
	second = f->announced.items[0].msg.id;
	assert_int_equal((first >> 12) & 0x3ff, CHAT_BRIDGE_NODE_ID);
	assert_int_equal((second >> 12) & 0x3ff, CHAT_BRIDGE_NODE_ID);
	assert_true(second > first);
	/* Milliseconds since 2024 in the high bits: about now. */
	assert_true((long long)(first >> 22) + 1704067200000LL >
	            chat_now_ms() - 60000);
}

struct chunk_list {
	char *chunks[16];
	size_t count;
};

static int keep_chunk(void *ctx, const char *json, size_t len,
                      const struct bridge_entry *first, size_t count)
{
	struct chunk_list *l = ctx;

	(void)first;
	(void)count;
	assert_true(l->count < 16);
	l->chunks[l->count++] = strndup(json, len);
	return 0;
}

static void test_membership_stays_with_its_message_when_split(void **state)
{
	struct fixture *f = *state;
	struct chunk_list l = {{NULL}, 0};
	char convo[65];

	create_group(f, "[\"bob\"]", convo);
	/* Far too small for both: they still go out together. */
	assert_int_equal(bridge_announce(&f->announced, 40, keep_chunk, &l), 0);
	assert_int_equal(l.count, 1);
	assert_non_null(strstr(l.chunks[0], "{\"membership\":"));
	assert_non_null(strstr(l.chunks[0], "\"type\":\"created\""));
	free(l.chunks[0]);
}

static enum bridge_publish_status take_publish(void *ctx, const char *json,
                                               size_t len, int *mid)
{
	struct chunk_list *l = ctx;

	assert_true(l->count < 16);
	l->chunks[l->count++] = strndup(json, len);
	*mid = (int)l->count;
	return BRIDGE_PUBLISH_SENT;
}

static void test_recovery_repeats_the_membership_change(void **state)
{
	struct fixture *f = *state;
	struct bridge_announcements a;
	struct chunk_list l = {{NULL}, 0};
	char convo[65], expected[256], *also;
	cJSON *entries;

	create_group(f, "[\"bob\",\"carol\"]", convo);
	expect_ok(
	    ask(f, "alice",
	        "{\"id\":\"r\",\"op\":\"remove_members\",\"convo\":\"%s\","
	        "\"users\":[\"carol\"]}",
	        convo));
	/* Nothing was acknowledged: a restart announces both again. */
	bridge_announcements_init(&a, f->store, 262144, take_publish, &l);
	assert_int_equal(bridge_announcements_recover(&a, 1000), SQLITE_OK);
	bridge_announcements_send(&a);
	assert_int_equal(l.count, 1);
	entries = announcement_entries(l.chunks[0], strlen(l.chunks[0]));
	assert_int_equal(cJSON_GetArraySize(entries), 4);
	for (int i = 0; i < 2; i++) {
		const cJSON *change = cJSON_GetArrayItem(entries, 2 * i);
		const cJSON *entry = cJSON_GetArrayItem(entries, 2 * i + 1);
		const cJSON *msg = cJSON_GetObjectItem(entry, "msg");

		assert_string_equal(
		    cJSON_GetObjectItem(change, "membership")->valuestring,
		    convo);
		assert_string_equal(cJSON_GetObjectItem(msg, "convo")->valuestring,
		                    convo);
		assert_int_equal(cJSON_GetObjectItem(msg, "seq")->valueint,
		                 i + 1);
	}
	snprintf(expected, sizeof(expected), "[\"carol\"]");
	also = cJSON_PrintUnformatted(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 3), "also"));
	assert_string_equal(also, expected);
	free(also);
	cJSON_Delete(entries);
	free(l.chunks[0]);
	bridge_announcements_free(&a);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_create_group_records_created_at_seq_one),
	    TEST(test_created_is_announced_after_its_membership),
	    TEST(test_create_group_refuses_bad_requests),
	    TEST(test_unknown_members_are_named),
	    TEST(test_conversations_come_in_pages),
	    TEST(test_an_answer_too_large_to_publish_is_refused),
	    TEST(test_channel_is_broadcast_from_creation),
	    TEST(test_create_group_retry_answers_the_first_time),
	    TEST(test_group_full_at_creation),
	    TEST(test_add_members_sees_from_its_own_add),
	    TEST(test_add_members_needs_an_admin),
	    TEST(test_adding_members_already_in_changes_nothing),
	    TEST(test_retried_add_is_not_applied_twice),
	    TEST(test_readded_member_starts_afresh),
	    TEST(test_group_turns_broadcast_past_the_fanout_cap),
	    TEST(test_group_full_when_adding),
	    TEST(test_removed_member_reads_up_to_its_removal),
	    TEST(test_remove_needs_an_admin),
	    TEST(test_last_admin_leaving_promotes_the_first_joined),
	    TEST(test_last_admin_cannot_be_demoted),
	    TEST(test_set_role_refuses_bad_targets),
	    TEST(test_rename_records_the_title),
	    TEST(test_members_lists_roles_and_cursors),
	    TEST(test_channel_members_have_no_cursors),
	    TEST(test_conversations_have_the_documented_fields),
	    TEST(test_direct_exists_once_per_pair),
	    TEST(test_system_messages_carry_the_bridge_node_id),
	    TEST(test_membership_stays_with_its_message_when_split),
	    TEST(test_recovery_repeats_the_membership_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
