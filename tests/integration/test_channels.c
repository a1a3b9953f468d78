/*
 * Broadcast conversations: a channel's messages go out once, on
 * chat/c/{convo}, and reach every subscribed member exactly once and
 * nobody else; a group that grows past the fan-out cap switches to the
 * same delivery and tells its members so on their inboxes.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT     test_timeout_ms(5000)
#define QUIET_MS 500

#define CHANNEL_MEMBERS 2000

static void channel_topic(const char *convo, char *out, size_t outlen)
{
	snprintf(out, outlen, "chat/c/%s", convo);
}

/* Publishes connection i received: exactly one, on topic, at seq, with
 * body. */
static void assert_received_once(const struct test_fleet *f, size_t i,
                                 const char *topic, long seq, const char *body)
{
	const struct test_fleet_publish *p = test_fleet_entry(f, i, 0);
	cJSON *msg;

	if (test_fleet_count(f, i) != 1)
		fail_msg("member %zu received %zu publishes", i,
		         test_fleet_count(f, i));
	assert_string_equal(p->topic, topic);
	msg = cJSON_Parse(p->payload);
	assert_non_null(msg);
	assert_int_equal(test_json_number(msg, "seq"), seq);
	assert_string_equal(test_json_string(msg, "body"), body);
	cJSON_Delete(msg);
}

/* Connects the members in a fleet subscribed to the channel only. */
static struct test_fleet *subscribed_fleet(struct chat_server *srv,
                                           const struct test_account *a,
                                           size_t count, const char *topic,
                                           int want)
{
	struct test_fleet *f = test_fleet_new(srv, count);

	assert_non_null(f);
	assert_int_equal(test_fleet_connect(f, a, count, 6 * WAIT), 0);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(test_fleet_subscribe(f, i, topic), 0);
	assert_int_equal(test_fleet_wait_subacks(f, 4 * WAIT), 0);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(test_fleet_suback(f, i), want);
	return f;
}

CHAT_TEST(a_message_to_a_2000_member_channel_reaches_each_subscriber_once)
{
	static struct test_account a[CHANNEL_MEMBERS + 1];
	static const char *names[CHANNEL_MEMBERS];
	struct chat_server *srv = chat_fixture_server(fx, NULL);
	struct test_fleet *members, *outsider;
	struct test_client *owner;
	char convo[TEST_ID_MAX], topic[TEST_ID_MAX + 16];
	cJSON *tick;
	long seq;

	/* a[0] owns the channel, a[1..1999] are its members, a[2000] is
	 * not one. */
	chat_fixture_accounts(srv, "u", a, CHANNEL_MEMBERS + 1);
	test_account_names(a, CHANNEL_MEMBERS, names);
	owner = chat_fixture_connect(srv, a[0].user, a[0].token);
	chat_fixture_group(owner, "news", names + 1, CHANNEL_MEMBERS - 1, true,
	                   convo);
	channel_topic(convo, topic, sizeof(topic));
	assert_int_equal(test_client_subscribe(owner, topic, 1), 1);

	members = subscribed_fleet(srv, a + 1, CHANNEL_MEMBERS - 1, topic, 1);
	outsider = subscribed_fleet(srv, a + CHANNEL_MEMBERS, 1, topic, 0x80);

	assert_int_equal(
	    test_client_send(owner, convo, "big-1", "to everyone", NULL), 0);
	tick = test_client_wait(
	    owner, &(struct test_match){.topic = topic, .cmid = "big-1"}, 0,
	    WAIT);
	assert_non_null(tick);
	seq = (long)test_json_number(tick, "seq");
	assert_true(test_fleet_wait_each(members, 1, 4 * WAIT));
	test_fleet_pump(members, 300);
	test_fleet_pump(outsider, 300);

	for (size_t i = 0; i < CHANNEL_MEMBERS - 1; i++)
		assert_received_once(members, i, topic, seq, "to everyone");
	assert_int_equal(test_fleet_count(outsider, 0), 0);
	assert_int_equal(test_db_count_messages(srv, convo), seq);
	test_fleet_free(members);
	test_fleet_free(outsider);
}

CHAT_TEST(only_members_subscribe_to_a_channel_and_it_has_no_receipts)
{
	static const char *const members[] = {"bob", "carol"};
	char tokens[4][TEST_TOKEN_MAX], convo[TEST_ID_MAX], topic[128];
	struct test_match on_channel = {.topic = NULL};
	struct test_client *alice, *bob, *carol, *erin;
	struct chat_server *srv = chat_fixture_server(fx, NULL);
	const cJSON *entry;
	cJSON *resp, *msg;

	chat_fixture_user(srv, "alice", tokens[0]);
	chat_fixture_user(srv, "bob", tokens[1]);
	chat_fixture_user(srv, "carol", tokens[2]);
	chat_fixture_user(srv, "erin", tokens[3]);
	alice = chat_fixture_connect(srv, "alice", tokens[0]);
	bob = chat_fixture_connect(srv, "bob", tokens[1]);
	carol = chat_fixture_connect(srv, "carol", tokens[2]);
	erin = chat_fixture_connect(srv, "erin", tokens[3]);
	chat_fixture_group(alice, "announcements", members, 2, true, convo);
	channel_topic(convo, topic, sizeof(topic));
	on_channel.topic = topic;

	assert_int_equal(test_client_subscribe(bob, topic, 1), 1);
	assert_int_equal(test_client_subscribe(carol, topic, 1), 1);
	assert_int_equal(test_client_subscribe(erin, topic, 1), 0x80);
	assert_int_equal(test_client_subscribe(erin, "chat/c/+", 1), 0x80);
	assert_int_equal(
	    test_client_send(alice, convo, "c-1", "hello channel", NULL), 0);

	msg = test_client_wait(bob, &on_channel, 0, WAIT);
	assert_non_null(msg);
	assert_string_equal(test_json_string(msg, "cmid"), "c-1");
	assert_non_null(test_client_wait(carol, &on_channel, 0, WAIT));
	/* Nothing of it on the inboxes, nothing at all for erin. */
	assert_int_equal(
	    test_client_count(
	        bob, &(struct test_match){.kind = "msg", .cmid = "c-1"}, 0),
	    0);
	resp = test_client_request(alice, WAIT, "{\"op\":\"conversations\"}");
	chat_assert_ok(resp);
	entry =
	    cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "conversations"), 0);
	assert_string_equal(test_json_string(entry, "kind"), "channel");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(entry, "broadcast")));

	/* Receipts: bob's cursor moves, alice hears nothing. */
	assert_int_equal(test_client_ack(bob, convo, 2, 2), 0);
	test_client_quiet(alice, QUIET_MS);
	assert_int_equal(
	    test_client_count(
	        alice, &(struct test_match){.kind = "event", .type = "receipt"},
	        0),
	    0);
	assert_int_equal(test_client_count(erin, &(struct test_match){0}, 0),
	                 0);
	resp = test_client_request(
	    alice, WAIT, "{\"op\":\"members\",\"convo\":\"%s\"}", convo);
	chat_assert_ok(resp);
	entry = cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "members"), 0);
	assert_null(cJSON_GetObjectItem(entry, "delivered"));
	assert_null(cJSON_GetObjectItem(entry, "read"));
}

/* ---- a group outgrowing the fan-out cap ---- */

CHAT_TEST(a_group_past_the_fanout_cap_turns_to_broadcast)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave",
	                                    "erin"};
	static const char *const dave_only[] = {"dave"};
	struct chat_server_config cfg = {
	    .plugin_options = {"group_fanout_max 3"}};
	struct test_match broadcast = {.kind = "msg", .type = "broadcast"};
	char tokens[5][TEST_TOKEN_MAX], convo[TEST_ID_MAX], topic[128];
	struct test_client *c[5];
	struct chat_server *srv = chat_fixture_server(fx, &cfg);
	const cJSON *entry;
	cJSON *msg, *resp;
	long switched;

	for (int i = 0; i < 5; i++) {
		chat_fixture_user(srv, users[i], tokens[i]);
		c[i] = chat_fixture_connect(srv, users[i], tokens[i]);
	}
	chat_fixture_group(c[0], "growing", users + 1, 2, false, convo);
	channel_topic(convo, topic, sizeof(topic));
	/* Members may subscribe ahead of the switch; outsiders never. */
	assert_int_equal(test_client_subscribe(c[1], topic, 1), 1);
	assert_int_equal(test_client_subscribe(c[4], topic, 1), 0x80);
	assert_int_equal(
	    test_client_send(c[0], convo, "small", "three of us", NULL), 0);
	assert_non_null(test_client_wait_message(c[2], convo, 2, WAIT));

	/* The fourth member: past the cap of 3. */
	assert_true(test_group_add(c[0], convo, dave_only, 1) > 0);
	for (int i = 0; i < 4; i++) {
		msg = test_client_wait(c[i], &broadcast, 0, WAIT);
		if (msg == NULL)
			fail_msg("%s got no broadcast message", users[i]);
		assert_string_equal(
		    test_json_string(cJSON_GetObjectItem(msg, "event"),
		                     "topic"),
		    topic);
	}
	switched = (long)test_json_number(msg, "seq");
	resp = test_client_request(c[1], WAIT, "{\"op\":\"conversations\"}");
	chat_assert_ok(resp);
	entry =
	    cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "conversations"), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(entry, "broadcast")));

	/* bob and dave subscribe, carol does not; erin may not. */
	assert_int_equal(test_client_subscribe(c[1], topic, 1), 1);
	assert_int_equal(test_client_subscribe(c[3], topic, 1), 1);
	assert_int_equal(test_client_subscribe(c[4], topic, 1), 0x80);
	assert_int_equal(
	    test_client_send(c[0], convo, "big", "four of us", NULL), 0);
	for (int i = 1; i <= 3; i += 2) {
		msg = test_client_wait(
		    c[i], &(struct test_match){.topic = topic, .cmid = "big"},
		    0, WAIT);
		assert_non_null(msg);
		assert_int_equal(test_json_number(msg, "seq"), switched + 1);
	}
	test_client_quiet(c[2], QUIET_MS);
	for (int i = 0; i < 5; i++)
		assert_int_equal(
		    test_client_count(
		        c[i],
		        &(struct test_match){.kind = "msg", .cmid = "big"}, 0),
		    0);
	assert_int_equal(
	    test_client_count(c[2], &(struct test_match){.cmid = "big"}, 0), 0);
	assert_int_equal(test_client_count(c[4], &(struct test_match){0}, 0),
	                 0);
	/* No receipts in a broadcast conversation. */
	assert_int_equal(test_client_ack(c[1], convo, switched + 1, -1), 0);
	/* Carol, not subscribed, catches up by sync. */
	msg = test_client_sync_all(c[2], convo, switched, 100, NULL);
	assert_non_null(msg);
	assert_int_equal(cJSON_GetArraySize(msg), 1);
	assert_string_equal(
	    test_json_string(cJSON_GetArrayItem(msg, 0), "cmid"), "big");
	cJSON_Delete(msg);
	test_client_quiet(c[0], 300);
	assert_int_equal(
	    test_client_count(
	        c[0], &(struct test_match){.kind = "event", .type = "receipt"},
	        0),
	    0);
}

/* Carol's laptop: a durable session subscribed to the channel. */
static struct test_client *connect_laptop(struct chat_server *srv,
                                          const char *token, const char *topic)
{
	struct test_client_options o = {0};
	struct test_client *laptop = NULL;

	o.user = "carol";
	o.password = token;
	o.client_id = "carol-laptop";
	o.durable = true;
	o.subscribe_inbox = true;
	assert_int_equal(test_client_connect(srv, &o, &laptop), 0);
	if (topic)
		assert_int_equal(test_client_subscribe(laptop, topic, 1), 1);
	return laptop;
}

CHAT_TEST(a_member_removed_from_a_channel_stops_receiving_it_at_once)
{
	static const char *const members[] = {"bob", "carol"};
	static const char *const carol_only[] = {"carol"};
	char tokens[3][TEST_TOKEN_MAX], convo[TEST_ID_MAX], topic[128];
	struct test_client *alice, *bob, *carol, *laptop;
	struct chat_server *srv = chat_fixture_server(fx, NULL);
	struct test_match after = {.cmid = "after"};
	struct test_match queued = {.cmid = "while-away"};
	long removed;

	chat_fixture_user(srv, "alice", tokens[0]);
	chat_fixture_user(srv, "bob", tokens[1]);
	chat_fixture_user(srv, "carol", tokens[2]);
	alice = chat_fixture_connect(srv, "alice", tokens[0]);
	bob = chat_fixture_connect(srv, "bob", tokens[1]);
	carol = chat_fixture_connect(srv, "carol", tokens[2]);
	chat_fixture_group(alice, "bulletin", members, 2, true, convo);
	channel_topic(convo, topic, sizeof(topic));
	assert_int_equal(test_client_subscribe(bob, topic, 1), 1);
	assert_int_equal(test_client_subscribe(carol, topic, 1), 1);
	laptop = connect_laptop(srv, tokens[2], topic);
	test_client_close(laptop); /* away; the broker keeps its queue */
	assert_int_equal(
	    test_client_send(alice, convo, "while-away", "for both", NULL), 0);
	assert_non_null(test_client_wait(
	    carol, &(struct test_match){.topic = topic, .cmid = "while-away"},
	    0, WAIT));

	/* Carol keeps her subscriptions; the broker must not deliver. */
	removed = test_group_remove(alice, convo, carol_only, 1);
	assert_true(removed > 0);
	assert_non_null(test_client_wait(
	    carol, &(struct test_match){.seq = removed, .type = "removed"}, 0,
	    WAIT));
	assert_int_equal(
	    test_client_send(alice, convo, "after", "for bob only", NULL), 0);
	assert_non_null(test_client_wait(bob, &after, 0, WAIT));
	test_client_quiet(carol, QUIET_MS);
	assert_int_equal(test_client_count(carol, &after, 0), 0);
	assert_int_equal(test_client_subscribe(carol, topic, 1), 0x80);

	/* Back on the laptop: what was sent before the removal, the removal,
	 * nothing after. */
	laptop = connect_laptop(srv, tokens[2], NULL);
	assert_true(test_client_session_present(laptop));
	assert_non_null(test_client_wait(laptop, &queued, 0, WAIT));
	assert_non_null(test_client_wait(
	    laptop, &(struct test_match){.seq = removed, .type = "removed"}, 0,
	    WAIT));
	test_client_quiet(laptop, QUIET_MS);
	assert_int_equal(test_client_count(laptop, &after, 0), 0);
}

#define STREAM 150

/* The seqs the client received on topic: lowest and highest. */
static void seq_range(struct test_client *c, const char *topic, long *low,
                      long *high)
{
	struct test_match m = {.topic = topic};
	size_t n = test_client_mark(c);

	*low = -1;
	*high = -1;
	for (size_t i = 0; i < n; i++) {
		const struct test_inbox_entry *e = test_client_entry(c, i);
		long seq;

		if (!test_entry_matches(c, e, &m))
			continue;
		seq = (long)test_json_number(e->json, "seq");
		if (*low < 0 || seq < *low)
			*low = seq;
		if (seq > *high)
			*high = seq;
	}
}

CHAT_TEST(a_channel_cuts_members_in_and_out_at_their_seq_mid_stream)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave"};
	char tokens[4][TEST_TOKEN_MAX], convo[TEST_ID_MAX], topic[128];
	char cmid[16], json[256], remove_id[TEST_CMID_MAX],
	    add_id[TEST_CMID_MAX];
	struct test_client *c[4];
	struct chat_server *srv = chat_fixture_server(fx, NULL);
	long removed, added, low, high;
	cJSON *resp;

	for (int i = 0; i < 4; i++) {
		chat_fixture_user(srv, users[i], tokens[i]);
		c[i] = chat_fixture_connect(srv, users[i], tokens[i]);
	}
	chat_fixture_group(c[0], "stream", users + 1, 2, true, convo);
	channel_topic(convo, topic, sizeof(topic));
	for (int i = 1; i <= 2; i++)
		assert_int_equal(test_client_subscribe(c[i], topic, 1), 1);

	for (int i = 0; i < STREAM; i++) {
		snprintf(cmid, sizeof(cmid), "s%d", i);
		assert_int_equal(test_client_send(c[1], convo, cmid, "x", NULL),
		                 0);
		if (i != STREAM / 2)
			continue;
		snprintf(json, sizeof(json),
		         "{\"op\":\"remove_members\",\"convo\":\"%s\","
		         "\"users\":[\"carol\"]}",
		         convo);
		assert_int_equal(
		    test_client_request_send(c[0], json, remove_id), 0);
		snprintf(json, sizeof(json),
		         "{\"op\":\"add_members\",\"convo\":\"%s\","
		         "\"users\":[\"dave\"]}",
		         convo);
		assert_int_equal(test_client_request_send(c[0], json, add_id),
		                 0);
		/* dave subscribes as soon as he may, while the stream goes
		 * on. */
		resp = test_client_wait_response(c[0], add_id, WAIT);
		chat_assert_ok(resp);
		added = (long)test_json_number(resp, "seq");
		assert_int_equal(test_client_subscribe(c[3], topic, 1), 1);
	}
	resp = test_client_wait_response(c[0], remove_id, WAIT);
	chat_assert_ok(resp);
	removed = (long)test_json_number(resp, "seq");
	snprintf(cmid, sizeof(cmid), "s%d", STREAM - 1);
	assert_non_null(test_client_wait(
	    c[1], &(struct test_match){.topic = topic, .cmid = cmid}, 0,
	    4 * WAIT));
	assert_non_null(test_client_wait(
	    c[3], &(struct test_match){.topic = topic, .cmid = cmid}, 0,
	    4 * WAIT));
	test_client_quiet(c[2], 300);

	seq_range(c[2], topic, &low, &high);
	assert_true(high <= removed);
	seq_range(c[3], topic, &low, &high);
	assert_true(low > added - 1);
	assert_int_equal(high, 1 + 2 + STREAM);
}

/* The message adding the member that tips a group over the cap comes
 * before the broadcast message, so it still goes to the inboxes: only
 * "from the next seq on" do messages go out on chat/c/{convo}. */
CHAT_TEST(the_addition_that_tips_a_group_into_broadcast_reaches_the_inboxes)
{
	static const char *const users[] = {"alice", "bob", "carol", "dave"};
	static const char *const dave_only[] = {"dave"};
	struct chat_server_config cfg = {
	    .plugin_options = {"group_fanout_max 3"}};
	struct test_match broadcast = {.kind = "msg", .type = "broadcast"};
	char tokens[4][TEST_TOKEN_MAX], convo[TEST_ID_MAX];
	struct test_client *c[4];
	struct chat_server *srv = chat_fixture_server(fx, &cfg);
	cJSON *msg;
	long added;

	for (int i = 0; i < 4; i++) {
		chat_fixture_user(srv, users[i], tokens[i]);
		c[i] = chat_fixture_connect(srv, users[i], tokens[i]);
	}
	chat_fixture_group(c[0], "tipping", users + 1, 2, false, convo);
	added = test_group_add(c[0], convo, dave_only, 1);
	assert_true(added > 0);
	for (int i = 0; i < 4; i++) {
		msg = test_client_wait(c[i], &broadcast, 0, WAIT);
		assert_non_null(msg);
		assert_true(test_json_number(msg, "seq") > added);
		msg = test_client_wait_message(c[i], convo, added, WAIT);
		if (msg == NULL)
			fail_msg("%s: the added message (seq %ld), sent before "
			         "the switch, did not reach the inbox",
			         users[i], added);
		assert_string_equal(test_json_string(msg, "type"), "added");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_message_to_a_2000_member_channel_reaches_each_subscriber_once),
	    CHAT_TEST_ENTRY(
	        only_members_subscribe_to_a_channel_and_it_has_no_receipts),
	    CHAT_TEST_ENTRY(a_group_past_the_fanout_cap_turns_to_broadcast),
	    CHAT_TEST_ENTRY(
	        the_addition_that_tips_a_group_into_broadcast_reaches_the_inboxes),
	    CHAT_TEST_ENTRY(
	        a_member_removed_from_a_channel_stops_receiving_it_at_once),
	    CHAT_TEST_ENTRY(
	        a_channel_cuts_members_in_and_out_at_their_seq_mid_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
