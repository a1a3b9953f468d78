#include "directed.h"

#include <stdlib.h>
#include <string.h>

struct chat_directed_entry {
	struct chat_directed_entry *next;
	unsigned long generation;
	bool delivered;
	size_t len;
	char *topic;	 /* inside the same allocation */
	char *client_id; /* likewise */
	unsigned char payload[];
};

int chat_directed_add(struct chat_directed *d, const char *client_id,
		      const char *topic, const void *payload, size_t len)
{
	size_t topic_len = strlen(topic) + 1;
	size_t id_len = strlen(client_id) + 1;
	struct chat_directed_entry *e =
	    malloc(sizeof(*e) + len + topic_len + id_len);

	if (e == NULL)
		return -1;
	if (len)
		memcpy(e->payload, payload, len);
	e->topic = (char *)e->payload + len;
	memcpy(e->topic, topic, topic_len);
	e->client_id = e->topic + topic_len;
	memcpy(e->client_id, client_id, id_len);
	e->len = len;
	e->generation = d->generation;
	e->delivered = false;
	e->next = NULL;
	if (d->tail)
		d->tail->next = e;
	else
		d->head = e;
	d->tail = e;
	d->count++;
	return 0;
}

static bool same_message(const struct chat_directed_entry *e,
			 const char *topic, const void *payload, size_t len)
{
	return e->len == len && strcmp(e->topic, topic) == 0 &&
	       (len == 0 || memcmp(e->payload, payload, len) == 0);
}

enum chat_directed_verdict chat_directed_check(struct chat_directed *d,
					       const char *client_id,
					       const char *topic,
					       const void *payload, size_t len)
{
	enum chat_directed_verdict verdict = CHAT_DIRECTED_NONE;
	struct chat_directed_entry *e;

	if (topic == NULL || (payload == NULL && len > 0))
		return CHAT_DIRECTED_NONE;
	for (e = d->head; e; e = e->next) {
		if (!same_message(e, topic, payload, len))
			continue;
		verdict = CHAT_DIRECTED_DENY;
		/* Identical answers for several connections are one each,
		 * whichever of the copies brings it. */
		if (!e->delivered && client_id &&
		    strcmp(e->client_id, client_id) == 0) {
			e->delivered = true;
			return CHAT_DIRECTED_ALLOW;
		}
	}
	return verdict;
}

void chat_directed_tick(struct chat_directed *d)
{
	d->generation++;
	/* Published before the previous tick: routed since. */
	while (d->head && d->head->generation + 1 < d->generation) {
		struct chat_directed_entry *old = d->head;

		d->head = old->next;
		free(old);
		d->count--;
	}
	if (d->head == NULL)
		d->tail = NULL;
}

void chat_directed_clear(struct chat_directed *d)
{
	while (d->head) {
		struct chat_directed_entry *next = d->head->next;

		free(d->head);
		d->head = next;
	}
	d->tail = NULL;
	d->count = 0;
}
