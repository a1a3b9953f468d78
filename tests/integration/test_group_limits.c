/*
 * Limits of groups: a group or channel never grows past its member limit
 * (group_full), and a conversation's delivery budget refuses messages
 * beyond it (rate_limited) without storing them.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <string.h>

#define WAIT     test_timeout_ms(5000)
#define QUIET_MS 1000

static struct chat_server *
server_with_users(struct chat_fixture *fx, const struct chat_server_config *cfg,
                  const char *const users[], int count,
                  char tokens[][TEST_TOKEN_MAX], struct test_client *c[])
{
	struct chat_server *srv = chat_fixture_server(fx, cfg);

	for (int i = 0; i < count; i++) {
		chat_fixture_user(srv, users[i], tokens[i]);
		c[i] = chat_fixture_connect(srv, users[i], tokens[i]);
	}
	return srv;
}

CHAT_TEST(a_group_or_channel_never_grows_past_its_member_limit)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave",
	                                    "erin"};
	static const char *const dave_only[] = {"dave"};
	struct chat_server_config cfg = {
	    .plugin_options = {"group_members_max 4", "channel_members_max 3"}};
	char tokens[5][TEST_TOKEN_MAX], group[TEST_ID_MAX],
	    channel[TEST_ID_MAX], json[256];
	const char *params[] = {"erin", NULL};
	struct test_client *c[5];
	struct chat_server *srv;
	struct test_db_member row;

	srv = server_with_users(fx, &cfg, users, 5, tokens, c);

	/* Five at once is one too many; nothing is created. */
	chat_assert_refused(
	    test_client_request(
	        c[0], WAIT,
	        "{\"op\":\"create_group\",\"title\":\"crowd\","
	        "\"members\":[\"bob\",\"carol\",\"dave\",\"erin\"]}"),
	    "group_full");
	assert_int_equal(test_db_integer(srv,
	                                 "SELECT count(*) FROM members WHERE "
	                                 "user_id = ?",
	                                 params),
	                 0);

	chat_fixture_group(c[0], "four", users + 1, 2, false, group);
	assert_int_equal(test_group_add(c[0], group, dave_only, 1), 2);
	snprintf(json, sizeof(json),
	         "{\"op\":\"add_members\",\"convo\":\"%s\",\"users\":"
	         "[\"erin\"]}",
	         group);
	chat_assert_refused(test_client_request(c[0], WAIT, "%s", json),
	                    "group_full");
	assert_int_equal(test_db_member(srv, group, "erin", &row), -1);
	assert_int_equal(test_db_count_messages(srv, group), 2);

	chat_fixture_group(c[0], "three", users + 1, 2, true, channel);
	snprintf(json, sizeof(json),
	         "{\"op\":\"add_members\",\"convo\":\"%s\",\"users\":"
	         "[\"erin\"]}",
	         channel);
	chat_assert_refused(test_client_request(c[0], WAIT, "%s", json),
	                    "group_full");
	assert_int_equal(test_db_member(srv, channel, "erin", &row), -1);
	assert_int_equal(test_db_count_messages(srv, channel), 1);
	test_client_quiet(c[4], 300);
	assert_int_equal(test_client_count(c[4], &(struct test_match){0}, 0),
	                 0);
}

#define BURST 6

/* Delivery budget 10 a second; a message to this group of 5 costs 5. */
CHAT_TEST(a_conversation_past_its_delivery_budget_refuses_and_stores_nothing)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave",
	                                    "erin"};
	struct chat_server_config cfg = {
	    .plugin_options = {"convo_delivery_rate 10"}};
	struct test_match limited = {.kind = "event", .code = "rate_limited"};
	char tokens[5][TEST_TOKEN_MAX], convo[TEST_ID_MAX], cmid[16];
	int refused = 0, stored = 0;
	struct test_client *c[5];
	struct chat_server *srv;
	bool was_refused[BURST];
	cJSON *error;

	srv = server_with_users(fx, &cfg, users, 5, tokens, c);
	chat_fixture_group(c[0], "budget", users + 1, 4, false, convo);
	assert_non_null(test_client_wait_message(c[1], convo, 1, WAIT));

	for (int i = 0; i < BURST; i++) {
		snprintf(cmid, sizeof(cmid), "b-%d", i);
		assert_int_equal(
		    test_client_send(c[1], convo, cmid, "burst", NULL), 0);
	}
	/* Every message is either ticked or refused. */
	for (int i = 0; i < BURST; i++) {
		struct test_match tick = {.kind = "msg", .from = "bob"};
		long long deadline = test_now_ms() + WAIT;

		snprintf(cmid, sizeof(cmid), "b-%d", i);
		tick.cmid = cmid;
		limited.cmid = cmid;
		while (test_client_count(c[1], &tick, 0) +
		               test_client_count(c[1], &limited, 0) ==
		           0 &&
		       test_now_ms() < deadline)
			test_sleep_ms(20);
		was_refused[i] = test_client_count(c[1], &limited, 0) > 0;
		refused += was_refused[i];
		stored += test_client_count(c[1], &tick, 0) > 0;
	}
	assert_int_equal(refused + stored, BURST);
	assert_true(refused >= 1);
	assert_true(stored >= 1);
	for (int i = 0; i < BURST; i++) {
		snprintf(cmid, sizeof(cmid), "b-%d", i);
		assert_int_equal(test_db_count_cmid(srv, convo, "bob", cmid),
		                 was_refused[i] ? 0 : 1);
	}
	assert_int_equal(test_db_count_messages(srv, convo), 1 + stored);
	test_client_quiet(c[2], 300);
	limited.cmid = NULL;
	error = test_client_wait(c[1], &limited, 0, WAIT);
	assert_string_equal(test_json_string(error, "convo"), convo);

	/* Retryable: after a pause the same cmid goes through. */
	for (int i = 0; i < BURST; i++) {
		if (!was_refused[i])
			continue;
		test_sleep_ms(600);
		snprintf(cmid, sizeof(cmid), "b-%d", i);
		assert_int_equal(
		    test_client_send(c[1], convo, cmid, "burst", NULL), 0);
		assert_non_null(test_client_wait_tick(c[1], convo, cmid, WAIT));
		break;
	}
}

#define CHANNEL_BURST 8

/* Same budget; a channel's message is one publish whatever its size. */
CHAT_TEST(a_broadcast_message_costs_one_delivery_of_the_budget)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave",
	                                    "erin"};
	struct chat_server_config cfg = {
	    .plugin_options = {"convo_delivery_rate 10"}};
	struct test_match limited = {.kind = "event", .code = "rate_limited"};
	char tokens[5][TEST_TOKEN_MAX], convo[TEST_ID_MAX], cmid[16];
	struct test_client *c[5];
	struct chat_server *srv;
	long long deadline;

	srv = server_with_users(fx, &cfg, users, 5, tokens, c);
	chat_fixture_group(c[0], "cheap", users + 1, 4, true, convo);
	for (int i = 0; i < CHANNEL_BURST; i++) {
		snprintf(cmid, sizeof(cmid), "c-%d", i);
		assert_int_equal(
		    test_client_send(c[0], convo, cmid, "news", NULL), 0);
	}
	deadline = test_now_ms() + WAIT;
	while (test_db_count_messages(srv, convo) < 1 + CHANNEL_BURST &&
	       test_now_ms() < deadline)
		test_sleep_ms(50);
	assert_int_equal(test_db_count_messages(srv, convo), 1 + CHANNEL_BURST);
	assert_int_equal(test_client_count(c[0], &limited, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_group_or_channel_never_grows_past_its_member_limit),
	    CHAT_TEST_ENTRY(
	        a_conversation_past_its_delivery_budget_refuses_and_stores_nothing),
	    CHAT_TEST_ENTRY(
	        a_broadcast_message_costs_one_delivery_of_the_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
