/*
 * Files end to end (docs/E2E.md, "Media"): a file of several 256 KiB
 * chunks comes back byte for byte under its key; the hash covers the whole
 * ciphertext; altering, dropping, reordering or appending a chunk, or the
 * wrong key, makes decryption fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/filecrypt.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_BYTES 24
#define CIPHER_CHUNK (E2E_FILE_CHUNK + 17)

struct paths {
	char dir[64];
	char plain[128];
	char cipher[128];
	char back[128];
};

static int setup(void **state)
{
	struct paths *p = calloc(1, sizeof(*p));

	if (p == NULL || chat_crypto_init() != 0)
		return -1;
	snprintf(p->dir, sizeof(p->dir), "/tmp/chat-filecrypt-XXXXXX");
	if (mkdtemp(p->dir) == NULL)
		return -1;
	snprintf(p->plain, sizeof(p->plain), "%s/plain", p->dir);
	snprintf(p->cipher, sizeof(p->cipher), "%s/cipher", p->dir);
	snprintf(p->back, sizeof(p->back), "%s/back", p->dir);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct paths *p = *state;

	unlink(p->plain);
	unlink(p->cipher);
	unlink(p->back);
	rmdir(p->dir);
	free(p);
	return 0;
}

static unsigned char *write_random_file(const char *path, size_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	FILE *f = fopen(path, "wb");

	assert_non_null(buf);
	assert_non_null(f);
	randombytes_buf(buf, len);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	return buf;
}

static unsigned char *read_whole(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	return buf;
}

static void write_whole(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static void assert_round_trip(struct paths *p, size_t len)
{
	struct e2e_file_sealed sealed;
	unsigned char hash[E2E_FILE_HASH_BYTES];
	unsigned char *plain = write_random_file(p->plain, len), *back;
	long long size = -1, cipher_size;
	const char *why = NULL;
	size_t back_len;

	assert_int_equal(e2e_file_encrypt(p->plain, p->cipher, &sealed, &why),
	                 0);
	assert_true(sealed.plain_size == (long long)len);
	assert_true(sealed.cipher_size == e2e_file_cipher_size((long long)len));
	assert_int_equal(e2e_file_hash(p->cipher, hash, &cipher_size), 0);
	assert_true(cipher_size == sealed.cipher_size);
	assert_memory_equal(hash, sealed.hash, sizeof(hash));
	assert_int_equal(
	    e2e_file_decrypt(p->cipher, p->back, sealed.key, &size, &why), 0);
	assert_true(size == (long long)len);
	back = read_whole(p->back, &back_len);
	assert_int_equal(back_len, len);
	if (len > 0)
		assert_memory_equal(back, plain, len);
	free(plain);
	free(back);
}

static void test_a_multi_chunk_file_comes_back_byte_for_byte(void **state)
{
	assert_round_trip(*state, 3 * E2E_FILE_CHUNK + 1000);
}

static void test_chunk_sized_and_empty_files_come_back(void **state)
{
	assert_round_trip(*state, 2 * E2E_FILE_CHUNK);
	assert_round_trip(*state, 1);
	assert_round_trip(*state, 0);
}

/* Encrypts a 3.5-chunk file; returns its key. */
static void encrypt_sample(struct paths *p, struct e2e_file_sealed *sealed)
{
	const char *why;
	unsigned char *plain = write_random_file(
	    p->plain, 3 * E2E_FILE_CHUNK + E2E_FILE_CHUNK / 2);

	free(plain);
	assert_int_equal(e2e_file_encrypt(p->plain, p->cipher, sealed, &why),
	                 0);
}

static void assert_decrypt_fails(struct paths *p, const unsigned char *key)
{
	const char *why = NULL;

	assert_int_equal(e2e_file_decrypt(p->cipher, p->back, key, NULL, &why),
	                 -1);
	assert_non_null(why);
}

static void test_an_altered_byte_is_refused(void **state)
{
	struct paths *p = *state;
	struct e2e_file_sealed sealed;
	unsigned char *c;
	size_t len;

	encrypt_sample(p, &sealed);
	c = read_whole(p->cipher, &len);
	c[HEADER_BYTES + CIPHER_CHUNK + 100] ^= 0x40;
	write_whole(p->cipher, c, len);
	free(c);
	assert_decrypt_fails(p, sealed.key);
}

static void test_a_dropped_last_chunk_is_refused(void **state)
{
	struct paths *p = *state;
	struct e2e_file_sealed sealed;

	encrypt_sample(p, &sealed);
	assert_int_equal(
	    truncate(p->cipher, HEADER_BYTES + 3 * (off_t)CIPHER_CHUNK), 0);
	assert_decrypt_fails(p, sealed.key);
}

static void test_reordered_chunks_are_refused(void **state)
{
	struct paths *p = *state;
	struct e2e_file_sealed sealed;
	unsigned char *c, *tmp = malloc(CIPHER_CHUNK);
	size_t len;

	encrypt_sample(p, &sealed);
	c = read_whole(p->cipher, &len);
	memcpy(tmp, c + HEADER_BYTES, CIPHER_CHUNK);
	memcpy(c + HEADER_BYTES, c + HEADER_BYTES + CIPHER_CHUNK, CIPHER_CHUNK);
	memcpy(c + HEADER_BYTES + CIPHER_CHUNK, tmp, CIPHER_CHUNK);
	write_whole(p->cipher, c, len);
	free(c);
	free(tmp);
	assert_decrypt_fails(p, sealed.key);
}

static void test_data_after_the_final_chunk_is_refused(void **state)
{
	struct paths *p = *state;
	struct e2e_file_sealed sealed;
	FILE *f;

	encrypt_sample(p, &sealed);
	f = fopen(p->cipher, "ab");
	assert_non_null(f);
	fputs("trailing", f);
	fclose(f);
	assert_decrypt_fails(p, sealed.key);
}

static void test_the_wrong_key_is_refused(void **state)
{
	struct paths *p = *state;
	struct e2e_file_sealed sealed;

	encrypt_sample(p, &sealed);
	sealed.key[0] ^= 1;
	assert_decrypt_fails(p, sealed.key);
}

/* A fresh key each time: the same file never gives the same blob. */
static void test_the_same_file_encrypts_differently_each_time(void **state)
{
	struct paths *p = *state;
	struct e2e_file_sealed a, b;
	const char *why;
	unsigned char *plain = write_random_file(p->plain, 5000);

	free(plain);
	assert_int_equal(e2e_file_encrypt(p->plain, p->cipher, &a, &why), 0);
	assert_int_equal(e2e_file_encrypt(p->plain, p->back, &b, &why), 0);
	assert_memory_not_equal(a.key, b.key, sizeof(a.key));
	assert_memory_not_equal(a.hash, b.hash, sizeof(a.hash));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_a_multi_chunk_file_comes_back_byte_for_byte, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_chunk_sized_and_empty_files_come_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_an_altered_byte_is_refused,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_a_dropped_last_chunk_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reordered_chunks_are_refused,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_data_after_the_final_chunk_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_wrong_key_is_refused,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_the_same_file_encrypts_differently_each_time, setup,
	        teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
