/*
 * Typing indicators (PROTOCOL.md, "Typing"): passed on at QoS 0 to the
 * conversation's other members who are connected, never stored and never
 * queued for an offline device, at most one per second per user and
 * conversation, not in broadcast conversations, and refused to
 * non-members with a not_member event.
 */
#include "../harness/fixture.h"
#include "../harness/presence.h"

#include <stdio.h>
#include <string.h>

#define WAIT        test_timeout_ms(5000)
#define QUIET_MS    test_timeout_ms(300)
#define INTERVAL_MS 1000 /* the default typing_interval_ms */

static const struct test_match typing = {.kind = "typing"};

/* The typing indicator c receives from index since on, checked against
 * PROTOCOL.md's payload; fails the test when none comes. */
static cJSON *expect_typing(struct test_client *c, size_t since,
                            const char *convo, const char *user, bool state,
                            long long sent_wall)
{
	const struct test_inbox_entry *e;
	cJSON *t = test_client_wait(c, &typing, since, WAIT);
	size_t i;

	if (t == NULL)
		fail_msg("%s got no typing indicator", c->user);
	for (i = since; (e = test_client_entry(c, i)) && e->json != t; i++)
		;
	assert_non_null(e);
	assert_int_equal(e->qos, 0);
	assert_string_equal(test_json_string(t, "convo"), convo);
	assert_string_equal(test_json_string(t, "user"), user);
	assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(t, "typing")), state);
	assert_true(cJSON_IsBool(cJSON_GetObjectItem(t, "typing")));
	assert_true(test_json_number(t, "ts") >= sent_wall - 50 &&
	            test_json_number(t, "ts") <= sent_wall + WAIT);
	return t;
}

CHAT_TEST(typing_reaches_connected_members_only_and_is_never_stored_or_queued)
{
	static const char *const members[] = {"bob", "carol"};
	struct test_client_options o = {0};
	char tokens[3][TEST_TOKEN_MAX], group[TEST_ID_MAX];
	struct test_client *alice, *bob, *carol = NULL;
	struct chat_server *srv = chat_fixture_server(fx, NULL);
	long long sent_wall;
	int stored;

	chat_fixture_user(srv, "alice", tokens[0]);
	chat_fixture_user(srv, "bob", tokens[1]);
	chat_fixture_user(srv, "carol", tokens[2]);
	alice = chat_fixture_connect(srv, "alice", tokens[0]);
	bob = chat_fixture_connect(srv, "bob", tokens[1]);

	/* carol is a member with a durable session, away now. */
	o.user = "carol";
	o.password = tokens[2];
	o.client_id = "carol-phone";
	o.durable = true;
	o.subscribe_inbox = true;
	assert_int_equal(test_client_connect(srv, &o, &carol), 0);
	chat_fixture_group(alice, "typists", members, 2, false, group);
	assert_non_null(test_client_wait_message(carol, group, 1, WAIT));
	test_client_close(carol);
	stored = test_db_count_messages(srv, group);

	sent_wall = test_wall_ms();
	assert_int_equal(test_client_typing(alice, group, ""), 0);
	expect_typing(bob, 0, group, "alice", true, sent_wall);
	assert_int_equal(test_client_send(alice, group, "m1", "typed", NULL),
	                 0);
	assert_non_null(test_client_wait_tick(alice, group, "m1", WAIT));

	/* Back on her session, carol finds the message, not the typing. */
	assert_int_equal(test_client_connect(srv, &o, &carol), 0);
	assert_true(test_client_session_present(carol));
	assert_non_null(test_client_wait(
	    carol, &(struct test_match){.kind = "msg", .cmid = "m1"}, 0, WAIT));
	test_client_quiet(carol, QUIET_MS);
	assert_int_equal(test_client_count(carol, &typing, 0), 0);
	assert_int_equal(test_client_count(alice, &typing, 0), 0);
	assert_int_equal(test_client_count(bob, &typing, 0), 1);
	assert_int_equal(test_db_count_messages(srv, group), stored + 1);
}

CHAT_TEST(typing_is_passed_on_once_a_second_per_user_and_conversation)
{
	char carol_token[TEST_TOKEN_MAX], other[TEST_ID_MAX];
	struct test_client *carol;
	long long first, sent_wall;
	struct chat_scene s;
	size_t mark;

	chat_fixture_scene(fx, NULL, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	chat_fixture_direct(s.srv, "alice", "carol", other);
	carol = chat_fixture_connect(s.srv, "carol", carol_token);

	sent_wall = test_wall_ms();
	first = test_now_ms();
	assert_int_equal(
	    test_client_typing(s.alice, s.convo, "{\"typing\":true}"), 0);
	assert_int_equal(
	    test_client_typing(s.alice, s.convo, "{\"typing\":false}"), 0);
	assert_int_equal(test_client_typing(s.alice, s.convo, ""), 0);
	/* Another conversation has an allowance of its own. */
	assert_int_equal(
	    test_client_typing(s.alice, other, "{\"typing\":true}"), 0);
	expect_typing(s.bob, 0, s.convo, "alice", true, sent_wall);
	expect_typing(carol, 0, other, "alice", true, sent_wall);
	test_client_quiet(s.bob, QUIET_MS);
	assert_int_equal(test_client_count(s.bob, &typing, 0), 1);

	/* A second later the next one is passed on. */
	if (test_now_ms() < first + INTERVAL_MS + 50)
		test_sleep_ms((int)(first + INTERVAL_MS + 50 - test_now_ms()));
	sent_wall = test_wall_ms();
	mark = test_client_mark(s.bob);
	assert_int_equal(
	    test_client_typing(s.alice, s.convo, "{\"typing\":false}"), 0);
	expect_typing(s.bob, mark, s.convo, "alice", false, sent_wall);
	assert_int_equal(test_client_count(s.bob, &typing, 0), 2);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 0);
}

CHAT_TEST(non_members_get_not_member_and_channels_pass_no_typing_on)
{
	static const char *const bob_only[] = {"bob"};
	struct test_match not_member = {.kind = "event", .code = "not_member"};
	char dave_token[TEST_TOKEN_MAX], channel[TEST_ID_MAX], topic[128];
	struct test_client *dave;
	struct chat_scene s;
	cJSON *event;

	chat_fixture_scene(fx, NULL, &s);
	chat_fixture_user(s.srv, "dave", dave_token);
	dave = chat_fixture_connect(s.srv, "dave", dave_token);

	assert_int_equal(test_client_typing(dave, s.convo, ""), 0);
	event = test_client_wait(dave, &not_member, 0, WAIT);
	assert_non_null(event);
	assert_string_equal(test_json_string(event, "type"), "error");
	assert_string_equal(test_json_string(event, "convo"), s.convo);
	assert_int_equal(test_client_typing(dave, "no-such-convo", ""), 0);
	assert_non_null(
	    test_client_wait(dave,
	                     &(struct test_match){.kind = "event",
	                                          .code = "not_member",
	                                          .convo = "no-such-convo"},
	                     0, WAIT));

	chat_fixture_group(s.alice, "news", bob_only, 1, true, channel);
	snprintf(topic, sizeof(topic), "chat/c/%s", channel);
	assert_int_equal(test_client_subscribe(s.bob, topic, 1), 1);
	assert_int_equal(test_client_typing(s.alice, channel, ""), 0);
	/* A typing in the direct conversation after it shows the channel's
	 * was dropped, not late. */
	assert_int_equal(test_client_typing(s.alice, s.convo, ""), 0);
	assert_non_null(test_client_wait(
	    s.bob, &(struct test_match){.kind = "typing", .convo = s.convo}, 0,
	    WAIT));
	test_client_quiet(s.bob, QUIET_MS);
	assert_int_equal(test_client_count(s.bob, &typing, 0), 1);
	assert_int_equal(test_client_count(
	                     s.alice, &(struct test_match){.kind = "event"}, 0),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        typing_reaches_connected_members_only_and_is_never_stored_or_queued),
	    CHAT_TEST_ENTRY(
	        typing_is_passed_on_once_a_second_per_user_and_conversation),
	    CHAT_TEST_ENTRY(
	        non_members_get_not_member_and_channels_pass_no_typing_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
