/* What a test client sends: subscriptions, publishes, chat messages. */
#include "internal.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACK_TIMEOUT_MS 5000

void test_client_timed_wait_locked(struct test_client *c, long long deadline)
{
	long long left = deadline - test_now_ms();
	struct timespec ts;

	if (left <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&c->changed, &c->lock, &ts);
}

bool test_client_find_ack_locked(struct test_client *c, int mid, int *value)
{
	/* Newest first: the ack a test waits for is usually recent. */
	for (size_t i = c->ack_count; i > 0; i--) {
		if (c->acks[i - 1].mid == mid) {
			*value = c->acks[i - 1].value;
			return true;
		}
	}
	return false;
}

static int wait_ack(struct test_client *c, int mid, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	int value = -1;

	pthread_mutex_lock(&c->lock);
	while (!test_client_find_ack_locked(c, mid, &value) &&
	       test_now_ms() < deadline)
		test_client_timed_wait_locked(c, deadline);
	pthread_mutex_unlock(&c->lock);
	return value;
}

int test_client_subscribe(struct test_client *c, const char *filter, int qos)
{
	int mid = 0, rc = mosquitto_subscribe(c->mosq, &mid, filter, qos);

	if (rc != MOSQ_ERR_SUCCESS) {
		test_log("%s: subscribe %s: %s", c->client_id, filter,
		         mosquitto_strerror(rc));
		return -1;
	}
	return wait_ack(c, mid, test_timeout_ms(ACK_TIMEOUT_MS));
}

int test_client_unsubscribe(struct test_client *c, const char *filter)
{
	int mid = 0, rc = mosquitto_unsubscribe(c->mosq, &mid, filter);

	if (rc != MOSQ_ERR_SUCCESS) {
		test_log("%s: unsubscribe %s: %s", c->client_id, filter,
		         mosquitto_strerror(rc));
		return -1;
	}
	return wait_ack(c, mid, test_timeout_ms(ACK_TIMEOUT_MS));
}

int test_client_publish(struct test_client *c, const char *topic,
                        const void *payload, int len, int qos, bool retain,
                        int *mid)
{
	int local_mid = 0;
	int rc = mosquitto_publish(c->mosq, &local_mid, topic, len, payload,
	                           qos, retain);

	if (mid)
		*mid = local_mid;
	if (rc != MOSQ_ERR_SUCCESS) {
		test_log("%s: publish to %s: %s", c->client_id, topic,
		         mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

int test_client_wait_puback(struct test_client *c, int mid, int timeout_ms)
{
	return wait_ack(c, mid, timeout_ms);
}

int test_client_send_raw(struct test_client *c, const char *convo,
                         const void *payload, int len)
{
	char topic[TEST_ID_MAX + 32];

	snprintf(topic, sizeof(topic), TEST_PREFIX "/send/%s", convo);
	return test_client_publish(c, topic, payload, len, 1, false, NULL);
}

int test_client_send(struct test_client *c, const char *convo, const char *cmid,
                     const char *body, int *mid)
{
	cJSON *envelope = cJSON_CreateObject();
	char topic[TEST_ID_MAX + 32];
	char *text;
	int rc = -1;

	cJSON_AddStringToObject(envelope, "cmid", cmid);
	cJSON_AddStringToObject(envelope, "body", body);
	text = cJSON_PrintUnformatted(envelope);
	snprintf(topic, sizeof(topic), TEST_PREFIX "/send/%s", convo);
	if (text)
		rc = test_client_publish(c, topic, text, (int)strlen(text), 1,
		                         false, mid);
	free(text);
	cJSON_Delete(envelope);
	return rc;
}
