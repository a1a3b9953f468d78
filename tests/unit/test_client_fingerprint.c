/*
 * Safety numbers (docs/E2E.md): twelve groups of five digits computed from
 * the identity key alone, the same on every device and in every
 * implementation, and different for different keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/fingerprint.h"
#include "token.h"

#include <string.h>

static int init_crypto(void **state)
{
	(void)state;
	return chat_crypto_init();
}

static void test_a_fingerprint_is_twelve_groups_of_five_digits(void **state)
{
	char fp[E2E_FINGERPRINT_LEN + 1];
	struct e2e_identity id;

	(void)state;
	for (int n = 0; n < 64; n++) {
		e2e_identity_generate(&id);
		memset(fp, 'x', sizeof(fp));
		e2e_fingerprint(id.public_key, fp);
		assert_int_equal(strlen(fp), 71);
		for (int i = 0; i < 71; i++) {
			if (i % 6 == 5)
				assert_int_equal(fp[i], ' ');
			else
				assert_true(fp[i] >= '0' && fp[i] <= '9');
		}
	}
}

/* Computed independently from the text of E2E.md: BLAKE2b-256 keyed with
 * "chat-fingerprint-v1" over the key bytes 0x00..0x1f, first 30 bytes,
 * six big-endian 40-bit runs modulo 10^10. Any other reading of the spec
 * (a 30-byte digest, little-endian runs) gives other digits. */
static void test_a_known_key_gives_the_known_fingerprint(void **state)
{
	unsigned char key[E2E_IDENTITY_PUBLIC_BYTES];
	char fp[E2E_FINGERPRINT_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	e2e_fingerprint(key, fp);
	assert_string_equal(fp, "10609 19678 03758 49662 63862 26321 "
	                        "90245 02594 42730 35314 56518 49697");
}

static void test_the_fingerprint_is_stable_and_differs_per_key(void **state)
{
	char a1[E2E_FINGERPRINT_LEN + 1], a2[E2E_FINGERPRINT_LEN + 1];
	char b[E2E_FINGERPRINT_LEN + 1];
	struct e2e_identity alice, bob;

	(void)state;
	e2e_identity_generate(&alice);
	e2e_identity_generate(&bob);
	e2e_fingerprint(alice.public_key, a1);
	e2e_fingerprint(alice.public_key, a2);
	e2e_fingerprint(bob.public_key, b);
	assert_string_equal(a1, a2);
	assert_string_not_equal(a1, b);
	/* One bit of the key changes the number. */
	alice.public_key[31] ^= 1;
	e2e_fingerprint(alice.public_key, a2);
	assert_string_not_equal(a1, a2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_a_fingerprint_is_twelve_groups_of_five_digits),
	    cmocka_unit_test(test_a_known_key_gives_the_known_fingerprint),
	    cmocka_unit_test(
	        test_the_fingerprint_is_stable_and_differs_per_key),
	};

	return cmocka_run_group_tests(tests, init_crypto, NULL);
}
