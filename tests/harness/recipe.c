/*
 * The reconnect recipe of docs/PROTOCOL.md, as a client would implement it:
 * per conversation the highest contiguous seq, messages stored by seq, a
 * sync from `contiguous` whenever a live message shows a gap.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECIPE_PAGE 100

enum seq_state { SEQ_UNKNOWN = 0, SEQ_HELD, SEQ_HOLE };

struct recipe_convo {
	char id[TEST_ID_MAX];
	long contiguous;
	unsigned char *state; /* by seq, enum seq_state */
	char **bodies;        /* by seq */
	size_t capacity;      /* seqs 0 .. capacity-1 */
	long *shown;
	size_t shown_count, shown_capacity;
};

void recipe_init(struct recipe_client *r, struct test_client *c)
{
	memset(r, 0, sizeof(*r));
	r->client = c;
}

void recipe_free(struct recipe_client *r)
{
	for (size_t i = 0; i < r->convo_count; i++) {
		struct recipe_convo *cv = &r->convos[i];

		for (size_t s = 0; s < cv->capacity; s++)
			free(cv->bodies[s]);
		free(cv->bodies);
		free(cv->state);
		free(cv->shown);
	}
	free(r->convos);
	memset(r, 0, sizeof(*r));
}

static struct recipe_convo *find_convo(const struct recipe_client *r,
                                       const char *id)
{
	for (size_t i = 0; i < r->convo_count; i++) {
		if (strcmp(r->convos[i].id, id) == 0)
			return &r->convos[i];
	}
	return NULL;
}

static struct recipe_convo *convo_for(struct recipe_client *r, const char *id)
{
	struct recipe_convo *cv = find_convo(r, id), *bigger;

	if (cv != NULL)
		return cv;
	bigger = realloc(r->convos, (r->convo_count + 1) * sizeof(*bigger));
	if (bigger == NULL)
		return NULL;
	r->convos = bigger;
	cv = &r->convos[r->convo_count++];
	memset(cv, 0, sizeof(*cv));
	snprintf(cv->id, sizeof(cv->id), "%s", id);
	return cv;
}

static int ensure_seq(struct recipe_convo *cv, long seq)
{
	size_t n = cv->capacity ? cv->capacity : 64;
	unsigned char *state;
	char **bodies;

	if ((size_t)seq < cv->capacity)
		return 0;
	while (n <= (size_t)seq)
		n *= 2;
	state = realloc(cv->state, n);
	if (state == NULL)
		return -1;
	cv->state = state;
	bodies = realloc(cv->bodies, n * sizeof(*bodies));
	if (bodies == NULL)
		return -1;
	cv->bodies = bodies;
	memset(cv->state + cv->capacity, 0, n - cv->capacity);
	memset(cv->bodies + cv->capacity, 0,
	       (n - cv->capacity) * sizeof(*bodies));
	cv->capacity = n;
	return 0;
}

static void show(struct recipe_convo *cv, long seq)
{
	if (cv->shown_count == cv->shown_capacity) {
		size_t n = cv->shown_capacity ? cv->shown_capacity * 2 : 64;
		long *bigger = realloc(cv->shown, n * sizeof(*bigger));

		if (bigger == NULL)
			return;
		cv->shown = bigger;
		cv->shown_capacity = n;
	}
	cv->shown[cv->shown_count++] = seq;
}

/* Moves `contiguous` over held messages (shown now) and known holes. */
static void advance(struct recipe_convo *cv)
{
	while ((size_t)cv->contiguous + 1 < cv->capacity &&
	       cv->state[cv->contiguous + 1] != SEQ_UNKNOWN) {
		cv->contiguous++;
		if (cv->state[cv->contiguous] == SEQ_HELD)
			show(cv, cv->contiguous);
	}
}

/* Stores a message unless it is already held; false when ignored. */
static bool store(struct recipe_convo *cv, const cJSON *msg)
{
	long seq = (long)test_json_number(msg, "seq");

	if (seq <= cv->contiguous || ensure_seq(cv, seq) != 0 ||
	    cv->state[seq] == SEQ_HELD)
		return false;
	cv->state[seq] = SEQ_HELD;
	cv->bodies[seq] = strdup(test_json_string(msg, "body"));
	return true;
}

/* Step 3's and step 4's sync: pages from contiguous until "more" ends. */
static int sync_from_contiguous(struct recipe_client *r,
                                struct recipe_convo *cv)
{
	bool more = true;

	while (more) {
		long after = cv->contiguous, through;
		const cJSON *m, *messages;
		cJSON *resp = test_client_request(
		    r->client, test_timeout_ms(5000),
		    "{\"op\":\"sync\",\"convo\":\"%s\",\"after\":%ld,"
		    "\"limit\":%d}",
		    cv->id, after, RECIPE_PAGE);

		r->syncs++;
		if (resp == NULL ||
		    !cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok")))
			return -1;
		messages = cJSON_GetObjectItem(resp, "messages");
		cJSON_ArrayForEach(m, messages) store(cv, m);
		through = (long)test_json_number(resp, "through");
		if (through < after || ensure_seq(cv, through) != 0)
			return -1;
		/* Covered by the page but not in it: a hole in the log. */
		for (long s = after + 1; s <= through; s++) {
			if (cv->state[s] == SEQ_UNKNOWN)
				cv->state[s] = SEQ_HOLE;
		}
		advance(cv);
		more = cJSON_IsTrue(cJSON_GetObjectItem(resp, "more"));
		if (more && through == after)
			return -1;
	}
	return 0;
}

/* One page of the conversations list, from the id after ("" first). */
static cJSON *conversations_page(struct recipe_client *r, const char *after)
{
	if (after[0] == '\0')
		return test_client_request(r->client, test_timeout_ms(5000),
		                           "{\"op\":\"conversations\"}");
	return test_client_request(r->client, test_timeout_ms(5000),
	                           "{\"op\":\"conversations\",\"after\":\"%s\"}",
	                           after);
}

int recipe_catch_up(struct recipe_client *r)
{
	char after[TEST_ID_MAX] = "";

	for (;;) {
		cJSON *resp = conversations_page(r, after);
		const cJSON *list = cJSON_GetObjectItem(resp, "conversations");
		const cJSON *cv;

		if (resp == NULL || !cJSON_IsArray(list))
			return -1;
		cJSON_ArrayForEach(cv, list)
		{
			struct recipe_convo *mine =
			    convo_for(r, test_json_string(cv, "convo"));

			if (mine == NULL)
				return -1;
			if (test_json_number(cv, "head") > mine->contiguous &&
			    sync_from_contiguous(r, mine) != 0)
				return -1;
		}
		if (!cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")))
			return 0;
		snprintf(after, sizeof(after), "%s",
		         test_json_string(resp, "next"));
	}
}

static int handle_live(struct recipe_client *r, const cJSON *msg)
{
	struct recipe_convo *cv = convo_for(r, test_json_string(msg, "convo"));
	long seq = (long)test_json_number(msg, "seq");

	if (cv == NULL || seq <= 0)
		return -1;
	if (!store(cv, msg)) {
		r->ignored++;
		return 0;
	}
	if (seq == cv->contiguous + 1) {
		advance(cv);
		return 0;
	}
	/* A gap: the broker dropped something while we were away. */
	return sync_from_contiguous(r, cv);
}

int recipe_process_live(struct recipe_client *r)
{
	struct test_match live = {.kind = "msg"};

	while (r->scanned < test_client_mark(r->client)) {
		const struct test_inbox_entry *e =
		    test_client_entry(r->client, r->scanned++);

		if (test_entry_matches(r->client, e, &live) &&
		    handle_live(r, e->json) != 0)
			return -1;
	}
	return 0;
}

long recipe_contiguous(const struct recipe_client *r, const char *convo)
{
	const struct recipe_convo *cv = find_convo(r, convo);

	return cv ? cv->contiguous : 0;
}

const long *recipe_shown(const struct recipe_client *r, const char *convo,
                         size_t *count)
{
	const struct recipe_convo *cv = find_convo(r, convo);

	*count = cv ? cv->shown_count : 0;
	return cv ? cv->shown : NULL;
}

const char *recipe_body(const struct recipe_client *r, const char *convo,
                        long seq)
{
	const struct recipe_convo *cv = find_convo(r, convo);

	if (cv == NULL || seq <= 0 || (size_t)seq >= cv->capacity)
		return NULL;
	return cv->bodies[seq];
}
