/*
 * Abuse limits that are not about message rates: failed logins back off
 * per user name and per address (even the right token is refused while
 * that lasts, others are not affected), creating groups has its own slow
 * allowance, and a connection holds a bounded number of subscriptions.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <string.h>

#define WAIT       test_timeout_ms(5000)
#define BACKOFF_MS 1000 /* the first refusal period (auth_backoff.c) */

static int try_connect(struct chat_server *srv, const char *user,
                       const char *password)
{
	return test_client_try_connect(srv, user, password, 4);
}

/* alice's message reaches bob: the server still works for them. */
static void assert_alice_reaches_bob(struct chat_scene *s, const char *cmid)
{
	size_t since = test_client_mark(s->bob);

	assert_int_equal(test_client_send(s->alice, s->convo, cmid, "hello",
	                                  NULL),
	                 0);
	assert_non_null(test_client_wait(
	    s->bob,
	    &(struct test_match){.kind = "msg", .convo = s->convo, .cmid = cmid},
	    since, WAIT));
}

static void fail_logins(struct chat_server *srv, const char *user, int count)
{
	for (int i = 0; i < count; i++)
		assert_true(try_connect(srv, user, "a-wrong-token") > 0);
}

CHAT_TEST(failed_logins_lock_out_that_user_for_a_while_and_nobody_else)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"auth_free_failures_per_user 3",
	                       "auth_backoff_max_ms 4000"}};
	struct chat_scene s;
	long long blocked;

	chat_fixture_scene(fx, &cfg, &s);
	/* Three free failures, then the fourth starts a refusal period. */
	fail_logins(s.srv, "alice", 3);
	assert_int_equal(try_connect(s.srv, "alice", s.alice_token), 0);
	fail_logins(s.srv, "alice", 4);
	blocked = test_now_ms();
	assert_true(try_connect(s.srv, "alice", s.alice_token) > 0);
	assert_int_equal(try_connect(s.srv, "bob", s.bob_token), 0);

	/* Over once the period is: the right token works again. */
	test_sleep_ms((int)(blocked + BACKOFF_MS + 200 - test_now_ms()));
	assert_int_equal(try_connect(s.srv, "alice", s.alice_token), 0);

	/* Each failure past the free ones, once a period is over, doubles
	 * the next; attempts during a period are refused unchecked and do
	 * not count. */
	fail_logins(s.srv, "alice", 4);
	fail_logins(s.srv, "alice", 3);
	test_sleep_ms(BACKOFF_MS + 200);
	fail_logins(s.srv, "alice", 1);
	blocked = test_now_ms();
	test_sleep_ms(BACKOFF_MS + 200);
	assert_true(try_connect(s.srv, "alice", s.alice_token) > 0);
	/* Said in the log (checked here, where no other refusal shares
	 * the log's allowance of refusal lines per second). */
	assert_true(test_file_contains(s.srv->broker_log, "too many failed logins"));
	test_sleep_ms((int)(blocked + 2 * BACKOFF_MS + 200 - test_now_ms()));
	assert_int_equal(try_connect(s.srv, "alice", s.alice_token), 0);
	/* Connected users were never touched. */
	assert_true(test_client_connected(s.alice));
	assert_true(test_client_connected(s.bob));
}

CHAT_TEST(failed_logins_from_one_address_lock_out_the_address)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"auth_free_failures_per_address 5"}};
	struct chat_scene s;
	long long blocked;
	char name[16];

	chat_fixture_scene(fx, &cfg, &s);
	/* Guessing across many names, known or not. */
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "guess%d", i);
		fail_logins(s.srv, name, 1);
	}
	blocked = test_now_ms();
	assert_true(try_connect(s.srv, "bob", s.bob_token) > 0);
	/* The bridge, from the same address, stays connected and
	 * working. */
	assert_alice_reaches_bob(&s, "during");
	test_sleep_ms((int)(blocked + BACKOFF_MS + 200 - test_now_ms()));
	assert_int_equal(try_connect(s.srv, "bob", s.bob_token), 0);
}

CHAT_TEST(creating_groups_faster_than_the_allowance_is_rate_limited)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"user_group_create_per_hour 3600",
	                       "user_group_create_burst 2"}};
	static const char *const members[] = {"bob"};
	static const char *const alice[] = {"alice"};
	struct chat_scene s;
	char convo[TEST_ID_MAX];
	cJSON *resp;

	chat_fixture_scene(fx, &cfg, &s);
	chat_fixture_group(s.alice, "one", members, 1, false, convo);
	chat_fixture_group(s.alice, "two", members, 1, true, convo);
	resp = test_client_request(s.alice, WAIT,
	                           "{\"op\":\"create_group\",\"title\":"
	                           "\"three\",\"members\":[\"bob\"]}");
	chat_assert_refused(resp, "rate_limited");
	/* Other requests are not affected. */
	chat_assert_ok(
	    test_client_request(s.alice, WAIT, "{\"op\":\"conversations\"}"));
	/* bob has an allowance of his own. */
	chat_fixture_group(s.bob, "bob's", alice, 1, false, convo);
	/* One group a second refills. */
	test_sleep_ms(1100);
	chat_fixture_group(s.alice, "three", members, 1, false, convo);
}

CHAT_TEST(a_connection_may_hold_only_so_many_subscriptions)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"max_subscriptions_per_connection 5"}};
	struct chat_scene s;
	char filter[64];

	chat_fixture_scene(fx, &cfg, &s);
	/* The inbox is one; four more fit. */
	for (int i = 0; i < 4; i++) {
		static const char *const leaves[] = {"msg", "resp", "event",
		                                     "typing"};

		snprintf(filter, sizeof(filter), TEST_PREFIX "/u/alice/%s",
		         leaves[i]);
		assert_int_equal(test_client_subscribe(s.alice, filter, 1), 1);
	}
	assert_int_equal(
	    test_client_subscribe(s.alice, TEST_PREFIX "/u/alice/blob", 1),
	    0x80);
	/* Unsubscribing gives nothing back. */
	assert_int_equal(
	    test_client_unsubscribe(s.alice, TEST_PREFIX "/u/alice/msg"), 0);
	assert_int_equal(
	    test_client_subscribe(s.alice, TEST_PREFIX "/u/alice/msg", 1),
	    0x80);
	assert_true(test_file_contains(s.srv->broker_log,
	                               "subscriptions on one connection"));
	/* The connection keeps working, and others are not affected. */
	assert_int_equal(
	    test_client_subscribe(s.bob, TEST_PREFIX "/u/bob/msg", 1), 1);
	assert_alice_reaches_bob(&s, "capped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        failed_logins_lock_out_that_user_for_a_while_and_nobody_else),
	    CHAT_TEST_ENTRY(failed_logins_from_one_address_lock_out_the_address),
	    CHAT_TEST_ENTRY(
	        creating_groups_faster_than_the_allowance_is_rate_limited),
	    CHAT_TEST_ENTRY(a_connection_may_hold_only_so_many_subscriptions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
