/*
 * Publishes the plugin has decided on, waiting to be handed to the broker.
 *
 * The event handlers stay free of broker calls: they append here, and
 * plugin/broker.c passes everything to mosquitto_broker_publish once the
 * handler is done. Unit tests read the list instead.
 *
 * Payloads are allocated with the allocator set by chat_outbox_use_allocator
 * (the broker's own, inside mosquitto), because the broker takes ownership
 * of a payload it is given and frees it with its allocator.
 */
#ifndef CHAT_OUTBOX_H
#define CHAT_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

struct chat_publish {
	char *client_id; /* NULL: route by subscriptions; else that client */
	void *payload;	 /* from the outbox allocator */
	size_t len;
	int qos;
	bool retain;
	struct chat_publish *next;
	char topic[]; /* with the client id after it, when there is one */
};

struct chat_outbox {
	struct chat_publish *head;
	struct chat_publish *tail;
	size_t count;
};

void chat_outbox_use_allocator(void *(*alloc)(size_t),
			       void (*release)(void *));

/* Queues a QoS 1 publish with a copy of payload. Returns 0, or -1 when out
 * of memory. */
int chat_outbox_add(struct chat_outbox *box, const char *client_id,
		    const char *topic, const char *payload, size_t len);

/* The same with another QoS and retain flag (presence: QoS 1, retained;
 * typing: QoS 0). */
int chat_outbox_add_flags(struct chat_outbox *box, const char *client_id,
			  const char *topic, const char *payload, size_t len,
			  int qos, bool retain);

/* Detaches the whole list; the caller frees it with chat_publish_free. */
struct chat_publish *chat_outbox_take(struct chat_outbox *box);

/* Frees a list; a payload set to NULL has been given away. */
void chat_publish_free(struct chat_publish *p);

void chat_outbox_clear(struct chat_outbox *box);

#endif
