/*
 * User and conversation ids become MQTT topic levels, so anything that
 * could act as a separator, wildcard, `$` prefix or control code must be
 * refused. Client message ids and request ids are printable ASCII.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ids.h"

#include <string.h>

static void repeat(char *out, char c, size_t n)
{
	memset(out, c, n);
	out[n] = '\0';
}

static void test_plain_user_ids_are_accepted(void **state)
{
	(void)state;
	assert_true(chat_valid_user_id("alice"));
	assert_true(chat_valid_user_id("a"));
	assert_true(chat_valid_user_id("7"));
	assert_true(chat_valid_user_id("Bob.Smith_2-x"));
	assert_true(chat_valid_user_id("a..b"));
	assert_true(chat_valid_user_id("z-"));
}

static void test_user_id_of_64_bytes_is_accepted_65_refused(void **state)
{
	char id[CHAT_ID_MAX + 2];

	(void)state;
	repeat(id, 'a', 64);
	assert_true(chat_valid_user_id(id));
	assert_true(chat_valid_convo_id(id));
	repeat(id, 'a', 65);
	assert_false(chat_valid_user_id(id));
	assert_false(chat_valid_convo_id(id));
}

static void test_empty_and_null_ids_are_refused(void **state)
{
	(void)state;
	assert_false(chat_valid_user_id(""));
	assert_false(chat_valid_user_id(NULL));
	assert_false(chat_valid_convo_id(""));
	assert_false(chat_valid_convo_id(NULL));
}

static void test_id_must_start_with_letter_or_digit(void **state)
{
	(void)state;
	assert_false(chat_valid_user_id(".alice"));
	assert_false(chat_valid_user_id("_alice"));
	assert_false(chat_valid_user_id("-alice"));
	assert_false(chat_valid_user_id("."));
	assert_false(chat_valid_user_id(".."));
	assert_false(chat_valid_convo_id(".hidden"));
}

static void test_topic_characters_are_refused_anywhere(void **state)
{
	static const char *const hostile[] = {
	    "a/b",  "/a",  "a/",      "a+b", "+",    "a#",  "#",
	    "$SYS", "a$b", "$bridge", "a b", " a",   "a ",  "a*b",
	    "a:b",  "a,b", "a\\b",    "a'b", "a\"b", "a@b",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		assert_false(chat_valid_user_id(hostile[i]));
		assert_false(chat_valid_convo_id(hostile[i]));
	}
}

static void test_control_characters_are_refused(void **state)
{
	char id[] = "ab?";

	(void)state;
	for (int c = 1; c < 0x20; c++) {
		id[1] = (char)c;
		assert_false(chat_valid_user_id(id));
	}
	id[1] = 0x7f;
	assert_false(chat_valid_user_id(id));
}

static void test_non_ascii_is_refused_even_if_valid_utf8(void **state)
{
	(void)state;
	assert_false(chat_valid_user_id("al\xc3\xa9"));   /* alé */
	assert_false(chat_valid_user_id("\xc3\xa9lise")); /* élise */
	assert_false(chat_valid_user_id("a\xe2\x80\x8b"
	                                "b"));                /* ZWSP */
	assert_false(chat_valid_user_id("\xf0\x9f\x98\x80")); /* emoji */
	assert_false(chat_valid_user_id("a\xff"));
	assert_false(chat_valid_convo_id("c_\xc3\xa9"));
}

static void test_convo_ids_follow_the_user_id_rule(void **state)
{
	(void)state;
	assert_true(chat_valid_convo_id("c_0f3a1b2c3d4e5f60718293a4"));
	assert_true(chat_valid_convo_id("general"));
	assert_false(chat_valid_convo_id("c/0"));
	assert_false(chat_valid_convo_id("_c"));
}

static void test_cmid_accepts_all_printable_ascii(void **state)
{
	char cmid[2] = "";

	(void)state;
	for (int c = 0x21; c <= 0x7e; c++) {
		cmid[0] = (char)c;
		assert_true(chat_valid_cmid(cmid));
		assert_true(chat_valid_request_id(cmid));
	}
	assert_true(chat_valid_cmid("a/b+#$"));
	assert_true(chat_valid_cmid("{\"x\":1}"));
}

static void test_cmid_refuses_space_controls_and_non_ascii(void **state)
{
	(void)state;
	assert_false(chat_valid_cmid("a b"));
	assert_false(chat_valid_cmid(" "));
	assert_false(chat_valid_cmid("a\tb"));
	assert_false(chat_valid_cmid("a\nb"));
	assert_false(chat_valid_cmid("a\x7f"));
	assert_false(chat_valid_cmid("m\xc3\xa9"));
	assert_false(chat_valid_request_id("r 1"));
	assert_false(chat_valid_request_id("r\x01"));
}

static void test_cmid_length_is_1_to_64(void **state)
{
	char cmid[CHAT_CMID_MAX + 2];

	(void)state;
	assert_false(chat_valid_cmid(""));
	assert_false(chat_valid_cmid(NULL));
	assert_false(chat_valid_request_id(""));
	assert_false(chat_valid_request_id(NULL));
	repeat(cmid, '~', 64);
	assert_true(chat_valid_cmid(cmid));
	assert_true(chat_valid_request_id(cmid));
	repeat(cmid, '~', 65);
	assert_false(chat_valid_cmid(cmid));
	assert_false(chat_valid_request_id(cmid));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_user_ids_are_accepted),
	    cmocka_unit_test(test_user_id_of_64_bytes_is_accepted_65_refused),
	    cmocka_unit_test(test_empty_and_null_ids_are_refused),
	    cmocka_unit_test(test_id_must_start_with_letter_or_digit),
	    cmocka_unit_test(test_topic_characters_are_refused_anywhere),
	    cmocka_unit_test(test_control_characters_are_refused),
	    cmocka_unit_test(test_non_ascii_is_refused_even_if_valid_utf8),
	    cmocka_unit_test(test_convo_ids_follow_the_user_id_rule),
	    cmocka_unit_test(test_cmid_accepts_all_printable_ascii),
	    cmocka_unit_test(test_cmid_refuses_space_controls_and_non_ascii),
	    cmocka_unit_test(test_cmid_length_is_1_to_64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
