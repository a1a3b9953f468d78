/*
 * Presence across restarts (PROTOCOL.md, "Presence"): after a broker
 * restart presence is rebuilt from the connections that exist, so no
 * "online" left over from before survives; a user who was shown online and
 * does not come back within the grace period is shown offline; one who
 * comes back is shown online; and last seen outlives restarts of both the
 * broker and the bridge.
 *
 * Watchers are fresh connections after every restart, so what they get is
 * what the broker's retained store holds plus what changes.
 */
#include "../harness/fixture.h"
#include "../harness/presence.h"

#include <stdio.h>
#include <string.h>

#define WAIT     test_timeout_ms(5000)
#define GRACE_MS 1500
/* How late a change due after the grace period may show. */
#define LATE_MS test_timeout_ms(500)

static const struct chat_server_config restart_presence = {
    .plugin_options = {"presence_grace_ms 1500",
                       "presence_min_interval_ms 500"}};

static const struct chat_server_config restart_presence_kept = {
    .persistence = true,
    .plugin_options = {"presence_grace_ms 1500",
                       "presence_min_interval_ms 500"}};

/* alice and bob, and carol who watches them; all three share a group. */
struct cast {
	struct chat_server *srv;
	char tokens[3][TEST_TOKEN_MAX];
	long long down_wall; /* when the broker last went down */
};

static void watch(struct test_client *w)
{
	assert_int_equal(test_presence_subscribe(w, "alice"), 1);
	assert_int_equal(test_presence_subscribe(w, "bob"), 1);
}

/* A fresh connection of carol watching alice and bob. */
static struct test_client *new_watcher(struct cast *c)
{
	struct test_client *w =
	    chat_fixture_connect(c->srv, "carol", c->tokens[2]);

	watch(w);
	return w;
}

/* Asks until the store says what the user's presence is. */
static const cJSON *wait_stored(struct test_client *asker, const char *user,
                                bool online)
{
	const char *const users[] = {user, NULL};
	long long deadline = test_now_ms() + WAIT;

	for (;;) {
		cJSON *resp = test_presence_ask(asker, users, WAIT);
		const cJSON *entry = test_presence_answer_entry(resp, user);

		chat_assert_ok(resp);
		if (entry && cJSON_IsTrue(cJSON_GetObjectItem(
		                 entry, "online")) == online)
			return entry;
		if (test_now_ms() >= deadline)
			fail_msg("the store never showed %s %s", user,
			         online ? "online" : "offline");
		test_sleep_ms(50);
	}
}

/* alice and bob are online, shown so and stored so. Returns the watcher. */
static struct test_client *start_cast(struct chat_fixture *fx,
                                      const struct chat_server_config *cfg,
                                      struct cast *c)
{
	static const char *const members[] = {"alice", "bob"};
	struct test_client *watcher;
	char convo[TEST_ID_MAX];

	memset(c, 0, sizeof(*c));
	c->srv = chat_fixture_server(fx, cfg);
	chat_fixture_user(c->srv, "alice", c->tokens[0]);
	chat_fixture_user(c->srv, "bob", c->tokens[1]);
	chat_fixture_user(c->srv, "carol", c->tokens[2]);
	watcher = chat_fixture_connect(c->srv, "carol", c->tokens[2]);
	chat_fixture_group(watcher, "three", members, 2, false, convo);
	watch(watcher);
	chat_fixture_connect(c->srv, "alice", c->tokens[0]);
	chat_fixture_connect(c->srv, "bob", c->tokens[1]);
	assert_non_null(
	    test_presence_wait(watcher, "alice", true, 0, WAIT, NULL));
	assert_non_null(
	    test_presence_wait(watcher, "bob", true, 0, WAIT, NULL));
	wait_stored(watcher, "alice", true);
	wait_stored(watcher, "bob", true);
	return watcher;
}

/*
 * Ends the broker (kill -9, or a clean stop), starts it again and
 * reconnects bob at once, alice not. Returns a fresh watcher; *started
 * receives when the broker was started.
 */
static struct test_client *restart_broker(struct cast *c, bool kill,
                                          long long *started)
{
	c->down_wall = test_wall_ms();
	if (kill)
		chat_server_kill_broker(c->srv);
	else
		assert_int_equal(chat_server_stop_broker(c->srv), 0);
	for (int i = CHAT_SERVER_MAX_CLIENTS - 1; i >= 0; i--) {
		if (c->srv->clients[i])
			test_client_close(c->srv->clients[i]);
	}
	*started = test_now_ms();
	assert_int_equal(chat_server_start_broker(c->srv), 0);
	chat_fixture_connect(c->srv, "bob", c->tokens[1]);
	print_message("bob back %lld ms after the broker started\n",
	              test_now_ms() - *started);
	return new_watcher(c);
}

/* The newest presence of user the watcher holds says online. */
static bool shown_online(struct test_client *w, const char *user)
{
	const struct test_inbox_entry *e = test_presence_last(w, user);

	return e && cJSON_IsTrue(cJSON_GetObjectItem(e->json, "online"));
}

static void print_presence(struct test_client *w, const char *user)
{
	const struct test_inbox_entry *e = test_presence_last(w, user);

	print_message("%s's topic after the restart: %s%s\n", user,
	              e ? e->payload : "(empty)",
	              e && e->retain ? " (retained)" : "");
}

static void sleep_until(long long when_ms)
{
	if (when_ms > test_now_ms())
		test_sleep_ms((int)(when_ms - test_now_ms()));
}

CHAT_TEST(no_online_restored_from_a_broker_snapshot_outlives_the_grace)
{
	struct test_client *watcher;
	long long started;
	struct cast c;

	start_cast(fx, &restart_presence_kept, &c);

	/* A clean stop saves both "online"s in the snapshot; alice does not
	 * come back, bob does. */
	watcher = restart_broker(&c, false, &started);
	assert_non_null(test_presence_wait(watcher, "alice", false, 0,
	                                   GRACE_MS + LATE_MS, NULL));
	print_message("alice shown offline %lld ms after the restart\n",
	              test_now_ms() - started);
	sleep_until(started + GRACE_MS + LATE_MS);
	assert_true(shown_online(watcher, "bob"));
	assert_int_equal(test_presence_count(watcher, "bob", 0), 1);
	wait_stored(watcher, "alice", false);

	/* kill -9: the broker comes back with the snapshot of the clean
	 * stop, which still has alice online. */
	watcher = restart_broker(&c, true, &started);
	sleep_until(started + GRACE_MS + LATE_MS);
	print_presence(watcher, "alice");
	print_presence(watcher, "bob");
	if (shown_online(watcher, "alice"))
		fail_msg("alice, gone since before the restart, is still "
		         "shown online %d ms after it",
		         GRACE_MS + LATE_MS);
	assert_true(shown_online(watcher, "bob"));
}

CHAT_TEST(after_a_broker_kill_who_comes_back_is_online_and_who_not_offline)
{
	struct test_client *watcher;
	const cJSON *entry, *offline;
	long long started;
	struct cast c;

	start_cast(fx, &restart_presence, &c);
	watcher = restart_broker(&c, true, &started);

	offline = test_presence_wait(watcher, "alice", false, 0,
	                             GRACE_MS + LATE_MS, NULL);
	assert_non_null(offline);
	print_message("alice last seen %lld ms after the broker went down\n",
	              test_json_number(offline, "last_seen") - c.down_wall);
	sleep_until(started + GRACE_MS + LATE_MS);
	print_presence(watcher, "alice");
	print_presence(watcher, "bob");
	entry = wait_stored(watcher, "alice", false);
	assert_true(test_json_number(entry, "last_seen") > 0);
	wait_stored(watcher, "bob", true);
	if (!shown_online(watcher, "bob"))
		fail_msg("bob, connected again, is not shown online on "
		         "chat/presence/bob");
}

CHAT_TEST(last_seen_outlives_a_restart_of_broker_and_bridge)
{
	static const struct chat_server_config short_grace = {
	    .plugin_options = {"presence_grace_ms 500",
	                       "presence_min_interval_ms 200"}};
	long long left_wall, last_seen;
	struct chat_scene s;
	const cJSON *entry;
	cJSON *offline;

	chat_fixture_scene(fx, &short_grace, &s);
	assert_int_equal(test_presence_subscribe(s.bob, "alice"), 1);
	assert_non_null(
	    test_presence_wait(s.bob, "alice", true, 0, WAIT, NULL));

	left_wall = test_wall_ms();
	test_client_close(s.alice);
	offline = test_presence_wait(s.bob, "alice", false, 0, WAIT, NULL);
	assert_non_null(offline);
	last_seen = test_json_number(offline, "last_seen");
	assert_true(last_seen >= left_wall - 50 &&
	            last_seen <= left_wall + WAIT);
	entry = wait_stored(s.bob, "alice", false);
	assert_int_equal(test_json_number(entry, "last_seen"), last_seen);

	chat_server_kill_broker(s.srv);
	chat_server_kill_bridge(s.srv);
	assert_int_equal(chat_server_spawn_bridge(s.srv), 0);
	assert_int_equal(chat_server_start_broker(s.srv), 0);
	assert_int_equal(test_client_wait_ready(s.bob, 2, WAIT), 0);

	entry = wait_stored(s.bob, "alice", false);
	assert_int_equal(test_json_number(entry, "last_seen"), last_seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        no_online_restored_from_a_broker_snapshot_outlives_the_grace),
	    CHAT_TEST_ENTRY(
	        after_a_broker_kill_who_comes_back_is_online_and_who_not_offline),
	    CHAT_TEST_ENTRY(last_seen_outlives_a_restart_of_broker_and_bridge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
