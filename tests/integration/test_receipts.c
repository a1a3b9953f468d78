/*
 * Receipts: members say how far they have got; a sender learns to how many
 * of the members who can see its message it was delivered and by how many
 * it was read; cursors only move forward, and a member's other devices
 * learn where its cursors are.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <string.h>

#define WAIT     test_timeout_ms(5000)
#define QUIET_MS 1000

/* Waits for an event of the given type whose field `name` is `value`. */
static cJSON *wait_event(struct test_client *c, const char *type,
                         const char *name, long long value)
{
	struct test_match m = {.kind = "event", .type = type};
	cJSON *event = test_client_wait_number(c, &m, 0, name, value, WAIT);

	if (event == NULL)
		fail_msg("%s: no %s event with %s %lld", c->user, type, name,
		         value);
	return event;
}

/* Every event of that type: `name` never above max. */
static void assert_never_above(struct test_client *c, const char *type,
                               const char *name, long long max)
{
	struct test_match m = {.kind = "event", .type = type};
	size_t n = test_client_mark(c);

	for (size_t i = 0; i < n; i++) {
		const struct test_inbox_entry *e = test_client_entry(c, i);

		if (test_entry_matches(c, e, &m))
			assert_true(test_json_number(e->json, name) <= max);
	}
}

/* ---- the sender's view ---- */

#define OTHERS 10 /* members who can see the message, sender excluded */
#define ACKED  8  /* of them, acknowledging delivery */
#define READ   3  /* of those, also reading it */

CHAT_TEST(a_sender_learns_its_message_reached_8_and_was_read_by_3_of_10)
{
	struct test_account a[OTHERS + 2];
	struct test_client *c[OTHERS + 2];
	const char *others[OTHERS];
	const char *late[] = {NULL};
	char convo[TEST_ID_MAX];
	struct chat_server *srv = chat_fixture_server(fx, NULL);
	struct test_db_member row;
	const cJSON *entry, *by;
	cJSON *msg, *receipt;
	long seq;

	/* a[0] sends; a[1..10] can see the message; a[11] joins after it. */
	chat_fixture_accounts(srv, "r", a, OTHERS + 2);
	for (int i = 0; i < OTHERS + 2; i++)
		c[i] = chat_fixture_connect(srv, a[i].user, a[i].token);
	test_account_names(a + 1, OTHERS, others);
	chat_fixture_group(c[0], "receipts", others, OTHERS, false, convo);
	assert_int_equal(test_client_send(c[0], convo, "news", "read me", NULL),
	                 0);
	msg = test_client_wait_tick(c[0], convo, "news", WAIT);
	assert_non_null(msg);
	seq = (long)test_json_number(msg, "seq");
	for (int i = 1; i <= OTHERS; i++)
		assert_non_null(
		    test_client_wait_message(c[i], convo, seq, WAIT));
	/* Someone who joins later cannot see it and does not count. */
	late[0] = a[OTHERS + 1].user;
	assert_int_equal(test_group_add(c[0], convo, late, 1), seq + 1);

	for (int i = 1; i <= ACKED; i++)
		assert_int_equal(
		    test_client_ack(c[i], convo, seq, i <= READ ? seq : -1), 0);

	receipt = wait_event(c[0], "receipt", "delivered", ACKED);
	assert_string_equal(test_json_string(receipt, "convo"), convo);
	assert_int_equal(test_json_number(receipt, "seq"), seq);
	assert_int_equal(test_json_number(receipt, "of"), OTHERS);
	receipt = wait_event(c[0], "receipt", "read", READ);
	assert_int_equal(test_json_number(receipt, "of"), OTHERS);
	by = cJSON_GetObjectItem(receipt, "by");
	assert_true(cJSON_IsArray(by) && cJSON_GetArraySize(by) >= 1);
	test_client_quiet(c[0], 300);
	assert_never_above(c[0], "receipt", "delivered", ACKED);
	assert_never_above(c[0], "receipt", "read", READ);
	assert_never_above(c[0], "receipt", "of", OTHERS);

	entry = chat_fixture_member(c[0], convo, a[1].user);
	assert_int_equal(test_json_number(entry, "delivered"), seq);
	assert_int_equal(test_json_number(entry, "read"), seq);
	entry = chat_fixture_member(c[0], convo, a[OTHERS].user);
	assert_int_equal(test_json_number(entry, "delivered"), 0);
	assert_int_equal(test_db_member(srv, convo, a[ACKED].user, &row), 0);
	assert_int_equal(row.delivered, seq);
	assert_int_equal(row.read, 0);
}

/* ---- cursors ---- */

struct pair {
	struct chat_server *srv;
	char alice_token[TEST_TOKEN_MAX], bob_token[TEST_TOKEN_MAX];
	char laptop_token[TEST_TOKEN_MAX];
	struct test_client *alice, *bob, *laptop;
	char convo[TEST_ID_MAX];
};

/* alice and bob in a group, bob on two devices; alice has sent `count`
 * messages after the created message. */
static void pair_with_messages(struct chat_fixture *fx, struct pair *p,
                               int count)
{
	static const char *const bob_only[] = {"bob"};
	char cmid[16];

	p->srv = chat_fixture_server(fx, NULL);
	chat_fixture_user(p->srv, "alice", p->alice_token);
	chat_fixture_user(p->srv, "bob", p->bob_token);
	assert_int_equal(
	    chat_server_add_device(p->srv, "bob", p->laptop_token, NULL), 0);
	p->alice = chat_fixture_connect(p->srv, "alice", p->alice_token);
	p->bob = chat_fixture_connect(p->srv, "bob", p->bob_token);
	p->laptop = chat_fixture_connect(p->srv, "bob", p->laptop_token);
	chat_fixture_group(p->alice, "two", bob_only, 1, false, p->convo);
	for (int i = 1; i <= count; i++) {
		snprintf(cmid, sizeof(cmid), "m%d", i);
		assert_int_equal(
		    test_client_send(p->alice, p->convo, cmid, "hi", NULL), 0);
	}
	assert_true(
	    test_client_wait_seqs(p->bob, p->convo, 1, count + 1, WAIT));
}

/* Cursor events on the client never go back, in the order they came. */
static void assert_cursor_events_only_rise(struct test_client *c)
{
	struct test_match m = {.kind = "event", .type = "cursor"};
	long long delivered = 0, read = 0;
	size_t n = test_client_mark(c);

	for (size_t i = 0; i < n; i++) {
		const struct test_inbox_entry *e = test_client_entry(c, i);

		if (!test_entry_matches(c, e, &m))
			continue;
		assert_true(test_json_number(e->json, "delivered") >=
		            delivered);
		assert_true(test_json_number(e->json, "read") >= read);
		assert_true(test_json_number(e->json, "read") <=
		            test_json_number(e->json, "delivered"));
		delivered = test_json_number(e->json, "delivered");
		read = test_json_number(e->json, "read");
	}
}

static void assert_cursors(struct pair *p, long delivered, long read)
{
	const cJSON *entry = chat_fixture_member(p->alice, p->convo, "bob");
	struct test_db_member row;

	assert_int_equal(test_json_number(entry, "delivered"), delivered);
	assert_int_equal(test_json_number(entry, "read"), read);
	entry = chat_fixture_conversation(p->bob, p->convo);
	assert_int_equal(test_json_number(entry, "delivered"), delivered);
	assert_int_equal(test_json_number(entry, "read"), read);
	assert_int_equal(test_db_member(p->srv, p->convo, "bob", &row), 0);
	assert_int_equal(row.delivered, delivered);
	assert_int_equal(row.read, read);
}

CHAT_TEST(cursors_never_go_back_whatever_order_receipts_arrive_in)
{
	struct pair p;
	cJSON *cursor;

	pair_with_messages(fx, &p, 6); /* head 7 */

	/* Newer first, then older ones, all at once. */
	assert_int_equal(test_client_ack(p.bob, p.convo, 6, 4), 0);
	assert_int_equal(test_client_ack(p.bob, p.convo, 3, 2), 0);
	assert_int_equal(test_client_ack(p.bob, p.convo, 2, -1), 0);
	cursor = wait_event(p.laptop, "cursor", "delivered", 6);
	assert_string_equal(test_json_string(cursor, "convo"), p.convo);
	test_client_quiet(p.laptop, 300);
	assert_cursors(&p, 6, 4);

	/* Older again, after the newer one is stored; then read alone. */
	assert_int_equal(test_client_ack(p.bob, p.convo, 5, 1), 0);
	assert_int_equal(test_client_ack(p.bob, p.convo, -1, 5), 0);
	wait_event(p.laptop, "cursor", "read", 5);
	test_client_quiet(p.laptop, 300);
	assert_cursors(&p, 6, 5);

	/* read raises delivered; neither passes the head. */
	assert_int_equal(test_client_ack(p.bob, p.convo, -1, 7), 0);
	wait_event(p.laptop, "cursor", "delivered", 7);
	assert_cursors(&p, 7, 7);
	assert_int_equal(test_client_ack(p.bob, p.convo, 1000, 1000), 0);
	test_client_quiet(p.laptop, 500);
	assert_cursors(&p, 7, 7);

	assert_cursor_events_only_rise(p.laptop);
	assert_cursor_events_only_rise(p.bob);
	assert_never_above(p.laptop, "cursor", "delivered", 7);
}

CHAT_TEST(a_members_other_device_and_the_sender_hear_of_a_receipt)
{
	struct pair p;
	const cJSON *by;
	cJSON *cursor, *receipt;

	pair_with_messages(fx, &p, 2); /* head 3 */

	assert_int_equal(test_client_ack(p.bob, p.convo, 3, 3), 0);

	cursor = wait_event(p.laptop, "cursor", "read", 3);
	assert_string_equal(test_json_string(cursor, "convo"), p.convo);
	assert_int_equal(test_json_number(cursor, "delivered"), 3);
	assert_non_null(wait_event(p.bob, "cursor", "read", 3));
	receipt = wait_event(p.alice, "receipt", "read", 1);
	assert_string_equal(test_json_string(receipt, "convo"), p.convo);
	assert_int_equal(test_json_number(receipt, "seq"), 3);
	assert_int_equal(test_json_number(receipt, "delivered"), 1);
	assert_int_equal(test_json_number(receipt, "of"), 1);
	by = cJSON_GetObjectItem(receipt, "by");
	assert_int_equal(cJSON_GetArraySize(by), 1);
	assert_string_equal(cJSON_GetArrayItem(by, 0)->valuestring, "bob");
	/* The receipt is the sender's business, the cursor bob's. */
	test_client_quiet(p.alice, 300);
	assert_int_equal(
	    test_client_count(
	        p.laptop,
	        &(struct test_match){.kind = "event", .type = "receipt"}, 0),
	    0);
	assert_int_equal(
	    test_client_count(
	        p.alice,
	        &(struct test_match){.kind = "event", .type = "cursor"}, 0),
	    0);
}

CHAT_TEST(a_refused_receipt_gets_an_error_event_and_moves_nothing)
{
	static const char *const bad[] = {"{\"delivered\":-1}",
	                                  "{\"read\":\"3\"}", "{}", "[3]",
	                                  "{\"delivered\":1.5}"};
	char carol_token[TEST_TOKEN_MAX], topic[128];
	struct test_match refused = {.kind = "event", .code = "bad_receipt"};
	struct test_client *carol;
	struct pair p;
	cJSON *error;

	pair_with_messages(fx, &p, 1);
	snprintf(topic, sizeof(topic), "chat/ack/%s", p.convo);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(test_client_publish(p.bob, topic, bad[i],
		                                     (int)strlen(bad[i]), 1,
		                                     false, NULL),
		                 0);
	error = test_client_wait(p.bob, &refused, 0, WAIT);
	assert_non_null(error);
	assert_string_equal(test_json_string(error, "convo"), p.convo);
	assert_null(cJSON_GetObjectItem(error, "cmid"));

	chat_fixture_user(p.srv, "carol", carol_token);
	carol = chat_fixture_connect(p.srv, "carol", carol_token);
	assert_int_equal(test_client_ack(carol, p.convo, 2, 2), 0);
	error = test_client_wait(
	    carol, &(struct test_match){.kind = "event", .code = "not_member"},
	    0, WAIT);
	assert_non_null(error);

	test_client_quiet(p.bob, 300);
	assert_int_equal(test_client_count(p.bob, &refused, 0),
	                 (int)(sizeof(bad) / sizeof(bad[0])));
	assert_int_equal(
	    test_client_count(
	        p.alice,
	        &(struct test_match){.kind = "event", .type = "receipt"}, 0),
	    0);
	assert_cursors(&p, 0, 0);
}

CHAT_TEST(a_member_removed_after_a_message_still_counts_in_its_of)
{
	struct test_account a[4];
	struct test_client *c[4];
	const char *others[3];
	char convo[TEST_ID_MAX];
	struct chat_server *srv = chat_fixture_server(fx, NULL);
	cJSON *msg, *receipt;
	long seq;

	/* a[0] sends to a[1..3]; a[3] is removed afterwards but could see
	 * the message, so it is still one of those it could reach. */
	chat_fixture_accounts(srv, "x", a, 4);
	for (int i = 0; i < 4; i++)
		c[i] = chat_fixture_connect(srv, a[i].user, a[i].token);
	test_account_names(a + 1, 3, others);
	chat_fixture_group(c[0], "shrinking", others, 3, false, convo);
	assert_int_equal(test_client_send(c[0], convo, "m", "hello", NULL), 0);
	msg = test_client_wait_tick(c[0], convo, "m", WAIT);
	assert_non_null(msg);
	seq = (long)test_json_number(msg, "seq");
	assert_non_null(test_client_wait_message(c[3], convo, seq, WAIT));
	assert_int_equal(test_group_remove(c[0], convo, others + 2, 1),
	                 seq + 1);

	assert_int_equal(test_client_ack(c[1], convo, seq, -1), 0);
	receipt = wait_event(c[0], "receipt", "delivered", 1);
	assert_int_equal(test_json_number(receipt, "seq"), seq);
	assert_int_equal(test_json_number(receipt, "of"), 3);
}

#define SENDERS_EACH 40

CHAT_TEST(one_receipt_over_many_messages_is_one_event_per_sender)
{
	struct test_match receipts = {.kind = "event", .type = "receipt"};
	struct test_account a[3];
	struct test_client *c[3];
	const char *others[2];
	char convo[TEST_ID_MAX], cmid[16];
	struct chat_server *srv = chat_fixture_server(fx, NULL);
	long head = 1 + 2 * SENDERS_EACH;
	cJSON *receipt;

	/* a[0] and a[1] write, a[2] reads everything at once. */
	chat_fixture_accounts(srv, "w", a, 3);
	for (int i = 0; i < 3; i++)
		c[i] = chat_fixture_connect(srv, a[i].user, a[i].token);
	test_account_names(a + 1, 2, others);
	chat_fixture_group(c[0], "busy", others, 2, false, convo);
	for (int k = 0; k < SENDERS_EACH; k++) {
		for (int i = 0; i < 2; i++) {
			snprintf(cmid, sizeof(cmid), "s%d-%d", i, k);
			assert_int_equal(
			    test_client_send(c[i], convo, cmid, "x", NULL), 0);
		}
	}
	assert_true(test_client_wait_seqs(c[2], convo, 1, head, 4 * WAIT));

	assert_int_equal(test_client_ack(c[2], convo, head, head), 0);

	/* Each sender hears of its own newest message, once. */
	for (int i = 0; i < 2; i++) {
		snprintf(cmid, sizeof(cmid), "s%d-%d", i, SENDERS_EACH - 1);
		receipt = wait_event(c[i], "receipt", "read", 1);
		assert_int_equal(test_json_number(receipt, "delivered"), 1);
		assert_int_equal(test_json_number(receipt, "of"), 2);
		assert_int_equal(
		    test_json_number(receipt, "seq"),
		    test_json_number(
		        test_client_wait_tick(c[i], convo, cmid, WAIT), "seq"));
	}
	test_client_quiet(c[0], 300);
	assert_int_equal(test_client_count(c[0], &receipts, 0), 1);
	assert_int_equal(test_client_count(c[1], &receipts, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_sender_learns_its_message_reached_8_and_was_read_by_3_of_10),
	    CHAT_TEST_ENTRY(
	        cursors_never_go_back_whatever_order_receipts_arrive_in),
	    CHAT_TEST_ENTRY(
	        a_members_other_device_and_the_sender_hear_of_a_receipt),
	    CHAT_TEST_ENTRY(
	        a_refused_receipt_gets_an_error_event_and_moves_nothing),
	    CHAT_TEST_ENTRY(
	        a_member_removed_after_a_message_still_counts_in_its_of),
	    CHAT_TEST_ENTRY(
	        one_receipt_over_many_messages_is_one_event_per_sender),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
