/*
 * Announcements until the broker has them, against a real SQLite file: a
 * conversation's watermark (conversations.announced_seq) moves only when
 * the broker acknowledges, announcements the session cannot take are kept
 * and go out in order later, and a restart announces again exactly the
 * messages above the watermark.
 */
#include "announcement_lines.h"
#include "bridge/announcements.h"
#include "bridge/commit.h"
#include "bridge/store.h"
#include "db.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define CHUNK_BYTES   (256 * 1024)
#define MAX_PUBLISHES 64

/* Stands in for the MQTT session. */
struct session {
	bool up;
	int takes_left; /* then it goes down; negative: no limit */
	bool unpublishable;
	int next_mid;
	size_t count;
	char *payloads[MAX_PUBLISHES];
	int mids[MAX_PUBLISHES];
};

struct fixture {
	char dir[64];
	char path[128];
	sqlite3 *db;
	struct bridge_store *store;
	struct bridge_announcements announcements;
	struct session session;
	uint64_t next_id;
	struct bridge_batch batch;
};

static enum bridge_publish_status publish(void *ctx, const char *json,
                                          size_t len, int *mid)
{
	struct session *s = ctx;

	if (!s->up)
		return BRIDGE_PUBLISH_LATER;
	if (s->unpublishable)
		return BRIDGE_PUBLISH_FAILED;
	if (s->takes_left == 0) {
		s->up = false;
		return BRIDGE_PUBLISH_LATER;
	}
	if (s->takes_left > 0)
		s->takes_left--;
	assert_true(s->count < MAX_PUBLISHES);
	s->payloads[s->count] = strndup(json, len);
	*mid = s->mids[s->count] = ++s->next_mid;
	s->count++;
	return BRIDGE_PUBLISH_SENT;
}

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

/* What the database says about a conversation's announcements. */
static long long announced_seq(struct fixture *f, const char *convo)
{
	return query_int(f->db,
	                 "SELECT announced_seq FROM conversations"
	                 " WHERE id = '%s'",
	                 convo);
}

static void start_announcements(struct fixture *f)
{
	bridge_announcements_init(&f->announcements, f->store, CHUNK_BYTES,
	                          publish, &f->session);
}

static void forget_publishes(struct session *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->payloads[i]);
	s->count = 0;
}

/* As a new bridge process would start: nothing in memory. */
static void restart(struct fixture *f)
{
	bridge_announcements_free(&f->announcements);
	bridge_store_close(f->store);
	assert_int_equal(bridge_store_open(f->db, &f->store), SQLITE_OK);
	forget_publishes(&f->session);
	start_announcements(f);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bridge_announce_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/chat.db", f->dir);
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "full", 5000,
	                              &f->db, err, sizeof(err)),
	                 SQLITE_OK);
	assert_int_equal(chat_db_migrate(f->db, err, sizeof(err)), SQLITE_OK);
	exec_sql(f->db,
	         "INSERT INTO users (id, created_at) VALUES"
	         " ('alice', 0), ('bob', 0), ('carol', 0);"
	         "INSERT INTO conversations (id, kind, title, created_at)"
	         " VALUES ('team', 'group', 'Team', 0),"
	         " ('ac', 'direct', NULL, 0);"
	         "INSERT INTO members (convo_id, user_id) VALUES"
	         " ('team', 'bob'), ('team', 'alice'),"
	         " ('ac', 'carol'), ('ac', 'alice');");
	assert_int_equal(bridge_store_open(f->db, &f->store), SQLITE_OK);
	f->session.up = true;
	f->session.takes_left = -1;
	f->next_id = 7404551231553458176ULL;
	start_announcements(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char file[160];

	bridge_announcements_free(&f->announcements);
	forget_publishes(&f->session);
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

static void hand_off(struct fixture *f, const char *convo, const char *from,
                     const char *cmid)
{
	struct bridge_batch *b = &f->batch;
	struct bridge_message *m;

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
	m->ts = 1764770000000LL;
	m->body = strdup(cmid);
	m->client = strdup("phone");
}

/* Commits what was handed off, as the service does, and queues its
 * announcement without publishing it. */
static void commit_and_queue(struct fixture *f)
{
	struct bridge_entries entries;

	assert_int_equal(
	    bridge_commit(f->store, &f->batch, &entries, NULL, NULL),
	    BRIDGE_COMMIT_DONE);
	bridge_batch_clear(&f->batch);
	assert_int_equal(bridge_announcements_add(&f->announcements, &entries),
	                 0);
	bridge_entries_clear(&entries);
}

/* Commits n messages of alice in convo (cmids prefix-1 ... prefix-n) and
 * queues their announcement. */
static void commit_messages(struct fixture *f, const char *convo,
                            const char *prefix, int n)
{
	for (int i = 1; i <= n; i++) {
		char cmid[32];

		snprintf(cmid, sizeof(cmid), "%s-%d", prefix, i);
		hand_off(f, convo, "alice", cmid);
	}
	commit_and_queue(f);
}

static void acknowledge(struct fixture *f, size_t publish, bool accepted)
{
	assert_true(publish < f->session.count);
	bridge_announcements_acknowledged(&f->announcements,
	                                  f->session.mids[publish], accepted);
}

static void flush(struct fixture *f)
{
	assert_int_equal(bridge_store_flush_deferred(f->store), SQLITE_OK);
}

/* Every entry published so far, as "convo:seq" separated by spaces; the
 * entries must be plain {"msg":...} announcements. */
static char *announced(struct fixture *f, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < f->session.count; i++) {
		cJSON *chunk = announcement_entries(
		    f->session.payloads[i], strlen(f->session.payloads[i]));
		const cJSON *entry;

		assert_true(cJSON_IsArray(chunk));
		cJSON_ArrayForEach(entry, chunk)
		{
			const cJSON *msg = cJSON_GetObjectItem(entry, "msg");

			assert_true(cJSON_IsObject(msg));
			assert_null(cJSON_GetObjectItem(entry, "to"));
			used += (size_t)snprintf(
			    out + used, outlen - used, "%s%s:%d",
			    used ? " " : "",
			    cJSON_GetObjectItem(msg, "convo")->valuestring,
			    cJSON_GetObjectItem(msg, "seq")->valueint);
			assert_true(used < outlen);
		}
		cJSON_Delete(chunk);
	}
	return out;
}

/* ---- the watermark ---- */

static void
test_watermark_advances_only_when_the_broker_acknowledges(void **state)
{
	struct fixture *f = *state;

	commit_messages(f, "team", "a", 3);
	assert_int_equal(bridge_announcements_send(&f->announcements), 1);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 0);
	assert_false(bridge_store_announced_pending(f->store));

	/* Someone else's acknowledgement (a reply, the hello) is no news. */
	bridge_announcements_acknowledged(&f->announcements, 999, true);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 0);

	acknowledge(f, 0, true);
	assert_true(bridge_store_announced_pending(f->store));
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 3);
	assert_int_equal(announced_seq(f, "ac"), 0);
	assert_false(bridge_store_announced_pending(f->store));
	assert_int_equal(f->announcements.in_flight, 0);
}

static void test_watermark_is_written_by_the_next_batch(void **state)
{
	struct fixture *f = *state;

	commit_messages(f, "team", "a", 2);
	bridge_announcements_send(&f->announcements);
	acknowledge(f, 0, true);
	assert_int_equal(announced_seq(f, "team"), 0);

	/* No flush: the next batch's transaction carries the watermark. */
	commit_messages(f, "ac", "b", 1);
	assert_int_equal(announced_seq(f, "team"), 2);
	assert_false(bridge_store_announced_pending(f->store));
}

static bool give_up(void *ctx)
{
	(void)ctx;
	return false;
}

static void test_watermark_of_a_rolled_back_batch_is_written_later(void **state)
{
	struct fixture *f = *state;
	struct bridge_entries entries;
	sqlite3 *other;
	char err[256];

	commit_messages(f, "team", "a", 2);
	bridge_announcements_send(&f->announcements);
	acknowledge(f, 0, true);

	/* Another writer holds the lock: the next batch is given up. */
	assert_int_equal(chat_db_open(f->path, CHAT_DB_READ_WRITE, "full", 0,
	                              &other, err, sizeof(err)),
	                 SQLITE_OK);
	exec_sql(other, "BEGIN IMMEDIATE");
	sqlite3_busy_timeout(f->db, 10);
	hand_off(f, "team", "bob", "b-1");
	assert_int_equal(
	    bridge_commit(f->store, &f->batch, &entries, give_up, NULL),
	    BRIDGE_COMMIT_ABANDONED);
	bridge_entries_clear(&entries);
	bridge_batch_clear(&f->batch);
	exec_sql(other, "ROLLBACK");
	sqlite3_close(other);
	assert_int_equal(announced_seq(f, "team"), 0);
	assert_true(bridge_store_announced_pending(f->store));

	flush(f);
	assert_int_equal(announced_seq(f, "team"), 2);
}

static void test_acknowledgements_count_in_publish_order(void **state)
{
	struct fixture *f = *state;

	commit_messages(f, "team", "a", 2);
	commit_messages(f, "team", "b", 2);
	commit_messages(f, "ac", "c", 1);
	assert_int_equal(bridge_announcements_send(&f->announcements), 3);

	/* The second and third answered first: nothing may pass the first. */
	acknowledge(f, 1, true);
	acknowledge(f, 2, true);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 0);
	assert_int_equal(announced_seq(f, "ac"), 0);

	acknowledge(f, 0, true);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 4);
	assert_int_equal(announced_seq(f, "ac"), 1);
}

static void test_refused_announcement_holds_its_conversation(void **state)
{
	struct fixture *f = *state;
	char list[256];

	commit_messages(f, "team", "a", 2);
	commit_messages(f, "team", "b", 2);
	commit_messages(f, "team", "c", 1);
	commit_messages(f, "ac", "d", 1);
	assert_int_equal(bridge_announcements_send(&f->announcements), 4);
	acknowledge(f, 0, true);
	acknowledge(f, 1, false);
	acknowledge(f, 2, true);
	acknowledge(f, 3, true);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 2);
	assert_int_equal(announced_seq(f, "ac"), 1);

	/* Later acknowledgements do not carry it past the refused one. */
	commit_messages(f, "team", "e", 1);
	bridge_announcements_send(&f->announcements);
	acknowledge(f, 4, true);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 2);

	restart(f);
	assert_int_equal(bridge_announcements_recover(&f->announcements, 1000),
	                 SQLITE_OK);
	bridge_announcements_send(&f->announcements);
	assert_string_equal(announced(f, list, sizeof(list)),
	                    "team:3 team:4 team:5 team:6");
}

static void test_unpublishable_announcement_holds_its_conversation(void **state)
{
	struct fixture *f = *state;

	commit_messages(f, "team", "a", 1);
	f->session.unpublishable = true;
	assert_int_equal(bridge_announcements_send(&f->announcements), 0);
	assert_int_equal(f->announcements.waiting, 0);
	f->session.unpublishable = false;

	commit_messages(f, "team", "b", 1);
	assert_int_equal(bridge_announcements_send(&f->announcements), 1);
	acknowledge(f, 0, true);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 0);
}

/* ---- while the broker is away ---- */

static void test_announcements_wait_for_the_session_and_keep_order(void **state)
{
	struct fixture *f = *state;
	char list[256];

	f->session.up = false;
	commit_messages(f, "team", "a", 2);
	assert_int_equal(bridge_announcements_send(&f->announcements), 0);
	commit_messages(f, "ac", "b", 1);
	commit_messages(f, "team", "c", 1);
	assert_int_equal(bridge_announcements_send(&f->announcements), 0);
	assert_int_equal(f->announcements.waiting, 3);
	assert_int_equal(f->session.count, 0);

	/* The session comes back, takes one and is lost again. */
	f->session.up = true;
	f->session.takes_left = 1;
	assert_int_equal(bridge_announcements_send(&f->announcements), 1);
	assert_int_equal(f->announcements.waiting, 2);
	assert_string_equal(announced(f, list, sizeof(list)), "team:1 team:2");

	f->session.up = true;
	f->session.takes_left = -1;
	assert_int_equal(bridge_announcements_send(&f->announcements), 2);
	assert_int_equal(f->announcements.waiting, 0);
	assert_string_equal(announced(f, list, sizeof(list)),
	                    "team:1 team:2 ac:1 team:3");

	for (size_t i = 0; i < 3; i++)
		acknowledge(f, i, true);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 3);
	assert_int_equal(announced_seq(f, "ac"), 1);
}

static void
test_unacknowledged_announcements_are_made_at_next_start(void **state)
{
	struct fixture *f = *state;
	char list[256];

	commit_messages(f, "team", "a", 2);
	bridge_announcements_send(&f->announcements);
	acknowledge(f, 0, true);
	flush(f);
	commit_messages(f, "team", "b", 2); /* in flight when killed */
	bridge_announcements_send(&f->announcements);
	f->session.up = false;
	commit_messages(f, "ac", "c", 1); /* never sent */
	bridge_announcements_send(&f->announcements);

	restart(f);
	assert_int_equal(bridge_announcements_recover(&f->announcements, 1000),
	                 SQLITE_OK);
	assert_int_equal(f->announcements.waiting, 1);
	f->session.up = true;
	bridge_announcements_send(&f->announcements);
	assert_string_equal(announced(f, list, sizeof(list)),
	                    "ac:1 team:3 team:4");

	/* Once acknowledged, a later start has nothing to announce. */
	acknowledge(f, 0, true);
	flush(f);
	restart(f);
	assert_int_equal(bridge_announcements_recover(&f->announcements, 1000),
	                 SQLITE_OK);
	assert_int_equal(f->announcements.waiting, 0);
}

/* ---- at start-up ---- */

static void
test_recovery_takes_the_newest_above_the_watermark_in_order(void **state)
{
	struct fixture *f = *state;
	static char list[64 * 1024], want[64 * 1024];
	size_t used;

	for (int i = 1; i <= 1005; i++) {
		char cmid[32];

		snprintf(cmid, sizeof(cmid), "t-%d", i);
		hand_off(f, "team", i % 2 ? "alice" : "bob", cmid);
	}
	hand_off(f, "ac", "alice", "c-1");
	hand_off(f, "ac", "carol", "c-2");
	hand_off(f, "ac", "alice", "c-3");
	commit_and_queue(f);
	exec_sql(f->db, "UPDATE conversations SET announced_seq = 1"
	                " WHERE id = 'ac'");

	restart(f);
	assert_int_equal(bridge_announcements_recover(&f->announcements, 1000),
	                 SQLITE_OK);
	bridge_announcements_send(&f->announcements);
	announced(f, list, sizeof(list));

	/* By conversation; in each the newest 1,000 at most, in seq order. */
	used = (size_t)snprintf(want, sizeof(want), "ac:2 ac:3");
	for (int seq = 6; seq <= 1005; seq++)
		used += (size_t)snprintf(want + used, sizeof(want) - used,
		                         " team:%d", seq);
	assert_string_equal(list, want);

	/* Acknowledged, the recovered messages leave nothing behind. */
	for (size_t i = 0; i < f->session.count; i++)
		acknowledge(f, i, true);
	flush(f);
	assert_int_equal(announced_seq(f, "team"), 1005);
	assert_int_equal(announced_seq(f, "ac"), 3);
}

static void test_recovered_messages_are_exactly_as_stored(void **state)
{
	struct fixture *f = *state;
	cJSON *chunk;
	char *msg;

	hand_off(f, "team", "bob", "x-1");
	f->batch.messages[0].id = 42;
	f->batch.messages[0].ts = 1000;
	commit_and_queue(f);

	restart(f);
	bridge_announcements_recover(&f->announcements, 1000);
	bridge_announcements_send(&f->announcements);
	assert_int_equal(f->session.count, 1);
	chunk = announcement_entries(f->session.payloads[0],
	                             strlen(f->session.payloads[0]));
	assert_int_equal(cJSON_GetArraySize(chunk), 1);
	msg = cJSON_PrintUnformatted(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(chunk, 0), "msg"));
	assert_string_equal(msg, "{\"convo\":\"team\",\"seq\":1,\"id\":\"42\","
	                         "\"from\":\"bob\",\"ts\":1000,"
	                         "\"cmid\":\"x-1\",\"body\":\"x-1\"}");
	free(msg);
	cJSON_Delete(chunk);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_watermark_advances_only_when_the_broker_acknowledges),
	    TEST(test_watermark_is_written_by_the_next_batch),
	    TEST(test_watermark_of_a_rolled_back_batch_is_written_later),
	    TEST(test_acknowledgements_count_in_publish_order),
	    TEST(test_refused_announcement_holds_its_conversation),
	    TEST(test_unpublishable_announcement_holds_its_conversation),
	    TEST(test_announcements_wait_for_the_session_and_keep_order),
	    TEST(test_unacknowledged_announcements_are_made_at_next_start),
	    TEST(test_recovery_takes_the_newest_above_the_watermark_in_order),
	    TEST(test_recovered_messages_are_exactly_as_stored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
