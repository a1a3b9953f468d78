/* Presence and typing seen from a test client. */
#include "presence.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUBSCRIBE_QOS 1

long long test_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void test_presence_topic(const char *user, char *out, size_t outlen)
{
	snprintf(out, outlen, TEST_PREFIX "/presence/%s", user);
}

int test_presence_subscribe(struct test_client *c, const char *user)
{
	char topic[TEST_ID_MAX + 32];

	test_presence_topic(user, topic, sizeof(topic));
	return test_client_subscribe(c, topic, SUBSCRIBE_QOS);
}

bool test_presence_entry_is(const struct test_inbox_entry *e, const char *user)
{
	char topic[TEST_ID_MAX + 32];

	test_presence_topic(user, topic, sizeof(topic));
	return strcmp(e->topic, topic) == 0;
}

int test_presence_count(struct test_client *c, const char *user, size_t since)
{
	const struct test_inbox_entry *e;
	int n = 0;

	for (size_t i = since; (e = test_client_entry(c, i)) != NULL; i++)
		n += test_presence_entry_is(e, user);
	return n;
}

static bool says_online(const struct test_inbox_entry *e, bool online)
{
	const cJSON *flag = cJSON_GetObjectItemCaseSensitive(e->json, "online");

	return cJSON_IsBool(flag) && cJSON_IsTrue(flag) == online;
}

cJSON *test_presence_wait(struct test_client *c, const char *user, bool online,
                          size_t since, int timeout_ms, size_t *index)
{
	long long deadline = test_now_ms() + timeout_ms;
	size_t next = since;

	for (;;) {
		const struct test_inbox_entry *e;

		while ((e = test_client_entry(c, next)) != NULL) {
			next++;
			if (test_presence_entry_is(e, user) &&
			    says_online(e, online)) {
				if (index)
					*index = next - 1;
				return e->json;
			}
		}
		if (test_now_ms() >= deadline)
			return NULL;
		test_client_wait_entries(c, next + 1,
		                         (int)(deadline - test_now_ms()));
	}
}

const struct test_inbox_entry *test_presence_last(struct test_client *c,
                                                  const char *user)
{
	const struct test_inbox_entry *e, *last = NULL;

	for (size_t i = 0; (e = test_client_entry(c, i)) != NULL; i++) {
		if (test_presence_entry_is(e, user))
			last = e;
	}
	return last;
}

int test_client_status(struct test_client *c, const char *payload)
{
	return test_client_publish(c, TEST_PREFIX "/status", payload,
	                           (int)strlen(payload), 1, false, NULL);
}

int test_client_typing(struct test_client *c, const char *convo,
                       const char *payload)
{
	char topic[TEST_ID_MAX + 32];

	snprintf(topic, sizeof(topic), TEST_PREFIX "/typing/%s", convo);
	return test_client_publish(c, topic, payload, (int)strlen(payload), 0,
	                           false, NULL);
}

cJSON *test_presence_ask(struct test_client *c, const char *const users[],
                         int timeout_ms)
{
	size_t count = 0;
	char *list;
	cJSON *resp;

	while (users[count])
		count++;
	list = test_json_string_list(users, count);
	if (list == NULL)
		return NULL;
	resp = test_client_request(c, timeout_ms,
	                           "{\"op\":\"presence\",\"users\":%s}", list);
	free(list);
	return resp;
}

const cJSON *test_presence_answer_entry(const cJSON *resp, const char *user)
{
	const cJSON *item;

	cJSON_ArrayForEach(item,
	                   cJSON_GetObjectItemCaseSensitive(resp, "presence"))
	{
		if (strcmp(test_json_string(item, "user"), user) == 0)
			return item;
	}
	return NULL;
}

bool test_raw_wait_closed(struct raw_mqtt *r, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	char scratch[256];

	while (r->fd >= 0 && test_now_ms() < deadline) {
		struct pollfd pfd = {r->fd, POLLIN, 0};
		ssize_t got;

		if (poll(&pfd, 1, (int)(deadline - test_now_ms())) <= 0)
			continue;
		got = read(r->fd, scratch, sizeof(scratch));
		if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
			return true;
	}
	return false;
}
