/*
 * Device tokens are 32 random bytes in unpadded URL-safe base64; only a
 * keyed hash is stored, so the hash must be deterministic and must change
 * with every byte of the token. Random ids carry a prefix and 24 hex
 * digits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ids.h"
#include "token.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES 256

static bool is_base64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int init_crypto(void **state)
{
	(void)state;
	return chat_crypto_init();
}

static void test_crypto_init_can_run_twice(void **state)
{
	(void)state;
	assert_int_equal(chat_crypto_init(), 0);
	assert_int_equal(chat_crypto_init(), 0);
}

static void test_token_is_43_url_safe_characters(void **state)
{
	char token[CHAT_TOKEN_LEN + 1];

	(void)state;
	for (int n = 0; n < SAMPLES; n++) {
		memset(token, '!', sizeof(token));
		chat_token_generate(token);
		assert_int_equal(strlen(token), CHAT_TOKEN_LEN);
		for (size_t i = 0; i < CHAT_TOKEN_LEN; i++)
			assert_true(is_base64url(token[i]));
	}
}

/* A token travels as an MQTT password and may be pasted into a shell. */
static void test_token_is_printable_ascii_like_a_cmid(void **state)
{
	char token[CHAT_TOKEN_LEN + 1];

	(void)state;
	chat_token_generate(token);
	assert_true(chat_valid_cmid(token));
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_tokens_do_not_repeat(void **state)
{
	char(*tokens)[CHAT_TOKEN_LEN + 1] = calloc(SAMPLES, sizeof(*tokens));

	(void)state;
	assert_non_null(tokens);
	for (int n = 0; n < SAMPLES; n++)
		chat_token_generate(tokens[n]);
	qsort(tokens, SAMPLES, sizeof(*tokens), compare_strings);
	for (int n = 1; n < SAMPLES; n++)
		assert_string_not_equal(tokens[n - 1], tokens[n]);
	free(tokens);
}

static void test_hash_is_deterministic(void **state)
{
	unsigned char first[CHAT_TOKEN_HASH_LEN], second[CHAT_TOKEN_HASH_LEN];
	char token[CHAT_TOKEN_LEN + 1];

	(void)state;
	chat_token_generate(token);
	chat_token_hash(token, strlen(token), first);
	chat_token_hash(token, strlen(token), second);
	assert_memory_equal(first, second, CHAT_TOKEN_HASH_LEN);
}

/*
 * Stored hashes outlive program versions: if the hash function or its key
 * ever changed, every issued token would stop working. Keyed BLAKE2b-256
 * with the key "chat device token v1".
 */
static void test_hash_of_a_known_token_never_changes(void **state)
{
	static const unsigned char expected[CHAT_TOKEN_HASH_LEN] = {
	    0x68, 0x6c, 0xec, 0x87, 0xc2, 0xcf, 0x90, 0x9c, 0xd8, 0x64, 0x19,
	    0xa7, 0x1e, 0x9e, 0x7a, 0x4d, 0x78, 0xc2, 0xb1, 0x66, 0xf6, 0x96,
	    0x16, 0x4a, 0x7b, 0x23, 0x43, 0x43, 0x6f, 0x66, 0x87, 0x5c,
	};
	const char *token = "chat-device-token-known-answer-0123456789ab";
	unsigned char hash[CHAT_TOKEN_HASH_LEN];

	(void)state;
	chat_token_hash(token, strlen(token), hash);
	assert_memory_equal(hash, expected, CHAT_TOKEN_HASH_LEN);
}

/* A stored hash must never look like the token it came from. */
static void test_hash_is_not_the_token(void **state)
{
	unsigned char hash[CHAT_TOKEN_HASH_LEN];
	char token[CHAT_TOKEN_LEN + 1];

	(void)state;
	chat_token_generate(token);
	chat_token_hash(token, strlen(token), hash);
	assert_memory_not_equal(hash, token, CHAT_TOKEN_HASH_LEN);
}

static void test_one_changed_character_changes_the_hash(void **state)
{
	unsigned char original[CHAT_TOKEN_HASH_LEN],
	    changed[CHAT_TOKEN_HASH_LEN];
	char token[CHAT_TOKEN_LEN + 1];

	(void)state;
	chat_token_generate(token);
	chat_token_hash(token, CHAT_TOKEN_LEN, original);
	token[CHAT_TOKEN_LEN - 1] ^= 1;
	chat_token_hash(token, CHAT_TOKEN_LEN, changed);
	assert_memory_not_equal(original, changed, CHAT_TOKEN_HASH_LEN);
}

/* The length is part of what is hashed: a prefix of a token is a different
 * token, and so is the empty one. */
static void test_hash_covers_exactly_the_given_length(void **state)
{
	unsigned char whole[CHAT_TOKEN_HASH_LEN], prefix[CHAT_TOKEN_HASH_LEN];
	unsigned char empty[CHAT_TOKEN_HASH_LEN];
	char token[CHAT_TOKEN_LEN + 1];

	(void)state;
	chat_token_generate(token);
	chat_token_hash(token, CHAT_TOKEN_LEN, whole);
	chat_token_hash(token, CHAT_TOKEN_LEN - 1, prefix);
	chat_token_hash("", 0, empty);
	assert_memory_not_equal(whole, prefix, CHAT_TOKEN_HASH_LEN);
	assert_memory_not_equal(whole, empty, CHAT_TOKEN_HASH_LEN);
}

static void test_random_id_is_prefix_and_24_hex_digits(void **state)
{
	char id[64];

	(void)state;
	chat_random_id("c_", id, sizeof(id));
	assert_int_equal(strlen(id), 2 + 24);
	assert_memory_equal(id, "c_", 2);
	for (size_t i = 2; i < strlen(id); i++)
		assert_true(is_lower_hex(id[i]));
	assert_true(chat_valid_convo_id(id));
}

static void test_random_ids_do_not_repeat(void **state)
{
	char(*ids)[32] = calloc(SAMPLES, sizeof(*ids));

	(void)state;
	assert_non_null(ids);
	for (int n = 0; n < SAMPLES; n++)
		chat_random_id("c_", ids[n], sizeof(ids[n]));
	qsort(ids, SAMPLES, sizeof(*ids), compare_strings);
	for (int n = 1; n < SAMPLES; n++)
		assert_string_not_equal(ids[n - 1], ids[n]);
	free(ids);
}

static void test_random_id_is_cut_to_the_buffer(void **state)
{
	char id[8];

	(void)state;
	memset(id, 'x', sizeof(id));
	chat_random_id("c_", id, sizeof(id));
	assert_int_equal(strlen(id), sizeof(id) - 1);
	assert_memory_equal(id, "c_", 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crypto_init_can_run_twice),
	    cmocka_unit_test(test_token_is_43_url_safe_characters),
	    cmocka_unit_test(test_token_is_printable_ascii_like_a_cmid),
	    cmocka_unit_test(test_tokens_do_not_repeat),
	    cmocka_unit_test(test_hash_is_deterministic),
	    cmocka_unit_test(test_hash_of_a_known_token_never_changes),
	    cmocka_unit_test(test_hash_is_not_the_token),
	    cmocka_unit_test(test_one_changed_character_changes_the_hash),
	    cmocka_unit_test(test_hash_covers_exactly_the_given_length),
	    cmocka_unit_test(test_random_id_is_prefix_and_24_hex_digits),
	    cmocka_unit_test(test_random_ids_do_not_repeat),
	    cmocka_unit_test(test_random_id_is_cut_to_the_buffer),
	};

	return cmocka_run_group_tests(tests, init_crypto, NULL);
}
