#include "outbox.h"

#include <stdlib.h>
#include <string.h>

static void *(*payload_alloc)(size_t) = malloc;
static void (*payload_release)(void *) = free;

void chat_outbox_use_allocator(void *(*alloc)(size_t),
			       void (*release)(void *))
{
	payload_alloc = alloc;
	payload_release = release;
}

void chat_publish_free(struct chat_publish *p)
{
	while (p) {
		struct chat_publish *next = p->next;

		free(p->client_id);
		free(p->topic);
		if (p->payload)
			payload_release(p->payload);
		free(p);
		p = next;
	}
}

int chat_outbox_add(struct chat_outbox *box, const char *client_id,
		    const char *topic, const char *payload, size_t len)
{
	return chat_outbox_add_flags(box, client_id, topic, payload, len, 1,
				     false);
}

int chat_outbox_add_flags(struct chat_outbox *box, const char *client_id,
			  const char *topic, const char *payload, size_t len,
			  int qos, bool retain)
{
	struct chat_publish *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	/* One spare byte: the broker's own copies are NUL-terminated too. */
	p->payload = payload_alloc(len + 1);
	p->topic = strdup(topic);
	p->client_id = client_id ? strdup(client_id) : NULL;
	if (p->payload == NULL || p->topic == NULL ||
	    (client_id && p->client_id == NULL)) {
		chat_publish_free(p);
		return -1;
	}
	memcpy(p->payload, payload, len);
	((char *)p->payload)[len] = '\0';
	p->len = len;
	p->qos = qos;
	p->retain = retain;
	if (box->tail)
		box->tail->next = p;
	else
		box->head = p;
	box->tail = p;
	box->count++;
	return 0;
}

struct chat_publish *chat_outbox_take(struct chat_outbox *box)
{
	struct chat_publish *head = box->head;

	box->head = box->tail = NULL;
	box->count = 0;
	return head;
}

void chat_outbox_clear(struct chat_outbox *box)
{
	chat_publish_free(chat_outbox_take(box));
}
