/*
 * The quick reference of PROTOCOL.md works with the stock mosquitto
 * command line clients: mosquitto_pub sends, mosquitto_sub receives,
 * mosquitto_rr asks.
 */
#include "../harness/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define WAIT test_timeout_ms(5000)

/* The first line of the file that is a JSON object, parsed. */
static cJSON *first_json_line(const char *path)
{
	const char *const needles[] = {"{\"", NULL};
	char line[4096];

	if (!test_file_find_line(path, needles, line, sizeof(line)))
		return NULL;
	return cJSON_Parse(strchr(line, '{'));
}

CHAT_TEST(a_message_sent_with_mosquitto_pub_reaches_mosquitto_sub_as_seq_1)
{
	char port[16], topic[96], out_path[PATH_MAX], out[512], err[512];
	const char *payload =
	    "{\"cmid\":\"cli-1\",\"body\":\"hi bob, from a shell\"}";
	struct test_process *sub;
	struct chat_scene s;
	cJSON *msg;

	chat_fixture_scene(fx, NULL, &s);
	snprintf(port, sizeof(port), "%d", s.srv->port);
	snprintf(topic, sizeof(topic), "chat/send/%s", s.convo);
	snprintf(out_path, sizeof(out_path), "%s/mosquitto_sub.out",
	         s.srv->dir);
	/* As in the quick reference: a persistent session (-c), made first
	 * (-E: exit once subscribed), so the order of what follows does not
	 * matter. */
	char *subscribe_argv[] = {"mosquitto_sub",
	                          "-h",
	                          "127.0.0.1",
	                          "-p",
	                          port,
	                          "-u",
	                          "bob",
	                          "-P",
	                          s.bob_token,
	                          "-i",
	                          "bob-shell",
	                          "-c",
	                          "-q",
	                          "1",
	                          "-t",
	                          "chat/u/bob/msg",
	                          "-E",
	                          NULL};
	char *listen_argv[] = {"mosquitto_sub",
	                       "-h",
	                       "127.0.0.1",
	                       "-p",
	                       port,
	                       "-u",
	                       "bob",
	                       "-P",
	                       s.bob_token,
	                       "-i",
	                       "bob-shell",
	                       "-c",
	                       "-q",
	                       "1",
	                       "-t",
	                       "chat/u/bob/msg",
	                       "-C",
	                       "1",
	                       "-W",
	                       "20",
	                       NULL};
	char *pub_argv[] = {
	    "mosquitto_pub", "-h", "127.0.0.1",     "-p", port, "-u",
	    "alice",         "-P", s.alice_token,   "-q", "1",  "-t",
	    topic,           "-m", (char *)payload, NULL};

	assert_int_equal(test_process_run(subscribe_argv, WAIT, out,
	                                  sizeof(out), err, sizeof(err)),
	                 0);
	sub = chat_server_spawn_helper(s.srv, "mosquitto_sub", listen_argv,
	                               out_path);
	assert_non_null(sub);

	assert_int_equal(test_process_run(pub_argv, WAIT, out, sizeof(out), err,
	                                  sizeof(err)),
	                 0);

	assert_int_equal(test_process_wait(sub, WAIT), 0);
	assert_true(WIFEXITED(sub->status) && WEXITSTATUS(sub->status) == 0);
	msg = first_json_line(out_path);
	assert_non_null(msg);
	assert_int_equal(test_json_number(msg, "seq"), 1);
	assert_string_equal(test_json_string(msg, "convo"), s.convo);
	assert_string_equal(test_json_string(msg, "from"), "alice");
	assert_string_equal(test_json_string(msg, "cmid"), "cli-1");
	assert_string_equal(test_json_string(msg, "body"),
	                    "hi bob, from a shell");
	cJSON_Delete(msg);
	assert_int_equal(test_db_count_messages(s.srv, s.convo), 1);
}

static bool lists_convo(const cJSON *resp, const char *convo)
{
	const cJSON *list = cJSON_GetObjectItem(resp, "conversations"), *c;

	cJSON_ArrayForEach(c, list)
	{
		const cJSON *members = cJSON_GetObjectItem(c, "members");

		if (strcmp(test_json_string(c, "convo"), convo) == 0 &&
		    strcmp(test_json_string(c, "kind"), "direct") == 0 &&
		    cJSON_GetArraySize(members) == 2)
			return true;
	}
	return false;
}

CHAT_TEST(mosquitto_rr_gets_the_conversations_response)
{
	char port[16], out[8192], err[1024];
	struct chat_scene s;
	cJSON *resp;

	chat_fixture_scene(fx, NULL, &s);
	snprintf(port, sizeof(port), "%d", s.srv->port);
	char *rr_argv[] = {"mosquitto_rr",
	                   "-h",
	                   "127.0.0.1",
	                   "-p",
	                   port,
	                   "-u",
	                   "alice",
	                   "-P",
	                   s.alice_token,
	                   "-q",
	                   "1",
	                   "-t",
	                   "chat/req",
	                   "-e",
	                   "chat/u/alice/resp",
	                   "-m",
	                   "{\"id\":\"c1\",\"op\":\"conversations\"}",
	                   "-W",
	                   "10",
	                   NULL};

	assert_int_equal(
	    test_process_run(rr_argv, WAIT, out, sizeof(out), err, sizeof(err)),
	    0);

	resp = cJSON_Parse(out);
	assert_non_null(resp);
	assert_string_equal(test_json_string(resp, "id"), "c1");
	assert_string_equal(test_json_string(resp, "op"), "conversations");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")));
	assert_true(lists_convo(resp, s.convo));
	cJSON_Delete(resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHAT_TEST_ENTRY(
	        a_message_sent_with_mosquitto_pub_reaches_mosquitto_sub_as_seq_1),
	    CHAT_TEST_ENTRY(mosquitto_rr_gets_the_conversations_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
