/*
 * Payloads reach cJSON only when they are well-formed UTF-8 without NUL
 * bytes and without a \u0000 escape, because cJSON would otherwise accept
 * garbage or cut a body short at the escaped NUL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "text.h"

#include <stdio.h>
#include <string.h>

/* String literals, measured without their terminating NUL. */
#define UTF8_OK(lit)  assert_true(chat_utf8_valid(lit, sizeof(lit) - 1))
#define UTF8_BAD(lit) assert_false(chat_utf8_valid(lit, sizeof(lit) - 1))
#define JSON_OK(lit)                                                           \
	assert_true(chat_json_text_acceptable(lit, sizeof(lit) - 1))
#define JSON_BAD(lit)                                                          \
	assert_false(chat_json_text_acceptable(lit, sizeof(lit) - 1))

static void test_ascii_and_empty_text_are_valid(void **state)
{
	(void)state;
	UTF8_OK("");
	UTF8_OK("hello bob");
	UTF8_OK("\x01\x1f\x7f");
}

static void test_multibyte_sequences_at_every_boundary_are_valid(void **state)
{
	(void)state;
	UTF8_OK("\xc2\x80");         /* U+0080, smallest two-byte */
	UTF8_OK("\xc3\xa9");         /* é */
	UTF8_OK("\xdf\xbf");         /* U+07FF */
	UTF8_OK("\xe0\xa0\x80");     /* U+0800, smallest three-byte */
	UTF8_OK("\xe2\x82\xac");     /* € */
	UTF8_OK("\xed\x9f\xbf");     /* U+D7FF, just below surrogates */
	UTF8_OK("\xee\x80\x80");     /* U+E000, just above surrogates */
	UTF8_OK("\xef\xbf\xbf");     /* U+FFFF */
	UTF8_OK("\xf0\x90\x80\x80"); /* U+10000, smallest four-byte */
	UTF8_OK("\xf0\x9f\x98\x80"); /* emoji */
	UTF8_OK("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last code point */
	UTF8_OK("h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x91\x8b");
}

static void test_overlong_encodings_are_refused(void **state)
{
	(void)state;
	UTF8_BAD("\xc0\x80"); /* NUL in two bytes */
	UTF8_BAD("\xc0\xaf"); /* '/' in two bytes */
	UTF8_BAD("\xc1\xbf");
	UTF8_BAD("\xe0\x80\x80");
	UTF8_BAD("\xe0\x80\xaf");
	UTF8_BAD("\xe0\x9f\xbf"); /* U+07FF in three bytes */
	UTF8_BAD("\xf0\x80\x80\x80");
	UTF8_BAD("\xf0\x8f\xbf\xbf"); /* U+FFFF in four bytes */
}

static void test_surrogates_are_refused(void **state)
{
	(void)state;
	UTF8_BAD("\xed\xa0\x80");             /* U+D800 */
	UTF8_BAD("\xed\xaf\xbf");             /* U+DBFF */
	UTF8_BAD("\xed\xb0\x80");             /* U+DC00 */
	UTF8_BAD("\xed\xbf\xbf");             /* U+DFFF */
	UTF8_BAD("\xed\xa0\xbd\xed\xb8\x80"); /* CESU-8 pair for an emoji */
}

static void test_code_points_above_10ffff_are_refused(void **state)
{
	(void)state;
	UTF8_BAD("\xf4\x90\x80\x80"); /* U+110000 */
	UTF8_BAD("\xf5\x80\x80\x80");
	UTF8_BAD("\xf7\xbf\xbf\xbf");
	UTF8_BAD("\xf8\x88\x80\x80\x80"); /* old five-byte form */
	UTF8_BAD("\xfc\x84\x80\x80\x80\x80");
	UTF8_BAD("\xfe");
	UTF8_BAD("\xff");
}

static void test_truncated_sequences_are_refused(void **state)
{
	(void)state;
	UTF8_BAD("\xc3");
	UTF8_BAD("\xe2\x82");
	UTF8_BAD("\xf0\x9f\x98");
	UTF8_BAD("abc\xe2");
	/* A lead byte followed by something that is not a continuation. */
	UTF8_BAD("\xc3"
	         "a");
	UTF8_BAD("\xe2\x82"
	         "a");
	UTF8_BAD("\xf0\x9f\x98"
	         "a");
	UTF8_BAD("\xe2\xc3\xa9");
}

static void test_stray_continuation_bytes_are_refused(void **state)
{
	(void)state;
	UTF8_BAD("\x80");
	UTF8_BAD("\xbf");
	UTF8_BAD("a\x80"
	         "b");
	UTF8_BAD("\xc3\xa9\xa9");
}

static void test_raw_nul_byte_is_refused(void **state)
{
	(void)state;
	UTF8_BAD("a\0b");
	UTF8_BAD("\0");
	JSON_BAD("{\"body\":\"a\0b\"}");
}

static void test_only_the_given_length_is_examined(void **state)
{
	const char text[] = "ok\xff";

	(void)state;
	assert_true(chat_utf8_valid(text, 2));
	assert_false(chat_utf8_valid(text, 3));
	/* A multibyte sequence cut by the length is truncated. */
	assert_false(chat_utf8_valid("\xc3\xa9", 1));
}

static void test_plain_json_is_acceptable(void **state)
{
	(void)state;
	JSON_OK("{\"cmid\":\"m1\",\"body\":\"hi bob\"}");
	JSON_OK("{\"body\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}");
	JSON_OK("{\"body\":\"\\u00e9\\u0001\\n\\t\\\"\"}");
	JSON_OK("{\"n\":0,\"a\":[1,2],\"u\":\"u0000\"}");
}

static void test_escaped_nul_is_refused(void **state)
{
	(void)state;
	JSON_BAD("{\"body\":\"\\u0000\"}");
	JSON_BAD("{\"body\":\"abc\\u0000def\"}");
	JSON_BAD("{\"body\":\"\\u00000\"}");
	JSON_BAD("{\"a\\u0000\":1}");            /* in a key too */
	JSON_BAD("{\"body\":\"\\\"\\u0000\"}");  /* after an escaped quote */
	JSON_BAD("{\"body\":\"x\\\\\\u0000\"}"); /* \\ then \u0000 */
	JSON_BAD("\"\\u0000\"");                 /* at the very end */
}

static void test_escaped_backslash_before_u0000_is_acceptable(void **state)
{
	(void)state;
	/* The JSON text "\\u0000" is a backslash followed by "u0000". */
	JSON_OK("{\"body\":\"\\\\u0000\"}");
	JSON_OK("{\"body\":\"\\\\\\\\u0000\"}");
	JSON_OK("{\"body\":\"a\\\\u0000b\",\"cmid\":\"m\"}");
}

static void test_invalid_utf8_json_is_refused(void **state)
{
	(void)state;
	JSON_BAD("{\"body\":\"\xc0\x80\"}");
	JSON_BAD("{\"body\":\"\xed\xa0\x80\"}");
	JSON_BAD("{\"body\":\"\xff\"}");
}

/* Long runs of ASCII are checked eight bytes at a time: a bad byte or a
 * NUL must be found wherever it sits in such a run, and a multibyte
 * sequence right after one must still be checked whole. */
static void test_every_position_of_a_long_run_is_checked(void **state)
{
	char text[40];

	(void)state;
	for (size_t at = 0; at < 32; at++) {
		memset(text, 'a', sizeof(text));
		assert_true(chat_utf8_valid(text, 32));
		text[at] = '\0';
		assert_false(chat_utf8_valid(text, 32));
		text[at] = (char)0xff;
		assert_false(chat_utf8_valid(text, 32));
		text[at] = (char)0x80;
		assert_false(chat_utf8_valid(text, 32));
		text[at] = (char)0xc3; /* cut short by what follows */
		assert_false(chat_utf8_valid(text, 32));
		text[at + 1] = (char)0xa9;
		assert_true(chat_utf8_valid(text, 32) == (at + 1 < 32));
	}
}

/* Ordinary text inside a JSON string is passed over quickly: a control
 * character, an escape or the closing quote is found at any position. */
static void test_every_position_of_a_long_string_is_checked(void **state)
{
	char json[64];
	size_t len;

	(void)state;
	for (size_t at = 9; at < 40; at++) {
		snprintf(json, sizeof(json),
			 "{\"body\":\"%s\"}",
			 "abcdefghijklmnopqrstuvwxyz0123456789ABCD");
		len = strlen(json);
		assert_true(chat_json_text_acceptable(json, len));
		json[at] = '\n';
		assert_false(chat_json_text_acceptable(json, len));
		memcpy(json + at, "\\u0000", 6);
		assert_false(chat_json_text_acceptable(json, len));
		json[at] = '\\'; /* an escaped quote does not end it */
		json[at + 1] = '"';
		json[at + 2] = '\x01';
		assert_false(chat_json_text_acceptable(json, len));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ascii_and_empty_text_are_valid),
	    cmocka_unit_test(
	        test_multibyte_sequences_at_every_boundary_are_valid),
	    cmocka_unit_test(test_overlong_encodings_are_refused),
	    cmocka_unit_test(test_surrogates_are_refused),
	    cmocka_unit_test(test_code_points_above_10ffff_are_refused),
	    cmocka_unit_test(test_truncated_sequences_are_refused),
	    cmocka_unit_test(test_stray_continuation_bytes_are_refused),
	    cmocka_unit_test(test_raw_nul_byte_is_refused),
	    cmocka_unit_test(test_only_the_given_length_is_examined),
	    cmocka_unit_test(test_plain_json_is_acceptable),
	    cmocka_unit_test(test_escaped_nul_is_refused),
	    cmocka_unit_test(test_escaped_backslash_before_u0000_is_acceptable),
	    cmocka_unit_test(test_invalid_utf8_json_is_refused),
	    cmocka_unit_test(test_every_position_of_a_long_run_is_checked),
	    cmocka_unit_test(test_every_position_of_a_long_string_is_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
