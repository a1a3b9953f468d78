/*
 * Who may do what: only members send to and read a conversation, nobody
 * reads another user's inbox or the server's internal topics, nobody
 * publishes into them, and a client id belongs to the user who holds it.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <string.h>

#define WAIT     test_timeout_ms(5000)
#define QUIET_MS 1000

static void assert_refused_as_not_member(const cJSON *resp)
{
	const cJSON *messages = cJSON_GetObjectItem(resp, "messages");

	assert_non_null(resp);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")));
	assert_string_equal(
	    test_json_string(cJSON_GetObjectItem(resp, "error"), "code"),
	    "not_member");
	assert_true(messages == NULL || cJSON_GetArraySize(messages) == 0);
}

CHAT_TEST(a_non_member_cannot_send_to_a_conversation)
{
	struct test_match anything = {.kind = NULL};
	char carol_token[TEST_TOKEN_MAX];
	struct test_client *carol;
	struct chat_scene s;
	cJSON *error;

	chat_fixture_scene(fx, NULL, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	carol = chat_fixture_connect(s.srv, "carol", carol_token);

	assert_int_equal(
	    test_client_send(carol, s.convo, "intrude-1", "let me in", NULL),
	    0);

	error = test_client_wait_error(carol, "intrude-1", WAIT);
	assert_non_null(error);
	assert_string_equal(test_json_string(error, "type"), "error");
	assert_string_equal(test_json_string(error, "code"), "not_member");
	assert_int_equal(test_client_quiet(s.bob, QUIET_MS), 0);
	assert_int_equal(test_client_count(s.bob, &anything, 0), 0);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 0);
}

CHAT_TEST(an_error_event_reaches_every_device_of_the_sender)
{
	char carol_token[TEST_TOKEN_MAX], tablet_token[TEST_TOKEN_MAX];
	struct test_client *carol, *tablet;
	struct chat_scene s;
	cJSON *error;

	chat_fixture_scene(fx, NULL, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	assert_int_equal(
	    chat_server_add_device(s.srv, "carol", tablet_token, NULL), 0);
	carol = chat_fixture_connect(s.srv, "carol", carol_token);
	tablet = chat_fixture_connect(s.srv, "carol", tablet_token);

	assert_int_equal(
	    test_client_send(carol, s.convo, "intrude-2", "hello?", NULL), 0);

	error = test_client_wait_error(tablet, "intrude-2", WAIT);
	assert_non_null(error);
	assert_string_equal(test_json_string(error, "code"), "not_member");
	assert_non_null(test_client_wait_error(carol, "intrude-2", WAIT));
}

CHAT_TEST(a_non_member_can_neither_sync_nor_read_history)
{
	char carol_token[TEST_TOKEN_MAX];
	struct test_client *carol;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	carol = chat_fixture_connect(s.srv, "carol", carol_token);
	assert_int_equal(
	    test_client_send(s.alice, s.convo, "secret", "for bob", NULL), 0);
	assert_non_null(
	    test_client_wait_tick(s.alice, s.convo, "secret", WAIT));

	assert_refused_as_not_member(test_client_request(
	    carol, WAIT, "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":0}",
	    s.convo));
	assert_refused_as_not_member(test_client_request(
	    carol, WAIT, "{\"op\":\"history\",\"convo\":\"%s\"}", s.convo));
}

/* alice talks to carol, asks for her conversations, gets an error, and
 * writes to bob once; bob must see that one message and nothing else. */
static void alice_keeps_busy(struct chat_scene *s, struct test_client *carol,
                             const char *carol_convo)
{
	assert_int_equal(test_client_send(s->alice, carol_convo, "ac-1",
	                                  "private to carol", NULL),
	                 0);
	assert_int_equal(test_client_send(carol, carol_convo, "ca-1",
	                                  "private to alice", NULL),
	                 0);
	assert_non_null(
	    test_client_request(s->alice, WAIT, "{\"op\":\"conversations\"}"));
	assert_int_equal(
	    test_client_send(s->alice, "no-such-convo", "e-1", "nowhere", NULL),
	    0);
	assert_non_null(test_client_wait_error(s->alice, "e-1", WAIT));
	assert_non_null(
	    test_client_wait_tick(s->alice, carol_convo, "ac-1", WAIT));
	assert_non_null(
	    test_client_wait_message(s->alice, carol_convo, 2, WAIT));
	assert_int_equal(
	    test_client_send(s->alice, s->convo, "ab-1", "hello bob", NULL), 0);
}

static void assert_only_bobs_inbox(struct test_client *bob,
                                   const char *carol_convo)
{
	size_t n = test_client_mark(bob);

	for (size_t i = 0; i < n; i++) {
		const struct test_inbox_entry *e = test_client_entry(bob, i);

		assert_true(strncmp(e->topic, "chat/u/bob/", 11) == 0);
		assert_null(strstr(e->payload, carol_convo));
		assert_null(strstr(e->payload, "private"));
	}
}

CHAT_TEST(subscriptions_outside_the_own_inbox_are_refused_and_nothing_leaks)
{
	static const char *const refused[] = {"chat/u/alice/#",
	                                      "chat/u/+/#",
	                                      "#",
	                                      "$SYS/#",
	                                      "$chat/#",
	                                      "$share/g/chat/u/alice/#",
	                                      "chat/send/#",
	                                      "chat/#",
	                                      "chat/u/alice/msg",
	                                      "+/u/alice/msg",
	                                      "$chat/bridge/in/messages",
	                                      "$share/g/chat/u/bob/#",
	                                      NULL};
	char carol_token[TEST_TOKEN_MAX], carol_convo[TEST_ID_MAX];
	struct test_client *carol;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	chat_fixture_direct(s.srv, "alice", "carol", carol_convo);
	carol = chat_fixture_connect(s.srv, "carol", carol_token);

	for (int i = 0; refused[i]; i++) {
		print_message("subscribing bob to %s\n", refused[i]);
		assert_int_equal(test_client_subscribe(s.bob, refused[i], 1),
		                 0x80);
	}
	assert_int_equal(test_client_subscribe(s.bob, "chat/u/bob/#", 1), 1);
	alice_keeps_busy(&s, carol, carol_convo);

	assert_non_null(test_client_wait_tick(s.alice, s.convo, "ab-1", WAIT));
	assert_non_null(test_client_wait_message(s.bob, s.convo, 1, WAIT));
	test_client_quiet(s.bob, QUIET_MS);
	assert_only_bobs_inbox(s.bob, carol_convo);
}

CHAT_TEST(publishing_into_another_inbox_or_an_internal_topic_reaches_nobody)
{
	struct test_client_options o = {0};
	struct test_client *v5 = NULL;
	char forged[512], committed[600];
	struct chat_scene s;
	int mid = 0;

	chat_fixture_scene(fx, NULL, &s);
	snprintf(forged, sizeof(forged),
	         "{\"convo\":\"%s\",\"seq\":1,\"id\":\"1\",\"from\":\"carol\","
	         "\"ts\":1,\"cmid\":\"forged\",\"body\":\"forged\"}",
	         s.convo);
	snprintf(committed, sizeof(committed), "[{\"msg\":%s}]", forged);
	assert_int_equal(test_client_publish(s.alice, "chat/u/bob/msg", forged,
	                                     (int)strlen(forged), 1, false,
	                                     NULL),
	                 0);
	assert_int_equal(
	    test_client_publish(s.alice, "$chat/bridge/out/committed",
	                        committed, (int)strlen(committed), 1, false,
	                        NULL),
	    0);

	/* PROTOCOL.md: such publishes are refused by the broker's access
	 * check, which MQTT 5 clients see as reason code 0x87. */
	o.user = "alice";
	o.password = s.alice_token;
	o.client_id = "alice-v5";
	o.mqtt_version = 5;
	assert_int_equal(test_client_connect(s.srv, &o, &v5), 0);
	assert_int_equal(test_client_publish(v5, "chat/u/bob/msg", forged,
	                                     (int)strlen(forged), 1, false,
	                                     &mid),
	                 0);
	assert_int_equal(test_client_wait_puback(v5, mid, WAIT), 0x87);
	assert_int_equal(
	    test_client_publish(v5, "$chat/bridge/out/committed", committed,
	                        (int)strlen(committed), 1, false, &mid),
	    0);
	assert_int_equal(test_client_wait_puback(v5, mid, WAIT), 0x87);

	assert_int_equal(test_client_quiet(s.bob, QUIET_MS), 0);
	assert_int_equal(test_client_mark(s.bob), 0);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 0);
}

CHAT_TEST(a_client_id_held_by_alice_is_refused_to_bob_and_alice_stays_on)
{
	struct test_client_options o = {0};
	struct test_client *phone = NULL, *intruder = NULL;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	o.user = "alice";
	o.password = s.alice_token;
	o.client_id = "shared-phone";
	o.subscribe_inbox = true;
	assert_int_equal(test_client_connect(s.srv, &o, &phone), 0);

	o.user = "bob";
	o.password = s.bob_token;
	assert_true(test_client_connect(s.srv, &o, &intruder) > 0);
	assert_null(intruder);

	/* alice's session was not taken over: she still sends and
	 * receives on it. */
	assert_int_equal(test_client_quiet(phone, 300), 0);
	assert_true(test_client_connected(phone));
	assert_int_equal(test_client_disconnects(phone), 0);
	assert_int_equal(
	    test_client_send(phone, s.convo, "still-1", "still here", NULL), 0);
	assert_non_null(test_client_wait_tick(phone, s.convo, "still-1", WAIT));
	assert_int_equal(
	    test_client_send(s.bob, s.convo, "reply-1", "hi phone", NULL), 0);
	assert_non_null(test_client_wait_message(phone, s.convo, 2, WAIT));
}

static int connect_with_id(struct chat_scene *s, const char *user,
                           const char *token, const char *client_id,
                           bool durable, struct test_client **out)
{
	struct test_client_options o = {0};

	o.user = user;
	o.password = token;
	o.client_id = client_id;
	o.durable = durable;
	o.subscribe_inbox = true;
	return test_client_connect(s->srv, &o, out);
}

CHAT_TEST(an_offline_durable_session_keeps_its_client_id_for_its_user)
{
	struct test_client *phone = NULL, *intruder = NULL;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(connect_with_id(&s, "alice", s.alice_token,
	                                 "alice-durable", true, &phone),
	                 0);
	test_client_close(phone);

	/* The session lives on in the broker: bob may not take it over. */
	assert_true(connect_with_id(&s, "bob", s.bob_token, "alice-durable",
	                            false, &intruder) > 0);
	assert_null(intruder);

	/* alice comes back to it and gets what was sent meanwhile. */
	assert_int_equal(
	    test_client_send(s.bob, s.convo, "while-away", "for later", NULL),
	    0);
	assert_non_null(
	    test_client_wait_tick(s.bob, s.convo, "while-away", WAIT));
	assert_int_equal(connect_with_id(&s, "alice", s.alice_token,
	                                 "alice-durable", true, &phone),
	                 0);
	assert_non_null(test_client_wait_message(phone, s.convo, 1, WAIT));
}

CHAT_TEST(a_client_id_is_free_again_after_a_clean_disconnect)
{
	struct test_client *phone = NULL;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(connect_with_id(&s, "alice", s.alice_token,
	                                 "family-tablet", false, &phone),
	                 0);
	test_client_close(phone);

	assert_int_equal(connect_with_id(&s, "bob", s.bob_token,
	                                 "family-tablet", false, &phone),
	                 0);
	assert_int_equal(
	    test_client_send(phone, s.convo, "bob-tab", "my turn", NULL), 0);
	assert_non_null(test_client_wait_tick(phone, s.convo, "bob-tab", WAIT));
}

CHAT_TEST(a_stranger_resuming_a_restored_session_reads_nothing_of_it)
{
	static const struct chat_server_config cfg = {.persistence = true};
	struct test_client *phone = NULL, *stranger = NULL;
	char carol_token[TEST_TOKEN_MAX];
	struct chat_scene s;
	int rc;

	chat_fixture_scene(fx, &cfg, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	assert_int_equal(
	    connect_with_id(&s, "bob", s.bob_token, "bob-phone", true, &phone),
	    0);
	test_client_close(phone);
	for (int n = 1; n <= 3; n++) {
		char cmid[16];

		snprintf(cmid, sizeof(cmid), "queued-%d", n);
		assert_int_equal(
		    test_client_send(s.alice, s.convo, cmid, "for bob", NULL),
		    0);
		assert_non_null(
		    test_client_wait_tick(s.alice, s.convo, cmid, WAIT));
	}

	/* A clean restart keeps bob's session and its queue on disk. */
	assert_int_equal(chat_server_stop_broker(s.srv), 0);
	assert_int_equal(chat_server_start_broker(s.srv), 0);

	/* ARCHITECTURE.md, known limits: the restored session is not owned
	 * until bob returns, so carol may get in, but must read nothing. */
	rc = connect_with_id(&s, "carol", carol_token, "bob-phone", true,
	                     &stranger);
	print_message("carol on bob's restored session: CONNACK %d\n", rc);
	if (rc == 0) {
		assert_true(test_client_session_present(stranger));
		test_client_quiet(stranger, QUIET_MS);
		assert_int_equal(test_client_mark(stranger), 0);
	} else {
		assert_true(rc > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(a_non_member_cannot_send_to_a_conversation),
	    CHAT_TEST_ENTRY(an_error_event_reaches_every_device_of_the_sender),
	    CHAT_TEST_ENTRY(a_non_member_can_neither_sync_nor_read_history),
	    CHAT_TEST_ENTRY(
	        subscriptions_outside_the_own_inbox_are_refused_and_nothing_leaks),
	    CHAT_TEST_ENTRY(
	        publishing_into_another_inbox_or_an_internal_topic_reaches_nobody),
	    CHAT_TEST_ENTRY(
	        a_client_id_held_by_alice_is_refused_to_bob_and_alice_stays_on),
	    CHAT_TEST_ENTRY(
	        an_offline_durable_session_keeps_its_client_id_for_its_user),
	    CHAT_TEST_ENTRY(a_client_id_is_free_again_after_a_clean_disconnect),
	    CHAT_TEST_ENTRY(
	        a_stranger_resuming_a_restored_session_reads_nothing_of_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
