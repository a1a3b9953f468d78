/*
 * Hostile MQTT, below the chat payloads: wills aimed at other users'
 * topics, oversized wills, huge MQTT 5 properties, topics and client ids
 * that are not valid UTF-8 or hold wildcards or dot segments. Each is
 * refused or never delivered, only the offending connection is affected,
 * and the server keeps serving everyone else.
 */
#include "../harness/fixture.h"
#include "../harness/presence.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WAIT       test_timeout_ms(5000)
#define SETTLE_MS  test_timeout_ms(1500)
#define FORGED     "{\"forged\":true}"

/* A libmosquitto connection with a will, driven by hand. */
struct willing {
	struct mosquitto *mosq;
	int connack; /* -1 until one arrives */
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
	(void)mosq;
	(void)flags;
	(void)props;
	((struct willing *)obj)->connack = rc;
}

/*
 * Connects as user with a will on topic. Returns the CONNACK code, or -1
 * when the broker closed the connection without one.
 */
static int connect_with_will(struct willing *w, struct chat_server *srv,
                             const char *user, const char *token,
                             const char *topic, const void *payload,
                             int len, bool retain, int version)
{
	long long deadline = test_now_ms() + WAIT;

	memset(w, 0, sizeof(*w));
	w->connack = -1;
	w->mosq = mosquitto_new(NULL, true, w);
	assert_non_null(w->mosq);
	mosquitto_int_option(w->mosq, MOSQ_OPT_PROTOCOL_VERSION, version);
	mosquitto_connect_v5_callback_set(w->mosq, on_connect);
	assert_int_equal(mosquitto_username_pw_set(w->mosq, user, token), 0);
	assert_int_equal(
	    mosquitto_will_set(w->mosq, topic, len, payload, 1, retain), 0);
	if (mosquitto_connect(w->mosq, "127.0.0.1", srv->port, 30) != 0)
		return -1;
	while (w->connack < 0 && test_now_ms() < deadline &&
	       mosquitto_loop(w->mosq, 50, 1) == MOSQ_ERR_SUCCESS)
		;
	return w->connack;
}

/* Ends the connection without DISCONNECT, so the broker sends the will. */
static void die_abruptly(struct willing *w)
{
	int fd = mosquitto_socket(w->mosq);

	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	mosquitto_destroy(w->mosq);
	w->mosq = NULL;
}

/* No entry since `since` carries the forged payload. */
static void assert_nothing_forged(struct test_client *c, size_t since)
{
	const struct test_inbox_entry *e;

	for (size_t i = since; (e = test_client_entry(c, i)); i++) {
		if (strstr(e->payload, "forged"))
			fail_msg("%s received a will on %s: %s", c->user,
			         e->topic, e->payload);
	}
}

/* alice can still reach bob: the server serves everyone else. */
static void assert_alice_reaches_bob(struct chat_scene *s, const char *cmid)
{
	size_t since = test_client_mark(s->bob);

	assert_int_equal(
	    test_client_send(s->alice, s->convo, cmid, "still here", NULL), 0);
	assert_non_null(test_client_wait(
	    s->bob,
	    &(struct test_match){.kind = "msg", .convo = s->convo, .cmid = cmid},
	    since, WAIT));
}

CHAT_TEST(wills_on_topics_the_client_may_not_write_are_never_delivered)
{
	static const char *const targets[][2] = {
	    {"bob's inbox", TEST_PREFIX "/u/bob/msg"},
	    {"alice's presence", TEST_PREFIX "/presence/alice"},
	    {"an internal topic", "$" TEST_PREFIX "/bridge/in/messages"},
	};
	char carol_token[TEST_TOKEN_MAX], send_topic[128];
	struct chat_scene s;
	size_t since;
	int before;

	chat_fixture_scene(fx, NULL, &s);
	chat_fixture_user(s.srv, "carol", carol_token);
	assert_int_equal(test_presence_subscribe(s.bob, "alice"), 1);
	since = test_client_mark(s.bob);
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct willing w;
		int rc = connect_with_will(&w, s.srv, "carol", carol_token,
		                           targets[i][1], FORGED,
		                           (int)strlen(FORGED), i == 1, 4);

		print_message("will on %s: CONNACK %d\n", targets[i][0], rc);
		die_abruptly(&w);
	}
	/* alice's own will on her own conversation's send topic: a will
	 * is never a chat message. */
	snprintf(send_topic, sizeof(send_topic), TEST_PREFIX "/send/%s",
	         s.convo);
	before = test_db_count_messages(s.srv, s.convo);
	{
		struct willing w;
		const char *env = "{\"cmid\":\"will-1\",\"body\":\"forged\"}";

		connect_with_will(&w, s.srv, "alice", s.alice_token,
		                  send_topic, env, (int)strlen(env), false, 4);
		die_abruptly(&w);
	}
	test_sleep_ms(SETTLE_MS);
	assert_nothing_forged(s.bob, since);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), before);
	assert_alice_reaches_bob(&s, "after-wills");
}

CHAT_TEST(an_oversized_will_affects_only_its_own_connection)
{
	/* Above message_size_limit (1 MiB), below max_packet_size. */
	const int len = 1024 * 1024 + 4096;
	char *big = malloc((size_t)len);
	struct chat_scene s;
	struct willing w;
	size_t since;
	int rc;

	assert_non_null(big);
	memset(big, 'f', (size_t)len);
	memcpy(big, "forged", 6);
	chat_fixture_scene(fx, NULL, &s);
	since = test_client_mark(s.bob);
	rc = connect_with_will(&w, s.srv, "alice", s.alice_token,
	                       TEST_PREFIX "/u/bob/msg", big, len, false, 4);
	print_message("1 MiB + 4 KiB will: CONNACK %d\n", rc);
	die_abruptly(&w);
	free(big);
	test_sleep_ms(SETTLE_MS);
	assert_nothing_forged(s.bob, since);
	assert_true(test_client_connected(s.alice));
	assert_alice_reaches_bob(&s, "after-big-will");
}

CHAT_TEST(huge_mqtt5_properties_change_nothing_for_the_message)
{
	const size_t len = 600 * 1000;
	char *value = malloc(len + 1);
	char payload[128], topic[128];
	mosquitto_property *props = NULL;
	struct test_client_options o = {0};
	struct test_client *alice5 = NULL;
	cJSON *got;
	struct chat_scene s;
	size_t since;

	assert_non_null(value);
	memset(value, 'p', len);
	value[len] = '\0';
	chat_fixture_scene(fx, NULL, &s);
	o.user = "alice";
	o.password = s.alice_token;
	o.mqtt_version = 5;
	assert_int_equal(test_client_connect(s.srv, &o, &alice5), 0);
	assert_int_equal(mosquitto_property_add_string_pair(
	                     &props, MQTT_PROP_USER_PROPERTY, "big", value),
	                 0);
	assert_int_equal(mosquitto_property_add_string(
	                     &props, MQTT_PROP_CONTENT_TYPE, "text/forged"),
	                 0);
	snprintf(topic, sizeof(topic), TEST_PREFIX "/send/%s", s.convo);
	snprintf(payload, sizeof(payload),
	         "{\"cmid\":\"props-1\",\"body\":\"with properties\"}");
	since = test_client_mark(s.bob);
	assert_int_equal(mosquitto_publish_v5(alice5->mosq, NULL, topic,
	                                      (int)strlen(payload), payload, 1,
	                                      false, props),
	                 MOSQ_ERR_SUCCESS);
	mosquitto_property_free_all(&props);
	free(value);
	/* Stored and delivered as any message, with the server's fields. */
	got = test_client_wait(
	    s.bob,
	    &(struct test_match){
	        .kind = "msg", .convo = s.convo, .cmid = "props-1"},
	    since, WAIT);
	assert_non_null(got);
	assert_string_equal(test_json_string(got, "from"), "alice");
	assert_int_equal(test_db_count_cmid(s.srv, s.convo, "alice", "props-1"),
	                 1);
	assert_alice_reaches_bob(&s, "after-props");
}

CHAT_TEST(bad_topics_and_client_ids_close_only_that_connection)
{
	static const char *const topics[] = {
	    TEST_PREFIX "/send/\xff\xfe",   /* not UTF-8 */
	    TEST_PREFIX "/send/+",          /* a wildcard in a topic */
	    TEST_PREFIX "/send/#",
	};
	struct chat_scene s;
	struct raw_mqtt raw;
	int rc;

	chat_fixture_scene(fx, NULL, &s);
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		const char *env = "{\"cmid\":\"bad-topic\",\"body\":\"x\"}";

		assert_int_equal(raw_mqtt_connect(&raw, s.srv->port, "alice-raw",
		                                  "alice", s.alice_token,
		                                  strlen(s.alice_token), true,
		                                  WAIT),
		                 0);
		assert_int_equal(raw_mqtt_publish(&raw, topics[i], env,
		                                  strlen(env), 1, 1, false),
		                 0);
		/* The broker ends the connection instead of acknowledging. */
		assert_int_equal(raw_mqtt_wait_puback(&raw, 1, 1000), -1);
		raw_mqtt_drop(&raw);
	}
	/* A client id that is not UTF-8 is refused or closed. */
	rc = raw_mqtt_connect(&raw, s.srv->port, "alice-\xff\xfe", "alice",
	                      s.alice_token, strlen(s.alice_token), true,
	                      WAIT);
	print_message("client id not UTF-8: CONNACK %d\n", rc);
	assert_true(rc != 0);
	if (rc == 0)
		raw_mqtt_drop(&raw);
	assert_int_equal(test_db_count_cmid(s.srv, s.convo, "alice",
	                                    "bad-topic"),
	                 0);
	assert_alice_reaches_bob(&s, "after-bad-topics");
}

/* Send topics naming no valid conversation id are refused by the
 * broker's access check (PUBACK 0x87 for MQTT 5, dropped for 3.1.1):
 * nothing is stored, and the connection stays. */
CHAT_TEST(dot_segments_and_odd_ids_in_send_topics_store_nothing)
{
	static const char *const convos[] = {"..", ".", "a$b", "c_x/../y",
	                                     "c_x/"};
	struct chat_scene s;

	chat_fixture_scene(fx, NULL, &s);
	for (size_t i = 0; i < sizeof(convos) / sizeof(convos[0]); i++) {
		char cmid[16];

		snprintf(cmid, sizeof(cmid), "odd-%zu", i);
		assert_int_equal(
		    test_client_send(s.alice, convos[i], cmid, "x", NULL), 0);
	}
	assert_alice_reaches_bob(&s, "after-odd-ids");
	for (size_t i = 0; i < sizeof(convos) / sizeof(convos[0]); i++) {
		char cmid[16];

		snprintf(cmid, sizeof(cmid), "odd-%zu", i);
		assert_int_equal(
		    test_db_count_cmid(s.srv, convos[i], "alice", cmid), 0);
	}
	assert_true(test_client_connected(s.alice));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        wills_on_topics_the_client_may_not_write_are_never_delivered),
	    CHAT_TEST_ENTRY(an_oversized_will_affects_only_its_own_connection),
	    CHAT_TEST_ENTRY(huge_mqtt5_properties_change_nothing_for_the_message),
	    CHAT_TEST_ENTRY(bad_topics_and_client_ids_close_only_that_connection),
	    CHAT_TEST_ENTRY(dot_segments_and_odd_ids_in_send_topics_store_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
