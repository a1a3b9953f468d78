/*
 * Sending messages: every member receives them in seq order, the sender
 * gets its tick, the log holds each message once however often it is sent.
 */
#include "../harness/fixture.h"

#include "db.h"
#include "idgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT test_timeout_ms(5000)
/* How long "nothing more arrives" is watched for. */
#define QUIET_MS 1000

static void assert_stored(struct chat_server *srv, const char *convo, long seq,
                          const char *sender, const char *cmid,
                          const char *body)
{
	struct test_db_message row;

	assert_int_equal(test_db_message(srv, convo, seq, &row), 0);
	assert_string_equal(row.sender, sender);
	assert_string_equal(row.cmid, cmid);
	assert_string_equal(row.body, body);
	free(row.body);
}

static void assert_message(const cJSON *msg, const char *convo, long seq,
                           const char *from, const char *cmid, const char *body)
{
	assert_non_null(msg);
	assert_string_equal(test_json_string(msg, "convo"), convo);
	assert_int_equal(test_json_number(msg, "seq"), seq);
	assert_string_equal(test_json_string(msg, "from"), from);
	assert_string_equal(test_json_string(msg, "cmid"), cmid);
	assert_string_equal(test_json_string(msg, "body"), body);
}

CHAT_TEST(online_members_get_messages_in_seq_order_and_the_sender_a_tick)
{
	static const char *const cmids[] = {"m-1", "m-2", "m-3"};
	static const char *const bodies[] = {"one", "two", "three"};
	struct chat_scene s;
	long long before, after;
	long order[8];

	chat_fixture_scene(fx, NULL, &s);

	before = chat_now_ms();
	for (int i = 0; i < 3; i++)
		assert_int_equal(test_client_send(s.alice, s.convo, cmids[i],
		                                  bodies[i], NULL),
		                 0);

	for (int i = 0; i < 3; i++) {
		cJSON *msg =
		    test_client_wait_message(s.bob, s.convo, i + 1, WAIT);
		cJSON *tick =
		    test_client_wait_tick(s.alice, s.convo, cmids[i], WAIT);

		assert_message(msg, s.convo, i + 1, "alice", cmids[i],
		               bodies[i]);
		assert_message(tick, s.convo, i + 1, "alice", cmids[i],
		               bodies[i]);
		/* Stamped by the server: a decimal string id and a time. */
		assert_true(strlen(test_json_string(msg, "id")) > 0);
		assert_true(strspn(test_json_string(msg, "id"), "0123456789") ==
		            strlen(test_json_string(msg, "id")));
		after = chat_now_ms();
		assert_in_range(test_json_number(msg, "ts"), before, after);
		/* The id's time part is the same wall-clock time. */
		assert_in_range(chat_idgen_time_ms(strtoull(
		                    test_json_string(msg, "id"), NULL, 10)),
		                before, after);
	}
	assert_int_equal(test_client_quiet(s.bob, 300), 0);
	assert_int_equal(test_client_seqs(s.bob, s.convo, order, 8), 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 3);
	for (int i = 0; i < 3; i++)
		assert_stored(s.srv, s.convo, i + 1, "alice", cmids[i],
		              bodies[i]);
}

/* Bob's deliveries of the conversation after the wait: only seq 1. */
static void assert_bob_saw_only_seq_1(struct chat_scene *s)
{
	long seqs[8];
	size_t n;

	test_client_quiet(s->bob, QUIET_MS);
	n = test_client_seqs(s->bob, s->convo, seqs, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		assert_int_equal(seqs[i], 1);
}

static void send_next_and_expect_seq_2(struct chat_scene *s)
{
	cJSON *msg;

	assert_int_equal(test_client_send(s->alice, s->convo, "next",
	                                  "after the copies", NULL),
	                 0);
	msg = test_client_wait_message(s->bob, s->convo, 2, WAIT);
	assert_message(msg, s->convo, 2, "alice", "next", "after the copies");
	assert_int_equal(test_db_count_messages(s->srv, s->convo), 2);
}

CHAT_TEST(a_cmid_resent_as_a_new_publish_and_as_a_qos_retransmit_is_stored_once)
{
	const char *payload = "{\"cmid\":\"dup-1\",\"body\":\"only once\"}";
	struct test_match ticks = {.kind = "msg", .cmid = "dup-1"};
	struct raw_mqtt raw;
	char topic[128];
	struct chat_scene s;
	size_t mark;

	chat_fixture_scene(fx, NULL, &s);
	snprintf(topic, sizeof(topic), "chat/send/%s", s.convo);
	assert_int_equal(raw_mqtt_connect(&raw, s.srv->port, "alice-raw",
	                                  "alice", s.alice_token,
	                                  strlen(s.alice_token), true, WAIT),
	                 0);

	/* A genuine retransmit: same packet id, DUP set, before the PUBACK
	 * of the first copy was read. */
	assert_int_equal(raw_mqtt_publish(&raw, topic, payload, strlen(payload),
	                                  1, 42, false),
	                 0);
	assert_int_equal(raw_mqtt_publish(&raw, topic, payload, strlen(payload),
	                                  1, 42, true),
	                 0);
	assert_int_equal(raw_mqtt_wait_puback(&raw, 42, WAIT), 0);
	assert_message(test_client_wait_message(s.bob, s.convo, 1, WAIT),
	               s.convo, 1, "alice", "dup-1", "only once");
	assert_non_null(test_client_wait_tick(s.alice, s.convo, "dup-1", WAIT));

	/* The same cmid again as a brand-new publish: the stored copy comes
	 * back to alice as a fresh tick. */
	mark = test_client_mark(s.alice);
	assert_int_equal(
	    test_client_send(s.alice, s.convo, "dup-1", "only once", NULL), 0);
	assert_message(test_client_wait(s.alice, &ticks, mark, WAIT), s.convo,
	               1, "alice", "dup-1", "only once");
	raw_mqtt_disconnect(&raw);

	assert_bob_saw_only_seq_1(&s);
	assert_int_equal(test_client_count(s.bob, &ticks, 0), 1);
	assert_int_equal(test_db_count_cmid(s.srv, s.convo, "alice", "dup-1"),
	                 1);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 1);
	send_next_and_expect_seq_2(&s);
}

CHAT_TEST(a_retransmit_after_the_connection_dropped_is_stored_once)
{
	const char *payload = "{\"cmid\":\"lost-ack\",\"body\":\"again\"}";
	struct test_match copies = {.kind = "msg", .cmid = "lost-ack"};
	struct raw_mqtt raw;
	char topic[128];
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	snprintf(topic, sizeof(topic), "chat/send/%s", s.convo);
	assert_int_equal(raw_mqtt_connect(&raw, s.srv->port, "alice-phone",
	                                  "alice", s.alice_token,
	                                  strlen(s.alice_token), false, WAIT),
	                 0);

	/* The network fails before the PUBACK is read ... */
	assert_int_equal(raw_mqtt_publish(&raw, topic, payload, strlen(payload),
	                                  1, 7, false),
	                 0);
	raw_mqtt_drop(&raw);

	/* ... so the phone resumes its session and retransmits. */
	assert_int_equal(raw_mqtt_connect(&raw, s.srv->port, "alice-phone",
	                                  "alice", s.alice_token,
	                                  strlen(s.alice_token), false, WAIT),
	                 0);
	assert_int_equal(
	    raw_mqtt_publish(&raw, topic, payload, strlen(payload), 1, 7, true),
	    0);
	assert_int_equal(raw_mqtt_wait_puback(&raw, 7, WAIT), 0);
	raw_mqtt_disconnect(&raw);

	assert_message(test_client_wait_message(s.bob, s.convo, 1, WAIT),
	               s.convo, 1, "alice", "lost-ack", "again");
	assert_bob_saw_only_seq_1(&s);
	assert_int_equal(test_client_count(s.bob, &copies, 0), 1);
	assert_int_equal(
	    test_db_count_cmid(s.srv, s.convo, "alice", "lost-ack"), 1);
	send_next_and_expect_seq_2(&s);
}

CHAT_TEST(an_mqtt5_send_is_acknowledged_below_0x80_and_ticked)
{
	struct test_client_options o = {0};
	struct test_client *phone = NULL;
	struct chat_scene s;
	int mid = 0, reason;

	chat_fixture_scene(fx, NULL, &s);
	o.user = "alice";
	o.password = s.alice_token;
	o.mqtt_version = 5;
	o.subscribe_inbox = true;
	assert_int_equal(test_client_connect(s.srv, &o, &phone), 0);

	assert_int_equal(
	    test_client_send(phone, s.convo, "v5-1", "from v5", &mid), 0);
	reason = test_client_wait_puback(phone, mid, WAIT);

	assert_true(reason >= 0 && reason < 0x80);
	assert_message(test_client_wait_tick(phone, s.convo, "v5-1", WAIT),
	               s.convo, 1, "alice", "v5-1", "from v5");
	assert_message(test_client_wait_message(s.bob, s.convo, 1, WAIT),
	               s.convo, 1, "alice", "v5-1", "from v5");
}

/* The plugin answers a 3.1.1 client's QoS 0 send with a denial to spare
 * mosquitto the routing (ARCHITECTURE.md); QoS 2 takes the broker's full
 * path. Both must still be stamped, stored once and delivered once. */
CHAT_TEST(sends_at_qos_0_and_qos_2_are_stored_and_delivered_once)
{
	char topic[128];
	const char *q0 = "{\"cmid\":\"q0\",\"body\":\"at most once\"}";
	const char *q2 = "{\"cmid\":\"q2\",\"body\":\"exactly once\"}";
	struct chat_scene s;
	long seqs[8];
	int mid = 0;

	chat_fixture_scene(fx, NULL, &s);
	snprintf(topic, sizeof(topic), TEST_PREFIX "/send/%s", s.convo);
	assert_int_equal(test_client_publish(s.alice, topic, q0,
	                                     (int)strlen(q0), 0, false, NULL),
	                 0);
	assert_int_equal(test_client_publish(s.alice, topic, q2,
	                                     (int)strlen(q2), 2, false, &mid),
	                 0);

	assert_true(test_client_wait_puback(s.alice, mid, WAIT) >= 0);
	assert_message(test_client_wait_message(s.bob, s.convo, 1, WAIT),
	               s.convo, 1, "alice", "q0", "at most once");
	assert_message(test_client_wait_message(s.bob, s.convo, 2, WAIT),
	               s.convo, 2, "alice", "q2", "exactly once");
	assert_message(test_client_wait_tick(s.alice, s.convo, "q0", WAIT),
	               s.convo, 1, "alice", "q0", "at most once");
	assert_message(test_client_wait_tick(s.alice, s.convo, "q2", WAIT),
	               s.convo, 2, "alice", "q2", "exactly once");
	test_client_quiet(s.bob, QUIET_MS);
	assert_int_equal(test_client_seqs(s.bob, s.convo, seqs, 8), 2);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 2);
	assert_stored(s.srv, s.convo, 1, "alice", "q0", "at most once");
	assert_stored(s.srv, s.convo, 2, "alice", "q2", "exactly once");
}

CHAT_TEST(every_device_of_every_member_receives_the_message)
{
	char second_token[TEST_TOKEN_MAX];
	struct test_client *laptop;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(
	    chat_server_add_device(s.srv, "alice", second_token, NULL), 0);
	laptop = chat_fixture_connect(s.srv, "alice", second_token);

	assert_int_equal(
	    test_client_send(s.bob, s.convo, "b-1", "to both", NULL), 0);

	assert_message(test_client_wait_message(s.alice, s.convo, 1, WAIT),
	               s.convo, 1, "bob", "b-1", "to both");
	assert_message(test_client_wait_message(laptop, s.convo, 1, WAIT),
	               s.convo, 1, "bob", "b-1", "to both");
	assert_message(test_client_wait_tick(s.bob, s.convo, "b-1", WAIT),
	               s.convo, 1, "bob", "b-1", "to both");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        online_members_get_messages_in_seq_order_and_the_sender_a_tick),
	    CHAT_TEST_ENTRY(
	        a_cmid_resent_as_a_new_publish_and_as_a_qos_retransmit_is_stored_once),
	    CHAT_TEST_ENTRY(
	        a_retransmit_after_the_connection_dropped_is_stored_once),
	    CHAT_TEST_ENTRY(
	        an_mqtt5_send_is_acknowledged_below_0x80_and_ticked),
	    CHAT_TEST_ENTRY(sends_at_qos_0_and_qos_2_are_stored_and_delivered_once),
	    CHAT_TEST_ENTRY(every_device_of_every_member_receives_the_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
