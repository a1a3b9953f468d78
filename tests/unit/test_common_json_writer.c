/*
 * The JSON writer every message passes through: numbers written without
 * snprintf and strings escaped through a table must read back, through
 * cJSON, exactly as given.
 */
#include "json_writer.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void numbers_are_written_in_full(void **state)
{
	const long long ints[] = {0, 7, -7, 10, -10, 1764770000123LL,
				  LLONG_MAX, LLONG_MIN};
	const char *const int_texts[] = {
		"0", "7", "-7", "10", "-10", "1764770000123",
		"9223372036854775807", "-9223372036854775808"};
	const uint64_t uints[] = {0, 9, 7404551231553458176ULL, UINT64_MAX};
	const char *const uint_texts[] = {"\"0\"", "\"9\"",
					  "\"7404551231553458176\"",
					  "\"18446744073709551615\""};
	struct json_writer w;

	(void)state;
	json_writer_init(&w);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_writer_reset(&w);
		json_writer_int(&w, ints[i]);
		assert_string_equal(w.data, int_texts[i]);
	}
	for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		json_writer_reset(&w);
		json_writer_uint_string(&w, uints[i]);
		assert_string_equal(w.data, uint_texts[i]);
	}
	json_writer_free(&w);
}

/* Every byte that needs an escape, at every position of a longer text. */
static void strings_read_back_as_given(void **state)
{
	char text[48];
	struct json_writer w;

	(void)state;
	json_writer_init(&w);
	for (int c = 1; c < 128; c++) {
		for (size_t at = 0; at < 40; at += 13) {
			cJSON *back;

			memset(text, 'x', 40);
			text[40] = '\0';
			text[at] = (char)c;
			json_writer_reset(&w);
			json_writer_open_array(&w);
			json_writer_string(&w, text);
			json_writer_close_array(&w);
			assert_true(json_writer_ok(&w));
			back = cJSON_Parse(w.data);
			assert_non_null(back);
			assert_string_equal(cJSON_GetArrayItem(back, 0)->valuestring,
					    text);
			cJSON_Delete(back);
		}
	}
	json_writer_free(&w);
}

static void expecting_a_size_changes_nothing_written(void **state)
{
	struct json_writer w;

	(void)state;
	json_writer_init(&w);
	json_writer_expect(&w, 1000);
	assert_true(w.cap > 1000);
	json_writer_open_object(&w);
	json_writer_key(&w, "a");
	json_writer_int(&w, 1);
	json_writer_close_object(&w);
	assert_string_equal(w.data, "{\"a\":1}");
	json_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers_are_written_in_full),
		cmocka_unit_test(strings_read_back_as_given),
		cmocka_unit_test(expecting_a_size_changes_nothing_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
