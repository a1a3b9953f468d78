/*
 * A user's devices (PROTOCOL.md, "Presence" requests and "Keys and media"):
 * `devices` lists the user's own devices, `whoami` names the device of the
 * asking connection, and `revoke_device` closes the revoked device's
 * connections within a second and refuses its token from then on; only
 * one's own devices can be revoked. An answer reaches only the device
 * that asked, even an answer identical to another device's.
 */
#include "../harness/fixture.h"
#include "../harness/presence.h"

#include <stdio.h>
#include <string.h>

#define WAIT test_timeout_ms(5000)
/* "Within a second", plus the commit of the revocation. */
#define KICK_MS test_timeout_ms(1300)

/* The device id `whoami` gives for the connection. */
static void whoami(struct test_client *c, char device[TEST_ID_MAX])
{
	cJSON *resp = test_client_request(c, WAIT, "{\"op\":\"whoami\"}");
	const cJSON *id;

	chat_assert_ok(resp);
	assert_string_equal(test_json_string(resp, "user"), c->user);
	id = cJSON_GetObjectItem(resp, "device");
	assert_true(cJSON_IsString(id));
	assert_true(strlen(id->valuestring) > 0 &&
	            strlen(id->valuestring) < TEST_ID_MAX);
	strcpy(device, id->valuestring);
}

/* The entry of `devices` for device, or fails the test. */
static const cJSON *listed_device(const cJSON *resp, const char *device)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItem(resp, "devices"))
	{
		if (strcmp(test_json_string(item, "device"), device) == 0)
			return item;
	}
	fail_msg("device %s is not listed", device);
	return NULL;
}

static cJSON *revoke(struct test_client *c, const char *device)
{
	return test_client_request(
	    c, WAIT, "{\"op\":\"revoke_device\",\"device\":\"%s\"}", device);
}

CHAT_TEST(devices_lists_own_devices_and_whoami_names_the_connections_device)
{
	char laptop_token[TEST_TOKEN_MAX], listing[4096];
	char phone_id[TEST_ID_MAX], laptop_id[TEST_ID_MAX], bob_id[TEST_ID_MAX];
	struct test_client *laptop;
	long long before = test_wall_ms();
	const cJSON *entry;
	struct chat_scene s;
	cJSON *resp;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(chat_server_ctl(s.srv, laptop_token,
	                                 sizeof(laptop_token), "device", "add",
	                                 "alice", "--label", "laptop", NULL),
	                 0);
	laptop = chat_fixture_connect(s.srv, "alice", laptop_token);
	whoami(s.alice, phone_id);
	whoami(laptop, laptop_id);
	whoami(s.bob, bob_id);
	assert_string_not_equal(phone_id, laptop_id);

	resp = test_client_request(laptop, WAIT, "{\"op\":\"devices\"}");
	chat_assert_ok(resp);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(resp, "devices")), 2);
	entry = listed_device(resp, laptop_id);
	assert_string_equal(test_json_string(entry, "label"), "laptop");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(entry, "revoked")));
	assert_true(test_json_number(entry, "created") >= before - 1000);
	entry = listed_device(resp, phone_id);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(entry, "revoked")));
	assert_true(test_json_number(entry, "created") > 0);

	/* The operator's list shows the same ids; bob sees only his. */
	assert_int_equal(chat_server_ctl(s.srv, listing, sizeof(listing),
	                                 "device", "list", "alice", NULL),
	                 0);
	assert_non_null(strstr(listing, phone_id));
	assert_non_null(strstr(listing, laptop_id));
	resp = test_client_request(s.bob, WAIT, "{\"op\":\"devices\"}");
	chat_assert_ok(resp);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(resp, "devices")), 1);
	listed_device(resp, bob_id);
}

CHAT_TEST(a_revoked_own_device_is_closed_within_a_second_and_its_token_refused)
{
	char laptop_token[TEST_TOKEN_MAX], phone_id[TEST_ID_MAX];
	struct test_client *phone = NULL, *laptop;
	struct test_client_options o = {0};
	long long asked, first_revoked;
	struct chat_scene s;
	const cJSON *entry;
	cJSON *resp;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(
	    chat_server_add_device(s.srv, "alice", laptop_token, NULL), 0);
	laptop = chat_fixture_connect(s.srv, "alice", laptop_token);
	whoami(s.alice, phone_id);

	asked = test_now_ms();
	resp = revoke(laptop, phone_id);
	chat_assert_ok(resp);
	assert_string_equal(test_json_string(resp, "device"), phone_id);
	first_revoked = test_json_number(resp, "revoked");
	assert_true(first_revoked > 0);
	while (test_client_disconnects(s.alice) == 0 &&
	       test_now_ms() - asked < KICK_MS)
		test_sleep_ms(10);
	print_message("revoked device closed %lld ms after the request\n",
	              test_now_ms() - asked);
	assert_true(test_client_disconnects(s.alice) > 0);

	/* Its token is refused from now on; the other device carries on. */
	o.user = "alice";
	o.password = s.alice_token;
	assert_true(test_client_connect(s.srv, &o, &phone) > 0);
	assert_null(phone);
	assert_false(test_client_connected(s.alice));
	assert_true(test_client_connected(laptop));
	resp = test_client_request(laptop, WAIT, "{\"op\":\"devices\"}");
	chat_assert_ok(resp);
	entry = listed_device(resp, phone_id);
	assert_int_equal(test_json_number(entry, "revoked"), first_revoked);

	/* Revoking it again answers as the first time. */
	resp = revoke(laptop, phone_id);
	chat_assert_ok(resp);
	assert_int_equal(test_json_number(resp, "revoked"), first_revoked);
}

CHAT_TEST(revoking_a_device_of_another_user_is_no_such_device)
{
	char bob_id[TEST_ID_MAX];
	struct test_client *again;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	whoami(s.bob, bob_id);

	chat_assert_refused(revoke(s.alice, bob_id), "no_such_device");
	chat_assert_refused(revoke(s.alice, "999999"), "no_such_device");

	/* Long enough for the plugin's look for revocations to have run. */
	test_client_quiet(s.bob, test_timeout_ms(1300));
	assert_true(test_client_connected(s.bob));
	assert_int_equal(test_client_disconnects(s.bob), 0);
	again = chat_fixture_connect(s.srv, "bob", s.bob_token);
	assert_non_null(again);
}

static size_t answers_received(struct test_client *c)
{
	struct test_match resp = {.kind = "resp"};
	size_t mark = test_client_mark(c), count = 0;

	for (size_t i = 0; i < mark; i++)
		count += test_entry_matches(c, test_client_entry(c, i), &resp);
	return count;
}

CHAT_TEST(an_answer_reaches_only_the_device_that_asked)
{
	char laptop_token[TEST_TOKEN_MAX];
	char phone_id[TEST_ID_MAX], laptop_id[TEST_ID_MAX];
	struct test_client *laptop;
	size_t phone_before, laptop_before;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(chat_server_ctl(s.srv, laptop_token,
	                                 sizeof(laptop_token), "device", "add",
	                                 "alice", NULL),
	                 0);
	laptop = chat_fixture_connect(s.srv, "alice", laptop_token);
	test_client_quiet(s.alice, 200);
	phone_before = answers_received(s.alice);
	laptop_before = answers_received(laptop);
	whoami(s.alice, phone_id);
	whoami(laptop, laptop_id);
	whoami(s.alice, phone_id);
	/* The same request from both: the same answer, one copy each. */
	assert_int_equal(test_client_request_send_as(s.alice,
	                                             "{\"op\":\"nonsense\"}",
	                                             "twin"),
	                 0);
	assert_int_equal(test_client_request_send_as(laptop,
	                                             "{\"op\":\"nonsense\"}",
	                                             "twin"),
	                 0);
	test_client_quiet(s.alice, 500);
	test_client_quiet(laptop, 500);
	assert_int_equal(answers_received(s.alice), phone_before + 3);
	assert_int_equal(answers_received(laptop), laptop_before + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        devices_lists_own_devices_and_whoami_names_the_connections_device),
	    CHAT_TEST_ENTRY(
	        a_revoked_own_device_is_closed_within_a_second_and_its_token_refused),
	    CHAT_TEST_ENTRY(
	        revoking_a_device_of_another_user_is_no_such_device),
	    CHAT_TEST_ENTRY(an_answer_reaches_only_the_device_that_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
