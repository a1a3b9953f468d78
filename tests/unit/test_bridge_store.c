/*
 * The bridge's store against a real SQLite file: committing batches
 * (seq, duplicates, membership, lock conflicts, storage errors), the
 * announcements that result, and the answers to requests.
 */
#include "bridge/announce.h"
#include "announcement_lines.h"
#include "bridge/commit.h"
#include "bridge/request.h"
#include "bridge/store.h"
#include "db.h"

#include <cjson/cJSON.h>
#include <limits.h>
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
	uint64_t next_id;
	struct bridge_batch batch;
	struct bridge_entries entries;
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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bridge_store_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/chat.db", f->dir);
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "normal",
	                              5000, &f->db, err, sizeof(err)),
	                 SQLITE_OK);
	assert_int_equal(chat_db_migrate(f->db, err, sizeof(err)), SQLITE_OK);
	exec_sql(f->db,
	         "INSERT INTO users (id, created_at) VALUES"
	         " ('alice', 0), ('bob', 0), ('carol', 0), ('dave', 0);"
	         "INSERT INTO conversations (id, kind, title, created_at)"
	         " VALUES ('team', 'group', 'Team', 0),"
	         " ('ac', 'direct', NULL, 0);"
	         "INSERT INTO members (convo_id, user_id) VALUES"
	         " ('team', 'bob'), ('team', 'alice'),"
	         " ('ac', 'carol'), ('ac', 'alice');");
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

	bridge_entries_clear(&f->entries);
	bridge_batch_clear(&f->batch);
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

/* Queues a stamped message as the plugin would hand it off. */
static void hand_off(struct fixture *f, const char *convo, const char *from,
                     const char *cmid, const char *body)
{
	struct bridge_batch *b = &f->batch;
	struct bridge_message *m;
	char client[80];

	if (b->count == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->messages = realloc(b->messages, b->cap * sizeof(*m));
		assert_non_null(b->messages);
	}
	m = &b->messages[b->count++];
	memset(m, 0, sizeof(*m));
	snprintf(m->convo, sizeof(m->convo), "%s", convo);
	snprintf(m->from, sizeof(m->from), "%s", from);
	snprintf(m->cmid, sizeof(m->cmid), "%s", cmid);
	m->id = f->next_id++;
	m->ts = 1764770000000LL + (long long)b->count;
	m->body = strdup(body);
	snprintf(client, sizeof(client), "%s-phone", from);
	m->client = strdup(client);
}

/* Commits what was handed off; the entries stay in f->entries. */
static enum bridge_commit_status commit(struct fixture *f)
{
	enum bridge_commit_status status;

	bridge_entries_clear(&f->entries);
	status = bridge_commit(f->store, &f->batch, &f->entries, NULL, NULL);
	bridge_batch_clear(&f->batch);
	return status;
}

/* Commits n messages from alice in team with cmids m1..mn. */
static void commit_team_messages(struct fixture *f, int n, size_t body_len)
{
	char *body = malloc(body_len + 1);

	memset(body, 'x', body_len);
	body[body_len] = '\0';
	for (int i = 1; i <= n; i++) {
		char cmid[16];

		snprintf(cmid, sizeof(cmid), "m%d", i);
		hand_off(f, "team", "alice", cmid, body);
	}
	free(body);
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
}

static const struct bridge_entry *entry(struct fixture *f, size_t i)
{
	assert_true(i < f->entries.count);
	return &f->entries.items[i];
}

/* ---- committing ---- */

static void test_seqs_are_gap_free_per_conversation(void **state)
{
	struct fixture *f = *state;

	hand_off(f, "team", "alice", "a1", "one");
	hand_off(f, "ac", "alice", "a2", "first in ac");
	hand_off(f, "team", "bob", "b1", "two");
	hand_off(f, "team", "alice", "a3", "three");
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	assert_int_equal(f->entries.count, 4);
	assert_int_equal(entry(f, 0)->outcome, BRIDGE_STORED);
	assert_int_equal(entry(f, 0)->msg.seq, 1);
	assert_int_equal(entry(f, 1)->msg.seq, 1);
	assert_int_equal(entry(f, 2)->msg.seq, 2);
	assert_int_equal(entry(f, 3)->msg.seq, 3);

	hand_off(f, "team", "bob", "b2", "four");
	hand_off(f, "ac", "carol", "c1", "second in ac");
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	assert_int_equal(entry(f, 0)->msg.seq, 4);
	assert_int_equal(entry(f, 1)->msg.seq, 2);

	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"
	                                  " WHERE convo_id = 'team'"),
	                 4);
	assert_int_equal(query_int(f->db, "SELECT MAX(seq) FROM messages"
	                                  " WHERE convo_id = 'team'"),
	                 4);
	assert_int_equal(query_int(f->db, "SELECT SUM(seq) FROM messages"
	                                  " WHERE convo_id = 'team'"),
	                 1 + 2 + 3 + 4);
}

static void test_message_is_stored_as_stamped(void **state)
{
	struct fixture *f = *state;

	hand_off(f, "team", "bob", "b1", "caf\xc3\xa9 \"quoted\"\n");
	f->batch.messages[0].id = 18446744073709551615ULL;
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	assert_int_equal(query_int(f->db,
	                           "SELECT COUNT(*) FROM messages"
	                           " WHERE convo_id = 'team'"
	                           " AND sender = 'bob' AND cmid = 'b1'"
	                           " AND body = 'caf\xc3\xa9 \"quoted\"\n'"
	                           " AND seq = 1"),
	                 1);
	/* The full 64-bit id survives SQLite's signed integers. */
	assert_int_equal(query_int(f->db, "SELECT id = -1 FROM messages"), 1);
	assert_true(entry(f, 0)->msg.id == 18446744073709551615ULL);
}

static void test_duplicate_in_one_batch_gets_the_first_copy(void **state)
{
	struct fixture *f = *state;

	hand_off(f, "team", "alice", "same", "original");
	hand_off(f, "team", "alice", "same", "resent");
	hand_off(f, "team", "alice", "next", "after");
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);

	assert_int_equal(entry(f, 0)->outcome, BRIDGE_STORED);
	assert_int_equal(entry(f, 1)->outcome, BRIDGE_DUPLICATE);
	assert_int_equal(entry(f, 1)->msg.seq, 1);
	assert_string_equal(entry(f, 1)->msg.body, "original");
	assert_true(entry(f, 1)->msg.id == entry(f, 0)->msg.id);
	assert_int_equal(entry(f, 2)->msg.seq, 2);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 2);
}

static void test_duplicate_across_batches_gets_stored_copy(void **state)
{
	struct fixture *f = *state;
	uint64_t stored_id;
	long long stored_ts;

	hand_off(f, "team", "alice", "hello-1", "hi bob");
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	stored_id = entry(f, 0)->msg.id;
	stored_ts = entry(f, 0)->msg.ts;

	/* The resend is stamped again: new id, ts, maybe another body. */
	hand_off(f, "team", "alice", "hello-1", "hi bob (edited)");
	hand_off(f, "team", "bob", "hello-1", "same cmid, other sender");
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	assert_int_equal(entry(f, 0)->outcome, BRIDGE_DUPLICATE);
	assert_int_equal(entry(f, 0)->msg.seq, 1);
	assert_true(entry(f, 0)->msg.id == stored_id);
	assert_int_equal(entry(f, 0)->msg.ts, stored_ts);
	assert_string_equal(entry(f, 0)->msg.body, "hi bob");
	assert_string_equal(entry(f, 0)->msg.from, "alice");
	/* The duplicate consumed no seq. */
	assert_int_equal(entry(f, 1)->outcome, BRIDGE_STORED);
	assert_int_equal(entry(f, 1)->msg.seq, 2);
}

static void test_non_member_is_rejected_without_a_gap(void **state)
{
	struct fixture *f = *state;

	hand_off(f, "team", "carol", "c1", "let me in");
	hand_off(f, "nowhere", "alice", "a1", "no such conversation");
	hand_off(f, "team", "alice", "a2", "hello");
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);

	assert_int_equal(entry(f, 0)->outcome, BRIDGE_REJECTED);
	assert_string_equal(entry(f, 0)->code, "not_member");
	assert_string_equal(entry(f, 0)->msg.client, "carol-phone");
	assert_string_equal(entry(f, 0)->msg.cmid, "c1");
	assert_int_equal(entry(f, 1)->outcome, BRIDGE_REJECTED);
	assert_string_equal(entry(f, 1)->code, "not_member");
	assert_int_equal(entry(f, 2)->outcome, BRIDGE_STORED);
	assert_int_equal(entry(f, 2)->msg.seq, 1);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);
}

static void test_taken_id_rejects_only_that_message(void **state)
{
	struct fixture *f = *state;

	hand_off(f, "team", "alice", "a1", "one");
	hand_off(f, "team", "alice", "a2", "same id as one");
	hand_off(f, "team", "alice", "a3", "three");
	f->batch.messages[1].id = f->batch.messages[0].id;
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);

	assert_int_equal(entry(f, 0)->msg.seq, 1);
	assert_int_equal(entry(f, 1)->outcome, BRIDGE_REJECTED);
	assert_string_equal(entry(f, 1)->code, "storage_error");
	assert_int_equal(entry(f, 2)->outcome, BRIDGE_STORED);
	assert_int_equal(entry(f, 2)->msg.seq, 2);
}

static void test_storage_error_rejects_batch_and_keeps_seqs(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(200000);
	long long pages;

	commit_team_messages(f, 1, 10);
	/* Freeze the file's size so the next insert cannot fit. */
	pages = query_int(f->db, "PRAGMA page_count");
	exec_sql(f->db, "PRAGMA wal_checkpoint(TRUNCATE)");
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		         pages);
		exec_sql(f->db, sql);
	}
	memset(big, 'y', 199999);
	big[199999] = '\0';
	hand_off(f, "team", "alice", "big", big);
	hand_off(f, "team", "bob", "small", "small");
	free(big);
	assert_int_equal(commit(f), BRIDGE_COMMIT_FAILED);
	assert_int_equal(f->entries.count, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(entry(f, i)->outcome, BRIDGE_REJECTED);
		assert_string_equal(entry(f, i)->code, "storage_error");
	}
	assert_string_equal(entry(f, 1)->msg.client, "bob-phone");
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 1);

	/* Once there is room again the next message follows seq 1. */
	exec_sql(f->db, "PRAGMA max_page_count = 1073741823");
	hand_off(f, "team", "bob", "small", "small");
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	assert_int_equal(entry(f, 0)->msg.seq, 2);
}

struct lock_holder {
	sqlite3 *other;
	int waits;
	int release_after;
};

static bool wait_for_lock(void *ctx)
{
	struct lock_holder *h = ctx;

	if (++h->waits == h->release_after)
		exec_sql(h->other, "COMMIT");
	return h->release_after > 0;
}

static void hold_write_lock(struct fixture *f, struct lock_holder *h)
{
	char err[256];

	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "normal", 0,
	                              &h->other, err, sizeof(err)),
	                 SQLITE_OK);
	exec_sql(h->other, "BEGIN IMMEDIATE");
	sqlite3_busy_timeout(f->db, 10);
}

static void test_locked_database_is_retried_until_free(void **state)
{
	struct fixture *f = *state;
	struct lock_holder h = {NULL, 0, 3};

	hold_write_lock(f, &h);
	hand_off(f, "team", "alice", "a1", "waited");
	assert_int_equal(
	    bridge_commit(f->store, &f->batch, &f->entries, wait_for_lock, &h),
	    BRIDGE_COMMIT_DONE);
	assert_int_equal(h.waits, 3);
	assert_int_equal(entry(f, 0)->outcome, BRIDGE_STORED);
	assert_int_equal(entry(f, 0)->msg.seq, 1);
	assert_int_equal(query_int(h.other, "SELECT COUNT(*) FROM messages"),
	                 1);
	sqlite3_close(h.other);
}

static void test_giving_up_on_the_lock_rejects_batch(void **state)
{
	struct fixture *f = *state;
	struct lock_holder h = {NULL, 0, 0};

	hold_write_lock(f, &h);
	hand_off(f, "team", "alice", "a1", "never stored");
	assert_int_equal(
	    bridge_commit(f->store, &f->batch, &f->entries, wait_for_lock, &h),
	    BRIDGE_COMMIT_ABANDONED);
	assert_int_equal(entry(f, 0)->outcome, BRIDGE_REJECTED);
	assert_string_equal(entry(f, 0)->code, "storage_error");
	exec_sql(h.other, "ROLLBACK");
	sqlite3_close(h.other);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM messages"), 0);
}

/* ---- announcements ---- */

struct chunks {
	char *all; /* concatenated */
	size_t count;
	size_t largest;
};

static int collect_chunk(void *ctx, const char *json, size_t len,
                         const struct bridge_entry *first, size_t count)
{
	struct chunks *c = ctx;
	size_t old = c->all ? strlen(c->all) : 0;
	cJSON *parsed = announcement_entries(json, len);

	assert_true(cJSON_IsArray(parsed));
	assert_true(cJSON_GetArraySize(parsed) >= 1);
	assert_int_equal(cJSON_GetArraySize(parsed), count);
	assert_non_null(first);
	cJSON_Delete(parsed);
	c->all = realloc(c->all, old + len + 2);
	memcpy(c->all + old, json, len);
	c->all[old + len] = '\n';
	c->all[old + len + 1] = '\0';
	c->count++;
	if (len > c->largest)
		c->largest = len;
	return 0;
}

static void test_announcement_entries_have_the_agreed_shape(void **state)
{
	struct fixture *f = *state;
	struct chunks c = {NULL, 0, 0};

	hand_off(f, "team", "alice", "a1", "hi");
	hand_off(f, "team", "alice", "a1", "hi again");
	hand_off(f, "team", "carol", "c1", "intruder");
	f->batch.messages[0].id = 42;
	f->batch.messages[0].ts = 1000;
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	assert_int_equal(
	    bridge_announce(&f->entries, 262144, collect_chunk, &c), 0);
	assert_int_equal(c.count, 1);
	/* One line per entry; a message entry's line is its head, and the
	 * next line the message exactly as clients receive it. */
	assert_string_equal(
	    c.all, "{\"msg\":{\"convo\":\"team\",\"seq\":1,\"from\":\"alice\","
	           "\"cmid\":\"a1\"}}\n"
	           "{\"convo\":\"team\",\"seq\":1,\"id\":\"42\","
	           "\"from\":\"alice\",\"ts\":1000,\"cmid\":\"a1\","
	           "\"body\":\"hi\"}\n"
	           "{\"msg\":{\"convo\":\"team\",\"seq\":1,\"from\":\"alice\","
	           "\"cmid\":\"a1\"},\"to\":\"alice\"}\n"
	           "{\"convo\":\"team\",\"seq\":1,\"id\":\"42\","
	           "\"from\":\"alice\",\"ts\":1000,\"cmid\":\"a1\","
	           "\"body\":\"hi\"}\n"
	           "{\"reject\":{\"convo\":\"team\",\"from\":\"carol\","
	           "\"cmid\":\"c1\",\"client\":\"carol-phone\","
	           "\"code\":\"not_member\",\"message\":\"you are not a member "
	           "of this conversation\"}}\n\n");
	free(c.all);
}

static void test_announcements_are_split_under_the_size_bound(void **state)
{
	struct fixture *f = *state;
	struct chunks c = {NULL, 0, 0};
	char *huge = malloc(5001);

	commit_team_messages(f, 10, 1000);
	assert_int_equal(bridge_announce(&f->entries, 2500, collect_chunk, &c),
	                 0);
	/* About 1.1 KB per entry: two per publish. */
	assert_int_equal(c.count, 5);
	assert_true(c.largest <= 2500);
	for (int i = 1; i <= 10; i++) {
		char cmid[32];

		snprintf(cmid, sizeof(cmid), "\"cmid\":\"m%d\"", i);
		assert_non_null(strstr(c.all, cmid));
	}
	free(c.all);

	/* An entry above the bound on its own still goes out, alone. */
	memset(huge, 'z', 5000);
	huge[5000] = '\0';
	hand_off(f, "team", "bob", "huge", huge);
	hand_off(f, "team", "bob", "tiny", "t");
	free(huge);
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	memset(&c, 0, sizeof(c));
	assert_int_equal(bridge_announce(&f->entries, 2500, collect_chunk, &c),
	                 0);
	assert_int_equal(c.count, 2);
	assert_true(strstr(c.all, "huge") < strstr(c.all, "tiny"));
	free(c.all);
}

/* ---- requests ---- */

/* Answers a request given as JSON text and returns the parsed response. */
static cJSON *ask(struct fixture *f, const char *user, const char *request,
                  size_t *len)
{
	cJSON *req = cJSON_Parse(request);
	struct json_writer out;
	cJSON *response;

	assert_non_null(req);
	json_writer_init(&out);
	assert_int_equal(
	    bridge_request_respond(f->store, &f->opts, user, req, &out, NULL),
	    0);
	response = cJSON_ParseWithLength(out.data, out.len);
	assert_non_null(response);
	if (len != NULL)
		*len = out.len;
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

static bool flag(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsBool(item));
	return cJSON_IsTrue(item);
}

static const char *text(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsString(item));
	return item->valuestring;
}

/* The seqs of "messages", written as "1,2,3". */
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

static void assert_error(cJSON *response, const char *id, const char *code)
{
	const cJSON *error =
	    cJSON_GetObjectItemCaseSensitive(response, "error");

	assert_string_equal(text(response, "id"), id);
	assert_false(flag(response, "ok"));
	assert_string_equal(text(error, "code"), code);
	assert_true(strlen(text(error, "message")) > 0);
	cJSON_Delete(response);
}

static void test_ping_answers_ok(void **state)
{
	struct fixture *f = *state;
	struct json_writer out;
	cJSON *req = cJSON_Parse("{\"id\":\"r4\",\"op\":\"ping\"}");

	json_writer_init(&out);
	assert_int_equal(bridge_request_respond(f->store, &f->opts, "alice",
	                                        req, &out, NULL),
	                 0);
	assert_string_equal(out.data, "{\"id\":\"r4\",\"op\":\"ping\","
	                              "\"ok\":true}");
	json_writer_free(&out);
	cJSON_Delete(req);
}

static void test_reply_is_framed_with_user_and_client(void **state)
{
	struct fixture *f = *state;
	struct json_writer out;
	cJSON *req = cJSON_Parse("{\"id\":\"r4\",\"op\":\"ping\"}");

	json_writer_init(&out);
	bridge_request_frame(&out, "alice", "alice-\"phone\"", NULL);
	assert_int_equal(bridge_request_respond(f->store, &f->opts, "alice",
	                                        req, &out, NULL),
	                 0);
	assert_string_equal(out.data,
	                    "{\"user\":\"alice\",\"client\":\"alice-\\\"phone"
	                    "\\\"\"}\n{\"id\":\"r4\",\"op\":\"ping\","
	                    "\"ok\":true}");
	json_writer_free(&out);
	cJSON_Delete(req);
}

static void test_sync_pages_forward_to_the_head(void **state)
{
	struct fixture *f = *state;
	cJSON *r;
	char list[128];

	commit_team_messages(f, 5, 10);
	r = ask(f, "bob",
	        "{\"id\":\"s1\",\"op\":\"sync\",\"convo\":\"team\","
	        "\"limit\":2}",
	        NULL);
	assert_string_equal(text(r, "id"), "s1");
	assert_string_equal(text(r, "op"), "sync");
	assert_true(flag(r, "ok"));
	assert_string_equal(text(r, "convo"), "team");
	assert_int_equal(number(r, "after"), 0);
	assert_int_equal(number(r, "through"), 2);
	assert_int_equal(number(r, "head"), 5);
	assert_true(flag(r, "more"));
	assert_string_equal(seqs(r, list, sizeof(list)), "1,2");
	cJSON_Delete(r);

	r = ask(f, "bob",
	        "{\"id\":\"s2\",\"op\":\"sync\",\"convo\":\"team\","
	        "\"after\":3,\"limit\":5}",
	        NULL);
	assert_int_equal(number(r, "through"), 5);
	assert_false(flag(r, "more"));
	assert_string_equal(seqs(r, list, sizeof(list)), "4,5");
	cJSON_Delete(r);

	r = ask(f, "bob",
	        "{\"id\":\"s3\",\"op\":\"sync\",\"convo\":\"team\","
	        "\"after\":5}",
	        NULL);
	assert_int_equal(number(r, "through"), 5);
	assert_int_equal(number(r, "head"), 5);
	assert_false(flag(r, "more"));
	assert_string_equal(seqs(r, list, sizeof(list)), "");
	cJSON_Delete(r);
}

static void test_sync_message_has_client_shape(void **state)
{
	struct fixture *f = *state;
	const cJSON *m;
	cJSON *r;

	hand_off(f, "team", "alice", "a1", "hi bob");
	f->batch.messages[0].id = 7404551231553458176ULL;
	f->batch.messages[0].ts = 1764770000123LL;
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	r = ask(f, "bob", "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"team\"}",
	        NULL);
	m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "messages"),
	                       0);
	assert_string_equal(text(m, "convo"), "team");
	assert_int_equal(number(m, "seq"), 1);
	assert_string_equal(text(m, "id"), "7404551231553458176");
	assert_string_equal(text(m, "from"), "alice");
	assert_int_equal(number(m, "ts"), 1764770000123LL);
	assert_string_equal(text(m, "cmid"), "a1");
	assert_string_equal(text(m, "body"), "hi bob");
	assert_int_equal(cJSON_GetArraySize(m), 7);
	cJSON_Delete(r);
}

static void test_sync_limit_has_default_and_maximum(void **state)
{
	struct fixture *f = *state;
	cJSON *r;
	char list[128];

	f->opts.sync_page_default = 3;
	f->opts.sync_page_max = 4;
	commit_team_messages(f, 6, 10);
	r = ask(f, "bob", "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"team\"}",
	        NULL);
	assert_string_equal(seqs(r, list, sizeof(list)), "1,2,3");
	assert_int_equal(number(r, "through"), 3);
	cJSON_Delete(r);
	r = ask(f, "bob",
	        "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"team\","
	        "\"limit\":100}",
	        NULL);
	assert_string_equal(seqs(r, list, sizeof(list)), "1,2,3,4");
	assert_int_equal(number(r, "through"), 4);
	assert_true(flag(r, "more"));
	cJSON_Delete(r);
}

static void test_sync_page_stays_under_the_byte_cap(void **state)
{
	struct fixture *f = *state;
	size_t len;
	cJSON *r;
	char list[128];

	f->opts.page_max_bytes = 4096;
	commit_team_messages(f, 8, 1000);
	r = ask(f, "bob", "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"team\"}",
	        &len);
	assert_true(len <= 4096);
	/* Each message is about 1.1 KB: three fit, four would not. */
	assert_string_equal(seqs(r, list, sizeof(list)), "1,2,3");
	assert_int_equal(number(r, "through"), 3);
	assert_int_equal(number(r, "head"), 8);
	assert_true(flag(r, "more"));
	cJSON_Delete(r);
}

static void test_sync_returns_one_message_above_the_cap(void **state)
{
	struct fixture *f = *state;
	size_t len;
	cJSON *r;
	char list[128];

	f->opts.page_max_bytes = 4096;
	commit_team_messages(f, 2, 6000);
	r = ask(f, "bob", "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"team\"}",
	        &len);
	assert_true(len > 6000);
	assert_string_equal(seqs(r, list, sizeof(list)), "1");
	assert_int_equal(number(r, "through"), 1);
	assert_true(flag(r, "more"));
	cJSON_Delete(r);
}

static void test_history_pages_backwards(void **state)
{
	struct fixture *f = *state;
	cJSON *r;
	char list[128];

	commit_team_messages(f, 5, 10);
	r = ask(f, "bob",
	        "{\"id\":\"h1\",\"op\":\"history\",\"convo\":\"team\","
	        "\"limit\":2}",
	        NULL);
	assert_string_equal(text(r, "op"), "history");
	assert_int_equal(number(r, "before"), 6);
	assert_int_equal(number(r, "from"), 4);
	assert_int_equal(number(r, "head"), 5);
	assert_true(flag(r, "more"));
	assert_string_equal(seqs(r, list, sizeof(list)), "4,5");
	cJSON_Delete(r);

	r = ask(f, "bob",
	        "{\"id\":\"h2\",\"op\":\"history\",\"convo\":\"team\","
	        "\"before\":4,\"limit\":2}",
	        NULL);
	assert_int_equal(number(r, "from"), 2);
	assert_true(flag(r, "more"));
	assert_string_equal(seqs(r, list, sizeof(list)), "2,3");
	cJSON_Delete(r);

	r = ask(f, "bob",
	        "{\"id\":\"h3\",\"op\":\"history\",\"convo\":\"team\","
	        "\"before\":2,\"limit\":2}",
	        NULL);
	assert_int_equal(number(r, "from"), 1);
	assert_false(flag(r, "more"));
	assert_string_equal(seqs(r, list, sizeof(list)), "1");
	cJSON_Delete(r);

	r = ask(f, "bob",
	        "{\"id\":\"h4\",\"op\":\"history\",\"convo\":\"team\","
	        "\"before\":1}",
	        NULL);
	assert_int_equal(number(r, "from"), 1);
	assert_false(flag(r, "more"));
	assert_string_equal(seqs(r, list, sizeof(list)), "");
	cJSON_Delete(r);
}

static void test_history_page_stays_under_the_byte_cap(void **state)
{
	struct fixture *f = *state;
	size_t len;
	cJSON *r;
	char list[128];

	f->opts.page_max_bytes = 4096;
	commit_team_messages(f, 8, 1000);
	r = ask(f, "bob",
	        "{\"id\":\"h\",\"op\":\"history\",\"convo\":\"team\"}", &len);
	assert_true(len <= 4096);
	assert_string_equal(seqs(r, list, sizeof(list)), "6,7,8");
	assert_int_equal(number(r, "from"), 6);
	assert_true(flag(r, "more"));
	cJSON_Delete(r);
}

static void test_late_member_sees_only_messages_after_joining(void **state)
{
	struct fixture *f = *state;
	cJSON *r;
	char list[128];

	commit_team_messages(f, 3, 10);
	exec_sql(f->db, "INSERT INTO members (convo_id, user_id, joined_seq)"
	                " VALUES ('team', 'dave', 3)");
	hand_off(f, "team", "alice", "m4", "welcome dave");
	hand_off(f, "team", "dave", "d1", "thanks");
	assert_int_equal(commit(f), BRIDGE_COMMIT_DONE);
	assert_int_equal(entry(f, 1)->msg.seq, 5);

	r = ask(f, "dave", "{\"id\":\"s\",\"op\":\"sync\",\"convo\":\"team\"}",
	        NULL);
	assert_string_equal(seqs(r, list, sizeof(list)), "4,5");
	assert_int_equal(number(r, "through"), 5);
	assert_false(flag(r, "more"));
	cJSON_Delete(r);

	r = ask(f, "dave",
	        "{\"id\":\"h\",\"op\":\"history\",\"convo\":\"team\","
	        "\"limit\":1}",
	        NULL);
	assert_string_equal(seqs(r, list, sizeof(list)), "5");
	assert_true(flag(r, "more"));
	cJSON_Delete(r);
	r = ask(f, "dave",
	        "{\"id\":\"h\",\"op\":\"history\",\"convo\":\"team\","
	        "\"before\":5}",
	        NULL);
	assert_string_equal(seqs(r, list, sizeof(list)), "4");
	assert_int_equal(number(r, "from"), 4);
	assert_false(flag(r, "more"));
	cJSON_Delete(r);
}

static void test_conversations_lists_memberships(void **state)
{
	struct fixture *f = *state;
	const cJSON *list, *c;
	cJSON *r;
	char *members;

	commit_team_messages(f, 2, 10);
	r = ask(f, "alice", "{\"id\":\"c\",\"op\":\"conversations\"}", NULL);
	assert_true(flag(r, "ok"));
	list = cJSON_GetObjectItemCaseSensitive(r, "conversations");
	assert_int_equal(cJSON_GetArraySize(list), 2);

	c = cJSON_GetArrayItem(list, 0);
	assert_string_equal(text(c, "convo"), "ac");
	assert_string_equal(text(c, "kind"), "direct");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c, "title")));
	assert_int_equal(number(c, "head"), 0);
	members = cJSON_PrintUnformatted(
	    cJSON_GetObjectItemCaseSensitive(c, "members"));
	assert_string_equal(members, "[\"alice\",\"carol\"]");
	free(members);

	c = cJSON_GetArrayItem(list, 1);
	assert_string_equal(text(c, "convo"), "team");
	assert_string_equal(text(c, "kind"), "group");
	assert_string_equal(text(c, "title"), "Team");
	assert_int_equal(number(c, "head"), 2);
	/* Only direct conversations list their members. */
	assert_null(cJSON_GetObjectItemCaseSensitive(c, "members"));
	assert_int_equal(number(c, "member_count"), 2);
	cJSON_Delete(r);

	r = ask(f, "dave", "{\"id\":\"c\",\"op\":\"conversations\"}", NULL);
	list = cJSON_GetObjectItemCaseSensitive(r, "conversations");
	assert_true(cJSON_IsArray(list));
	assert_int_equal(cJSON_GetArraySize(list), 0);
	cJSON_Delete(r);
}

static void test_requests_are_refused_with_the_right_code(void **state)
{
	struct fixture *f = *state;

	assert_error(ask(f, "carol",
	                 "{\"id\":\"e1\",\"op\":\"sync\",\"convo\":\"team\"}",
	                 NULL),
	             "e1", "not_member");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e2\",\"op\":\"history\","
	                 "\"convo\":\"nowhere\"}",
	                 NULL),
	             "e2", "not_member");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e3\",\"op\":\"sync\",\"convo\":\"a/b\"}",
	                 NULL),
	             "e3", "bad_request");
	assert_error(ask(f, "alice", "{\"id\":\"e4\",\"op\":\"sync\"}", NULL),
	             "e4", "bad_request");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e5\",\"op\":\"sync\",\"convo\":\"team\","
	                 "\"after\":-1}",
	                 NULL),
	             "e5", "bad_request");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e6\",\"op\":\"sync\",\"convo\":\"team\","
	                 "\"after\":\"3\"}",
	                 NULL),
	             "e6", "bad_request");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e7\",\"op\":\"sync\",\"convo\":\"team\","
	                 "\"limit\":0}",
	                 NULL),
	             "e7", "bad_request");
	assert_error(ask(f, "alice",
	                 "{\"id\":\"e8\",\"op\":\"history\","
	                 "\"convo\":\"team\",\"before\":1.5}",
	                 NULL),
	             "e8", "bad_request");
	assert_error(ask(f, "alice", "{\"id\":\"e9\",\"op\":\"delete\"}", NULL),
	             "e9", "unknown_op");
	assert_error(ask(f, "alice", "{\"id\":\"e10\",\"op\":7}", NULL), "e10",
	             "bad_request");
}

static void test_error_response_echoes_id_and_op(void **state)
{
	struct fixture *f = *state;
	cJSON *r =
	    ask(f, "carol",
	        "{\"id\":\"x1\",\"op\":\"history\",\"convo\":\"team\"}", NULL);
	char *printed = cJSON_PrintUnformatted(r);

	assert_string_equal(printed,
	                    "{\"id\":\"x1\",\"op\":\"history\",\"ok\":false,"
	                    "\"error\":{\"code\":\"not_member\",\"message\":"
	                    "\"you are not a member of this conversation\"}}");
	free(printed);
	cJSON_Delete(r);
}

static void test_request_without_valid_id_is_not_answered(void **state)
{
	struct fixture *f = *state;
	const char *requests[] = {"{\"op\":\"ping\"}",
	                          "{\"id\":5,\"op\":\"ping\"}",
	                          "{\"id\":\"has space\",\"op\":\"ping\"}"};

	for (size_t i = 0; i < 3; i++) {
		cJSON *req = cJSON_Parse(requests[i]);
		struct json_writer out;

		json_writer_init(&out);
		assert_int_equal(bridge_request_respond(f->store, &f->opts,
		                                        "alice", req, &out,
		                                        NULL),
		                 -1);
		assert_int_equal(out.len, 0);
		json_writer_free(&out);
		cJSON_Delete(req);
	}
}

/* A client that claims more than exists (a restored backup, a bug) gets an
 * empty page that covers nothing, never a range running backwards. */
static void test_sync_past_the_head_covers_nothing(void **state)
{
	struct fixture *f = *state;
	cJSON *r;

	commit_team_messages(f, 3, 10);
	r = ask(f, "bob",
	        "{\"id\":\"s1\",\"op\":\"sync\",\"convo\":\"team\","
	        "\"after\":50}",
	        NULL);
	assert_int_equal(number(r, "after"), 50);
	assert_int_equal(number(r, "through"), 50);
	assert_int_equal(number(r, "head"), 3);
	assert_false(flag(r, "more"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "messages")),
	                 0);
	cJSON_Delete(r);
}

static void test_history_before_past_the_head_starts_at_the_head(void **state)
{
	struct fixture *f = *state;
	char list[64];
	cJSON *r;

	commit_team_messages(f, 3, 10);
	r = ask(f, "bob",
	        "{\"id\":\"h1\",\"op\":\"history\",\"convo\":\"team\","
	        "\"before\":100}",
	        NULL);
	assert_int_equal(number(r, "before"), 4);
	assert_int_equal(number(r, "from"), 1);
	assert_string_equal(seqs(r, list, sizeof(list)), "1,2,3");
	cJSON_Delete(r);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_seqs_are_gap_free_per_conversation),
	    TEST(test_message_is_stored_as_stamped),
	    TEST(test_duplicate_in_one_batch_gets_the_first_copy),
	    TEST(test_duplicate_across_batches_gets_stored_copy),
	    TEST(test_non_member_is_rejected_without_a_gap),
	    TEST(test_taken_id_rejects_only_that_message),
	    TEST(test_storage_error_rejects_batch_and_keeps_seqs),
	    TEST(test_locked_database_is_retried_until_free),
	    TEST(test_giving_up_on_the_lock_rejects_batch),
	    TEST(test_announcement_entries_have_the_agreed_shape),
	    TEST(test_announcements_are_split_under_the_size_bound),
	    TEST(test_ping_answers_ok),
	    TEST(test_reply_is_framed_with_user_and_client),
	    TEST(test_sync_pages_forward_to_the_head),
	    TEST(test_sync_past_the_head_covers_nothing),
	    TEST(test_history_before_past_the_head_starts_at_the_head),
	    TEST(test_sync_message_has_client_shape),
	    TEST(test_sync_limit_has_default_and_maximum),
	    TEST(test_sync_page_stays_under_the_byte_cap),
	    TEST(test_sync_returns_one_message_above_the_cap),
	    TEST(test_history_pages_backwards),
	    TEST(test_history_page_stays_under_the_byte_cap),
	    TEST(test_late_member_sees_only_messages_after_joining),
	    TEST(test_conversations_lists_memberships),
	    TEST(test_requests_are_refused_with_the_right_code),
	    TEST(test_error_response_echoes_id_and_op),
	    TEST(test_request_without_valid_id_is_not_answered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
