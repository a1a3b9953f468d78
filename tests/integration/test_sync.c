/*
 * Catching up: sync pages forwards through the log, history backwards, and
 * a client following the reconnect recipe of PROTOCOL.md ends up with every
 * message exactly once even when the broker dropped part of its queue.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT test_timeout_ms(5000)

/* alice sends "body <n>" with cmid "c<n>" for n in first .. first+count-1
 * and waits for every tick, so all of them are in the log. */
static void alice_sends(struct chat_scene *s, int first, int count)
{
	char cmid[32], body[32];

	for (int n = first; n < first + count; n++) {
		snprintf(cmid, sizeof(cmid), "c%d", n);
		snprintf(body, sizeof(body), "body %d", n);
		assert_int_equal(
		    test_client_send(s->alice, s->convo, cmid, body, NULL), 0);
	}
	for (int n = first; n < first + count; n++) {
		snprintf(cmid, sizeof(cmid), "c%d", n);
		assert_non_null(
		    test_client_wait_tick(s->alice, s->convo, cmid, WAIT));
	}
}

/* A server with alice online and bob created but never connected. */
static void scene_with_bob_offline(struct chat_fixture *fx,
                                   const struct chat_server_config *cfg,
                                   struct chat_scene *s)
{
	memset(s, 0, sizeof(*s));
	s->srv = chat_fixture_server(fx, cfg);
	chat_fixture_user(s->srv, "alice", s->alice_token);
	chat_fixture_user(s->srv, "bob", s->bob_token);
	chat_fixture_direct(s->srv, "alice", "bob", s->convo);
	s->alice = chat_fixture_connect(s->srv, "alice", s->alice_token);
}

static cJSON *request_ok(struct test_client *c, const char *op,
                         const char *json)
{
	cJSON *resp = test_client_request(c, WAIT, "%s", json);

	assert_non_null(resp);
	assert_string_equal(test_json_string(resp, "op"), op);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")));
	return resp;
}

/* Asserts the page holds "body <seq>" from alice for seq first..last. */
static void assert_page_messages(const cJSON *resp, long first, long last)
{
	const cJSON *messages = cJSON_GetObjectItem(resp, "messages"), *m;
	long expected = first;
	char body[32];

	assert_true(cJSON_IsArray(messages));
	cJSON_ArrayForEach(m, messages)
	{
		snprintf(body, sizeof(body), "body %ld", expected);
		assert_int_equal(test_json_number(m, "seq"), expected);
		assert_string_equal(test_json_string(m, "from"), "alice");
		assert_string_equal(test_json_string(m, "body"), body);
		expected++;
	}
	assert_int_equal(expected, last + 1);
}

CHAT_TEST(an_offline_member_pages_through_fifty_messages_with_sync)
{
	static const long through[] = {20, 40, 50};
	static const bool more[] = {true, true, false};
	struct test_match any_message = {.kind = "msg"};
	struct chat_scene s;
	char json[160];
	long after = 0;

	scene_with_bob_offline(fx, NULL, &s);
	alice_sends(&s, 1, 50);
	s.bob = chat_fixture_connect(s.srv, "bob", s.bob_token);

	for (int page = 0; page < 3; page++) {
		cJSON *resp;

		snprintf(json, sizeof(json),
		         "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":%ld,"
		         "\"limit\":20}",
		         s.convo, after);
		resp = request_ok(s.bob, "sync", json);
		assert_string_equal(test_json_string(resp, "convo"), s.convo);
		assert_int_equal(test_json_number(resp, "through"),
		                 through[page]);
		assert_int_equal(test_json_number(resp, "head"), 50);
		assert_int_equal(
		    cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")),
		    more[page]);
		assert_page_messages(resp, after + 1, through[page]);
		after = through[page];
	}
	/* No session existed, so nothing was queued: the log is the inbox. */
	assert_int_equal(test_client_count(s.bob, &any_message, 0), 0);
}

CHAT_TEST(sync_pages_default_to_and_are_capped_by_the_configured_sizes)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"sync_page_default 5", "sync_page_max 10"}};
	struct chat_scene s;
	char json[160];
	cJSON *resp;

	chat_fixture_scene(fx, &cfg, &s);
	alice_sends(&s, 1, 30);

	snprintf(json, sizeof(json),
	         "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":0}", s.convo);
	resp = request_ok(s.bob, "sync", json);
	assert_int_equal(test_json_number(resp, "through"), 5);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")));
	assert_page_messages(resp, 1, 5);

	snprintf(json, sizeof(json),
	         "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":5,"
	         "\"limit\":50}",
	         s.convo);
	resp = request_ok(s.bob, "sync", json);
	assert_int_equal(test_json_number(resp, "through"), 15);
	assert_int_equal(test_json_number(resp, "head"), 30);
	assert_page_messages(resp, 6, 15);
}

/* alice sends count messages whose bodies are `size` copies of a letter. */
static void alice_sends_big(struct chat_scene *s, int count, size_t size)
{
	char *body = malloc(size + 1);
	char cmid[16];

	assert_non_null(body);
	for (int n = 1; n <= count; n++) {
		memset(body, 'a' + n % 26, size);
		body[size] = '\0';
		snprintf(cmid, sizeof(cmid), "big%d", n);
		assert_int_equal(
		    test_client_send(s->alice, s->convo, cmid, body, NULL), 0);
		assert_non_null(
		    test_client_wait_tick(s->alice, s->convo, cmid, WAIT));
	}
	free(body);
}

CHAT_TEST(a_sync_page_ends_early_to_stay_under_page_max_bytes)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"page_max_bytes 4096"}};
	const cJSON *m;
	struct chat_scene s;
	char json[160];
	cJSON *resp, *all;
	int count, pages = 0;
	long through;

	chat_fixture_scene(fx, &cfg, &s);
	alice_sends_big(&s, 10, 1000);

	snprintf(json, sizeof(json),
	         "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":0}", s.convo);
	resp = request_ok(s.bob, "sync", json);
	count = cJSON_GetArraySize(cJSON_GetObjectItem(resp, "messages"));
	through = (long)test_json_number(resp, "through");
	assert_true(count >= 1 && count < 10);
	assert_int_equal(through, count);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")));

	all = test_client_sync_all(s.bob, s.convo, 0, 100, &pages);
	assert_non_null(all);
	assert_int_equal(cJSON_GetArraySize(all), 10);
	assert_true(pages > 1);
	count = 0;
	cJSON_ArrayForEach(m, all)
	    assert_int_equal(test_json_number(m, "seq"), ++count);
	cJSON_Delete(all);
}

CHAT_TEST(a_message_larger_than_page_max_bytes_still_fills_a_page)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"page_max_bytes 4096"}};
	struct chat_scene s;
	char json[160];
	cJSON *resp;

	chat_fixture_scene(fx, &cfg, &s);
	alice_sends_big(&s, 2, 6000);

	snprintf(json, sizeof(json),
	         "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":0}", s.convo);
	resp = request_ok(s.bob, "sync", json);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(resp, "messages")), 1);
	assert_int_equal(test_json_number(resp, "through"), 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")));
	assert_int_equal(
	    strlen(test_json_string(
	        cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "messages"), 0),
	        "body")),
	    6000);
}

CHAT_TEST(history_pages_backwards_from_the_newest_message)
{
	struct chat_scene s;
	char json[160];
	cJSON *resp;

	chat_fixture_scene(fx, NULL, &s);
	alice_sends(&s, 1, 30);

	snprintf(json, sizeof(json),
	         "{\"op\":\"history\",\"convo\":\"%s\",\"limit\":10}", s.convo);
	resp = request_ok(s.bob, "history", json);
	assert_int_equal(test_json_number(resp, "from"), 21);
	assert_int_equal(test_json_number(resp, "head"), 30);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")));
	assert_page_messages(resp, 21, 30);

	snprintf(json, sizeof(json),
	         "{\"op\":\"history\",\"convo\":\"%s\",\"before\":11,"
	         "\"limit\":10}",
	         s.convo);
	resp = request_ok(s.bob, "history", json);
	assert_int_equal(test_json_number(resp, "before"), 11);
	assert_int_equal(test_json_number(resp, "from"), 1);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")));
	assert_page_messages(resp, 1, 10);
}

CHAT_TEST(a_response_goes_only_to_the_device_that_asked)
{
	struct test_match responses = {.kind = "resp"};
	char laptop_token[TEST_TOKEN_MAX];
	struct test_client *laptop;
	struct chat_scene s;
	cJSON *resp;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(
	    chat_server_add_device(s.srv, "alice", laptop_token, NULL), 0);
	laptop = chat_fixture_connect(s.srv, "alice", laptop_token);

	resp = test_client_request(s.alice, WAIT, "{\"op\":\"conversations\"}");

	assert_non_null(resp);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")));
	test_client_quiet(laptop, 500);
	assert_int_equal(test_client_count(laptop, &responses, 0), 0);
}

CHAT_TEST(a_device_that_lost_its_network_gets_the_queued_messages_back)
{
	struct test_client_options o = {0};
	struct test_client *phone = NULL;
	struct chat_scene s;
	long seqs[8];

	scene_with_bob_offline(fx, NULL, &s);
	o.user = "bob";
	o.password = s.bob_token;
	o.client_id = "bob-phone";
	o.durable = true;
	o.subscribe_inbox = true;
	assert_int_equal(test_client_connect(s.srv, &o, &phone), 0);

	test_client_drop(phone);
	alice_sends(&s, 1, 3);
	assert_int_equal(test_client_connect(s.srv, &o, &phone), 0);

	assert_non_null(test_client_wait_message(phone, s.convo, 3, WAIT));
	assert_int_equal(test_client_seqs(phone, s.convo, seqs, 8), 3);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[1], 2);
	assert_int_equal(seqs[2], 3);
}

/* Waits until nothing new has arrived for quiet_ms (bounded). */
static void wait_until_quiet(struct test_client *c, int quiet_ms)
{
	long long deadline = test_now_ms() + WAIT;

	while (test_client_quiet(c, quiet_ms) > 0)
		assert_true(test_now_ms() < deadline);
}

static void assert_shown_in_order(struct recipe_client *r, const char *convo,
                                  long last)
{
	size_t count;
	const long *shown = recipe_shown(r, convo, &count);
	char body[32];

	assert_int_equal(count, last);
	for (long seq = 1; seq <= last; seq++) {
		snprintf(body, sizeof(body), "body %ld", seq);
		assert_int_equal(shown[seq - 1], seq);
		assert_string_equal(recipe_body(r, convo, seq), body);
	}
	assert_int_equal(recipe_contiguous(r, convo), last);
}

CHAT_TEST(a_recipe_client_recovers_what_the_broker_dropped_through_the_gap)
{
	static const struct chat_server_config cfg = {
	    .broker_lines = {"max_queued_messages 10"}};
	struct test_match any_message = {.kind = "msg"};
	struct test_client_options o = {0};
	struct test_client *phone = NULL;
	struct recipe_client r;
	struct chat_scene s;
	int kept;

	scene_with_bob_offline(fx, &cfg, &s);
	o.user = "bob";
	o.password = s.bob_token;
	o.client_id = "bob-phone";
	o.durable = true;
	o.subscribe_inbox = true;
	assert_int_equal(test_client_connect(s.srv, &o, &phone), 0);
	test_client_close(phone);

	/* In rounds of ten: max_queued_messages is the broker's for every
	 * client, the bridge's too, and a slow (sanitized) bridge must not
	 * have alice's hand-offs dropped. */
	for (int first = 1; first <= 30; first += 10)
		alice_sends(&s, first, 10);

	/* Bob comes back: the broker replays the ten it kept. */
	assert_int_equal(test_client_connect(s.srv, &o, &phone), 0);
	recipe_init(&r, phone);
	wait_until_quiet(phone, 500);
	assert_int_equal(recipe_process_live(&r), 0);
	kept = test_client_count(phone, &any_message, 0);
	assert_true(kept >= 1 && kept < 30);

	/* The next live message shows the gap; the recipe syncs it away. */
	alice_sends(&s, 31, 1);
	assert_non_null(test_client_wait_message(phone, s.convo, 31, WAIT));
	assert_int_equal(recipe_process_live(&r), 0);

	assert_true(r.syncs > 0);
	assert_shown_in_order(&r, s.convo, 31);
	recipe_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        an_offline_member_pages_through_fifty_messages_with_sync),
	    CHAT_TEST_ENTRY(
	        sync_pages_default_to_and_are_capped_by_the_configured_sizes),
	    CHAT_TEST_ENTRY(
	        a_sync_page_ends_early_to_stay_under_page_max_bytes),
	    CHAT_TEST_ENTRY(
	        a_message_larger_than_page_max_bytes_still_fills_a_page),
	    CHAT_TEST_ENTRY(history_pages_backwards_from_the_newest_message),
	    CHAT_TEST_ENTRY(a_response_goes_only_to_the_device_that_asked),
	    CHAT_TEST_ENTRY(
	        a_device_that_lost_its_network_gets_the_queued_messages_back),
	    CHAT_TEST_ENTRY(
	        a_recipe_client_recovers_what_the_broker_dropped_through_the_gap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
