/*
 * The signed and encrypted formats of docs/E2E.md: a bundle or device list
 * verifies only as its identity key signed it, and any change to a signed
 * field makes it fail; a message opens for every device it was wrapped for
 * and for no other, and not once its ciphertext, its context (convo,
 * sender, cmid) or its sender device has been tampered with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/crypto.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int init_crypto(void **state)
{
	(void)state;
	return chat_crypto_init();
}

/* ---- helpers ---- */

static cJSON *signed_bundle(const struct e2e_identity *id, const char *user,
                            const char *device,
                            const struct e2e_device_keys *keys)
{
	struct e2e_bundle b = {0};

	snprintf(b.user, sizeof(b.user), "%s", user);
	snprintf(b.device, sizeof(b.device), "%s", device);
	memcpy(b.key, keys->public_key, sizeof(b.key));
	memcpy(b.identity, id->public_key, sizeof(b.identity));
	b.created = 1764770000123LL;
	return e2e_bundle_sign(&b, id->secret_key);
}

static cJSON *signed_list(const struct e2e_identity *id, const char *user,
                          long long version, const char *const devices[],
                          size_t count)
{
	struct e2e_device_list l = {0};
	cJSON *json;

	snprintf(l.user, sizeof(l.user), "%s", user);
	memcpy(l.identity, id->public_key, sizeof(l.identity));
	l.version = version;
	for (size_t i = 0; i < count; i++)
		assert_int_equal(e2e_device_list_add(&l, devices[i]), 0);
	json = e2e_device_list_sign(&l, id->secret_key);
	e2e_device_list_free(&l);
	return json;
}

static void set_string(cJSON *obj, const char *name, const char *value)
{
	assert_true(cJSON_ReplaceItemInObjectCaseSensitive(
	    obj, name, cJSON_CreateString(value)));
}

static void set_number(cJSON *obj, const char *name, double value)
{
	assert_true(cJSON_ReplaceItemInObjectCaseSensitive(
	    obj, name, cJSON_CreateNumber(value)));
}

static void set_b64(cJSON *obj, const char *name, const unsigned char *bin,
                    size_t len)
{
	char *text = e2e_b64_encode(bin, len);

	set_string(obj, name, text);
	free(text);
}

static void assert_bundle_refused(const cJSON *json)
{
	struct e2e_bundle out;
	const char *why = NULL;

	assert_int_equal(e2e_bundle_verify(json, &out, &why), -1);
	assert_non_null(why);
}

static void assert_list_refused(const cJSON *json)
{
	struct e2e_device_list out;
	const char *why = NULL;

	assert_int_equal(e2e_device_list_verify(json, &out, &why), -1);
	assert_non_null(why);
	e2e_device_list_free(&out);
}

/* ---- bundles ---- */

static void test_a_signed_bundle_verifies_with_its_fields(void **state)
{
	struct e2e_identity id;
	struct e2e_device_keys keys;
	struct e2e_bundle out;
	const char *why = "unset";
	cJSON *json;

	(void)state;
	e2e_identity_generate(&id);
	e2e_device_keys_generate(&keys);
	json = signed_bundle(&id, "alice", "3", &keys);
	assert_non_null(json);
	assert_int_equal(e2e_bundle_verify(json, &out, &why), 0);
	assert_null(why);
	assert_string_equal(out.user, "alice");
	assert_string_equal(out.device, "3");
	assert_memory_equal(out.key, keys.public_key, sizeof(out.key));
	assert_memory_equal(out.identity, id.public_key, sizeof(out.identity));
	assert_true(out.created == 1764770000123LL);
	cJSON_Delete(json);
}

/* The signature covers exactly the bytes E2E.md names, so another
 * implementation can check it. */
static void test_the_bundle_signature_covers_the_documented_text(void **state)
{
	unsigned char sig[crypto_sign_BYTES];
	struct e2e_identity id;
	struct e2e_device_keys keys;
	char text[256];
	cJSON *json;

	(void)state;
	e2e_identity_generate(&id);
	e2e_device_keys_generate(&keys);
	json = signed_bundle(&id, "alice", "3", &keys);
	snprintf(text, sizeof(text), "chat-bundle-v1\nalice\n3\n%s\n%s",
	         cJSON_GetObjectItem(json, "key")->valuestring,
	         "1764770000123");
	assert_int_equal(
	    e2e_b64_decode_exact(cJSON_GetObjectItem(json, "sig")->valuestring,
	                         sig, sizeof(sig)),
	    0);
	assert_int_equal(
	    crypto_sign_verify_detached(sig, (const unsigned char *)text,
	                                strlen(text), id.public_key),
	    0);
	cJSON_Delete(json);
}

static void test_a_bundle_with_any_signed_field_changed_is_refused(void **state)
{
	struct e2e_identity id;
	struct e2e_device_keys keys, other;
	cJSON *json;

	(void)state;
	e2e_identity_generate(&id);
	e2e_device_keys_generate(&keys);
	e2e_device_keys_generate(&other);

	json = signed_bundle(&id, "alice", "3", &keys);
	set_b64(json, "key", other.public_key, sizeof(other.public_key));
	assert_bundle_refused(json);
	cJSON_Delete(json);

	json = signed_bundle(&id, "alice", "3", &keys);
	set_string(json, "device", "4");
	assert_bundle_refused(json);
	cJSON_Delete(json);

	json = signed_bundle(&id, "alice", "3", &keys);
	set_string(json, "user", "mallory");
	assert_bundle_refused(json);
	cJSON_Delete(json);

	json = signed_bundle(&id, "alice", "3", &keys);
	set_number(json, "created", 1764770000124.0);
	assert_bundle_refused(json);
	cJSON_Delete(json);
}

/* Someone else's identity key cannot vouch for alice's device, and
 * claiming alice's identity key does not make a foreign signature pass. */
static void test_a_bundle_signed_by_another_identity_is_refused(void **state)
{
	struct e2e_identity alice, mallory;
	struct e2e_device_keys keys;
	cJSON *json;

	(void)state;
	e2e_identity_generate(&alice);
	e2e_identity_generate(&mallory);
	e2e_device_keys_generate(&keys);
	json = signed_bundle(&mallory, "alice", "3", &keys);
	set_b64(json, "identity", alice.public_key, sizeof(alice.public_key));
	assert_bundle_refused(json);
	cJSON_Delete(json);
}

static void test_malformed_bundles_are_refused(void **state)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"user\":\"alice\",\"device\":\"3\",\"key\":\"!!\","
	    "\"identity\":\"AA==\",\"created\":1,\"sig\":\"AA==\"}",
	    "[1,2]",
	};
	struct e2e_identity id;
	struct e2e_device_keys keys;
	cJSON *json;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json = cJSON_Parse(bad[i]);
		assert_bundle_refused(json);
		cJSON_Delete(json);
	}
	/* A device id with a newline could make two texts sign alike. */
	e2e_identity_generate(&id);
	e2e_device_keys_generate(&keys);
	assert_null(signed_bundle(&id, "alice", "3\nx", &keys));
	json = signed_bundle(&id, "alice", "3", &keys);
	set_number(json, "created", -5);
	assert_bundle_refused(json);
	cJSON_Delete(json);
}

/* ---- device lists ---- */

static void test_a_signed_device_list_verifies_in_order(void **state)
{
	static const char *const devices[] = {"3", "7", "12"};
	struct e2e_identity id;
	struct e2e_device_list out;
	const char *why;
	cJSON *json;

	(void)state;
	e2e_identity_generate(&id);
	json = signed_list(&id, "alice", 4, devices, 3);
	assert_int_equal(e2e_device_list_verify(json, &out, &why), 0);
	assert_string_equal(out.user, "alice");
	assert_true(out.version == 4);
	assert_int_equal(out.count, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(out.devices[i], devices[i]);
	assert_true(e2e_device_list_has(&out, "7"));
	assert_false(e2e_device_list_has(&out, "8"));
	e2e_device_list_free(&out);
	cJSON_Delete(json);
}

static void
test_the_device_list_signature_covers_the_documented_text(void **state)
{
	static const char *const devices[] = {"3", "7"};
	const char *text = "chat-devices-v1\nalice\n4\n3,7";
	unsigned char sig[crypto_sign_BYTES];
	struct e2e_identity id;
	cJSON *json;

	(void)state;
	e2e_identity_generate(&id);
	json = signed_list(&id, "alice", 4, devices, 2);
	assert_int_equal(
	    e2e_b64_decode_exact(cJSON_GetObjectItem(json, "sig")->valuestring,
	                         sig, sizeof(sig)),
	    0);
	assert_int_equal(
	    crypto_sign_verify_detached(sig, (const unsigned char *)text,
	                                strlen(text), id.public_key),
	    0);
	cJSON_Delete(json);
}

/* A server that adds its own device, drops or reorders one, replays an
 * old version or moves a list to another user is caught. */
static void test_a_tampered_device_list_is_refused(void **state)
{
	static const char *const devices[] = {"3", "7"};
	struct e2e_identity id, other;
	cJSON *json, *list;

	(void)state;
	e2e_identity_generate(&id);
	e2e_identity_generate(&other);

	json = signed_list(&id, "alice", 4, devices, 2);
	list = cJSON_GetObjectItem(json, "devices");
	cJSON_AddItemToArray(list, cJSON_CreateString("99"));
	assert_list_refused(json);
	cJSON_Delete(json);

	json = signed_list(&id, "alice", 4, devices, 2);
	cJSON_DeleteItemFromArray(cJSON_GetObjectItem(json, "devices"), 0);
	assert_list_refused(json);
	cJSON_Delete(json);

	json = signed_list(&id, "alice", 4, devices, 2);
	list = cJSON_GetObjectItem(json, "devices");
	cJSON_ReplaceItemInArray(list, 0, cJSON_CreateString("7"));
	cJSON_ReplaceItemInArray(list, 1, cJSON_CreateString("3"));
	assert_list_refused(json);
	cJSON_Delete(json);

	json = signed_list(&id, "alice", 4, devices, 2);
	set_number(json, "version", 5);
	assert_list_refused(json);
	cJSON_Delete(json);

	json = signed_list(&id, "alice", 4, devices, 2);
	set_string(json, "user", "bob");
	assert_list_refused(json);
	cJSON_Delete(json);

	json = signed_list(&other, "alice", 4, devices, 2);
	set_b64(json, "identity", id.public_key, sizeof(id.public_key));
	assert_list_refused(json);
	cJSON_Delete(json);
}

static void test_a_device_listed_twice_is_refused(void **state)
{
	static const char *const devices[] = {"3"};
	struct e2e_identity id;
	cJSON *json;

	(void)state;
	e2e_identity_generate(&id);
	json = signed_list(&id, "alice", 1, devices, 1);
	cJSON_AddItemToArray(cJSON_GetObjectItem(json, "devices"),
	                     cJSON_CreateString("3"));
	assert_list_refused(json);
	cJSON_Delete(json);
}

/* ---- messages ---- */

struct device {
	const char *user;
	const char *id;
	struct e2e_device_keys keys;
};

static char *seal(const struct e2e_message_context *ctx,
                  const struct device *sender, struct device *to, size_t count,
                  const char *plaintext)
{
	struct e2e_recipient r[8];
	const char *why = NULL;
	char *body = NULL;

	for (size_t i = 0; i < count; i++)
		r[i] = (struct e2e_recipient){to[i].user, to[i].id,
		                              to[i].keys.public_key};
	assert_int_equal(
	    e2e_message_seal(ctx, sender->id, sender->keys.secret_key, r, count,
	                     plaintext, strlen(plaintext), &body, &why),
	    0);
	assert_non_null(body);
	return body;
}

/* Opens body as reader; returns the plaintext or NULL with *why. */
static char *open_as(const char *body, const struct e2e_message_context *ctx,
                     const struct device *reader,
                     const unsigned char sender_key[], const char **why)
{
	struct e2e_sealed s;
	char *plaintext = NULL;
	size_t len;

	if (e2e_message_parse(body, reader->user, reader->id, &s, why) == 0)
		e2e_message_open(&s, ctx, sender_key, reader->keys.secret_key,
		                 &plaintext, &len, why);
	e2e_sealed_free(&s);
	return plaintext;
}

static void make_devices(struct device *d, size_t count)
{
	static const char *const users[] = {"alice", "alice", "bob", "bob",
	                                    "carol"};
	static const char *const ids[] = {"1", "2", "5", "6", "9"};

	for (size_t i = 0; i < count; i++) {
		d[i].user = users[i];
		d[i].id = ids[i];
		e2e_device_keys_generate(&d[i].keys);
	}
}

static void test_every_recipient_device_reads_the_message(void **state)
{
	struct e2e_message_context ctx = {"c_1", "alice", "m-1"};
	const char *text = "{\"text\":\"hello everyone\"}";
	struct device d[5];
	const char *why = NULL;
	char *body;

	(void)state;
	make_devices(d, 5);
	/* alice's device 1 sends to all five, itself and alice's other
	 * device included. */
	body = seal(&ctx, &d[0], d, 5, text);
	for (size_t i = 0; i < 5; i++) {
		char *plain =
		    open_as(body, &ctx, &d[i], d[0].keys.public_key, &why);

		assert_non_null(plain);
		assert_string_equal(plain, text);
		free(plain);
	}
	free(body);
}

static void test_a_device_left_out_has_no_key(void **state)
{
	struct e2e_message_context ctx = {"c_1", "alice", "m-1"};
	struct device d[5];
	const char *why = NULL;
	char *body, *plain;

	(void)state;
	make_devices(d, 5);
	/* carol (d[4]) was removed: not among the recipients. */
	body = seal(&ctx, &d[0], d, 4, "{\"text\":\"after removal\"}");
	plain = open_as(body, &ctx, &d[4], d[0].keys.public_key, &why);
	assert_null(plain);
	assert_string_equal(why, "no key for this device");
	/* She is not even named in the envelope. */
	assert_null(strstr(body, "\"carol\""));
	free(body);
}

static void flip_ciphertext_byte(char **body)
{
	cJSON *root = cJSON_Parse(*body);
	unsigned char *ct;
	size_t len;

	assert_int_equal(
	    e2e_b64_decode(cJSON_GetObjectItem(root, "ct")->valuestring, &ct,
	                   &len),
	    0);
	ct[len / 2] ^= 0x01;
	set_b64(root, "ct", ct, len);
	free(ct);
	free(*body);
	*body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
}

static void test_a_tampered_ciphertext_is_refused(void **state)
{
	struct e2e_message_context ctx = {"c_1", "alice", "m-1"};
	struct device d[3];
	const char *why = NULL;
	char *body, *plain;

	(void)state;
	make_devices(d, 3);
	body = seal(&ctx, &d[0], d, 3, "{\"text\":\"pay 10\"}");
	flip_ciphertext_byte(&body);
	plain = open_as(body, &ctx, &d[2], d[0].keys.public_key, &why);
	assert_null(plain);
	assert_non_null(strstr(why, "altered"));
	free(body);
}

/* The additional data binds a ciphertext to its conversation, sender and
 * cmid: replayed anywhere else it does not open. */
static void
test_a_message_replayed_under_another_context_is_refused(void **state)
{
	struct e2e_message_context ctx = {"c_1", "alice", "m-1"};
	struct e2e_message_context elsewhere[] = {
	    {"c_2", "alice", "m-1"},
	    {"c_1", "mallory", "m-1"},
	    {"c_1", "alice", "m-2"},
	};
	struct device d[3];
	const char *why = NULL;
	char *body;

	(void)state;
	make_devices(d, 3);
	body = seal(&ctx, &d[0], d, 3, "{\"text\":\"only here\"}");
	for (size_t i = 0; i < 3; i++) {
		char *plain = open_as(body, &elsewhere[i], &d[2],
		                      d[0].keys.public_key, &why);

		assert_null(plain);
		assert_non_null(strstr(why, "altered"));
	}
	free(body);
}

/* mallory wraps the key with her own device key but names alice's device
 * as the sender: checked against alice's real key, the box fails. */
static void test_a_forged_sender_device_is_refused(void **state)
{
	struct e2e_message_context ctx = {"c_1", "alice", "m-1"};
	struct device d[3], mallory = {"alice", "1", {{0}, {0}}};
	const char *why = NULL;
	char *body, *plain;

	(void)state;
	make_devices(d, 3);
	e2e_device_keys_generate(&mallory.keys);
	body = seal(&ctx, &mallory, d, 3, "{\"text\":\"from alice, honest\"}");
	plain = open_as(body, &ctx, &d[2], d[0].keys.public_key, &why);
	assert_null(plain);
	assert_string_equal(why,
	                    "message key not wrapped by the sender's device");
	free(body);
}

static void test_garbage_envelopes_are_refused_without_crashing(void **state)
{
	static const char *const bodies[] = {
	    "hi bob",
	    "{\"v\":2,\"sender_device\":\"1\"}",
	    "{\"v\":1}",
	    "{\"v\":1,\"sender_device\":\"1\",\"nonce\":\"AAAA\",\"ct\":\"\","
	    "\"keys\":[]}",
	    "{\"v\":1,\"sender_device\":\"1\",\"nonce\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"ct\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAA\",\"keys\":[{\"user\":\"bob\","
	    "\"device\":\"5\",\"nonce\":\"x\",\"box\":\"y\"}]}",
	    "",
	};
	struct e2e_sealed s;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		why = NULL;
		assert_int_equal(
		    e2e_message_parse(bodies[i], "bob", "5", &s, &why), -1);
		assert_non_null(why);
		e2e_sealed_free(&s);
	}
	assert_int_equal(e2e_message_parse(bodies[0], "bob", "5", &s, &why),
	                 -1);
	assert_string_equal(why, "not an encrypted message");
	assert_int_equal(e2e_message_parse(bodies[1], "bob", "5", &s, &why),
	                 -1);
	assert_string_equal(why, "unsupported envelope version");
}

static void test_the_additional_data_is_the_documented_text(void **state)
{
	struct e2e_message_context ctx = {"c_1", "alice", "m-1"};
	char *ad = e2e_message_ad(&ctx);

	(void)state;
	assert_string_equal(ad, "chat-msg-v1\nc_1\nalice\nm-1");
	free(ad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_signed_bundle_verifies_with_its_fields),
	    cmocka_unit_test(
	        test_the_bundle_signature_covers_the_documented_text),
	    cmocka_unit_test(
	        test_a_bundle_with_any_signed_field_changed_is_refused),
	    cmocka_unit_test(
	        test_a_bundle_signed_by_another_identity_is_refused),
	    cmocka_unit_test(test_malformed_bundles_are_refused),
	    cmocka_unit_test(test_a_signed_device_list_verifies_in_order),
	    cmocka_unit_test(
	        test_the_device_list_signature_covers_the_documented_text),
	    cmocka_unit_test(test_a_tampered_device_list_is_refused),
	    cmocka_unit_test(test_a_device_listed_twice_is_refused),
	    cmocka_unit_test(test_every_recipient_device_reads_the_message),
	    cmocka_unit_test(test_a_device_left_out_has_no_key),
	    cmocka_unit_test(test_a_tampered_ciphertext_is_refused),
	    cmocka_unit_test(
	        test_a_message_replayed_under_another_context_is_refused),
	    cmocka_unit_test(test_a_forged_sender_device_is_refused),
	    cmocka_unit_test(
	        test_garbage_envelopes_are_refused_without_crashing),
	    cmocka_unit_test(test_the_additional_data_is_the_documented_text),
	};

	return cmocka_run_group_tests(tests, init_crypto, NULL);
}
