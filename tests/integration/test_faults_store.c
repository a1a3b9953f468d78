/*
 * The store in trouble. Another process holds SQLite's write lock for
 * seconds: the bridge waits and retries, nothing is ticked while it waits,
 * senders see ticks late or `busy`, and everything ends up stored once.
 * The disk fills up (a file-size limit on the bridge, as prlimit sets it):
 * new sends are refused with `storage_error`, what was stored stays, reads
 * still work, and sending works again once there is room.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT      test_timeout_ms(5000)
#define SETTLE_MS test_timeout_ms(30000)
#define RESEND_MS 2000

/* The lock is held longer than the bridge's own busy timeout (5 s), so
 * that the bridge gives up on SQLite's wait at least once and retries. */
#define LOCK_MS          6500
#define LOCK_SEND_MS     50
#define BEFORE_LOCK      50
#define OUTBOX_ROOM      400
#define LOCK_MAX_PENDING "max_pending 40"

/* Room left for the store's files once the limit is set, and the size of
 * the bodies that fill it. */
#define DISK_ROOM_BYTES (192 * 1024)
#define BIG_BODY_BYTES  8000
#define FILL_MAX        400
#define STILL_FULL      5
#define BEFORE_FULL     20

static void make_cmid(const char *prefix, int n, char *out, size_t len)
{
	snprintf(out, len, "%s-%04d", prefix, n);
}

/* Every message of the outbox is stored once and the log is 1..count. */
static void assert_log_holds_each_once(struct chat_scene *s,
                                       const struct test_outbox *o,
                                       const char *prefix, int count)
{
	char cmid[TEST_CMID_MAX];
	size_t seq_count;
	long *seqs;

	for (int n = 0; n < count; n++) {
		make_cmid(prefix, n, cmid, sizeof(cmid));
		if (o)
			assert_true(test_outbox_ticked(o, cmid));
		assert_int_equal(
		    test_db_count_cmid(s->srv, s->convo, "alice", cmid), 1);
	}
	assert_int_equal(test_db_seqs(s->srv, s->convo, &seqs, &seq_count), 0);
	for (size_t i = 0; i < seq_count; i++)
		assert_int_equal(seqs[i], (long)i + 1);
	free(seqs);
}

static void assert_log_line(const char *path, const char *text)
{
	const char *const needles[] = {text, NULL};
	char line[512];

	if (!test_file_find_line(path, needles, line, sizeof(line)))
		fail_msg("no line with \"%s\" in %s", text, path);
}

/* ---- another writer holds the lock ---- */

static void stream(struct test_outbox *o, int *next, int ms)
{
	char cmid[TEST_CMID_MAX];
	long long end = test_now_ms() + ms, due = test_now_ms();

	while (test_now_ms() < end) {
		if (test_now_ms() >= due) {
			make_cmid("lock", (*next)++, cmid, sizeof(cmid));
			assert_int_equal(test_outbox_send(o, cmid, cmid), 0);
			due += LOCK_SEND_MS;
		}
		test_outbox_pump(o);
		test_sleep_ms(5);
	}
}

CHAT_TEST(a_locked_store_delays_ticks_and_loses_nothing)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {LOCK_MAX_PENDING}};
	struct test_match busy = {.kind = "event", .code = "busy"};
	struct test_db_writer *holder;
	struct test_outbox o;
	struct chat_scene s;
	size_t ticked_at_lock, since;
	long long released;
	int next = 0, busy_count;

	chat_fixture_scene(fx, &cfg, &s);
	assert_int_equal(
	    test_outbox_init(&o, s.alice, s.convo, OUTBOX_ROOM, RESEND_MS), 0);
	stream(&o, &next, BEFORE_LOCK * LOCK_SEND_MS);
	assert_int_equal(test_outbox_settle(&o, SETTLE_MS), 0);

	holder = test_db_hold_write_lock(s.srv);
	assert_non_null(holder);
	ticked_at_lock = o.ticked;
	since = test_client_mark(s.alice);
	stream(&o, &next, LOCK_MS);
	/* Nothing can be committed, so nothing may be ticked. */
	assert_int_equal(o.ticked, ticked_at_lock);
	busy_count = test_client_count(s.alice, &busy, since);
	test_db_release_write_lock(holder);
	released = test_now_ms();

	assert_int_equal(test_outbox_settle(&o, SETTLE_MS), 0);
	print_message("%d sent while locked for %d ms: %d busy refusals, "
	              "all %d ticked %lld ms after the release, %ld "
	              "resends\n",
	              next - BEFORE_LOCK, LOCK_MS, busy_count, next,
	              test_now_ms() - released, o.resends);
	assert_true(busy_count > 0);
	assert_log_holds_each_once(&s, &o, "lock", next);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), next);
	assert_log_line(s.srv->bridge_log,
	                "the database is locked by another process");
	assert_log_line(s.srv->bridge_log, "after waiting");
	test_outbox_free(&o);
}

/* ---- the disk is full ---- */

/* "tick", or an error event's code, for the cmid sent after `since`;
 * NULL when neither came in time. */
static const char *wait_outcome(struct test_client *c, const char *convo,
                                const char *cmid, size_t since)
{
	struct test_match tick = {
	    .kind = "msg", .convo = convo, .from = c->user, .cmid = cmid};
	struct test_match error = {.kind = "event", .cmid = cmid};
	long long deadline = test_now_ms() + WAIT;
	cJSON *event;

	while (test_now_ms() < deadline) {
		if (test_client_wait(c, &tick, since, 10))
			return "tick";
		event = test_client_wait(c, &error, since, 10);
		if (event)
			return test_json_string(event, "code");
	}
	return NULL;
}

static void send_big(struct test_client *c, const char *convo, const char *cmid)
{
	static char body[BIG_BODY_BYTES + 1];

	memset(body, 'x', BIG_BODY_BYTES);
	memcpy(body, cmid, strlen(cmid));
	assert_int_equal(test_client_send(c, convo, cmid, body, NULL), 0);
}

/* Sends one message and waits for its outcome; fails on anything but a
 * tick or storage_error. True for a tick. */
static bool send_one(struct chat_scene *s, const char *cmid)
{
	size_t since = test_client_mark(s->alice);
	const char *outcome;

	send_big(s->alice, s->convo, cmid);
	outcome = wait_outcome(s->alice, s->convo, cmid, since);
	if (outcome == NULL && !test_process_alive(&s->srv->bridge))
		fail_msg("%s: the bridge died (wait status 0x%x)", cmid,
		         s->srv->bridge.status);
	if (outcome == NULL)
		fail_msg("%s: no tick and no error", cmid);
	if (strcmp(outcome, "tick") == 0)
		return true;
	if (strcmp(outcome, "storage_error") != 0)
		fail_msg("%s refused with %s, not storage_error", cmid,
		         outcome);
	return false;
}

/* Restarts the bridge with only DISK_ROOM_BYTES of room for any file to
 * grow beyond the store's current size. */
static void fill_the_disk_up_to(struct chat_scene *s)
{
	char limit[64];
	char *const wrapper[] = {"prlimit", limit, NULL};
	long long biggest;

	assert_int_equal(chat_server_stop_bridge(s->srv), 0);
	assert_int_equal(test_db_checkpoint_truncate(s->srv), 0);
	biggest = test_file_size(s->srv->db_path);
	snprintf(limit, sizeof(limit), "--fsize=%lld:unlimited",
	         biggest + DISK_ROOM_BYTES);
	assert_int_equal(chat_server_spawn_bridge_wrapped(s->srv, wrapper), 0);
	assert_int_equal(chat_server_wait_ready(s->srv, WAIT), 0);
}

CHAT_TEST(a_full_disk_refuses_new_sends_and_keeps_what_was_stored)
{
	struct chat_scene s;
	char cmid[TEST_CMID_MAX];
	int stored = 0, refused_at;
	cJSON *page;

	chat_fixture_scene(fx, NULL, &s);
	for (int n = 0; n < BEFORE_FULL; n++) {
		make_cmid("full", stored++, cmid, sizeof(cmid));
		assert_true(send_one(&s, cmid));
	}

	fill_the_disk_up_to(&s);
	for (;;) {
		make_cmid("full", stored, cmid, sizeof(cmid));
		if (!send_one(&s, cmid))
			break;
		assert_true(++stored < FILL_MAX);
	}
	refused_at = stored;
	/* While it stays full every new send is refused, the bridge stays
	 * up, and what was stored can still be read. */
	for (int n = 1; n <= STILL_FULL; n++) {
		make_cmid("full", refused_at + n, cmid, sizeof(cmid));
		assert_false(send_one(&s, cmid));
	}
	assert_true(test_process_alive(&s.srv->bridge));
	page = test_client_request(
	    s.bob, WAIT, "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":0}",
	    s.convo);
	chat_assert_ok(page);
	assert_int_equal(test_json_number(page, "head"), stored);
	assert_log_line(s.srv->bridge_log, "all refused as storage_error");

	/* Room again: the refused messages go through on resend. */
	assert_int_equal(test_process_file_limit(s.srv->bridge.pid, -1), 0);
	for (int n = refused_at; n <= refused_at + STILL_FULL; n++) {
		make_cmid("full", n, cmid, sizeof(cmid));
		assert_true(send_one(&s, cmid));
	}
	print_message("%d messages stored before the disk was full (%d with "
	              "the limit), %d refused and stored on resend\n",
	              refused_at, refused_at - BEFORE_FULL, STILL_FULL + 1);
	assert_log_holds_each_once(&s, NULL, "full",
	                           refused_at + STILL_FULL + 1);
	assert_int_equal(test_db_count_messages(s.srv, s.convo),
	                 refused_at + STILL_FULL + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(a_locked_store_delays_ticks_and_loses_nothing),
	    CHAT_TEST_ENTRY(
	        a_full_disk_refuses_new_sends_and_keeps_what_was_stored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
