/*
 * Hostile or broken sends: each is answered with an error event naming
 * what is wrong, nothing is stored, nobody receives anything, and the
 * server goes on serving everyone. Fields only the server may set are
 * ignored when a client supplies them. Broken requests get the error
 * codes of PROTOCOL.md.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT     test_timeout_ms(5000)
#define QUIET_MS 500

/* The server still works: a valid message goes through as seq 1. */
static void assert_still_serving(struct chat_scene *s)
{
	cJSON *msg;

	assert_int_equal(test_client_send(s->alice, s->convo, "fine-1",
	                                  "a proper message", NULL),
	                 0);
	msg = test_client_wait_message(s->bob, s->convo, 1, WAIT);
	assert_non_null(msg);
	assert_string_equal(test_json_string(msg, "cmid"), "fine-1");
	assert_string_equal(test_json_string(msg, "body"), "a proper message");
}

/*
 * alice publishes payload to the conversation; she must get an error event
 * with `code` (and `cmid` when given), bob nothing, the log nothing.
 */
static void assert_refused(struct chat_fixture *fx,
                           const struct chat_server_config *cfg,
                           const void *payload, size_t len, const char *code,
                           const char *cmid)
{
	struct test_match event = {.kind = "event"};
	struct chat_scene s;
	cJSON *error;

	chat_fixture_scene(fx, cfg, &s);

	assert_int_equal(
	    test_client_send_raw(s.alice, s.convo, payload, (int)len), 0);

	error = test_client_wait(s.alice, &event, 0, WAIT);
	assert_non_null(error);
	assert_string_equal(test_json_string(error, "type"), "error");
	assert_string_equal(test_json_string(error, "code"), code);
	if (cmid)
		assert_string_equal(test_json_string(error, "cmid"), cmid);
	assert_int_equal(test_client_quiet(s.bob, QUIET_MS), 0);
	assert_int_equal(test_client_mark(s.bob), 0);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 0);
	assert_still_serving(&s);
}

#define REFUSED_TEXT(json, code, cmid)                                         \
	assert_refused(fx, NULL, json, strlen(json), code, cmid)

CHAT_TEST(malformed_json_is_refused_as_bad_json)
{
	REFUSED_TEXT("{\"cmid\":\"x1\",\"body\":", "bad_json", NULL);
}

CHAT_TEST(a_json_array_is_refused_as_bad_json)
{
	REFUSED_TEXT("[\"cmid\",\"x2\",\"body\",\"hi\"]", "bad_json", NULL);
}

CHAT_TEST(an_empty_payload_is_refused_as_bad_json)
{
	assert_refused(fx, NULL, "", 0, "bad_json", NULL);
}

CHAT_TEST(invalid_utf8_is_refused_as_bad_json)
{
	REFUSED_TEXT("{\"cmid\":\"x3\",\"body\":\"caf\xc3\x28 \xff\xfe\"}",
	             "bad_json", NULL);
}

CHAT_TEST(a_nul_escape_in_the_body_is_refused_as_bad_json)
{
	REFUSED_TEXT("{\"cmid\":\"x4\",\"body\":\"before\\u0000after\"}",
	             "bad_json", NULL);
}

CHAT_TEST(a_raw_nul_byte_is_refused_as_bad_json)
{
	static const char payload[] = "{\"cmid\":\"x5\",\"body\":\"a\0b\"}";

	assert_refused(fx, NULL, payload, sizeof(payload) - 1, "bad_json",
	               NULL);
}

CHAT_TEST(a_missing_cmid_is_refused_as_bad_envelope)
{
	REFUSED_TEXT("{\"body\":\"who am I\"}", "bad_envelope", NULL);
}

CHAT_TEST(a_65_character_cmid_is_refused_as_bad_envelope)
{
	REFUSED_TEXT("{\"cmid\":\"0123456789012345678901234567890123456789"
	             "0123456789012345678901234\",\"body\":\"long id\"}",
	             "bad_envelope", NULL);
}

CHAT_TEST(a_cmid_with_a_space_is_refused_as_bad_envelope)
{
	REFUSED_TEXT("{\"cmid\":\"two words\",\"body\":\"hi\"}", "bad_envelope",
	             NULL);
}

CHAT_TEST(a_body_that_is_not_a_string_is_refused_as_bad_envelope)
{
	REFUSED_TEXT("{\"cmid\":\"x6\",\"body\":42}", "bad_envelope", "x6");
}

CHAT_TEST(a_missing_body_is_refused_as_bad_envelope)
{
	REFUSED_TEXT("{\"cmid\":\"x7\"}", "bad_envelope", "x7");
}

CHAT_TEST(an_envelope_above_max_envelope_bytes_is_refused_as_too_large)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"max_envelope_bytes 1024"}};
	char payload[2048];
	char body[1100];

	memset(body, 'a', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	snprintf(payload, sizeof(payload),
	         "{\"cmid\":\"big-1\",\"body\":\"%s\"}", body);

	assert_refused(fx, &cfg, payload, strlen(payload), "too_large", NULL);
}

CHAT_TEST(an_envelope_of_exactly_max_envelope_bytes_is_accepted)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"max_envelope_bytes 1024"}};
	char payload[1200], body[1100];
	struct chat_scene s;
	cJSON *msg;
	int room;

	chat_fixture_scene(fx, &cfg, &s);
	room = 1024 - (int)strlen("{\"cmid\":\"fits-1\",\"body\":\"\"}");
	memset(body, 'b', (size_t)room);
	body[room] = '\0';
	snprintf(payload, sizeof(payload),
	         "{\"cmid\":\"fits-1\",\"body\":\"%s\"}", body);
	assert_int_equal(strlen(payload), 1024);

	assert_int_equal(test_client_send_raw(s.alice, s.convo, payload,
	                                      (int)strlen(payload)),
	                 0);

	msg = test_client_wait_message(s.bob, s.convo, 1, WAIT);
	assert_non_null(msg);
	assert_string_equal(test_json_string(msg, "body"), body);
}

CHAT_TEST(from_seq_ts_and_id_supplied_by_the_client_are_ignored)
{
	struct test_db_message row;
	struct chat_scene s;
	char payload[256];
	cJSON *msg, *tick;

	chat_fixture_scene(fx, NULL, &s);
	snprintf(payload, sizeof(payload),
	         "{\"cmid\":\"spoof-1\",\"body\":\"trust me\",\"from\":\"bob\","
	         "\"seq\":99,\"ts\":1,\"id\":\"5\",\"convo\":\"elsewhere\"}");

	assert_int_equal(test_client_send_raw(s.alice, s.convo, payload,
	                                      (int)strlen(payload)),
	                 0);

	msg = test_client_wait_message(s.bob, s.convo, 1, WAIT);
	tick = test_client_wait_tick(s.alice, s.convo, "spoof-1", WAIT);
	assert_non_null(msg);
	assert_non_null(tick);
	assert_string_equal(test_json_string(msg, "from"), "alice");
	assert_int_equal(test_json_number(msg, "seq"), 1);
	assert_true(test_json_number(msg, "ts") > 1600000000000LL);
	assert_string_not_equal(test_json_string(msg, "id"), "5");
	assert_string_equal(test_json_string(msg, "convo"), s.convo);
	assert_string_equal(test_json_string(msg, "body"), "trust me");
	assert_int_equal(test_json_number(tick, "seq"), 1);
	assert_int_equal(test_db_message(s.srv, s.convo, 1, &row), 0);
	assert_string_equal(row.sender, "alice");
	assert_string_equal(row.id, test_json_string(msg, "id"));
	assert_int_equal(row.ts, test_json_number(msg, "ts"));
	free(row.body);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 1);
}

/* alice publishes text to chat/req; returns what she gets back that
 * carries `code`: a response or an event. */
static cJSON *request_error(struct chat_scene *s, const char *text,
                            const char *code)
{
	struct test_match with_code = {.code = code};

	assert_int_equal(test_client_publish(s->alice, "chat/req", text,
	                                     (int)strlen(text), 1, false, NULL),
	                 0);
	return test_client_wait(s->alice, &with_code, 0, WAIT);
}

static void assert_failed_response(const cJSON *resp, const char *id,
                                   const char *code)
{
	assert_non_null(resp);
	assert_string_equal(test_json_string(resp, "id"), id);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")));
	assert_string_equal(
	    test_json_string(cJSON_GetObjectItem(resp, "error"), "code"), code);
}

CHAT_TEST(a_request_with_an_unknown_op_is_answered_with_unknown_op)
{
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_failed_response(
	    request_error(&s, "{\"id\":\"q1\",\"op\":\"launch\"}",
	                  "unknown_op"),
	    "q1", "unknown_op");
}

CHAT_TEST(a_request_without_an_op_is_answered_with_bad_request)
{
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_failed_response(
	    request_error(&s, "{\"id\":\"q2\"}", "bad_request"), "q2",
	    "bad_request");
}

CHAT_TEST(a_request_field_of_the_wrong_type_is_answered_with_bad_request)
{
	struct chat_scene s;
	char text[160];

	chat_fixture_scene(fx, NULL, &s);
	snprintf(text, sizeof(text),
	         "{\"id\":\"q3\",\"op\":\"sync\",\"convo\":\"%s\","
	         "\"after\":\"zero\"}",
	         s.convo);
	assert_failed_response(request_error(&s, text, "bad_request"), "q3",
	                       "bad_request");
}

/* A refusal whose request id could not be read is a response with a null
 * id on the asking connection's resp topic. */
static void assert_anonymous_refusal(const cJSON *resp, const char *code)
{
	assert_non_null(resp);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(resp, "id")));
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")));
	assert_string_equal(
	    test_json_string(cJSON_GetObjectItem(resp, "error"), "code"), code);
}

CHAT_TEST(a_request_without_an_id_is_answered_with_a_null_id)
{
	struct test_match resp = {.kind = "resp", .code = "bad_request"};
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(test_client_publish(s.alice, "chat/req",
	                                     "{\"op\":\"ping\"}", 13, 1, false,
	                                     NULL),
	                 0);
	assert_anonymous_refusal(test_client_wait(s.alice, &resp, 0, WAIT),
	                         "bad_request");
}

CHAT_TEST(a_request_that_is_not_json_is_answered_with_bad_json)
{
	struct test_match resp = {.kind = "resp", .code = "bad_json"};
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(test_client_publish(s.alice, "chat/req", "ping?", 5, 1,
	                                     false, NULL),
	                 0);
	assert_anonymous_refusal(test_client_wait(s.alice, &resp, 0, WAIT),
	                         "bad_json");
}

CHAT_TEST(a_request_above_max_request_bytes_is_refused_as_too_large)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"max_request_bytes 256"}};
	struct chat_scene s;
	char text[512];
	cJSON *error;

	chat_fixture_scene(fx, &cfg, &s);
	snprintf(text, sizeof(text),
	         "{\"id\":\"big\",\"op\":\"ping\",\"pad\":\"%0300d\"}", 0);

	/* Too large to be read at all: a response with a null id. */
	error = request_error(&s, text, "too_large");
	assert_non_null(error);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(error, "id")));
	assert_non_null(error);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(error, "ok")));
}

CHAT_TEST(a_deeply_nested_request_is_refused_and_others_are_served)
{
	struct test_match resp = {.kind = "resp", .code = "bad_json"};
	char text[256];
	struct chat_scene s;
	size_t n = 0;

	chat_fixture_scene(fx, NULL, &s);
	n += (size_t)snprintf(text, sizeof(text), "{\"id\":\"d\",\"op\":\"ping\","
	                                          "\"x\":");
	for (int i = 0; i < 40; i++)
		text[n++] = '[';
	for (int i = 0; i < 40; i++)
		text[n++] = ']';
	text[n++] = '}';
	assert_int_equal(test_client_publish(s.alice, "chat/req", text, (int)n,
	                                     1, false, NULL),
	                 0);
	assert_non_null(test_client_wait(s.alice, &resp, 0, WAIT));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
	    test_client_request(s.bob, WAIT, "{\"op\":\"ping\"}"), "ok")));
}

CHAT_TEST(sending_faster_than_the_user_rate_is_refused_as_rate_limited)
{
	static const struct chat_server_config cfg = {
	    .plugin_options = {"user_send_rate 1", "user_send_burst 3"}};
	struct chat_scene s;
	char cmid[16];
	int refused = 0;

	chat_fixture_scene(fx, &cfg, &s);
	for (int i = 0; i < 6; i++) {
		snprintf(cmid, sizeof(cmid), "r-%d", i);
		assert_int_equal(
		    test_client_send(s.alice, s.convo, cmid, "quick", NULL), 0);
	}
	for (int i = 0; i < 6; i++) {
		cJSON *error;

		snprintf(cmid, sizeof(cmid), "r-%d", i);
		error = test_client_wait_error(s.alice, cmid,
		                               i < 3 ? 300 : WAIT);
		if (error == NULL)
			continue;
		assert_string_equal(test_json_string(error, "code"),
		                    "rate_limited");
		refused++;
	}
	/* A burst of 3, then one a second: the other 3 were refused and
	 * never stored; bob, with his own allowance, is not slowed. */
	assert_int_equal(refused, 3);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 3);
	assert_int_equal(
	    test_client_send(s.bob, s.convo, "b-1", "unaffected", NULL), 0);
	assert_non_null(test_client_wait_tick(s.bob, s.convo, "b-1", WAIT));
}

CHAT_TEST(a_packet_above_the_size_limit_closes_only_that_connection)
{
	struct test_client_options o = {0};
	struct test_client *big = NULL;
	struct chat_scene s;
	size_t len = 1200 * 1024;
	char *payload = malloc(len);

	chat_fixture_scene(fx, NULL, &s);
	o.user = "alice";
	o.password = s.alice_token;
	o.client_id = "alice-big";
	assert_int_equal(test_client_connect(s.srv, &o, &big), 0);
	memset(payload, 'x', len);
	test_client_publish(big, "chat/req", payload, (int)len, 1, false,
	                    NULL);
	free(payload);
	for (int i = 0; i < 100 && test_client_disconnects(big) == 0; i++)
		test_sleep_ms(20);
	assert_true(test_client_disconnects(big) > 0);
	assert_still_serving(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_deeply_nested_request_is_refused_and_others_are_served),
	    CHAT_TEST_ENTRY(
	        sending_faster_than_the_user_rate_is_refused_as_rate_limited),
	    CHAT_TEST_ENTRY(
	        a_packet_above_the_size_limit_closes_only_that_connection),
	    CHAT_TEST_ENTRY(malformed_json_is_refused_as_bad_json),
	    CHAT_TEST_ENTRY(a_json_array_is_refused_as_bad_json),
	    CHAT_TEST_ENTRY(an_empty_payload_is_refused_as_bad_json),
	    CHAT_TEST_ENTRY(invalid_utf8_is_refused_as_bad_json),
	    CHAT_TEST_ENTRY(a_nul_escape_in_the_body_is_refused_as_bad_json),
	    CHAT_TEST_ENTRY(a_raw_nul_byte_is_refused_as_bad_json),
	    CHAT_TEST_ENTRY(a_missing_cmid_is_refused_as_bad_envelope),
	    CHAT_TEST_ENTRY(a_65_character_cmid_is_refused_as_bad_envelope),
	    CHAT_TEST_ENTRY(a_cmid_with_a_space_is_refused_as_bad_envelope),
	    CHAT_TEST_ENTRY(
	        a_body_that_is_not_a_string_is_refused_as_bad_envelope),
	    CHAT_TEST_ENTRY(a_missing_body_is_refused_as_bad_envelope),
	    CHAT_TEST_ENTRY(
	        an_envelope_above_max_envelope_bytes_is_refused_as_too_large),
	    CHAT_TEST_ENTRY(
	        an_envelope_of_exactly_max_envelope_bytes_is_accepted),
	    CHAT_TEST_ENTRY(
	        from_seq_ts_and_id_supplied_by_the_client_are_ignored),
	    CHAT_TEST_ENTRY(
	        a_request_with_an_unknown_op_is_answered_with_unknown_op),
	    CHAT_TEST_ENTRY(
	        a_request_without_an_op_is_answered_with_bad_request),
	    CHAT_TEST_ENTRY(
	        a_request_field_of_the_wrong_type_is_answered_with_bad_request),
	    CHAT_TEST_ENTRY(a_request_without_an_id_is_answered_with_a_null_id),
	    CHAT_TEST_ENTRY(a_request_that_is_not_json_is_answered_with_bad_json),
	    CHAT_TEST_ENTRY(
	        a_request_above_max_request_bytes_is_refused_as_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
