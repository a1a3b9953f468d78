/*
 * cmocka glue for integration tests. A test is written as
 *
 *   CHAT_TEST(alice_reaches_bob)
 *   {
 *           struct chat_scene s;
 *
 *           chat_fixture_scene(fx, NULL, &s);
 *           ...
 *   }
 *
 * and listed with CHAT_TEST_ENTRY(alice_reaches_bob). Servers started
 * through the fixture are stopped after the test whatever happens; their
 * folders are removed only when the body ran to its end and no sanitizer
 * report turned up.
 */
#ifndef CHAT_TEST_FIXTURE_H
#define CHAT_TEST_FIXTURE_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#define CHAT_FIXTURE_MAX_SERVERS 4

struct chat_fixture {
	struct chat_server *servers[CHAT_FIXTURE_MAX_SERVERS];
};

/* The usual cast: alice and bob in a direct conversation, both online. */
struct chat_scene {
	struct chat_server *srv;
	char alice_token[TEST_TOKEN_MAX];
	char bob_token[TEST_TOKEN_MAX];
	char convo[TEST_ID_MAX];
	struct test_client *alice;
	struct test_client *bob;
};

int chat_fixture_setup(void **state);
int chat_fixture_teardown(void **state);

/* Stops the servers after a body that ran to its end; fails the test when
 * a log holds a sanitizer report. */
void chat_fixture_finish(struct chat_fixture *fx);

/* Starts a server (cfg may be NULL) or fails the test. */
struct chat_server *chat_fixture_server(struct chat_fixture *fx,
                                        const struct chat_server_config *cfg);

/* Creates a user or fails the test. */
void chat_fixture_user(struct chat_server *srv, const char *user,
                       char token[TEST_TOKEN_MAX]);

/* Creates count users prefix0000... in the store, or fails the test. */
void chat_fixture_accounts(struct chat_server *srv, const char *prefix,
                           struct test_account *out, size_t count);

/* Creates a group (or channel) of owner and members through owner's
 * create_group request, or fails the test. */
void chat_fixture_group(struct test_client *owner, const char *title,
                        const char *const members[], size_t count, bool channel,
                        char convo[TEST_ID_MAX]);

/* Creates a direct conversation or fails the test. */
void chat_fixture_direct(struct chat_server *srv, const char *a, const char *b,
                         char convo[TEST_ID_MAX]);

/* Connects a device of the user (inbox subscribed) or fails the test. */
struct test_client *chat_fixture_connect(struct chat_server *srv,
                                         const char *user, const char *token);

/* A server with alice and bob, their conversation, both connected. */
void chat_fixture_scene(struct chat_fixture *fx,
                        const struct chat_server_config *cfg,
                        struct chat_scene *s);

/* Fails the test unless resp is a successful response. */
void chat_assert_ok(const cJSON *resp);

/* Fails the test unless resp is a refusal with that error code. */
void chat_assert_refused(const cJSON *resp, const char *code);

/* The conversation's entry in c's `conversations` answer, or fails the
 * test. Owned by the client. */
const cJSON *chat_fixture_conversation(struct test_client *c,
                                       const char *convo);

/* The user's entry in the `members` answer c gets, or fails the test. */
const cJSON *chat_fixture_member(struct test_client *c, const char *convo,
                                 const char *user);

#define CHAT_TEST(name)                                                        \
	static void name##_body(struct chat_fixture *fx);                      \
	static void name(void **state)                                         \
	{                                                                      \
		name##_body(*state);                                           \
		chat_fixture_finish(*state);                                   \
	}                                                                      \
	static void name##_body(struct chat_fixture *fx)

#define CHAT_TEST_ENTRY(name)                                                  \
	cmocka_unit_test_setup_teardown(name, chat_fixture_setup,              \
	                                chat_fixture_teardown)

#endif
