/*
 * Connecting: only a known user with one of its live device tokens gets
 * in, under a well-formed user name, and never with the client id that is
 * reserved for the bridge.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <string.h>

#define WAIT test_timeout_ms(5000)

struct refusal {
	const char *what;
	const char *user;
	const char *password; /* "<alice>" and "<bob>" stand for tokens */
	int mqtt_version;
};

static const char *password_for(const struct refusal *r,
                                const struct chat_scene *s)
{
	if (r->password && strcmp(r->password, "<alice>") == 0)
		return s->alice_token;
	if (r->password && strcmp(r->password, "<bob>") == 0)
		return s->bob_token;
	return r->password;
}

static int try_connect(struct chat_server *srv, const char *user,
                       const char *password, int mqtt_version)
{
	return test_client_try_connect(srv, user, password, mqtt_version);
}

CHAT_TEST(connects_with_bad_credentials_or_bad_user_names_are_refused)
{
	static const struct refusal refusals[] = {
	    {"wrong token", "alice", "not-alices-token-at-all", 4},
	    {"wrong token, MQTT 5", "alice", "not-alices-token", 5},
	    {"another user's token", "alice", "<bob>", 4},
	    {"empty password", "alice", "", 4},
	    {"no password", "alice", NULL, 4},
	    {"no username", NULL, NULL, 4},
	    {"no username, MQTT 5", NULL, NULL, 5},
	    {"unknown user", "mallory", "<alice>", 4},
	    {"slash in the name", "al/ice", "<alice>", 4},
	    {"plus in the name", "a+b", "<alice>", 4},
	    {"hash as the name", "#", "<alice>", 4},
	    {"the service account", "$bridge", "<alice>", 4},
	    {"the service account, MQTT 5", "$bridge", "<alice>", 5},
	    {"space in the name", "al ice", "<alice>", 4},
	    {"65-character name",
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "a",
	     "<alice>", 4},
	};
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *r = &refusals[i];
		int rc = try_connect(s.srv, r->user, password_for(r, &s),
		                     r->mqtt_version);

		print_message("%s: CONNACK %d\n", r->what, rc);
		assert_true(rc > 0);
	}
	/* The same server lets alice in with her token. */
	assert_int_equal(try_connect(s.srv, "alice", s.alice_token, 4), 0);
}

CHAT_TEST(a_user_name_with_a_control_character_never_gets_in)
{
	struct raw_mqtt raw;
	struct chat_scene s;
	int rc;

	chat_fixture_scene(fx, NULL, &s);

	/* libmosquitto will not send such a name; the raw client does. The
	 * broker itself rejects control characters in MQTT strings and closes
	 * the connection before any CONNACK, so both outcomes are refusals. */
	rc = raw_mqtt_connect(&raw, s.srv->port, "ctl-1", "al\x01ice",
	                      s.alice_token, strlen(s.alice_token), true, WAIT);
	print_message("control character: CONNACK %d\n", rc);
	assert_true(rc > 0 || rc == TEST_CONNACK_NONE);
	raw_mqtt_drop(&raw);

	assert_int_equal(raw_mqtt_connect(&raw, s.srv->port, "ctl-2", "alice",
	                                  s.alice_token, strlen(s.alice_token),
	                                  true, WAIT),
	                 0);
	raw_mqtt_disconnect(&raw);
}

CHAT_TEST(a_revoked_device_token_is_refused_while_other_devices_connect)
{
	char alice_token[TEST_TOKEN_MAX], tablet_token[TEST_TOKEN_MAX];
	char tablet[TEST_ID_MAX];
	struct chat_server *srv = chat_fixture_server(fx, NULL);

	chat_fixture_user(srv, "alice", alice_token);
	assert_int_equal(
	    chat_server_add_device(srv, "alice", tablet_token, tablet), 0);
	assert_int_equal(try_connect(srv, "alice", tablet_token, 4), 0);

	assert_int_equal(chat_server_revoke_device(srv, tablet), 0);

	assert_true(try_connect(srv, "alice", tablet_token, 4) > 0);
	assert_true(try_connect(srv, "alice", tablet_token, 5) > 0);
	assert_int_equal(try_connect(srv, "alice", alice_token, 4), 0);
}

static bool wait_disconnected(struct test_client *c, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;

	while (test_client_connected(c)) {
		if (test_now_ms() >= deadline)
			return false;
		test_sleep_ms(20);
	}
	return true;
}

CHAT_TEST(a_revoked_device_is_disconnected_at_once_and_stays_out)
{
	struct test_client_options o = {0};
	char tablet_token[TEST_TOKEN_MAX], tablet_id[TEST_ID_MAX];
	struct test_client *tablet = NULL;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	assert_int_equal(
	    chat_server_add_device(s.srv, "alice", tablet_token, tablet_id), 0);
	o.user = "alice";
	o.password = tablet_token;
	o.client_id = "alice-tablet";
	o.durable = true;
	o.subscribe_inbox = true;
	assert_int_equal(test_client_connect(s.srv, &o, &tablet), 0);

	assert_int_equal(chat_server_revoke_device(s.srv, tablet_id), 0);
	/* PROTOCOL.md: closed within a second. */
	assert_true(wait_disconnected(tablet, test_timeout_ms(3000)));

	/* alice's other device keeps working; the tablet gets nothing more
	 * and cannot come back, with or without its old session. */
	assert_int_equal(
	    test_client_send(s.bob, s.convo, "after-revoke", "hi", NULL), 0);
	assert_non_null(test_client_wait_message(s.alice, s.convo, 1, WAIT));
	assert_null(test_client_wait_message(tablet, s.convo, 1, 300));
	assert_false(test_client_connected(tablet));
	assert_true(try_connect(s.srv, "alice", tablet_token, 4) > 0);
}

CHAT_TEST(the_bridge_client_id_is_refused_to_users_and_the_bridge_stays_on)
{
	struct test_client_options o = {0};
	struct test_client *thief = NULL;
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	o.user = "alice";
	o.password = s.alice_token;
	o.client_id = "chat-bridge";

	assert_true(test_client_connect(s.srv, &o, &thief) > 0);
	assert_null(thief);

	/* Had the bridge been pushed off, this send would be refused. */
	assert_int_equal(
	    test_client_send(s.alice, s.convo, "after-1", "still on", NULL), 0);
	assert_non_null(
	    test_client_wait_tick(s.alice, s.convo, "after-1", WAIT));
	assert_null(test_client_wait_error(s.alice, "after-1", 0));
	assert_non_null(test_client_wait_message(s.bob, s.convo, 1, WAIT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(a_revoked_device_is_disconnected_at_once_and_stays_out),
	    CHAT_TEST_ENTRY(
	        connects_with_bad_credentials_or_bad_user_names_are_refused),
	    CHAT_TEST_ENTRY(a_user_name_with_a_control_character_never_gets_in),
	    CHAT_TEST_ENTRY(
	        a_revoked_device_token_is_refused_while_other_devices_connect),
	    CHAT_TEST_ENTRY(
	        the_bridge_client_id_is_refused_to_users_and_the_bridge_stays_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
