/*
 * Presence: a user is online while any of its devices is connected and
 * offline, with the time its last device went, only once all of them have
 * been gone for the grace period, whatever way the connections end
 * (DISCONNECT, a killed client, a client-id takeover, a durable session, a
 * revoked device). A connect refused with someone else's client id changes
 * nothing. Status, the minimum interval between changes, and who may see
 * whose presence (sharing a conversation, hiding) as PROTOCOL.md says.
 *
 * The server runs with a short grace period and interval so that each
 * test takes a second or two; test_presence_storm keeps the defaults.
 */
#include "../harness/fixture.h"
#include "../harness/presence.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT        test_timeout_ms(5000)
#define GRACE_MS    500
#define INTERVAL_MS 200
/* After an event, the time by which any change it causes has shown. */
#define SETTLE_MS (GRACE_MS + INTERVAL_MS + test_timeout_ms(300))
/* How late a change may arrive after it became due. */
#define LATE_MS test_timeout_ms(1000)
/* The interval of the test that measures it. */
#define SLOW_INTERVAL_MS 600
/* A revoked device's connection closes within a second (PROTOCOL.md),
 * plus the time the revocation takes to reach the store. */
#define KICK_MS test_timeout_ms(1500)

static const struct chat_server_config short_presence = {
    .plugin_options = {"presence_grace_ms 500",
                       "presence_min_interval_ms 200"}};

/* ---- helpers ---- */

/* alice and bob share a direct conversation; bob is connected and
 * watches alice's presence, alice is not connected. */
static void watched_alice(struct chat_fixture *fx, struct chat_scene *s)
{
	memset(s, 0, sizeof(*s));
	s->srv = chat_fixture_server(fx, &short_presence);
	chat_fixture_user(s->srv, "alice", s->alice_token);
	chat_fixture_user(s->srv, "bob", s->bob_token);
	chat_fixture_direct(s->srv, "alice", "bob", s->convo);
	s->bob = chat_fixture_connect(s->srv, "bob", s->bob_token);
	assert_int_equal(test_presence_subscribe(s->bob, "alice"), 1);
}

static struct test_client *connect_as(struct chat_server *srv, const char *user,
                                      const char *token, const char *client_id,
                                      bool durable)
{
	struct test_client_options o = {0};
	struct test_client *c = NULL;
	int rc;

	o.user = user;
	o.password = token;
	o.client_id = client_id;
	o.durable = durable;
	o.subscribe_inbox = true;
	rc = test_client_connect(srv, &o, &c);
	if (rc != 0)
		fail_msg("%s could not connect as %s: CONNACK %d", user,
		         client_id, rc);
	return c;
}

/* Waits until the watcher sees alice online; returns the index after it. */
static size_t expect_online(struct test_client *watcher, size_t since)
{
	size_t at = 0;
	cJSON *p = test_presence_wait(watcher, "alice", true, since, WAIT, &at);

	if (p == NULL)
		fail_msg("%s never saw alice online", watcher->user);
	assert_string_equal(test_json_string(p, "user"), "alice");
	assert_non_null(cJSON_GetObjectItem(p, "status"));
	assert_null(cJSON_GetObjectItem(p, "last_seen"));
	return at + 1;
}

/*
 * alice's last device left at left_ms (monotonic) / left_wall (epoch):
 * the watcher sees her offline not before the grace period is over, with
 * last_seen at that moment, and that is the only change since `since`.
 * Returns the index after it.
 */
static size_t expect_offline(struct test_client *watcher, size_t since,
                             long long left_ms, long long left_wall)
{
	const struct test_inbox_entry *e;
	size_t at = 0;
	cJSON *p =
	    test_presence_wait(watcher, "alice", false, since,
	                       GRACE_MS + INTERVAL_MS + LATE_MS + WAIT, &at);
	long long last_seen;

	if (p == NULL)
		fail_msg("alice was never shown offline");
	e = test_client_entry(watcher, at);
	print_message("offline shown %lld ms after the last device left\n",
	              e->received_ms - left_ms);
	assert_true(e->received_ms - left_ms >= GRACE_MS - 50);
	assert_null(cJSON_GetObjectItem(p, "status"));
	last_seen = test_json_number(p, "last_seen");
	if (last_seen < left_wall - 100 || last_seen > left_wall + LATE_MS)
		fail_msg("last_seen %lld, the device left at %lld", last_seen,
		         left_wall);
	assert_int_equal(test_presence_count(watcher, "alice", since), 1);
	return at + 1;
}

/* alice's last device leaves now: expect_offline for it. */
static size_t leave_and_expect_offline(struct test_client *watcher,
                                       struct test_client *device,
                                       size_t since)
{
	long long left_ms = test_now_ms(), left_wall = test_wall_ms();

	test_client_close(device);
	return expect_offline(watcher, since, left_ms, left_wall);
}

/* Nothing about alice's presence reaches the watcher from index since
 * until the monotonic time until_ms. */
static void expect_no_change(struct test_client *watcher, size_t since,
                             long long until_ms)
{
	long long left = until_ms - test_now_ms();

	if (left > 0)
		test_sleep_ms((int)left);
	if (test_presence_count(watcher, "alice", since) != 0) {
		const struct test_inbox_entry *e =
		    test_presence_last(watcher, "alice");

		fail_msg("alice's presence changed: %s", e->payload);
	}
}

/* What a `presence` request of the asker says about alice. */
static void expect_answer(struct test_client *asker, bool online)
{
	static const char *const alice[] = {"alice", NULL};
	cJSON *resp = test_presence_ask(asker, alice, WAIT);
	const cJSON *entry;

	chat_assert_ok(resp);
	entry = test_presence_answer_entry(resp, "alice");
	assert_non_null(entry);
	assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(entry, "online")),
	                 online);
}

/* ---- devices and grace ---- */

CHAT_TEST(
    online_while_either_device_is_connected_offline_after_both_and_the_grace)
{
	char laptop_token[TEST_TOKEN_MAX];
	struct test_client *phone, *laptop, *later;
	long long left_ms;
	struct chat_scene s;
	size_t mark, at = 0;

	watched_alice(fx, &s);
	assert_int_equal(
	    chat_server_add_device(s.srv, "alice", laptop_token, NULL), 0);
	phone = connect_as(s.srv, "alice", s.alice_token, "alice-phone", false);
	mark = expect_online(s.bob, 0);
	laptop =
	    connect_as(s.srv, "alice", laptop_token, "alice-laptop", false);

	/* One device leaves, and the other drops and is back within the
	 * grace period: she stays online, without a flicker. */
	test_client_close(phone);
	left_ms = test_now_ms();
	test_client_drop(laptop);
	laptop =
	    connect_as(s.srv, "alice", laptop_token, "alice-laptop", false);
	expect_answer(s.bob, true);
	expect_no_change(s.bob, mark, left_ms + SETTLE_MS);

	leave_and_expect_offline(s.bob, laptop, mark);
	expect_answer(s.bob, false);

	/* What a new subscriber finds: the retained offline. */
	later = chat_fixture_connect(s.srv, "bob", s.bob_token);
	assert_int_equal(test_presence_subscribe(later, "alice"), 1);
	assert_non_null(
	    test_presence_wait(later, "alice", false, 0, WAIT, &at));
	assert_true(test_client_entry(later, at)->retain);
	assert_int_equal(test_presence_count(later, "alice", 0), 1);
}

CHAT_TEST(a_client_id_taken_over_by_another_device_keeps_the_user_online)
{
	char laptop_token[TEST_TOKEN_MAX];
	struct test_client *laptop;
	long long left_ms;
	struct raw_mqtt phone;
	struct chat_scene s;
	size_t mark;

	watched_alice(fx, &s);
	assert_int_equal(
	    chat_server_add_device(s.srv, "alice", laptop_token, NULL), 0);
	assert_int_equal(raw_mqtt_connect(&phone, s.srv->port, "alice-shared",
	                                  "alice", s.alice_token,
	                                  strlen(s.alice_token), true, WAIT),
	                 0);
	mark = expect_online(s.bob, 0);

	/* PROTOCOL.md: another device of the same account takes the
	 * session over; the broker closes the old connection. */
	left_ms = test_now_ms();
	laptop =
	    connect_as(s.srv, "alice", laptop_token, "alice-shared", false);
	assert_true(test_raw_wait_closed(&phone, WAIT));
	raw_mqtt_drop(&phone);
	expect_answer(s.bob, true);
	expect_no_change(s.bob, mark, left_ms + SETTLE_MS);

	/* The new connection was her only one. */
	leave_and_expect_offline(s.bob, laptop, mark);
}

CHAT_TEST(a_durable_session_leaving_and_returning_shows_each_change_once)
{
	struct test_client *phone;
	long long left_ms;
	struct chat_scene s;
	size_t mark;

	watched_alice(fx, &s);
	phone =
	    connect_as(s.srv, "alice", s.alice_token, "alice-durable", true);
	mark = expect_online(s.bob, 0);

	mark = leave_and_expect_offline(s.bob, phone, mark);

	/* Back to the stored session: online again, once. */
	phone =
	    connect_as(s.srv, "alice", s.alice_token, "alice-durable", true);
	assert_true(test_client_session_present(phone));
	mark = expect_online(s.bob, mark);

	/* A lost network and a quick return to the session: the broker also
	 * reports the end of the old connection once more; she stays on. */
	left_ms = test_now_ms();
	test_client_drop(phone);
	phone =
	    connect_as(s.srv, "alice", s.alice_token, "alice-durable", true);
	expect_answer(s.bob, true);
	expect_no_change(s.bob, mark, left_ms + SETTLE_MS);

	leave_and_expect_offline(s.bob, phone, mark);
}

/* mosquitto_sub as alice, as a program a test can kill. */
static struct test_process *alice_subscriber(struct chat_scene *s)
{
	char port[16], out_path[PATH_MAX + 32];
	char *argv[] = {"mosquitto_sub",
	                "-h",
	                "127.0.0.1",
	                "-p",
	                port,
	                "-u",
	                "alice",
	                "-P",
	                s->alice_token,
	                "-i",
	                "alice-sub",
	                "-q",
	                "1",
	                "-t",
	                "chat/u/alice/#",
	                NULL};

	snprintf(port, sizeof(port), "%d", s->srv->port);
	snprintf(out_path, sizeof(out_path), "%s/mosquitto_sub.out",
	         s->srv->dir);
	return chat_server_spawn_helper(s->srv, "mosquitto_sub", argv,
	                                out_path);
}

CHAT_TEST(a_client_killed_or_cut_off_goes_offline_after_the_grace_period)
{
	long long left_ms, left_wall;
	struct test_process *sub;
	struct raw_mqtt raw;
	struct chat_scene s;
	size_t mark;

	watched_alice(fx, &s);

	/* A connection that ends without DISCONNECT. */
	assert_int_equal(raw_mqtt_connect(&raw, s.srv->port, "alice-raw",
	                                  "alice", s.alice_token,
	                                  strlen(s.alice_token), true, WAIT),
	                 0);
	mark = expect_online(s.bob, 0);
	left_ms = test_now_ms();
	left_wall = test_wall_ms();
	raw_mqtt_drop(&raw);
	mark = expect_offline(s.bob, mark, left_ms, left_wall);

	/* A client program killed with -9. */
	sub = alice_subscriber(&s);
	assert_non_null(sub);
	mark = expect_online(s.bob, mark);
	left_ms = test_now_ms();
	left_wall = test_wall_ms();
	test_process_kill(sub);
	expect_offline(s.bob, mark, left_ms, left_wall);
}

CHAT_TEST(
    a_connect_refused_for_alices_client_id_changes_nothing_of_her_presence)
{
	char carol_token[TEST_TOKEN_MAX];
	struct test_client_options o = {0};
	struct test_client *phone, *intruder = NULL;
	long long left_ms;
	struct chat_scene s;
	size_t mark;

	watched_alice(fx, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	phone = connect_as(s.srv, "alice", s.alice_token, "alice-phone", true);
	mark = expect_online(s.bob, 0);

	/* carol with alice's client id, and a wrong token for alice. */
	left_ms = test_now_ms();
	o.user = "carol";
	o.password = carol_token;
	o.client_id = "alice-phone";
	assert_true(test_client_connect(s.srv, &o, &intruder) > 0);
	o.user = "alice";
	assert_true(test_client_connect(s.srv, &o, &intruder) > 0);
	assert_null(intruder);
	expect_no_change(s.bob, mark, left_ms + SETTLE_MS);
	assert_true(test_client_connected(phone));
	assert_int_equal(test_client_disconnects(phone), 0);

	/* Her own leaving still counts, once. */
	mark = leave_and_expect_offline(s.bob, phone, mark);

	/* Her durable session keeps the id reserved while she is away: the
	 * refused intruder does not bring her online. */
	left_ms = test_now_ms();
	o.user = "carol";
	assert_true(test_client_connect(s.srv, &o, &intruder) > 0);
	expect_answer(s.bob, false);
	expect_no_change(s.bob, mark, left_ms + SETTLE_MS);
}

/* The id `device list` shows for alice's first device: the one that is
 * not `other`. */
static void first_device(struct chat_server *srv, const char *other,
                         char device[TEST_ID_MAX])
{
	char list[4096], *line, *save = NULL;

	device[0] = '\0';
	assert_int_equal(chat_server_ctl(srv, list, sizeof(list), "device",
	                                 "list", "alice", NULL),
	                 0);
	for (line = strtok_r(list, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len = strcspn(line, " ");

		if (line[0] < '0' || line[0] > '9' || len >= TEST_ID_MAX ||
		    (len == strlen(other) && strncmp(line, other, len) == 0))
			continue;
		memcpy(device, line, len);
		device[len] = '\0';
	}
	assert_true(device[0] != '\0');
}

static void expect_kicked(struct test_client *c, long long since_ms)
{
	while (test_client_disconnects(c) == 0 &&
	       test_now_ms() - since_ms < KICK_MS)
		test_sleep_ms(10);
	if (test_client_disconnects(c) == 0)
		fail_msg("%s still connected %d ms after its revocation",
		         c->client_id, KICK_MS);
	print_message("%s closed %lld ms after its revocation\n", c->client_id,
	              test_now_ms() - since_ms);
}

CHAT_TEST(revoked_devices_are_kicked_and_the_user_goes_offline_with_the_last)
{
	char laptop_token[TEST_TOKEN_MAX], phone_device[TEST_ID_MAX];
	char laptop_device[TEST_ID_MAX], json[128], id[TEST_CMID_MAX];
	struct test_client *phone, *laptop;
	long long left_ms, left_wall;
	struct chat_scene s;
	size_t mark;

	watched_alice(fx, &s);
	assert_int_equal(
	    chat_server_add_device(s.srv, "alice", laptop_token, laptop_device),
	    0);
	first_device(s.srv, laptop_device, phone_device);
	phone = connect_as(s.srv, "alice", s.alice_token, "alice-phone", false);
	laptop =
	    connect_as(s.srv, "alice", laptop_token, "alice-laptop", false);
	mark = expect_online(s.bob, 0);

	/* The operator revokes the phone: it is closed, keeps being refused
	 * when it tries again, and the laptop keeps her online. */
	left_ms = test_now_ms();
	assert_int_equal(chat_server_revoke_device(s.srv, phone_device), 0);
	expect_kicked(phone, left_ms);
	expect_no_change(s.bob, mark, test_now_ms() + SETTLE_MS);
	assert_false(test_client_connected(phone));

	/* The laptop revokes itself: the last device is gone. Its answer
	 * may lose the race with the kick; test_devices checks answers. */
	snprintf(json, sizeof(json),
	         "{\"op\":\"revoke_device\",\"device\":\"%s\"}", laptop_device);
	assert_int_equal(test_client_request_send(laptop, json, id), 0);
	expect_kicked(laptop, test_now_ms());
	left_ms = test_now_ms();
	left_wall = test_wall_ms();
	mark = expect_offline(s.bob, mark, left_ms, left_wall);
	expect_no_change(s.bob, mark, test_now_ms() + SETTLE_MS);
}

/* ---- status and the minimum interval ---- */

CHAT_TEST(
    away_and_available_show_in_the_presence_and_other_statuses_are_refused)
{
	static const char *const invalid[] = {"{\"status\":\"busy\"}",
	                                      "{\"status\":true}", "away",
	                                      "{\"status\":\"away\"} x", NULL};
	struct test_match refused = {.kind = "event", .code = "bad_request"};
	struct test_client *phone;
	struct chat_scene s;
	size_t mark, events;
	cJSON *p;

	watched_alice(fx, &s);
	phone = connect_as(s.srv, "alice", s.alice_token, "alice-phone", false);
	mark = expect_online(s.bob, 0);
	assert_string_equal(
	    test_json_string(test_presence_last(s.bob, "alice")->json,
	                     "status"),
	    "available");

	assert_int_equal(test_client_status(phone, "{\"status\":\"away\"}"), 0);
	p = test_presence_wait(s.bob, "alice", true, mark, WAIT, &mark);
	assert_non_null(p);
	assert_string_equal(test_json_string(p, "status"), "away");
	mark++;
	assert_int_equal(
	    test_client_status(phone, "{\"status\":\"available\"}"), 0);
	p = test_presence_wait(s.bob, "alice", true, mark, WAIT, &mark);
	assert_non_null(p);
	assert_string_equal(test_json_string(p, "status"), "available");
	mark++;

	events = test_client_mark(phone);
	for (int i = 0; invalid[i]; i++) {
		size_t before = test_client_mark(phone);

		assert_int_equal(test_client_status(phone, invalid[i]), 0);
		if (test_client_wait(phone, &refused, before, WAIT) == NULL)
			fail_msg("no bad_request for status %s", invalid[i]);
	}
	assert_int_equal(test_client_count(phone, &refused, events), 4);
	expect_no_change(s.bob, mark,
	                 test_now_ms() + INTERVAL_MS + test_timeout_ms(300));
	assert_string_equal(
	    test_json_string(test_presence_last(s.bob, "alice")->json,
	                     "status"),
	    "available");
}

CHAT_TEST(changes_of_a_users_presence_are_at_least_the_minimum_interval_apart)
{
	static const struct chat_server_config slow_changes = {
	    .plugin_options = {"presence_grace_ms 500",
	                       "presence_min_interval_ms 600"}};
	static const char *const burst[] = {"away", "available", "away",
	                                    "available", "away"};
	const struct test_inbox_entry *online, *away, *last;
	struct test_client *phone;
	struct chat_scene s;
	size_t at;
	char json[64];

	memset(&s, 0, sizeof(s));
	s.srv = chat_fixture_server(fx, &slow_changes);
	chat_fixture_user(s.srv, "alice", s.alice_token);
	chat_fixture_user(s.srv, "bob", s.bob_token);
	chat_fixture_direct(s.srv, "alice", "bob", s.convo);
	s.bob = chat_fixture_connect(s.srv, "bob", s.bob_token);
	assert_int_equal(test_presence_subscribe(s.bob, "alice"), 1);
	phone = connect_as(s.srv, "alice", s.alice_token, "alice-phone", false);

	/* Coming online and going away right after: two changes, the second
	 * held back until the interval has passed. */
	assert_non_null(test_presence_wait(s.bob, "alice", true, 0, WAIT, &at));
	online = test_client_entry(s.bob, at);
	assert_int_equal(test_client_status(phone, "{\"status\":\"away\"}"), 0);
	assert_non_null(
	    test_presence_wait(s.bob, "alice", true, at + 1, WAIT, &at));
	away = test_client_entry(s.bob, at);
	assert_string_equal(test_json_string(away->json, "status"), "away");
	print_message("second change %lld ms after the first\n",
	              away->received_ms - online->received_ms);
	assert_true(away->received_ms - online->received_ms >=
	            SLOW_INTERVAL_MS - 20);

	/* A burst ending where it started, then one more: at most one
	 * change, showing the final status. */
	for (size_t i = 0; i < sizeof(burst) / sizeof(burst[0]); i++) {
		snprintf(json, sizeof(json), "{\"status\":\"%s\"}", burst[i]);
		assert_int_equal(test_client_status(phone, json), 0);
	}
	assert_int_equal(
	    test_client_status(phone, "{\"status\":\"available\"}"), 0);
	test_sleep_ms((int)(away->received_ms + 2 * SLOW_INTERVAL_MS +
	                    test_timeout_ms(300) - test_now_ms()));
	assert_int_equal(test_presence_count(s.bob, "alice", at + 1), 1);
	last = test_presence_last(s.bob, "alice");
	assert_string_equal(test_json_string(last->json, "status"),
	                    "available");
	assert_true(last->received_ms - away->received_ms >=
	            SLOW_INTERVAL_MS - 20);
}

/* ---- who sees whom ---- */

/* A `presence` request naming 101 users, one more than allowed. */
static cJSON *ask_too_many(struct test_client *c)
{
	static char names[101][8];
	const char *users[102];

	for (int i = 0; i < 101; i++) {
		snprintf(names[i], sizeof(names[i]), "u%03d", i);
		users[i] = names[i];
	}
	users[101] = NULL;
	return test_presence_ask(c, users, WAIT);
}

CHAT_TEST(users_sharing_no_conversation_cannot_subscribe_even_by_wildcard)
{
	static const char *const refused_to_carol[] = {
	    "chat/presence/alice",   "chat/presence/+",  "chat/presence/#",
	    "chat/presence/alice/#", "+/presence/alice", NULL};
	static const char *const refused_to_bob[] = {
	    "chat/presence/+",  "chat/presence/#", "chat/presence/alice/#",
	    "+/presence/alice", "chat/+/alice",    NULL};
	static const char *const asked[] = {"alice", "carol", "nobody", NULL};
	static const char forged[] = "{\"user\":\"alice\",\"online\":false,"
	                             "\"last_seen\":1}";
	char carol_token[TEST_TOKEN_MAX];
	struct test_client *phone, *carol;
	struct chat_scene s;
	size_t mark;
	cJSON *resp;

	watched_alice(fx, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	carol = chat_fixture_connect(s.srv, "carol", carol_token);
	phone = connect_as(s.srv, "alice", s.alice_token, "alice-phone", false);
	mark = expect_online(s.bob, 0);

	for (int i = 0; refused_to_carol[i]; i++) {
		print_message("carol subscribes to %s\n", refused_to_carol[i]);
		assert_int_equal(
		    test_client_subscribe(carol, refused_to_carol[i], 1), 0x80);
	}
	/* Exact topics only, even for a contact. */
	for (int i = 0; refused_to_bob[i]; i++) {
		print_message("bob subscribes to %s\n", refused_to_bob[i]);
		assert_int_equal(
		    test_client_subscribe(s.bob, refused_to_bob[i], 1), 0x80);
	}
	/* Nobody publishes presence but the server, alice included. */
	assert_int_equal(test_client_publish(phone, "chat/presence/alice",
	                                     forged, (int)strlen(forged), 1,
	                                     true, NULL),
	                 0);
	assert_int_equal(test_client_publish(phone, "chat/presence/alice",
	                                     forged, (int)strlen(forged), 1,
	                                     false, NULL),
	                 0);
	assert_int_equal(test_client_status(phone, "{\"status\":\"away\"}"), 0);
	assert_non_null(
	    test_presence_wait(s.bob, "alice", true, mark, WAIT, NULL));
	test_client_quiet(carol, 300);
	assert_int_equal(test_presence_count(s.bob, "alice", mark), 1);
	assert_int_equal(test_presence_count(carol, "alice", 0), 0);

	/* The request leaves out whom carol may not see, and those that do
	 * not exist; her own presence she always sees. */
	resp = test_presence_ask(carol, asked, WAIT);
	chat_assert_ok(resp);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(resp, "presence")), 1);
	assert_non_null(test_presence_answer_entry(resp, "carol"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
	    test_presence_answer_entry(resp, "carol"), "online")));
	resp = test_presence_ask(s.bob, asked, WAIT);
	chat_assert_ok(resp);
	assert_non_null(test_presence_answer_entry(resp, "alice"));
	assert_null(test_presence_answer_entry(resp, "carol"));
	assert_null(test_presence_answer_entry(resp, "nobody"));
	chat_assert_refused(ask_too_many(s.bob), "bad_request");
}

CHAT_TEST(after_leaving_the_shared_group_presence_no_longer_arrives)
{
	static const char *const members[] = {"bob", "dave"};
	static const char *const alice[] = {"alice", NULL};
	struct test_match left = {.kind = "msg", .type = "left"};
	char dave_token[TEST_TOKEN_MAX], group[TEST_ID_MAX];
	struct test_client *phone, *dave;
	size_t bob_mark, dave_mark;
	struct chat_scene s;
	cJSON *resp;

	memset(&s, 0, sizeof(s));
	s.srv = chat_fixture_server(fx, &short_presence);
	chat_fixture_user(s.srv, "alice", s.alice_token);
	chat_fixture_user(s.srv, "bob", s.bob_token);
	chat_fixture_user(s.srv, "dave", dave_token);
	phone = connect_as(s.srv, "alice", s.alice_token, "alice-phone", false);
	s.bob = chat_fixture_connect(s.srv, "bob", s.bob_token);
	dave = chat_fixture_connect(s.srv, "dave", dave_token);
	chat_fixture_group(phone, "climbing", members, 2, false, group);
	assert_int_equal(test_presence_subscribe(s.bob, "alice"), 1);
	assert_int_equal(test_presence_subscribe(dave, "alice"), 1);
	bob_mark = expect_online(s.bob, 0);
	dave_mark = expect_online(dave, 0);

	resp = test_client_request(
	    s.bob, WAIT, "{\"op\":\"leave\",\"convo\":\"%s\"}", group);
	chat_assert_ok(resp);
	assert_non_null(test_client_wait(s.bob, &left, 0, WAIT));

	assert_int_equal(test_client_status(phone, "{\"status\":\"away\"}"), 0);
	assert_non_null(
	    test_presence_wait(dave, "alice", true, dave_mark, WAIT, NULL));
	test_client_quiet(s.bob, 300);
	assert_int_equal(test_presence_count(s.bob, "alice", bob_mark), 0);
	assert_int_equal(test_presence_subscribe(s.bob, "alice"), 0x80);
	resp = test_presence_ask(s.bob, alice, WAIT);
	chat_assert_ok(resp);
	assert_null(test_presence_answer_entry(resp, "alice"));
	resp = test_presence_ask(dave, alice, WAIT);
	chat_assert_ok(resp);
	assert_non_null(test_presence_answer_entry(resp, "alice"));
}

static cJSON *set_hiding(struct test_client *c, const char *value)
{
	cJSON *resp = test_client_request(
	    c, WAIT, "{\"op\":\"settings\",\"hide_presence\":%s}", value);

	chat_assert_ok(resp);
	return resp;
}

static bool hiding_in(const cJSON *resp)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(resp, "settings"), "hide_presence"));
}

/* A `presence` request of asker about user: is user in the answer? */
static bool answered_about(struct test_client *asker, const char *user)
{
	const char *const users[] = {user, NULL};
	cJSON *resp = test_presence_ask(asker, users, WAIT);

	chat_assert_ok(resp);
	return test_presence_answer_entry(resp, user) != NULL;
}

CHAT_TEST(hidden_presence_is_seen_by_nobody_and_its_user_sees_nobody)
{
	char alice_token[TEST_TOKEN_MAX], dave_token[TEST_TOKEN_MAX];
	struct test_client *alice, *dave, *alice2, *dave2;
	size_t alice_mark, dave_mark;
	char convo[TEST_ID_MAX];
	struct chat_server *srv;
	cJSON *resp;

	srv = chat_fixture_server(fx, &short_presence);
	chat_fixture_user(srv, "alice", alice_token);
	chat_fixture_user(srv, "dave", dave_token);
	chat_fixture_direct(srv, "alice", "dave", convo);
	alice = chat_fixture_connect(srv, "alice", alice_token);
	alice2 = chat_fixture_connect(srv, "alice", alice_token);
	dave = chat_fixture_connect(srv, "dave", dave_token);
	dave2 = chat_fixture_connect(srv, "dave", dave_token);
	assert_int_equal(test_presence_subscribe(alice, "dave"), 1);
	assert_int_equal(test_presence_subscribe(alice, "alice"), 1);
	assert_int_equal(test_presence_subscribe(dave, "alice"), 1);
	assert_int_equal(test_presence_subscribe(dave, "dave"), 1);
	assert_non_null(test_presence_wait(dave, "alice", true, 0, WAIT, NULL));
	assert_non_null(test_presence_wait(alice, "dave", true, 0, WAIT, NULL));
	assert_false(hiding_in(
	    test_client_request(alice, WAIT, "{\"op\":\"settings\"}")));

	assert_true(hiding_in(set_hiding(alice, "true")));
	assert_true(hiding_in(
	    test_client_request(alice, WAIT, "{\"op\":\"settings\"}")));
	alice_mark = test_client_mark(alice);
	dave_mark = test_client_mark(dave);

	/* Changes on either side reach only the user itself. */
	assert_int_equal(test_client_status(alice, "{\"status\":\"away\"}"), 0);
	assert_int_equal(test_client_status(dave, "{\"status\":\"away\"}"), 0);
	assert_non_null(
	    test_presence_wait(alice, "alice", true, alice_mark, WAIT, NULL));
	assert_non_null(
	    test_presence_wait(dave, "dave", true, dave_mark, WAIT, NULL));
	test_client_quiet(dave, 300);
	assert_int_equal(test_presence_count(dave, "alice", dave_mark), 0);
	assert_int_equal(test_presence_count(alice, "dave", alice_mark), 0);

	/* Fresh subscriptions and requests say the same. */
	assert_int_equal(test_presence_subscribe(dave2, "alice"), 0x80);
	assert_int_equal(test_presence_subscribe(alice2, "dave"), 0x80);
	assert_int_equal(test_presence_subscribe(alice2, "alice"), 1);
	assert_false(answered_about(dave, "alice"));
	assert_false(answered_about(alice, "dave"));
	assert_true(answered_about(alice, "alice"));

	resp = test_client_request(
	    alice, WAIT, "{\"op\":\"settings\",\"hide_presence\":\"yes\"}");
	chat_assert_refused(resp, "bad_request");

	/* Shown again once she stops hiding. */
	assert_false(hiding_in(set_hiding(alice, "false")));
	assert_int_equal(test_presence_subscribe(dave2, "alice"), 1);
	assert_non_null(
	    test_presence_wait(dave2, "alice", true, 0, WAIT, NULL));
	assert_true(answered_about(dave, "alice"));
	assert_true(answered_about(alice, "dave"));
}

/* SIGHUP makes the broker authenticate every session again, the offline
 * durable ones included: nobody's presence may change because of it. */
CHAT_TEST(a_sighup_reload_changes_nobodys_presence)
{
	struct test_client *phone, *laptop;
	struct chat_scene s;
	size_t mark;

	watched_alice(fx, &s);
	phone =
	    connect_as(s.srv, "alice", s.alice_token, "alice-durable", true);
	mark = expect_online(s.bob, 0);
	mark = leave_and_expect_offline(s.bob, phone, mark);

	/* Offline with a stored session: a reload must not bring her on. */
	assert_int_equal(kill(s.srv->broker.pid, SIGHUP), 0);
	expect_no_change(s.bob, mark, test_now_ms() + SETTLE_MS);
	expect_answer(s.bob, false);

	/* Online on another device: a reload must not take her off. */
	laptop = connect_as(s.srv, "alice", s.alice_token, "alice-laptop",
	                    false);
	mark = expect_online(s.bob, mark);
	assert_int_equal(kill(s.srv->broker.pid, SIGHUP), 0);
	expect_no_change(s.bob, mark, test_now_ms() + SETTLE_MS);
	expect_answer(s.bob, true);
	assert_true(test_client_connected(laptop));

	leave_and_expect_offline(s.bob, laptop, mark);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        online_while_either_device_is_connected_offline_after_both_and_the_grace),
	    CHAT_TEST_ENTRY(
	        a_client_id_taken_over_by_another_device_keeps_the_user_online),
	    CHAT_TEST_ENTRY(
	        a_durable_session_leaving_and_returning_shows_each_change_once),
	    CHAT_TEST_ENTRY(
	        a_client_killed_or_cut_off_goes_offline_after_the_grace_period),
	    CHAT_TEST_ENTRY(
	        a_connect_refused_for_alices_client_id_changes_nothing_of_her_presence),
	    CHAT_TEST_ENTRY(
	        revoked_devices_are_kicked_and_the_user_goes_offline_with_the_last),
	    CHAT_TEST_ENTRY(
	        away_and_available_show_in_the_presence_and_other_statuses_are_refused),
	    CHAT_TEST_ENTRY(
	        changes_of_a_users_presence_are_at_least_the_minimum_interval_apart),
	    CHAT_TEST_ENTRY(
	        users_sharing_no_conversation_cannot_subscribe_even_by_wildcard),
	    CHAT_TEST_ENTRY(
	        after_leaving_the_shared_group_presence_no_longer_arrives),
	    CHAT_TEST_ENTRY(
	        hidden_presence_is_seen_by_nobody_and_its_user_sees_nobody),
	    CHAT_TEST_ENTRY(a_sighup_reload_changes_nobodys_presence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
