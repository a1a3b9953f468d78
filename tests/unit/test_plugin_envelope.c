/* Validation of send envelopes and requests, and the stamped form. */
#include "plugin/envelope.h"
#include "plugin/request.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define LIMIT 1024

static const struct chat_requester bob_phone = {"bob", "bob-1", 7};

static enum chat_error parse_send(const char *text)
{
	struct chat_envelope env;
	enum chat_error e = chat_envelope_parse(text, strlen(text), LIMIT, &env);

	chat_envelope_free(&env);
	return e;
}

static void valid_envelope_is_accepted(void **state)
{
	(void)state;
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"hi\"}"), CHAT_OK);
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"\"}"), CHAT_OK);
	assert_int_equal(parse_send("{\n \"body\": \"caf\xc3\xa9\",\n"
				    " \"cmid\": \"x\" }"),
			 CHAT_OK);
}

static void malformed_payloads_are_bad_json(void **state)
{
	(void)state;
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"hi\""),
			 CHAT_ERR_BAD_JSON);
	assert_int_equal(parse_send("[\"cmid\",\"body\"]"), CHAT_ERR_BAD_JSON);
	assert_int_equal(parse_send("\"just a string\""), CHAT_ERR_BAD_JSON);
	assert_int_equal(parse_send(""), CHAT_ERR_BAD_JSON);
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"\xff\xfe\"}"),
			 CHAT_ERR_BAD_JSON);
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"a\\u0000b\"}"),
			 CHAT_ERR_BAD_JSON);
}

static void invalid_json_that_cjson_would_accept_is_bad_json(void **state)
{
	char deep[200];

	(void)state;
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"hi\"} junk"),
			 CHAT_ERR_BAD_JSON);
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"a\x01b\"}"),
			 CHAT_ERR_BAD_JSON);
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"a\nb\"}"),
			 CHAT_ERR_BAD_JSON);
	/* Trailing white space is fine. */
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":\"hi\"}\r\n "),
			 CHAT_OK);
	/* 33 levels of nesting are refused before cJSON recurses. */
	memset(deep, '[', 33);
	snprintf(deep + 33, sizeof(deep) - 33,
		 "{\"cmid\":\"m1\",\"body\":\"x\"}");
	assert_int_equal(parse_send(deep), CHAT_ERR_BAD_JSON);
}

static void missing_or_invalid_fields_are_bad_envelope(void **state)
{
	(void)state;
	assert_int_equal(parse_send("{\"body\":\"hi\"}"), CHAT_ERR_BAD_ENVELOPE);
	assert_int_equal(parse_send("{\"cmid\":\"m1\"}"), CHAT_ERR_BAD_ENVELOPE);
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":5}"),
			 CHAT_ERR_BAD_ENVELOPE);
	assert_int_equal(parse_send("{\"cmid\":\"m1\",\"body\":{\"a\":1}}"),
			 CHAT_ERR_BAD_ENVELOPE);
	assert_int_equal(parse_send("{\"cmid\":7,\"body\":\"hi\"}"),
			 CHAT_ERR_BAD_ENVELOPE);
	assert_int_equal(parse_send("{\"cmid\":\"has space\",\"body\":\"x\"}"),
			 CHAT_ERR_BAD_ENVELOPE);
	assert_int_equal(parse_send("{\"cmid\":\"\",\"body\":\"x\"}"),
			 CHAT_ERR_BAD_ENVELOPE);
}

static void attachments_are_up_to_ten_file_ids(void **state)
{
	char text[1200];
	const char *id = "0123456789abcdef0123456789abcdef"
			 "0123456789abcdef0123456789abcdef";
	size_t n;

	(void)state;
	snprintf(text, sizeof(text),
		 "{\"cmid\":\"m\",\"body\":\"x\",\"attachments\":[\"%s\"]}", id);
	assert_int_equal(parse_send(text), CHAT_OK);
	assert_int_equal(
		parse_send("{\"cmid\":\"m\",\"body\":\"x\",\"attachments\":[\"../x\"]}"),
		CHAT_ERR_BAD_ENVELOPE);
	assert_int_equal(
		parse_send("{\"cmid\":\"m\",\"body\":\"x\",\"attachments\":\"a\"}"),
		CHAT_ERR_BAD_ENVELOPE);
	n = (size_t)snprintf(text, sizeof(text),
			     "{\"cmid\":\"m\",\"body\":\"x\",\"attachments\":[");
	for (int i = 0; i < 11; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"%s\"",
				      i ? "," : "", id);
	snprintf(text + n, sizeof(text) - n, "]}");
	assert_int_equal(parse_send(text), CHAT_ERR_BAD_ENVELOPE);
}

static void cmid_of_64_is_fine_65_is_not(void **state)
{
	char text[200];
	char cmid[66];

	(void)state;
	memset(cmid, 'a', 64);
	cmid[64] = '\0';
	snprintf(text, sizeof(text), "{\"cmid\":\"%s\",\"body\":\"x\"}", cmid);
	assert_int_equal(parse_send(text), CHAT_OK);
	strcat(cmid, "a");
	snprintf(text, sizeof(text), "{\"cmid\":\"%s\",\"body\":\"x\"}", cmid);
	assert_int_equal(parse_send(text), CHAT_ERR_BAD_ENVELOPE);
}

static void oversized_envelope_is_too_large(void **state)
{
	char *text = malloc(LIMIT + 64);

	(void)state;
	memset(text, 'a', LIMIT + 63);
	memcpy(text, "{\"cmid\":\"m\",\"body\":\"", 20);
	strcpy(text + LIMIT + 40, "\"}");
	assert_int_equal(parse_send(text), CHAT_ERR_TOO_LARGE);
	free(text);
}

static void cmid_is_reported_even_when_body_is_wrong(void **state)
{
	struct chat_envelope env;
	const char *text = "{\"cmid\":\"m9\",\"body\":null}";

	(void)state;
	assert_int_equal(chat_envelope_parse(text, strlen(text), LIMIT, &env),
			 CHAT_ERR_BAD_ENVELOPE);
	assert_string_equal(env.cmid, "m9");
	chat_envelope_free(&env);
}

static void stamp_overrides_client_claims(void **state)
{
	const char *text = "{\"cmid\":\"m1\",\"body\":\"hi\",\"from\":\"mallory\","
			   "\"seq\":99,\"ts\":1,\"id\":\"5\",\"extra\":true}";
	struct chat_stamp stamp = {.convo = "c1",
				   .from = "alice",
				   .client_id = "alice-phone",
				   .id = 7405000000000000001ULL,
				   .ts_ms = 1764770000123LL};
	struct chat_envelope env;
	cJSON *out;
	char *json;

	(void)state;
	assert_int_equal(chat_envelope_parse(text, strlen(text), LIMIT, &env),
			 CHAT_OK);
	json = chat_envelope_stamp(&env, &stamp);
	chat_envelope_free(&env);
	assert_non_null(json);
	out = cJSON_Parse(json);
	assert_string_equal(cJSON_GetObjectItem(out, "from")->valuestring,
			    "alice");
	assert_string_equal(cJSON_GetObjectItem(out, "id")->valuestring,
			    "7405000000000000001");
	assert_string_equal(cJSON_GetObjectItem(out, "convo")->valuestring,
			    "c1");
	assert_true(cJSON_GetObjectItem(out, "ts")->valuedouble ==
		    1764770000123.0);
	assert_string_equal(cJSON_GetObjectItem(out, "body")->valuestring,
			    "hi");
	assert_string_equal(cJSON_GetObjectItem(out, "client")->valuestring,
			    "alice-phone");
	assert_null(cJSON_GetObjectItem(out, "seq"));
	assert_null(cJSON_GetObjectItem(out, "extra"));
	cJSON_Delete(out);
	free(json);
}

static void request_needs_id_and_op(void **state)
{
	struct chat_request req;
	const char *ok = "{\"id\":\"r1\",\"op\":\"sync\",\"convo\":\"c1\"}";
	const char *no_op = "{\"id\":\"r2\"}";
	const char *no_id = "{\"op\":\"sync\"}";

	(void)state;
	assert_int_equal(chat_request_parse(ok, strlen(ok), LIMIT, &req),
			 CHAT_OK);
	assert_string_equal(req.op, "sync");
	chat_request_free(&req);
	assert_int_equal(chat_request_parse(no_op, strlen(no_op), LIMIT, &req),
			 CHAT_ERR_BAD_REQUEST);
	assert_string_equal(req.id, "r2");
	chat_request_free(&req);
	assert_int_equal(chat_request_parse(no_id, strlen(no_id), LIMIT, &req),
			 CHAT_ERR_BAD_REQUEST);
	assert_null(req.id);
	chat_request_free(&req);
}

static void wrapped_request_keeps_the_request_verbatim(void **state)
{
	const char *text = "{\"id\":\"r1\",\"op\":\"sync\","
			   "\"after\":9007199254740991}";
	struct chat_request req;
	char *json;

	(void)state;
	assert_int_equal(chat_request_parse(text, strlen(text), LIMIT, &req),
			 CHAT_OK);
	json = chat_request_wrap(&req, &bob_phone);
	chat_request_free(&req);
	assert_string_equal(json, "{\"user\":\"bob\",\"client\":\"bob-1\","
				  "\"device\":\"7\",\"req\":{\"id\":\"r1\",\"op\":\"sync\","
				  "\"after\":9007199254740991}}");
	free(json);
}

static void wrapped_request_carries_authenticated_user(void **state)
{
	const char *text = "{\"id\":\"r1\",\"op\":\"sync\",\"user\":\"mallory\"}";
	struct chat_request req;
	cJSON *out;
	char *json;

	(void)state;
	assert_int_equal(chat_request_parse(text, strlen(text), LIMIT, &req),
			 CHAT_OK);
	json = chat_request_wrap(&req, &bob_phone);
	chat_request_free(&req);
	out = cJSON_Parse(json);
	assert_string_equal(cJSON_GetObjectItem(out, "user")->valuestring,
			    "bob");
	assert_string_equal(cJSON_GetObjectItem(out, "client")->valuestring,
			    "bob-1");
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetObjectItem(out, "req"), "op")
			->valuestring,
		"sync");
	cJSON_Delete(out);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_envelope_is_accepted),
		cmocka_unit_test(malformed_payloads_are_bad_json),
		cmocka_unit_test(missing_or_invalid_fields_are_bad_envelope),
		cmocka_unit_test(cmid_of_64_is_fine_65_is_not),
		cmocka_unit_test(attachments_are_up_to_ten_file_ids),
		cmocka_unit_test(oversized_envelope_is_too_large),
		cmocka_unit_test(cmid_is_reported_even_when_body_is_wrong),
		cmocka_unit_test(stamp_overrides_client_claims),
		cmocka_unit_test(request_needs_id_and_op),
		cmocka_unit_test(wrapped_request_carries_authenticated_user),
		cmocka_unit_test(wrapped_request_keeps_the_request_verbatim),
		cmocka_unit_test(
			invalid_json_that_cjson_would_accept_is_bad_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
