/*
 * The broker's queue for an offline device is small and drops the rest
 * silently; the log is the inbox. A member whose durable session is away
 * while far more arrives than the queue holds gets every message once and
 * in order by following the reconnect recipe, also while new messages keep
 * arriving during the catch-up.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT test_timeout_ms(5000)
/* The broker keeps this many messages for the offline session. */
#define QUEUE_LINE "max_queued_messages 10"
/* Sent while the member is away, per sender and conversation, and again
 * while it catches up. */
#define AWAY_BATCH   40
#define LIVE_BATCH   15
#define PACE_MS      20
#define RESEND_MS    3000
#define SETTLE_MS    test_timeout_ms(30000)
#define QUIET_MS     500
#define CONVOS       3
#define SENDERS      2
#define OUTBOX_ROOM  (AWAY_BATCH + LIVE_BATCH)
#define BODY_MAX     96
#define SENDER_LANES (SENDERS * CONVOS)

struct queue_scene {
	struct chat_server *srv;
	char ann_token[TEST_TOKEN_MAX], ben_token[TEST_TOKEN_MAX];
	char cat_token[TEST_TOKEN_MAX];
	struct test_client *ann, *cat;
	/* ann-ben, cat-ben and the group of all three */
	char convos[CONVOS][TEST_ID_MAX];
	long heads[CONVOS];
	/* lane = sender * CONVOS + convo; the direct conversation of the
	 * other sender is not theirs and stays empty */
	struct test_outbox outboxes[SENDER_LANES];
	bool lane_open[SENDER_LANES];
};

static struct test_client *connect_ben(struct queue_scene *q,
                                       struct test_client_options *o)
{
	struct test_client *phone = NULL;

	o->user = "ben";
	o->password = q->ben_token;
	o->client_id = "ben-phone";
	o->durable = true;
	o->subscribe_inbox = true;
	assert_int_equal(test_client_connect(q->srv, o, &phone), 0);
	return phone;
}

static void set_up(struct chat_fixture *fx, struct queue_scene *q)
{
	static const struct chat_server_config cfg = {
	    .broker_lines = {QUEUE_LINE}};
	const char *const members[] = {"ben", "cat"};

	memset(q, 0, sizeof(*q));
	q->srv = chat_fixture_server(fx, &cfg);
	chat_fixture_user(q->srv, "ann", q->ann_token);
	chat_fixture_user(q->srv, "ben", q->ben_token);
	chat_fixture_user(q->srv, "cat", q->cat_token);
	chat_fixture_direct(q->srv, "ann", "ben", q->convos[0]);
	chat_fixture_direct(q->srv, "cat", "ben", q->convos[1]);
	q->ann = chat_fixture_connect(q->srv, "ann", q->ann_token);
	q->cat = chat_fixture_connect(q->srv, "cat", q->cat_token);
	chat_fixture_group(q->ann, "trio", members, 2, false, q->convos[2]);
	q->heads[2] = 1; /* the group's "created" message */
	for (int lane = 0; lane < SENDER_LANES; lane++) {
		int sender = lane / CONVOS, convo = lane % CONVOS;

		/* ann is not in cat's direct conversation, nor cat in ann's */
		q->lane_open[lane] = convo == 2 || convo == sender;
		if (!q->lane_open[lane])
			continue;
		assert_int_equal(test_outbox_init(&q->outboxes[lane],
		                                  sender == 0 ? q->ann : q->cat,
		                                  q->convos[convo], OUTBOX_ROOM,
		                                  RESEND_MS),
		                 0);
	}
}

/* One message on every lane, then a short pause: a steady conversation
 * rather than a burst, so that only the offline session overflows (see
 * the closing note). */
static void send_round(struct queue_scene *q, int n)
{
	char cmid[TEST_CMID_MAX], body[BODY_MAX];

	for (int lane = 0; lane < SENDER_LANES; lane++) {
		if (!q->lane_open[lane])
			continue;
		snprintf(cmid, sizeof(cmid), "lane%d-%03d", lane, n);
		snprintf(body, sizeof(body), "lane %d message %d", lane, n);
		assert_int_equal(
		    test_outbox_send(&q->outboxes[lane], cmid, body), 0);
		q->heads[lane % CONVOS]++;
	}
	for (int lane = 0; lane < SENDER_LANES; lane++) {
		if (q->lane_open[lane])
			test_outbox_pump(&q->outboxes[lane]);
	}
	test_sleep_ms(PACE_MS);
}

static void settle(struct queue_scene *q)
{
	long long deadline = test_now_ms() + SETTLE_MS;

	for (int lane = 0; lane < SENDER_LANES; lane++) {
		if (!q->lane_open[lane])
			continue;
		assert_int_equal(
		    test_outbox_settle(&q->outboxes[lane],
		                       (int)(deadline - test_now_ms())),
		    0);
	}
}

static void wait_until_quiet(struct test_client *c)
{
	long long deadline = test_now_ms() + WAIT;

	while (test_client_quiet(c, QUIET_MS) > 0)
		assert_true(test_now_ms() < deadline);
}

/* Each seq 1..head shown once, in order, with the stored body. */
static void assert_shown_once_in_order(struct queue_scene *q,
                                       struct recipe_client *r, int convo)
{
	size_t count;
	const long *shown = recipe_shown(r, q->convos[convo], &count);
	struct test_db_message stored;

	assert_int_equal(count, q->heads[convo]);
	assert_int_equal(recipe_contiguous(r, q->convos[convo]),
	                 q->heads[convo]);
	for (size_t k = 0; k < count; k++) {
		assert_int_equal(shown[k], (long)k + 1);
		assert_int_equal(test_db_message(q->srv, q->convos[convo],
		                                 shown[k], &stored),
		                 0);
		if (stored.type[0] == '\0')
			assert_string_equal(
			    recipe_body(r, q->convos[convo], shown[k]),
			    stored.body);
		free(stored.body);
	}
}

CHAT_TEST(an_overflowing_offline_queue_is_recovered_once_and_in_order)
{
	struct test_match any_message = {.kind = "msg"};
	struct test_client_options o = {0};
	struct test_client *phone;
	struct queue_scene q;
	struct recipe_client r;
	int queued, away;

	set_up(fx, &q);
	phone = connect_ben(&q, &o);
	test_client_drop(phone);

	for (int n = 0; n < AWAY_BATCH; n++)
		send_round(&q, n);
	settle(&q);

	/* Back on the same session: the broker replays what it kept. */
	phone = connect_ben(&q, &o);
	assert_true(test_client_session_present(phone));
	recipe_init(&r, phone);
	wait_until_quiet(phone);
	queued = test_client_count(phone, &any_message, 0);
	away = (int)(q.heads[0] + q.heads[1] + q.heads[2] - 1);
	print_message("the broker kept %d of the %d messages sent to the "
	              "offline session\n",
	              queued, away);
	assert_true(queued >= 1 && queued < away);

	/* The recipe, while the others keep writing. */
	assert_int_equal(recipe_process_live(&r), 0);
	assert_int_equal(recipe_catch_up(&r), 0);
	for (int n = AWAY_BATCH; n < AWAY_BATCH + LIVE_BATCH; n++) {
		send_round(&q, n);
		assert_int_equal(recipe_process_live(&r), 0);
	}
	settle(&q);
	wait_until_quiet(phone);
	assert_int_equal(recipe_process_live(&r), 0);
	assert_int_equal(recipe_catch_up(&r), 0);

	for (int c = 0; c < CONVOS; c++)
		assert_shown_once_in_order(&q, &r, c);
	print_message("%d syncs, %d live copies ignored as already held\n",
	              r.syncs, r.ignored);
	assert_true(r.syncs > 0);
	recipe_free(&r);
	for (int lane = 0; lane < SENDER_LANES; lane++)
		if (q.lane_open[lane])
			test_outbox_free(&q.outboxes[lane]);
}

/*
 * Note: the broker's limit (max_inflight_messages unacknowledged plus
 * max_queued_messages queued) applies to online devices too. A device
 * that falls that far behind, here after a burst of about thirty, loses
 * what is sent to it next: messages, whose gap the recipe repairs at the
 * next message, but also answers to its requests (a sync that never
 * returns) and a burst's last messages (noticed only at the next message
 * or reconnect). The hand-offs to the bridge's own client id are limited
 * the same way. Hence the steady pace above.
 */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        an_overflowing_offline_queue_is_recovered_once_and_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
