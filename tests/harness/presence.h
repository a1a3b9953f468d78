/*
 * Presence and typing as a client sees them (PROTOCOL.md, "Presence" and
 * "Typing"): the retained chat/presence/{user} publishes a watcher
 * receives, the status and typing publishes a user makes, the answer to a
 * `presence` request, and the wall clock that `last_seen` and `ts` use.
 */
#ifndef CHAT_TEST_PRESENCE_H
#define CHAT_TEST_PRESENCE_H

#include "harness.h"

/* Milliseconds since the Unix epoch: the server's clock for last_seen. */
long long test_wall_ms(void);

/* chat/presence/{user} into out. */
void test_presence_topic(const char *user, char *out, size_t outlen);

/* Subscribes to user's presence with QoS 1. Returns the granted QoS, 0x80
 * for a refusal, -1 when no SUBACK came. */
int test_presence_subscribe(struct test_client *c, const char *user);

/* True when the entry is a presence publish about user. */
bool test_presence_entry_is(const struct test_inbox_entry *e, const char *user);

/* Presence publishes about user received at or after index since. */
int test_presence_count(struct test_client *c, const char *user, size_t since);

/*
 * Waits for a presence publish about user, at or after index since, whose
 * "online" is online. Returns its JSON (owned by the client) or NULL after
 * timeout_ms; *index (may be NULL) receives the entry's index.
 */
cJSON *test_presence_wait(struct test_client *c, const char *user, bool online,
                          size_t since, int timeout_ms, size_t *index);

/* The newest presence publish about user received so far, or NULL. */
const struct test_inbox_entry *test_presence_last(struct test_client *c,
                                                  const char *user);

/* Publishes the payload text on chat/status with QoS 1. Returns 0 or -1. */
int test_client_status(struct test_client *c, const char *payload);

/* Publishes the payload text ("" for an empty one) on chat/typing/{convo}
 * with QoS 0. Returns 0 or -1. */
int test_client_typing(struct test_client *c, const char *convo,
                       const char *payload);

/* Sends `presence` about the users (NULL-terminated) and waits for the
 * answer, owned by the client; NULL after timeout_ms. */
cJSON *test_presence_ask(struct test_client *c, const char *const users[],
                         int timeout_ms);

/* The entry about user in a `presence` answer, or NULL when left out. */
const cJSON *test_presence_answer_entry(const cJSON *resp, const char *user);

/* Reads and discards what arrives on the raw connection until the broker
 * closes it. True when it did within timeout_ms. */
bool test_raw_wait_closed(struct raw_mqtt *r, int timeout_ms);

#endif
