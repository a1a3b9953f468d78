/*
 * Step 5 of the reconnect recipe for a stream of messages: keep each one
 * until its tick arrives, resend it with the same cmid on a retryable error
 * and when no tick came in time.
 */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_ITEM        SIZE_MAX
#define SETTLE_POLL_MS 100
#define RETRY_PAUSE_MS 200

struct outbox_item {
	char cmid[TEST_CMID_MAX];
	char *body;
	bool ticked;
	long long due_ms; /* when to resend without news */
};

static size_t hash_cmid(const char *s)
{
	size_t h = 1469598103934665603u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static size_t *slot_of(const struct test_outbox *o, const char *cmid)
{
	size_t i = hash_cmid(cmid) & (o->slot_count - 1);

	while (o->slots[i] != NO_ITEM &&
	       strcmp(o->items[o->slots[i]].cmid, cmid) != 0)
		i = (i + 1) & (o->slot_count - 1);
	return &o->slots[i];
}

static struct outbox_item *find_item(const struct test_outbox *o,
                                     const char *cmid)
{
	size_t index = *slot_of(o, cmid);

	return index == NO_ITEM ? NULL : &o->items[index];
}

int test_outbox_init(struct test_outbox *o, struct test_client *c,
                     const char *convo, size_t capacity, int resend_ms)
{
	memset(o, 0, sizeof(*o));
	o->client = c;
	o->resend_ms = resend_ms;
	snprintf(o->convo, sizeof(o->convo), "%s", convo);
	o->capacity = capacity;
	o->slot_count = 16;
	while (o->slot_count < capacity * 2)
		o->slot_count *= 2;
	o->items = calloc(capacity, sizeof(*o->items));
	o->slots = malloc(o->slot_count * sizeof(*o->slots));
	if (o->items == NULL || o->slots == NULL) {
		test_outbox_free(o);
		return -1;
	}
	for (size_t i = 0; i < o->slot_count; i++)
		o->slots[i] = NO_ITEM;
	/* Only what arrives from now on can be a tick of these messages. */
	o->scanned = test_client_mark(c);
	return 0;
}

void test_outbox_free(struct test_outbox *o)
{
	for (size_t i = 0; i < o->count; i++)
		free(o->items[i].body);
	free(o->items);
	free(o->slots);
	memset(o, 0, sizeof(*o));
}

static void send_item(struct test_outbox *o, struct outbox_item *item)
{
	item->due_ms = test_now_ms() + o->resend_ms;
	test_client_send(o->client, o->convo, item->cmid, item->body, NULL);
}

int test_outbox_send(struct test_outbox *o, const char *cmid, const char *body)
{
	struct outbox_item *item;
	size_t *slot;

	if (o->count == o->capacity || find_item(o, cmid) != NULL)
		return -1;
	item = &o->items[o->count];
	snprintf(item->cmid, sizeof(item->cmid), "%s", cmid);
	item->body = strdup(body);
	if (item->body == NULL)
		return -1;
	slot = slot_of(o, cmid);
	*slot = o->count++;
	send_item(o, item);
	return 0;
}

static bool retryable(const char *code)
{
	return strcmp(code, "unavailable") == 0 || strcmp(code, "busy") == 0 ||
	       strcmp(code, "storage_error") == 0 ||
	       strcmp(code, "internal") == 0;
}

static void handle_error(struct test_outbox *o, const cJSON *event)
{
	struct outbox_item *item =
	    find_item(o, test_json_string(event, "cmid"));
	const char *code = test_json_string(event, "code");

	if (item == NULL || item->ticked)
		return;
	if (!retryable(code)) {
		test_log("%s: %s refused for good: %s", o->client->client_id,
		         item->cmid, code);
		return;
	}
	/* Resend after a short pause rather than hammer a server that is
	 * restarting or full. */
	item->due_ms = test_now_ms() + RETRY_PAUSE_MS;
}

static void scan_inbox(struct test_outbox *o)
{
	struct test_match tick = {
	    .kind = "msg", .convo = o->convo, .from = o->client->user};
	struct test_match error = {.kind = "event"};

	while (o->scanned < test_client_mark(o->client)) {
		const struct test_inbox_entry *e =
		    test_client_entry(o->client, o->scanned++);
		struct outbox_item *item;

		if (test_entry_matches(o->client, e, &error)) {
			handle_error(o, e->json);
			continue;
		}
		if (!test_entry_matches(o->client, e, &tick))
			continue;
		item = find_item(o, test_json_string(e->json, "cmid"));
		if (item && !item->ticked) {
			item->ticked = true;
			o->ticked++;
		}
	}
}

size_t test_outbox_pump(struct test_outbox *o)
{
	long long now;

	scan_inbox(o);
	/* While disconnected, resends would only pile up in the library. */
	if (!test_client_connected(o->client))
		return o->count - o->ticked;
	now = test_now_ms();
	for (size_t i = 0; i < o->count; i++) {
		struct outbox_item *item = &o->items[i];

		if (!item->ticked && now >= item->due_ms) {
			send_item(o, item);
			o->resends++;
		}
	}
	return o->count - o->ticked;
}

size_t test_outbox_settle(struct test_outbox *o, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	size_t left = test_outbox_pump(o);

	while (left > 0 && test_now_ms() < deadline) {
		test_client_wait_entries(o->client, o->scanned + 1,
		                         SETTLE_POLL_MS);
		left = test_outbox_pump(o);
	}
	return left;
}

bool test_outbox_ticked(const struct test_outbox *o, const char *cmid)
{
	const struct outbox_item *item = find_item(o, cmid);

	return item && item->ticked;
}
