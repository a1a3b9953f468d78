/*
 * Fan-out of a burst to a 100-member group: every member receives every
 * message once, in order. The test also measures how fast, and prints it
 * (messages and deliveries a second); it asserts no speed, which depends
 * on the machine.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT    test_timeout_ms(5000)
#define MEMBERS 100
#define BURST   300

/* The sender is a libmosquitto client (its own network thread); the other
 * members are a fleet read by this thread. */
struct audience {
	struct test_account a[MEMBERS];
	struct test_client *sender;
	struct test_fleet *fleet;
	char convo[TEST_ID_MAX];
};

static void gather(struct chat_server *srv, struct audience *au)
{
	const char *others[MEMBERS - 1];
	char filter[TEST_ID_MAX + 16];

	chat_fixture_accounts(srv, "f", au->a, MEMBERS);
	au->sender = chat_fixture_connect(srv, au->a[0].user, au->a[0].token);
	test_account_names(au->a + 1, MEMBERS - 1, others);
	chat_fixture_group(au->sender, "hundred", others, MEMBERS - 1, false,
	                   au->convo);
	au->fleet = test_fleet_new(srv, MEMBERS - 1);
	assert_non_null(au->fleet);
	assert_int_equal(
	    test_fleet_connect(au->fleet, au->a + 1, MEMBERS - 1, 4 * WAIT), 0);
	for (size_t i = 0; i < MEMBERS - 1; i++) {
		snprintf(filter, sizeof(filter), "chat/u/%s/#",
		         au->a[i + 1].user);
		assert_int_equal(test_fleet_subscribe(au->fleet, i, filter), 0);
	}
	assert_int_equal(test_fleet_wait_subacks(au->fleet, 4 * WAIT), 0);
}

/* Connection i received seqs 2 .. BURST + 1 once each, in order. */
static void assert_burst_in_order(const struct test_fleet *f, size_t i)
{
	long next = 2;

	assert_int_equal(test_fleet_count(f, i), BURST);
	for (size_t k = 0; k < BURST; k++) {
		cJSON *msg = cJSON_Parse(test_fleet_entry(f, i, k)->payload);

		assert_int_equal(test_json_number(msg, "seq"), next++);
		cJSON_Delete(msg);
	}
}

static long long last_arrival(const struct test_fleet *f,
                              struct test_client *sender)
{
	long long last = 0;
	size_t n = test_client_mark(sender);

	for (size_t i = 0; i < test_fleet_size(f); i++) {
		const struct test_fleet_publish *p =
		    test_fleet_entry(f, i, test_fleet_count(f, i) - 1);

		if (p && p->received_ms > last)
			last = p->received_ms;
	}
	if (n > 0 && test_client_entry(sender, n - 1)->received_ms > last)
		last = test_client_entry(sender, n - 1)->received_ms;
	return last;
}

CHAT_TEST(a_burst_to_a_100_member_group_reaches_every_member_once_in_order)
{
	/* No per-conversation budget in the way of the measurement. */
	struct chat_server_config cfg = {
	    .plugin_options = {"convo_delivery_rate 100000000"}};
	struct chat_server *srv = chat_fixture_server(fx, &cfg);
	static struct audience au;
	char cmid[16];
	long long started, elapsed;

	gather(srv, &au);
	/* The created message was sent before they subscribed. */
	started = test_now_ms();
	for (int i = 0; i < BURST; i++) {
		snprintf(cmid, sizeof(cmid), "b%d", i);
		assert_int_equal(test_client_send(au.sender, au.convo, cmid,
		                                  "a burst of news", NULL),
		                 0);
	}
	assert_true(test_fleet_wait_each(au.fleet, BURST, 6 * WAIT));
	assert_true(
	    test_client_wait_seqs(au.sender, au.convo, 2, BURST + 1, 4 * WAIT));
	elapsed = last_arrival(au.fleet, au.sender) - started;
	test_fleet_pump(au.fleet, 300);

	for (size_t i = 0; i < MEMBERS - 1; i++)
		assert_burst_in_order(au.fleet, i);
	if (elapsed < 1)
		elapsed = 1;
	print_message("fan-out: %d messages to %d members (%d deliveries) in "
	              "%lld ms: %.0f messages/s, %.0f deliveries/s%s\n",
	              BURST, MEMBERS, BURST * MEMBERS, elapsed,
	              BURST * 1000.0 / (double)elapsed,
	              BURST * MEMBERS * 1000.0 / (double)elapsed,
	              test_sanitized() ? " (sanitized build)" : "");
	test_fleet_free(au.fleet);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_burst_to_a_100_member_group_reaches_every_member_once_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
