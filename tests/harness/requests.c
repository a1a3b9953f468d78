/* Requests on chat/req and their responses, and syncing a whole log. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SYNC_PAGES 10000

int test_client_request_send_as(struct test_client *c, const char *json,
                                const char *id)
{
	cJSON *req = cJSON_Parse(json);
	char *text = NULL;
	int rc = -1;

	if (!cJSON_IsObject(req)) {
		test_log("not a JSON object request: %s", json);
		cJSON_Delete(req);
		return -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(req, "id");
	cJSON_AddStringToObject(req, "id", id);
	text = cJSON_PrintUnformatted(req);
	if (text)
		rc = test_client_publish(c, TEST_PREFIX "/req", text,
		                         (int)strlen(text), 1, false, NULL);
	free(text);
	cJSON_Delete(req);
	return rc;
}

int test_client_request_send(struct test_client *c, const char *json,
                             char *id_out)
{
	pthread_mutex_lock(&c->lock);
	snprintf(id_out, TEST_CMID_MAX, "r%u", ++c->requests);
	pthread_mutex_unlock(&c->lock);
	return test_client_request_send_as(c, json, id_out);
}

cJSON *test_client_request(struct test_client *c, int timeout_ms,
                           const char *fmt, ...)
{
	char id[TEST_CMID_MAX];
	char *json = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&json, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	n = test_client_request_send(c, json, id);
	free(json);
	if (n != 0)
		return NULL;
	return test_client_wait_response(c, id, timeout_ms);
}

/* Appends copies of a page's messages; returns its "through" or -1. */
static long take_page(const cJSON *resp, cJSON *all, bool *more)
{
	const cJSON *messages = cJSON_GetObjectItem(resp, "messages");
	const cJSON *m;

	if (!cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")) ||
	    !cJSON_IsArray(messages))
		return -1;
	cJSON_ArrayForEach(m, messages)
	    cJSON_AddItemToArray(all, cJSON_Duplicate(m, true));
	*more = cJSON_IsTrue(cJSON_GetObjectItem(resp, "more"));
	return (long)test_json_number(resp, "through");
}

cJSON *test_client_sync_all(struct test_client *c, const char *convo,
                            long after, int limit, int *pages)
{
	int timeout = test_timeout_ms(5000);
	cJSON *all = cJSON_CreateArray();
	bool more = true;
	int n = 0;

	while (more && n < MAX_SYNC_PAGES) {
		cJSON *resp = test_client_request(
		    c, timeout,
		    "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":%ld,"
		    "\"limit\":%d}",
		    convo, after, limit);
		long through = resp ? take_page(resp, all, &more) : -1;

		if (through < 0 || (more && through <= after)) {
			char *text = resp ? cJSON_PrintUnformatted(resp) : NULL;

			test_log("%s: sync of %s after %ld failed: %s",
			         c->client_id, convo, after,
			         text ? text : "no response");
			free(text);
			cJSON_Delete(all);
			return NULL;
		}
		after = through;
		n++;
	}
	if (pages)
		*pages = n;
	return all;
}
