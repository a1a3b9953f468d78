/* Groups and channels through members' requests, and receipts. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUEST_TIMEOUT_MS 10000

char *test_json_string_list(const char *const items[], size_t count)
{
	cJSON *list = cJSON_CreateArray();
	char *text = NULL;
	bool ok = list != NULL;

	for (size_t i = 0; ok && i < count; i++) {
		cJSON *item = cJSON_CreateString(items[i]);

		ok = item != NULL && cJSON_AddItemToArray(list, item);
	}
	if (ok)
		text = cJSON_PrintUnformatted(list);
	cJSON_Delete(list);
	return text;
}

const char *test_response_code(const cJSON *resp)
{
	return test_json_string(cJSON_GetObjectItemCaseSensitive(resp, "error"),
	                        "code");
}

/* Logs a response that was not the success a helper expected. */
static void log_failure(struct test_client *c, const char *op,
                        const cJSON *resp)
{
	char *text = resp ? cJSON_PrintUnformatted(resp) : NULL;

	test_log("%s: %s failed: %s", c->client_id, op,
	         text ? text : "no response in time");
	free(text);
}

static bool succeeded(const cJSON *resp)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok"));
}

long test_group_create(struct test_client *owner, const char *title,
                       const char *const members[], size_t count, bool channel,
                       char convo_out[TEST_ID_MAX])
{
	char *list = test_json_string_list(members, count);
	cJSON *title_json = cJSON_CreateString(title);
	char *quoted = title_json ? cJSON_PrintUnformatted(title_json) : NULL;
	cJSON *resp = NULL;

	convo_out[0] = '\0';
	if (list && quoted)
		resp = test_client_request(
		    owner, test_timeout_ms(REQUEST_TIMEOUT_MS),
		    "{\"op\":\"create_group\",\"title\":%s,\"members\":%s%s}",
		    quoted, list, channel ? ",\"channel\":true" : "");
	free(list);
	free(quoted);
	cJSON_Delete(title_json);
	if (!succeeded(resp) ||
	    strlen(test_json_string(resp, "convo")) >= TEST_ID_MAX) {
		log_failure(owner, "create_group", resp);
		return -1;
	}
	snprintf(convo_out, TEST_ID_MAX, "%s", test_json_string(resp, "convo"));
	return (long)test_json_number(resp, "seq");
}

static long change_members(struct test_client *c, const char *op,
                           const char *convo, const char *const users[],
                           size_t count)
{
	char *list = test_json_string_list(users, count);
	cJSON *resp = NULL;
	long long seq;

	if (list)
		resp = test_client_request(
		    c, test_timeout_ms(REQUEST_TIMEOUT_MS),
		    "{\"op\":\"%s\",\"convo\":\"%s\",\"users\":%s}", op, convo,
		    list);
	free(list);
	if (!succeeded(resp)) {
		log_failure(c, op, resp);
		return -1;
	}
	seq = test_json_number(resp, "seq");
	return seq > 0 ? (long)seq : 0;
}

long test_group_add(struct test_client *c, const char *convo,
                    const char *const users[], size_t count)
{
	return change_members(c, "add_members", convo, users, count);
}

long test_group_remove(struct test_client *c, const char *convo,
                       const char *const users[], size_t count)
{
	return change_members(c, "remove_members", convo, users, count);
}

int test_client_ack(struct test_client *c, const char *convo, long delivered,
                    long read)
{
	char topic[TEST_ID_MAX + 32], payload[96];
	int len;

	if (delivered >= 0 && read >= 0)
		len = snprintf(payload, sizeof(payload),
		               "{\"delivered\":%ld,\"read\":%ld}", delivered,
		               read);
	else if (delivered >= 0)
		len = snprintf(payload, sizeof(payload), "{\"delivered\":%ld}",
		               delivered);
	else
		len =
		    snprintf(payload, sizeof(payload), "{\"read\":%ld}", read);
	snprintf(topic, sizeof(topic), TEST_PREFIX "/ack/%s", convo);
	return test_client_publish(c, topic, payload, len, 1, false, NULL);
}
