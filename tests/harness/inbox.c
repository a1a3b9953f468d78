/*
 * The inbox of a test client: every publish it received, in arrival order,
 * with the payload parsed as JSON, and waits on it with timeouts.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void test_inbox_add(struct test_client *c, const char *topic,
                    const void *payload, int len, int qos, bool retain)
{
	struct test_inbox_entry *e = calloc(1, sizeof(*e));
	bool stored;

	if (e == NULL)
		return;
	e->topic = strdup(topic);
	e->payload = malloc((size_t)len + 1);
	if (e->payload) {
		memcpy(e->payload, payload, (size_t)len);
		e->payload[len] = '\0';
		e->json = cJSON_ParseWithLength(e->payload, (size_t)len);
	}
	e->payloadlen = len;
	e->qos = qos;
	e->retain = retain;
	e->received_ms = test_now_ms();
	pthread_mutex_lock(&c->lock);
	if (c->count == c->capacity) {
		size_t n = c->capacity ? c->capacity * 2 : 256;
		void *bigger = realloc(c->entries, n * sizeof(*c->entries));

		if (bigger) {
			c->entries = bigger;
			c->capacity = n;
		}
	}
	stored = c->count < c->capacity;
	if (stored)
		c->entries[c->count++] = e;
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	if (!stored) {
		test_log("%s: out of memory, a publish is lost", c->client_id);
		cJSON_Delete(e->json);
		free(e->payload);
		free(e->topic);
		free(e);
	}
}

void test_inbox_free(struct test_client *c)
{
	for (size_t i = 0; i < c->count; i++) {
		cJSON_Delete(c->entries[i]->json);
		free(c->entries[i]->payload);
		free(c->entries[i]->topic);
		free(c->entries[i]);
	}
	free(c->entries);
	c->entries = NULL;
	c->count = c->capacity = 0;
}

const char *test_json_string(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : "";
}

long long test_json_number(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(item) ? (long long)item->valuedouble : -1;
}

static bool string_field_is(const cJSON *obj, const char *name,
                            const char *want)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) && strcmp(item->valuestring, want) == 0;
}

/* An event's "code", or a failed response's "error"."code". */
static bool code_is(const cJSON *obj, const char *want)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(obj, "error");

	return string_field_is(obj, "code", want) ||
	       (cJSON_IsObject(error) && string_field_is(error, "code", want));
}

static bool topic_is_kind(const struct test_client *c, const char *topic,
                          const char *kind)
{
	char want[TEST_ID_MAX + 32];

	snprintf(want, sizeof(want), TEST_PREFIX "/u/%s/%s", c->user, kind);
	return strcmp(topic, want) == 0;
}

bool test_entry_matches(const struct test_client *c,
                        const struct test_inbox_entry *e,
                        const struct test_match *m)
{
	const cJSON *j = e->json;

	if (m->kind && !topic_is_kind(c, e->topic, m->kind))
		return false;
	if (m->topic && strcmp(e->topic, m->topic) != 0)
		return false;
	if (!cJSON_IsObject(j))
		return false;
	if (m->convo && !string_field_is(j, "convo", m->convo))
		return false;
	if (m->seq > 0 && test_json_number(j, "seq") != m->seq)
		return false;
	if (m->from && !string_field_is(j, "from", m->from))
		return false;
	if (m->cmid && !string_field_is(j, "cmid", m->cmid))
		return false;
	if (m->id && !string_field_is(j, "id", m->id))
		return false;
	if (m->type && !string_field_is(j, "type", m->type))
		return false;
	return m->code == NULL || code_is(j, m->code);
}

size_t test_client_mark(struct test_client *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

const struct test_inbox_entry *test_client_entry(struct test_client *c,
                                                 size_t index)
{
	const struct test_inbox_entry *e = NULL;

	pthread_mutex_lock(&c->lock);
	if (index < c->count)
		e = c->entries[index];
	pthread_mutex_unlock(&c->lock);
	return e;
}

cJSON *test_client_wait(struct test_client *c, const struct test_match *m,
                        size_t since, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	size_t next = since;
	cJSON *found = NULL;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		for (; next < c->count && !found; next++) {
			if (test_entry_matches(c, c->entries[next], m))
				found = c->entries[next]->json;
		}
		if (found || test_now_ms() >= deadline)
			break;
		test_client_timed_wait_locked(c, deadline);
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

int test_client_count(struct test_client *c, const struct test_match *m,
                      size_t since)
{
	int n = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = since; i < c->count; i++)
		n += test_entry_matches(c, c->entries[i], m);
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t test_client_seqs(struct test_client *c, const char *convo, long *out,
                        size_t max)
{
	struct test_match m = {.kind = "msg", .convo = convo};
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->count; i++) {
		if (!test_entry_matches(c, c->entries[i], &m))
			continue;
		if (n < max)
			out[n] =
			    (long)test_json_number(c->entries[i]->json, "seq");
		n++;
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

bool test_client_wait_entries(struct test_client *c, size_t count,
                              int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	bool reached;

	pthread_mutex_lock(&c->lock);
	while (c->count < count && test_now_ms() < deadline)
		test_client_timed_wait_locked(c, deadline);
	reached = c->count >= count;
	pthread_mutex_unlock(&c->lock);
	return reached;
}

int test_client_quiet(struct test_client *c, int ms)
{
	size_t before = test_client_mark(c);

	test_sleep_ms(ms);
	return (int)(test_client_mark(c) - before);
}

cJSON *test_client_wait_message(struct test_client *c, const char *convo,
                                long seq, int timeout_ms)
{
	struct test_match m = {.kind = "msg", .convo = convo, .seq = seq};

	return test_client_wait(c, &m, 0, timeout_ms);
}

cJSON *test_client_wait_tick(struct test_client *c, const char *convo,
                             const char *cmid, int timeout_ms)
{
	struct test_match m = {
	    .kind = "msg", .convo = convo, .from = c->user, .cmid = cmid};

	return test_client_wait(c, &m, 0, timeout_ms);
}

cJSON *test_client_wait_error(struct test_client *c, const char *cmid,
                              int timeout_ms)
{
	struct test_match m = {.kind = "event", .cmid = cmid};

	return test_client_wait(c, &m, 0, timeout_ms);
}

cJSON *test_client_wait_response(struct test_client *c, const char *id,
                                 int timeout_ms)
{
	struct test_match m = {.kind = "resp", .id = id};

	return test_client_wait(c, &m, 0, timeout_ms);
}

/* Marks the seqs in [first, last] of the conversation's messages from
 * entry *next on; returns how many were newly seen. */
static size_t mark_seqs_locked(struct test_client *c, const char *convo,
                               long first, long last, bool *seen, size_t *next)
{
	struct test_match m = {.kind = "msg", .convo = convo};
	size_t fresh = 0;

	for (; *next < c->count; (*next)++) {
		long seq;

		if (!test_entry_matches(c, c->entries[*next], &m))
			continue;
		seq = (long)test_json_number(c->entries[*next]->json, "seq");
		if (seq >= first && seq <= last && !seen[seq - first]) {
			seen[seq - first] = true;
			fresh++;
		}
	}
	return fresh;
}

bool test_client_wait_seqs(struct test_client *c, const char *convo, long first,
                           long last, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	size_t want = (size_t)(last - first + 1), have = 0, next = 0;
	bool *seen = calloc(want, sizeof(*seen));

	if (seen == NULL)
		return false;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		have += mark_seqs_locked(c, convo, first, last, seen, &next);
		if (have == want || test_now_ms() >= deadline)
			break;
		test_client_timed_wait_locked(c, deadline);
	}
	pthread_mutex_unlock(&c->lock);
	free(seen);
	if (have < want)
		test_log("%s: %zu of seqs %ld-%ld of %s arrived", c->client_id,
		         have, first, last, convo);
	return have == want;
}

cJSON *test_client_wait_number(struct test_client *c,
                               const struct test_match *m, size_t since,
                               const char *name, long long value,
                               int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	size_t next = since;
	cJSON *found = NULL;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		for (; next < c->count && !found; next++) {
			const struct test_inbox_entry *e = c->entries[next];

			if (test_entry_matches(c, e, m) &&
			    test_json_number(e->json, name) == value)
				found = e->json;
		}
		if (found || test_now_ms() >= deadline)
			break;
		test_client_timed_wait_locked(c, deadline);
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}
