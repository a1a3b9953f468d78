/* The cmocka side of the harness: setup, teardown and asserting helpers. */
#include "fixture.h"

#include <mosquitto.h>
#include <signal.h>
#include <stdlib.h>

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
