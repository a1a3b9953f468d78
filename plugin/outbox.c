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
	size_t topic_len = strlen(topic) + 1;
	size_t id_len = client_id ? strlen(client_id) + 1 : 0;
	/* One allocation for the entry and its strings: this runs once per
	 * delivery. */
	struct chat_publish *p = malloc(sizeof(*p) + topic_len + id_len);

	if (p == NULL)
		return -1;
	p->payload = payload_alloc(len + 1);
	if (p->payload == NULL) {
		free(p);
		return -1;
	}
	memcpy(p->topic, topic, topic_len);
	p->client_id = NULL;
	if (client_id) {
		p->client_id = p->topic + topic_len;
		memcpy(p->client_id, client_id, id_len);
	}
	/* One spare byte: the broker's own copies are NUL-terminated too. */
	memcpy(p->payload, payload, len);
	((char *)p->payload)[len] = '\0';
	p->len = len;
	p->qos = qos;
	p->retain = retain;
	p->next = NULL;
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
