/*
 * Receipts against a real SQLite file: cursors only move forward and stay
 * within what the member may see, a batch is merged per member, and the
 * events say exactly how far a sender's newest covered message got: one
 * per sender and conversation however many messages a receipt covers, and
 * none in broadcast conversations.
 */
#include "bridge/commit.h"
#include "bridge/handoff.h"
#include "bridge/receipts.h"
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

struct fixture {
	char dir[64];
	char path[128];
	sqlite3 *db;
	struct bridge_store *store;
	struct bridge_receipt_queue receipts;
	struct bridge_entries events;
	uint64_t next_id;
};

static void exec_sql(sqlite3 *db, const char *fmt, ...)
{
	char sql[4096], *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
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

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_bridge_receipts_XXXXXX");
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
	         " VALUES ('team', 'group', 'Team', 0);"
	         "INSERT INTO conversations (id, kind, title, broadcast,"
	         " created_at) VALUES ('news', 'channel', 'News', 1, 0);"
	         "INSERT INTO members (convo_id, user_id) VALUES"
	         " ('team', 'alice'), ('team', 'bob'), ('team', 'carol'),"
	         " ('team', 'dave'), ('news', 'alice'), ('news', 'bob')");
	assert_int_equal(bridge_store_open(f->db, &f->store), SQLITE_OK);
	f->next_id = 7404551231553458176ULL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char file[160];

	bridge_receipt_queue_clear(&f->receipts);
	bridge_entries_clear(&f->events);
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

/* Commits count messages in convo, from the senders in turn. */
static void send_messages(struct fixture *f, const char *convo, int count,
                          const char *const *senders, size_t sender_count)
{
	struct bridge_batch batch = {NULL, 0, 0};
	struct bridge_entries entries;

	batch.messages = calloc((size_t)count, sizeof(*batch.messages));
	batch.count = batch.cap = (size_t)count;
	for (int i = 0; i < count; i++) {
		struct bridge_message *m = &batch.messages[i];

		snprintf(m->convo, sizeof(m->convo), "%s", convo);
		snprintf(m->from, sizeof(m->from), "%s",
		         senders[(size_t)i % sender_count]);
		snprintf(m->cmid, sizeof(m->cmid), "m%llu",
		         (unsigned long long)f->next_id);
		m->id = f->next_id++;
		m->ts = 1764770000000LL;
		m->body = strdup("hi");
		m->client = strdup("phone");
	}
	assert_int_equal(bridge_commit(f->store, &batch, &entries, NULL, NULL),
	                 BRIDGE_COMMIT_DONE);
	for (int i = 0; i < count; i++)
		assert_int_equal(entries.items[i].outcome, BRIDGE_STORED);
	bridge_entries_clear(&entries);
	bridge_batch_clear(&batch);
}

/* Queues a receipt as the plugin hands it off; -1 leaves a field out. */
static void ack(struct fixture *f, const char *convo, const char *user,
                long long delivered, long long read)
{
	char item[256], payload[300];
	int n = snprintf(item, sizeof(item),
	                 "{\"convo\":\"%s\",\"user\":\"%s\",\"client\":\"c\"",
	                 convo, user);

	if (delivered >= 0)
		n += snprintf(item + n, sizeof(item) - (size_t)n,
		              ",\"delivered\":%lld", delivered);
	if (read >= 0)
		n += snprintf(item + n, sizeof(item) - (size_t)n,
		              ",\"read\":%lld", read);
	snprintf(payload, sizeof(payload), "[%s}]", item);
	assert_int_equal(
	    bridge_handoff_receipts(payload, strlen(payload), &f->receipts), 1);
}

/* Applies what was queued; the events are in f->events. */
static void apply(struct fixture *f)
{
	bridge_entries_clear(&f->events);
	assert_int_equal(
	    bridge_receipts_apply(f->store, &f->receipts, &f->events),
	    SQLITE_OK);
	bridge_receipt_queue_clear(&f->receipts);
}

static long long cursor(struct fixture *f, const char *convo, const char *user,
                        const char *which)
{
	return query_int(f->db,
	                 "SELECT %s_seq FROM members WHERE convo_id = '%s'"
	                 " AND user_id = '%s'",
	                 which, convo, user);
}

/* The events as "to: {json}" lines, in order. */
static char *events_text(struct fixture *f)
{
	size_t len = 1;
	char *all;

	for (size_t i = 0; i < f->events.count; i++)
		len += strlen(f->events.items[i].event) + 80;
	all = calloc(1, len);
	for (size_t i = 0; i < f->events.count; i++) {
		const struct bridge_entry *e = &f->events.items[i];

		assert_int_equal(e->outcome, BRIDGE_EVENT);
		sprintf(all + strlen(all), "%s: %s\n", e->to, e->event);
	}
	return all;
}

static void assert_events(struct fixture *f, const char *expected)
{
	char *all = events_text(f);

	assert_string_equal(all, expected);
	free(all);
}

static const char *const alice[] = {"alice"};

/* ---- cursors ---- */

static void test_cursors_only_move_forward(void **state)
{
	struct fixture *f = *state;

	send_messages(f, "team", 6, alice, 1);
	ack(f, "team", "bob", 5, 3);
	apply(f);
	assert_int_equal(cursor(f, "team", "bob", "delivered"), 5);
	assert_int_equal(cursor(f, "team", "bob", "read"), 3);
	assert_events(f, "alice: {\"type\":\"receipt\",\"convo\":\"team\","
	                 "\"seq\":5,\"delivered\":1,\"read\":0,\"of\":3,"
	                 "\"by\":[\"bob\"]}\n"
	                 "bob: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":5,\"read\":3}\n");

	/* Below what is stored: nothing moves, nobody hears of it. */
	ack(f, "team", "bob", 2, 1);
	apply(f);
	assert_int_equal(cursor(f, "team", "bob", "delivered"), 5);
	assert_int_equal(cursor(f, "team", "bob", "read"), 3);
	assert_int_equal(f->events.count, 0);

	ack(f, "team", "bob", -1, 4);
	apply(f);
	assert_int_equal(cursor(f, "team", "bob", "delivered"), 5);
	assert_int_equal(cursor(f, "team", "bob", "read"), 4);
	assert_events(f, "alice: {\"type\":\"receipt\",\"convo\":\"team\","
	                 "\"seq\":4,\"delivered\":1,\"read\":1,\"of\":3,"
	                 "\"by\":[\"bob\"]}\n"
	                 "bob: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":5,\"read\":4}\n");
}

static void test_cursors_stop_at_what_the_member_may_see(void **state)
{
	struct fixture *f = *state;

	send_messages(f, "team", 10, alice, 1);
	ack(f, "team", "bob", 50, -1);
	ack(f, "team", "carol", -1, 7);
	ack(f, "team", "dave", 3, 12);
	apply(f);
	assert_int_equal(cursor(f, "team", "bob", "delivered"), 10);
	assert_int_equal(cursor(f, "team", "bob", "read"), 0);
	/* read raises delivered */
	assert_int_equal(cursor(f, "team", "carol", "delivered"), 7);
	assert_int_equal(cursor(f, "team", "carol", "read"), 7);
	assert_int_equal(cursor(f, "team", "dave", "delivered"), 10);
	assert_int_equal(cursor(f, "team", "dave", "read"), 10);

	/* A former member's head is the message that ended it. */
	exec_sql(f->db, "UPDATE members SET left_seq = 4, delivered_seq = 0,"
	                " read_seq = 0 WHERE user_id = 'bob'");
	ack(f, "team", "bob", 9, 9);
	apply(f);
	assert_int_equal(cursor(f, "team", "bob", "delivered"), 4);
	assert_int_equal(cursor(f, "team", "bob", "read"), 4);
}

static void test_receipts_of_strangers_are_dropped(void **state)
{
	struct fixture *f = *state;

	send_messages(f, "team", 2, alice, 1);
	ack(f, "news", "carol", 1, 1);
	ack(f, "nowhere", "bob", 1, 1);
	apply(f);
	assert_int_equal(f->events.count, 0);
	assert_int_equal(query_int(f->db, "SELECT COUNT(*) FROM members"
	                                  " WHERE user_id = 'carol'"),
	                 1);
}

static void test_a_batch_is_merged_per_member(void **state)
{
	struct fixture *f = *state;
	const char *const both[] = {"alice", "dave"};

	send_messages(f, "team", 6, both, 2);
	ack(f, "team", "bob", 3, -1);
	ack(f, "team", "bob", -1, 5);
	ack(f, "team", "carol", 4, 4);
	ack(f, "team", "bob", 2, 2);
	apply(f);
	assert_int_equal(cursor(f, "team", "bob", "delivered"), 5);
	assert_int_equal(cursor(f, "team", "bob", "read"), 5);
	/* One event per sender, for its newest covered message: alice's 5
	 * only bob's receipt covered, dave's 4 both. */
	assert_events(f, "alice: {\"type\":\"receipt\",\"convo\":\"team\","
	                 "\"seq\":5,\"delivered\":1,\"read\":1,\"of\":3,"
	                 "\"by\":[\"bob\"]}\n"
	                 "dave: {\"type\":\"receipt\",\"convo\":\"team\","
	                 "\"seq\":4,\"delivered\":2,\"read\":2,\"of\":3,"
	                 "\"by\":[\"bob\",\"carol\"]}\n"
	                 "bob: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":5,\"read\":5}\n"
	                 "carol: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":4,\"read\":4}\n");
}

/* ---- receipt events ---- */

static void test_counts_say_how_far_a_message_got(void **state)
{
	struct fixture *f = *state;
	const char *const sam[] = {"sam"};

	exec_sql(f->db, "INSERT INTO users (id, created_at) VALUES ('sam', 0);"
	                "INSERT INTO conversations (id, kind, created_at)"
	                " VALUES ('big', 'group', 0);"
	                "INSERT INTO members (convo_id, user_id)"
	                " VALUES ('big', 'sam')");
	for (int i = 0; i < 10; i++)
		exec_sql(f->db,
		         "INSERT INTO users (id, created_at) VALUES ('r%d', 0);"
		         "INSERT INTO members (convo_id, user_id)"
		         " VALUES ('big', 'r%d')",
		         i, i);
	send_messages(f, "big", 5, sam, 1);
	/* Seven have it delivered, three of them read. */
	exec_sql(f->db, "UPDATE members SET delivered_seq = 5 WHERE"
	                " user_id IN ('r1','r2','r3','r4','r5','r6','r7');"
	                "UPDATE members SET read_seq = 5 WHERE"
	                " user_id IN ('r1','r2','r3')");
	/* Someone who joined after seq 5 and someone who left before it
	 * are not among those who can see it. */
	exec_sql(f->db, "INSERT INTO members (convo_id, user_id, joined_seq,"
	                " delivered_seq, read_seq) VALUES"
	                " ('big', 'alice', 5, 5, 5);"
	                "INSERT INTO members (convo_id, user_id, left_seq)"
	                " VALUES ('big', 'bob', 4)");
	ack(f, "big", "r0", 5, -1);
	apply(f);
	assert_events(f, "sam: {\"type\":\"receipt\",\"convo\":\"big\","
	                 "\"seq\":5,\"delivered\":8,\"read\":3,\"of\":10,"
	                 "\"by\":[\"r0\"]}\n"
	                 "r0: {\"type\":\"cursor\",\"convo\":\"big\","
	                 "\"delivered\":5,\"read\":0}\n");
}

static void test_a_long_move_is_one_event_per_sender(void **state)
{
	struct fixture *f = *state;
	const char *const two[] = {"alice", "carol"};

	send_messages(f, "team", 1000, two, 2);
	ack(f, "team", "bob", -1, 1000);
	apply(f);
	/* alice wrote the odd seqs, carol the even ones. */
	assert_events(f, "alice: {\"type\":\"receipt\",\"convo\":\"team\","
	                 "\"seq\":999,\"delivered\":1,\"read\":1,\"of\":3,"
	                 "\"by\":[\"bob\"]}\n"
	                 "carol: {\"type\":\"receipt\",\"convo\":\"team\","
	                 "\"seq\":1000,\"delivered\":1,\"read\":1,\"of\":3,"
	                 "\"by\":[\"bob\"]}\n"
	                 "bob: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":1000,\"read\":1000}\n");
	/* A move shorter than the member list reads the range itself and
	 * must find the same. */
	exec_sql(f->db, "UPDATE members SET delivered_seq = 1000,"
	                " read_seq = 1000 WHERE user_id = 'dave'");
	send_messages(f, "team", 2, two, 2);
	ack(f, "team", "dave", 1002, 1001);
	apply(f);
	assert_events(f, "alice: {\"type\":\"receipt\",\"convo\":\"team\","
	                 "\"seq\":1001,\"delivered\":1,\"read\":1,\"of\":3,"
	                 "\"by\":[\"dave\"]}\n"
	                 "carol: {\"type\":\"receipt\",\"convo\":\"team\","
	                 "\"seq\":1002,\"delivered\":1,\"read\":0,\"of\":3,"
	                 "\"by\":[\"dave\"]}\n"
	                 "dave: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":1002,\"read\":1001}\n");
}

static void test_broadcast_conversations_have_no_receipts(void **state)
{
	struct fixture *f = *state;

	send_messages(f, "news", 3, alice, 1);
	ack(f, "news", "bob", 3, 3);
	apply(f);
	assert_int_equal(cursor(f, "news", "bob", "read"), 3);
	assert_events(f, "bob: {\"type\":\"cursor\",\"convo\":\"news\","
	                 "\"delivered\":3,\"read\":3}\n");
}

static void test_nobody_hears_of_their_own_or_system_messages(void **state)
{
	struct fixture *f = *state;
	const char *const bob[] = {"bob"};

	/* A system message by alice is nobody's message to read. */
	exec_sql(f->db, "INSERT INTO messages (convo_id, seq, id, sender, cmid,"
	                " ts, type, body) VALUES ('team', 1, 1, 'alice',"
	                " 'op x', 0, 'renamed', '{\"title\":\"t\"}')");
	send_messages(f, "team", 2, bob, 1);
	ack(f, "team", "bob", 3, 3);
	ack(f, "team", "carol", 1, 1);
	apply(f);
	assert_events(f, "bob: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":3,\"read\":3}\n"
	                 "carol: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":1,\"read\":1}\n");
}

static void test_departed_senders_hear_nothing_more(void **state)
{
	struct fixture *f = *state;

	send_messages(f, "team", 2, alice, 1);
	exec_sql(f->db, "UPDATE members SET left_seq = 2"
	                " WHERE user_id = 'alice'");
	ack(f, "team", "bob", 2, 2);
	apply(f);
	assert_events(f, "bob: {\"type\":\"cursor\",\"convo\":\"team\","
	                 "\"delivered\":2,\"read\":2}\n");
}

static void test_malformed_receipts_are_skipped(void **state)
{
	struct fixture *f = *state;
	static const char payload[] =
	    "[{\"convo\":\"team\",\"user\":\"bob\",\"client\":\"c\"},"
	    "{\"convo\":\"team\",\"user\":\"bob\",\"client\":\"c\","
	    "\"read\":-1},"
	    "{\"convo\":\"a/b\",\"user\":\"bob\",\"client\":\"c\",\"read\":1},"
	    "{\"convo\":\"team\",\"user\":\"bob\",\"read\":1},"
	    "{\"convo\":\"team\",\"user\":\"bob\",\"client\":\"c\","
	    "\"delivered\":1.5},"
	    "{\"convo\":\"team\",\"user\":\"bob\",\"client\":\"c\","
	    "\"read\":2}]";

	assert_int_equal(
	    bridge_handoff_receipts(payload, strlen(payload), &f->receipts), 1);
	assert_int_equal(f->receipts.receipts[0].read, 2);
	assert_int_equal(f->receipts.receipts[0].delivered, -1);
	assert_int_equal(bridge_handoff_receipts("{}", 2, &f->receipts), 0);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_cursors_only_move_forward),
	    TEST(test_cursors_stop_at_what_the_member_may_see),
	    TEST(test_receipts_of_strangers_are_dropped),
	    TEST(test_a_batch_is_merged_per_member),
	    TEST(test_counts_say_how_far_a_message_got),
	    TEST(test_a_long_move_is_one_event_per_sender),
	    TEST(test_broadcast_conversations_have_no_receipts),
	    TEST(test_nobody_hears_of_their_own_or_system_messages),
	    TEST(test_departed_senders_hear_nothing_more),
	    TEST(test_malformed_receipts_are_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
