/* Shared between the harness's own files; tests use harness.h only. */
#ifndef CHAT_TEST_INTERNAL_H
#define CHAT_TEST_INTERNAL_H

#include "harness.h"

/* Records one received publish (network thread). */
void test_inbox_add(struct test_client *c, const char *topic,
                    const void *payload, int len, int qos, bool retain);

/* Frees every recorded publish. */
void test_inbox_free(struct test_client *c);

/* pthread_cond_timedwait on c->changed until deadline (monotonic ms);
 * the caller holds c->lock. */
void test_client_timed_wait_locked(struct test_client *c, long long deadline);

/* Looks for an acknowledgement of mid; the caller holds c->lock. */
bool test_client_find_ack_locked(struct test_client *c, int mid, int *value);

#endif
