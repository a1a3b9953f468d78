/*
 * Repeated crashes: the bridge and the broker are killed with -9 in turn,
 * at random moments, while four members stream into two direct
 * conversations and one group, each resending what has no tick with the
 * same cmid. Afterwards every ticked message is stored once, each
 * conversation's seqs are 1..N, every member holds every message once
 * after the reconnect recipe, and no client ever received a message
 * before the store held it.
 *
 * The moments are random; the seed is printed, and CHAT_FAULT_SEED=<n>
 * repeats a run.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT test_timeout_ms(5000)
/* Faults, alternating bridge and broker. */
#define FAULTS 6
/* Streaming lasts this long before a kill, and the part stays down this
 * long before it is started again (uniformly random within the range). */
#define UP_MIN_MS      300
#define UP_SPREAD_MS   700
#define DOWN_MIN_MS    100
#define DOWN_SPREAD_MS 500
/* The service counts as back once this many more messages are ticked. */
#define RECOVERED_TICKS 10
#define RECOVERY_MS     test_timeout_ms(20000)
/* Each outbox sends one new message this often. */
#define SEND_INTERVAL_MS 50
#define OUTBOX_CAPACITY  1000
/* Resends sooner than PROTOCOL.md's 10 s to keep the test short; the
 * plugin's duplicate window is shortened to match. */
#define RESEND_MS  1500
#define SETTLE_MS  test_timeout_ms(60000)
#define MEMBERS    4
#define CONVOS     3
#define OUTBOXES   (2 * MEMBERS)
#define SYNC_LIMIT 500

struct member {
	const char *user;
	char token[TEST_TOKEN_MAX];
	struct test_client *client;
};

struct conversation {
	const char *tag;
	char id[TEST_ID_MAX];
	unsigned members;   /* bit i: members[i] of the run */
	long first_message; /* seq of the first member message */
};

struct sender {
	struct test_outbox outbox;
	struct member *member;
	struct conversation *convo;
	long long next_send_ms;
};

struct crash_run {
	struct chat_server *srv;
	struct member members[MEMBERS];
	struct conversation convos[CONVOS];
	struct sender senders[OUTBOXES];
	struct test_commit_watch *watch;
	unsigned seed;
	int bridge_kills, broker_kills;
};

static const char *const users[MEMBERS] = {"ann", "ben", "cat", "dan"};

static int random_ms(struct crash_run *run, int min, int spread)
{
	return min + (int)(rand_r(&run->seed) % (unsigned)spread);
}

static void make_cmid(const struct sender *s, size_t n, char *out, size_t len)
{
	snprintf(out, len, "%s-%s-%04zu", s->member->user, s->convo->tag, n);
}

static void make_body(const struct sender *s, size_t n, char *out, size_t len)
{
	snprintf(out, len, "%s to %s, message %zu of the crash cycles",
	         s->member->user, s->convo->tag, n);
}

/* ---- the cast ---- */

static void join(struct crash_run *run)
{
	for (int i = 0; i < MEMBERS; i++) {
		struct member *m = &run->members[i];

		m->user = users[i];
		chat_fixture_user(run->srv, m->user, m->token);
		m->client = chat_fixture_connect(run->srv, m->user, m->token);
		assert_int_equal(test_commit_watch_add(run->watch, m->client),
		                 0);
	}
}

/* ann-ben and cat-dan talk directly; all four are in a group. */
static void open_conversations(struct crash_run *run)
{
	const char *const others[] = {"ben", "cat", "dan"};
	struct conversation *c = run->convos;

	c[0].tag = "ab";
	c[0].members = 0x3;
	c[0].first_message = 1;
	chat_fixture_direct(run->srv, "ann", "ben", c[0].id);
	c[1].tag = "cd";
	c[1].members = 0xc;
	c[1].first_message = 1;
	chat_fixture_direct(run->srv, "cat", "dan", c[1].id);
	c[2].tag = "crew";
	c[2].members = 0xf;
	/* Seq 1 is the group's "created" message. */
	c[2].first_message = 2;
	chat_fixture_group(run->members[0].client, "crew", others, 3, false,
	                   c[2].id);
}

/* Every member sends to its direct conversation and to the group. */
static void open_outboxes(struct crash_run *run)
{
	for (int i = 0; i < OUTBOXES; i++) {
		struct sender *s = &run->senders[i];

		s->member = &run->members[i / 2];
		s->convo = i % 2 ? &run->convos[2] : &run->convos[i / 4];
		assert_int_equal(test_outbox_init(&s->outbox, s->member->client,
		                                  s->convo->id, OUTBOX_CAPACITY,
		                                  RESEND_MS),
		                 0);
		s->next_send_ms = test_now_ms() + i * SEND_INTERVAL_MS / 8;
	}
}

/* ---- streaming ---- */

static size_t ticked(const struct crash_run *run)
{
	size_t n = 0;

	for (int i = 0; i < OUTBOXES; i++)
		n += run->senders[i].outbox.ticked;
	return n;
}

static void send_due(struct crash_run *run, long long now)
{
	char cmid[TEST_CMID_MAX], body[128];

	for (int i = 0; i < OUTBOXES; i++) {
		struct sender *s = &run->senders[i];

		/* A disconnected device keeps typing into its outbox; here
		 * it simply waits, as the outbox resends after reconnecting
		 * anyway. */
		if (now < s->next_send_ms ||
		    s->outbox.count == s->outbox.capacity ||
		    !test_client_connected(s->member->client))
			continue;
		make_cmid(s, s->outbox.count, cmid, sizeof(cmid));
		make_body(s, s->outbox.count, body, sizeof(body));
		assert_int_equal(test_outbox_send(&s->outbox, cmid, body), 0);
		s->next_send_ms += SEND_INTERVAL_MS;
	}
}

static size_t pump(struct crash_run *run)
{
	size_t left = 0;

	for (int i = 0; i < OUTBOXES; i++)
		left += test_outbox_pump(&run->senders[i].outbox);
	return left;
}

/* Sends, resends and reads ticks for ms milliseconds. */
static void stream_for(struct crash_run *run, int ms)
{
	long long end = test_now_ms() + ms;

	while (test_now_ms() < end) {
		send_due(run, test_now_ms());
		pump(run);
		test_sleep_ms(5);
	}
}

/* Streams until RECOVERED_TICKS more messages are ticked: the whole path
 * (broker, plugin, bridge, store) works again. */
static void stream_until_recovered(struct crash_run *run, const char *what)
{
	long long started = test_now_ms();
	size_t before = ticked(run);

	while (ticked(run) < before + RECOVERED_TICKS) {
		if (test_now_ms() - started > RECOVERY_MS)
			fail_msg("no ticks %lld ms after restarting the %s",
			         test_now_ms() - started, what);
		stream_for(run, 20);
	}
}

static void crash_bridge(struct crash_run *run)
{
	chat_server_kill_bridge(run->srv);
	run->bridge_kills++;
	stream_for(run, random_ms(run, DOWN_MIN_MS, DOWN_SPREAD_MS));
	assert_int_equal(chat_server_spawn_bridge(run->srv), 0);
	stream_until_recovered(run, "bridge");
}

static void crash_broker(struct crash_run *run)
{
	chat_server_kill_broker(run->srv);
	run->broker_kills++;
	stream_for(run, random_ms(run, DOWN_MIN_MS, DOWN_SPREAD_MS));
	/* The clients reconnect by themselves, the bridge too. */
	assert_int_equal(chat_server_spawn_broker(run->srv), 0);
	stream_until_recovered(run, "broker");
}

static void settle(struct crash_run *run)
{
	long long deadline = test_now_ms() + SETTLE_MS;
	size_t left;

	while ((left = pump(run)) > 0 && test_now_ms() < deadline)
		test_sleep_ms(20);
	if (left > 0)
		fail_msg("%zu messages still without a tick", left);
}

/* ---- what the store and the members hold ---- */

/* Every message the sender sent is stored exactly once. */
static void assert_stored_once(struct crash_run *run, const struct sender *s)
{
	char pattern[TEST_CMID_MAX];
	const char *const params[] = {s->convo->id, s->member->user, pattern,
	                              NULL};

	snprintf(pattern, sizeof(pattern), "%s-%s-%%", s->member->user,
	         s->convo->tag);
	assert_int_equal(test_db_integer(run->srv,
	                                 "SELECT count(*) FROM messages"
	                                 " WHERE convo_id = ? AND sender = ?"
	                                 " AND cmid LIKE ?",
	                                 params),
	                 (long long)s->outbox.count);
	assert_int_equal(test_db_integer(run->srv,
	                                 "SELECT count(DISTINCT cmid) FROM"
	                                 " messages WHERE convo_id = ? AND"
	                                 " sender = ? AND cmid LIKE ?",
	                                 params),
	                 (long long)s->outbox.count);
}

/* The conversation's log: rows[seq - 1] for seqs 1..*count, no gaps. */
static struct test_db_message *
load_log(struct crash_run *run, const struct conversation *c, size_t *count)
{
	struct test_db_message *rows;
	long *seqs;

	assert_int_equal(test_db_seqs(run->srv, c->id, &seqs, count), 0);
	for (size_t i = 0; i < *count; i++)
		assert_int_equal(seqs[i], (long)i + 1);
	free(seqs);
	rows = calloc(*count, sizeof(*rows));
	assert_non_null(rows);
	for (size_t i = 0; i < *count; i++)
		assert_int_equal(
		    test_db_message(run->srv, c->id, (long)i + 1, &rows[i]), 0);
	return rows;
}

static void free_log(struct test_db_message *rows, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(rows[i].body);
	free(rows);
}

/* Every copy of the conversation's messages that reached the member's
 * device is the stored message at that seq. */
static void assert_received_as_stored(struct member *m,
                                      const struct conversation *c,
                                      const struct test_db_message *rows,
                                      size_t count)
{
	struct test_match mine = {.kind = "msg", .convo = c->id};
	size_t entries = test_client_mark(m->client);

	for (size_t i = 0; i < entries; i++) {
		const struct test_inbox_entry *e =
		    test_client_entry(m->client, i);
		long long seq;

		if (!test_entry_matches(m->client, e, &mine))
			continue;
		seq = test_json_number(e->json, "seq");
		if (seq < 1 || (size_t)seq > count)
			fail_msg("%s received %s seq %lld; the store holds "
			         "1..%zu",
			         m->user, c->tag, seq, count);
		assert_string_equal(test_json_string(e->json, "id"),
		                    rows[seq - 1].id);
		assert_string_equal(test_json_string(e->json, "from"),
		                    rows[seq - 1].sender);
		assert_string_equal(test_json_string(e->json, "cmid"),
		                    rows[seq - 1].cmid);
		if (rows[seq - 1].type[0] == '\0')
			assert_string_equal(test_json_string(e->json, "body"),
			                    rows[seq - 1].body);
	}
}

static bool is_member(const struct crash_run *run, const struct member *m,
                      const struct conversation *c)
{
	return c->members & (1u << (m - run->members));
}

/* The reconnect recipe over everything the device received, then a
 * catch-up: each seq shown once, in order. */
static void assert_member_holds_each_once(struct crash_run *run,
                                          struct member *m,
                                          const size_t counts[CONVOS])
{
	struct recipe_client r;

	recipe_init(&r, m->client);
	assert_int_equal(recipe_process_live(&r), 0);
	assert_int_equal(recipe_catch_up(&r), 0);
	for (int i = 0; i < CONVOS; i++) {
		const struct conversation *c = &run->convos[i];
		size_t shown_count;
		const long *shown = recipe_shown(&r, c->id, &shown_count);

		if (!is_member(run, m, c))
			continue;
		assert_int_equal(shown_count, counts[i]);
		for (size_t k = 0; k < shown_count; k++)
			assert_int_equal(shown[k], (long)k + 1);
	}
	recipe_free(&r);
}

static void assert_nothing_lost_or_doubled(struct crash_run *run)
{
	struct test_db_message *logs[CONVOS];
	size_t counts[CONVOS], expected;

	for (int i = 0; i < OUTBOXES; i++)
		assert_stored_once(run, &run->senders[i]);
	for (int i = 0; i < CONVOS; i++) {
		expected = (size_t)run->convos[i].first_message - 1;
		for (int k = 0; k < OUTBOXES; k++) {
			if (run->senders[k].convo == &run->convos[i])
				expected += run->senders[k].outbox.count;
		}
		logs[i] = load_log(run, &run->convos[i], &counts[i]);
		assert_int_equal(counts[i], expected);
	}
	for (int m = 0; m < MEMBERS; m++) {
		for (int i = 0; i < CONVOS; i++) {
			if (is_member(run, &run->members[m], &run->convos[i]))
				assert_received_as_stored(&run->members[m],
				                          &run->convos[i],
				                          logs[i], counts[i]);
		}
		assert_member_holds_each_once(run, &run->members[m], counts);
	}
	for (int i = 0; i < CONVOS; i++)
		free_log(logs[i], counts[i]);
}

static unsigned choose_seed(void)
{
	const char *fixed = getenv("CHAT_FAULT_SEED");

	if (fixed && fixed[0])
		return (unsigned)strtoul(fixed, NULL, 10);
	return (unsigned)test_now_ms();
}

CHAT_TEST(crashes_at_random_moments_lose_nothing_and_show_nothing_early)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"resend_window_ms 1000"}};
	static struct crash_run run;
	long long started;
	long resends = 0;
	char early[256];

	memset(&run, 0, sizeof(run));
	run.seed = choose_seed();
	print_message("crash cycles with CHAT_FAULT_SEED=%u\n", run.seed);
	run.srv = chat_fixture_server(fx, &cfg);
	run.watch = test_commit_watch_new(run.srv);
	assert_non_null(run.watch);
	join(&run);
	open_conversations(&run);
	open_outboxes(&run);

	started = test_now_ms();
	for (int i = 0; i < FAULTS; i++) {
		stream_for(&run, random_ms(&run, UP_MIN_MS, UP_SPREAD_MS));
		if (i % 2 == 0)
			crash_bridge(&run);
		else
			crash_broker(&run);
	}
	stream_for(&run, UP_MIN_MS);
	assert_int_equal(chat_server_wait_ready(run.srv, RECOVERY_MS), 0);
	settle(&run);
	for (int i = 0; i < OUTBOXES; i++)
		resends += run.senders[i].outbox.resends;
	print_message("%d bridge and %d broker kills: %zu messages ticked in "
	              "%lld ms, %ld resends\n",
	              run.bridge_kills, run.broker_kills, ticked(&run),
	              test_now_ms() - started, resends);

	assert_nothing_lost_or_doubled(&run);
	print_message("%ld deliveries checked against the store on arrival\n",
	              test_commit_watch_checked(run.watch));
	assert_true(test_commit_watch_checked(run.watch) > 0);
	if (test_commit_watch_early(run.watch, early, sizeof(early)) != 0)
		fail_msg("%s", early);
	test_commit_watch_free(run.watch);
	for (int i = 0; i < OUTBOXES; i++)
		test_outbox_free(&run.senders[i].outbox);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        crashes_at_random_moments_lose_nothing_and_show_nothing_early),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
