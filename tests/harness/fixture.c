/* The cmocka side of the harness: setup, teardown and asserting helpers. */
#include "fixture.h"

#include <mosquitto.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_WAIT_MS 5000

int chat_fixture_setup(void **state)
{
	struct chat_fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	/* A peer that closes first must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	*state = fx;
	return 0;
}

int chat_fixture_teardown(void **state)
{
	struct chat_fixture *fx = *state;

	/* Servers still here belong to a test that failed: keep folders. */
	for (int i = 0; i < CHAT_FIXTURE_MAX_SERVERS; i++) {
		if (fx->servers[i])
			chat_server_stop(fx->servers[i], false, NULL, 0);
	}
	free(fx);
	mosquitto_lib_cleanup();
	return 0;
}

void chat_fixture_finish(struct chat_fixture *fx)
{
	char problem[1100] = "";
	bool clean = true;

	for (int i = 0; i < CHAT_FIXTURE_MAX_SERVERS; i++) {
		struct chat_server *srv = fx->servers[i];

		fx->servers[i] = NULL;
		if (srv &&
		    chat_server_stop(srv, true, problem, sizeof(problem)) != 0)
			clean = false;
	}
	if (!clean)
		fail_msg("sanitizer report: %s", problem);
}

struct chat_server *chat_fixture_server(struct chat_fixture *fx,
                                        const struct chat_server_config *cfg)
{
	struct chat_server *srv;

	for (int i = 0; i < CHAT_FIXTURE_MAX_SERVERS; i++) {
		if (fx->servers[i] != NULL)
			continue;
		srv = chat_server_start(cfg);
		if (srv == NULL)
			fail_msg("the test server did not start");
		fx->servers[i] = srv;
		return srv;
	}
	fail_msg("more than %d servers in one test", CHAT_FIXTURE_MAX_SERVERS);
	return NULL;
}

void chat_fixture_user(struct chat_server *srv, const char *user,
                       char token[TEST_TOKEN_MAX])
{
	if (chat_server_add_user(srv, user, token) != 0)
		fail_msg("chatctl user add %s failed", user);
}

void chat_fixture_accounts(struct chat_server *srv, const char *prefix,
                           struct test_account *out, size_t count)
{
	if (chat_server_insert_accounts(srv, prefix, out, count) != 0)
		fail_msg("cannot insert %zu users %s...", count, prefix);
}

void chat_fixture_group(struct test_client *owner, const char *title,
                        const char *const members[], size_t count, bool channel,
                        char convo[TEST_ID_MAX])
{
	if (test_group_create(owner, title, members, count, channel, convo) < 1)
		fail_msg("%s could not create %s", owner->user, title);
}

void chat_fixture_direct(struct chat_server *srv, const char *a, const char *b,
                         char convo[TEST_ID_MAX])
{
	if (chat_server_direct(srv, a, b, convo) != 0)
		fail_msg("chatctl convo direct %s %s failed", a, b);
}

struct test_client *chat_fixture_connect(struct chat_server *srv,
                                         const char *user, const char *token)
{
	struct test_client *c = test_client_connect_user(srv, user, token);

	if (c == NULL)
		fail_msg("%s could not connect", user);
	return c;
}

void chat_fixture_scene(struct chat_fixture *fx,
                        const struct chat_server_config *cfg,
                        struct chat_scene *s)
{
	s->srv = chat_fixture_server(fx, cfg);
	chat_fixture_user(s->srv, "alice", s->alice_token);
	chat_fixture_user(s->srv, "bob", s->bob_token);
	chat_fixture_direct(s->srv, "alice", "bob", s->convo);
	s->alice = chat_fixture_connect(s->srv, "alice", s->alice_token);
	s->bob = chat_fixture_connect(s->srv, "bob", s->bob_token);
}

void chat_assert_ok(const cJSON *resp)
{
	char *text;

	if (resp && cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")))
		return;
	text = resp ? cJSON_PrintUnformatted(resp) : NULL;
	fail_msg("expected a successful response, got %s",
	         text ? text : "none");
}

void chat_assert_refused(const cJSON *resp, const char *code)
{
	char *text;

	if (resp && !cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")) &&
	    strcmp(test_response_code(resp), code) == 0)
		return;
	text = resp ? cJSON_PrintUnformatted(resp) : NULL;
	fail_msg("expected a refusal with %s, got %s", code,
	         text ? text : "none");
}

/* The item of the answer's array `list` whose `key` is value. */
static const cJSON *find_item(const cJSON *resp, const char *list,
                              const char *key, const char *value)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItem(resp, list))
	{
		if (strcmp(test_json_string(item, key), value) == 0)
			return item;
	}
	return NULL;
}

const cJSON *chat_fixture_conversation(struct test_client *c, const char *convo)
{
	cJSON *resp = test_client_request(c, test_timeout_ms(ANSWER_WAIT_MS),
	                                  "{\"op\":\"conversations\"}");
	const cJSON *item;

	chat_assert_ok(resp);
	item = find_item(resp, "conversations", "convo", convo);
	if (item == NULL)
		fail_msg("%s: %s is not in conversations", c->user, convo);
	return item;
}

const cJSON *chat_fixture_member(struct test_client *c, const char *convo,
                                 const char *user)
{
	cJSON *resp =
	    test_client_request(c, test_timeout_ms(ANSWER_WAIT_MS),
	                        "{\"op\":\"members\",\"convo\":\"%s\"}", convo);
	const cJSON *item;

	chat_assert_ok(resp);
	item = find_item(resp, "members", "user", user);
	if (item == NULL)
		fail_msg("%s is not in the members of %s", user, convo);
	return item;
}
