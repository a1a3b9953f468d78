/*
 * Reading hand-offs from the plugin and writing JSON: what the bridge
 * accepts, what it skips, and the exact text it produces.
 */
#include "bridge/handoff.h"
#include "json_writer.h"
#include "bridge/message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define VALID_ITEM                                                             \
	"{\"id\":\"7404551231553458176\",\"convo\":\"team\","                  \
	"\"from\":\"alice\",\"ts\":1764770000123,\"cmid\":\"m1\","             \
	"\"body\":\"hi\\nbob\",\"client\":\"alice-phone\"}"

static size_t take_messages(const char *payload, struct bridge_batch *b)
{
	return bridge_handoff_messages(payload, strlen(payload), b);
}

static void test_valid_messages_are_taken_in_order(void **state)
{
	struct bridge_batch b = {0};
	const char *payload =
	    "[" VALID_ITEM ","
	    "{\"id\":\"18446744073709551615\",\"convo\":\"c.2\","
	    "\"from\":\"bob\",\"ts\":0,\"cmid\":\"x\",\"body\":\"\","
	    "\"client\":\"\",\"extra\":true}]";

	(void)state;
	assert_int_equal(take_messages(payload, &b), 2);
	assert_int_equal(b.count, 2);
	assert_true(b.messages[0].id == 7404551231553458176ULL);
	assert_string_equal(b.messages[0].convo, "team");
	assert_string_equal(b.messages[0].from, "alice");
	assert_int_equal(b.messages[0].ts, 1764770000123LL);
	assert_string_equal(b.messages[0].cmid, "m1");
	assert_string_equal(b.messages[0].body, "hi\nbob");
	assert_string_equal(b.messages[0].client, "alice-phone");
	assert_int_equal(b.messages[0].seq, 0);
	assert_true(b.messages[1].id == 18446744073709551615ULL);
	assert_string_equal(b.messages[1].body, "");
	bridge_batch_clear(&b);
}

static void test_malformed_messages_are_skipped(void **state)
{
	const char *bad[] = {
	    "\"not an object\"",
	    "{\"convo\":\"team\",\"from\":\"alice\",\"ts\":1,\"cmid\":\"m\","
	    "\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":7,\"convo\":\"team\",\"from\":\"alice\",\"ts\":1,"
	    "\"cmid\":\"m\",\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":\"007\",\"convo\":\"team\",\"from\":\"alice\","
	    "\"ts\":1,\"cmid\":\"m\",\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":\"-7\",\"convo\":\"team\",\"from\":\"alice\","
	    "\"ts\":1,\"cmid\":\"m\",\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":\"18446744073709551616\",\"convo\":\"team\","
	    "\"from\":\"alice\",\"ts\":1,\"cmid\":\"m\",\"body\":\"b\","
	    "\"client\":\"c\"}",
	    "{\"id\":\"1\",\"convo\":\"a/b\",\"from\":\"alice\",\"ts\":1,"
	    "\"cmid\":\"m\",\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":\"1\",\"convo\":\"team\",\"from\":\"al ice\",\"ts\":1,"
	    "\"cmid\":\"m\",\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\",\"ts\":-1,"
	    "\"cmid\":\"m\",\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\",\"ts\":1.5,"
	    "\"cmid\":\"m\",\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\",\"ts\":1,"
	    "\"cmid\":\"has space\",\"body\":\"b\",\"client\":\"c\"}",
	    "{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\",\"ts\":1,"
	    "\"cmid\":\"m\",\"body\":3,\"client\":\"c\"}",
	    "{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\",\"ts\":1,"
	    "\"cmid\":\"m\",\"body\":\"b\"}",
	};
	char payload[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bridge_batch b = {0};

		snprintf(payload, sizeof(payload), "[%s," VALID_ITEM "]",
		         bad[i]);
		assert_int_equal(take_messages(payload, &b), 1);
		assert_string_equal(b.messages[0].cmid, "m1");
		bridge_batch_clear(&b);
	}
}

static void test_unacceptable_payloads_are_dropped_whole(void **state)
{
	const char *bad[] = {
	    "",
	    "not json",
	    VALID_ITEM,
	    "[" VALID_ITEM,
	    "[" VALID_ITEM "] and then some",
	    "[{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\",\"ts\":1,"
	    "\"cmid\":\"m\",\"body\":\"cut\\u0000here\",\"client\":\"c\"}]",
	    "[{\"id\":\"1\",\"convo\":\"team\",\"from\":\"alice\",\"ts\":1,"
	    "\"cmid\":\"m\",\"body\":\"\xff\",\"client\":\"c\"}]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bridge_batch b = {0};

		assert_int_equal(take_messages(bad[i], &b), 0);
		assert_int_equal(b.count, 0);
		bridge_batch_clear(&b);
	}
}

static void test_batch_grows_across_handoffs(void **state)
{
	struct bridge_batch b = {0};
	char payload[8192];
	size_t len = 0;

	(void)state;
	len += (size_t)snprintf(payload, sizeof(payload), "[");
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(payload + len, sizeof(payload) - len,
		                        "%s" VALID_ITEM, i ? "," : "");
	snprintf(payload + len, sizeof(payload) - len, "]");
	assert_int_equal(take_messages(payload, &b), 40);
	assert_int_equal(take_messages(payload, &b), 40);
	assert_int_equal(take_messages(payload, &b), 40);
	assert_int_equal(b.count, 120);
	bridge_batch_clear(&b);
}

static void test_requests_are_taken_with_their_request_object(void **state)
{
	struct bridge_request_queue q = {0};
	const char *payload =
	    "[{\"user\":\"alice\",\"client\":\"alice-phone\","
	    "\"req\":{\"id\":\"r1\",\"op\":\"sync\",\"convo\":\"team\"}},"
	    "{\"user\":\"a/b\",\"client\":\"x\",\"req\":{\"id\":\"r\"}},"
	    "{\"user\":\"bob\",\"req\":{\"id\":\"r\"}},"
	    "{\"user\":\"bob\",\"client\":\"x\",\"req\":[1]},"
	    "7,"
	    "{\"user\":\"bob\",\"client\":\"bob-laptop\","
	    "\"req\":{\"id\":\"r2\",\"op\":\"ping\"}}]";

	(void)state;
	assert_int_equal(bridge_handoff_requests(payload, strlen(payload), &q),
	                 2);
	assert_int_equal(q.count, 2);
	assert_string_equal(q.requests[0].user, "alice");
	assert_string_equal(q.requests[0].client, "alice-phone");
	assert_string_equal(bridge_json_string(q.requests[0].req, "convo"),
	                    "team");
	assert_string_equal(q.requests[1].user, "bob");
	assert_string_equal(q.requests[1].client, "bob-laptop");
	assert_string_equal(bridge_json_string(q.requests[1].req, "op"),
	                    "ping");
	bridge_request_queue_clear(&q);
}

static void test_strings_are_escaped_as_json(void **state)
{
	struct json_writer w;

	(void)state;
	json_writer_init(&w);
	json_writer_string(&w, "q\"b\\n\nt\tc\x01\x1f caf\xc3\xa9 \x7f");
	assert_true(json_writer_ok(&w));
	assert_string_equal(w.data, "\"q\\\"b\\\\n\\nt\\tc\\u0001\\u001f "
	                            "caf\xc3\xa9 \x7f\"");
	json_writer_free(&w);
}

static void test_writer_places_commas_and_rewinds(void **state)
{
	struct json_writer w;
	struct json_writer_mark mark;

	(void)state;
	json_writer_init(&w);
	json_writer_open_object(&w);
	json_writer_key(&w, "a");
	json_writer_open_array(&w);
	json_writer_int(&w, -1);
	json_writer_bool(&w, true);
	json_writer_null(&w);
	mark = json_writer_mark(&w);
	json_writer_string(&w, "dropped");
	json_writer_rewind(&w, mark);
	json_writer_uint_string(&w, 18446744073709551615ULL);
	json_writer_close_array(&w);
	json_writer_key(&w, "b");
	json_writer_fragment(&w, "{\"x\":1}", 7);
	json_writer_close_object(&w);
	assert_string_equal(w.data, "{\"a\":[-1,true,null,"
	                            "\"18446744073709551615\"],"
	                            "\"b\":{\"x\":1}}");
	json_writer_free(&w);
}

static void test_message_is_written_in_client_key_order(void **state)
{
	struct bridge_message m = {.id = 7404551231553458176ULL,
	                           .seq = 3,
	                           .ts = 1764770000123LL,
	                           .body = "hi \"bob\""};
	struct json_writer w;

	(void)state;
	strcpy(m.convo, "c_0f3a");
	strcpy(m.from, "alice");
	strcpy(m.cmid, "m1");
	json_writer_init(&w);
	bridge_message_write(&w, &m);
	assert_string_equal(w.data,
	                    "{\"convo\":\"c_0f3a\",\"seq\":3,"
	                    "\"id\":\"7404551231553458176\",\"from\":\"alice\","
	                    "\"ts\":1764770000123,\"cmid\":\"m1\","
	                    "\"body\":\"hi \\\"bob\\\"\"}");
	json_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_messages_are_taken_in_order),
	    cmocka_unit_test(test_malformed_messages_are_skipped),
	    cmocka_unit_test(test_unacceptable_payloads_are_dropped_whole),
	    cmocka_unit_test(test_batch_grows_across_handoffs),
	    cmocka_unit_test(test_requests_are_taken_with_their_request_object),
	    cmocka_unit_test(test_strings_are_escaped_as_json),
	    cmocka_unit_test(test_writer_places_commas_and_rewinds),
	    cmocka_unit_test(test_message_is_written_in_client_key_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
