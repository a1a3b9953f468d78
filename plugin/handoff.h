/*
 * Batching of hand-offs to the bridge.
 *
 * Stamped messages and requests accumulate during one pass of the broker's
 * loop and leave as one publish each (a JSON array) at the loop's TICK, or
 * earlier when a batch grows past flush_bytes. One publish per loop pass
 * instead of one per message is what keeps the broker's cost per chat
 * message close to that of a plain relay.
 */
#ifndef CHAT_HANDOFF_H
#define CHAT_HANDOFF_H

#include "outbox.h"

#include <stddef.h>

struct chat_batch {
	char *buf;
	size_t len;
	size_t cap;
	size_t items;
};

struct chat_handoff {
	struct chat_batch messages;
	struct chat_batch requests;
	size_t flush_bytes;
	const char *bridge_client_id;
	const char *messages_topic;
	const char *requests_topic;
};

void chat_handoff_init(struct chat_handoff *h, size_t flush_bytes,
		       const char *bridge_client_id,
		       const char *messages_topic, const char *requests_topic);
void chat_handoff_free(struct chat_handoff *h);

/* Adds one JSON object text. Returns 0, or -1 when out of memory. */
int chat_handoff_add_message(struct chat_handoff *h, const char *item,
			     struct chat_outbox *out);
int chat_handoff_add_request(struct chat_handoff *h, const char *item,
			     struct chat_outbox *out);

/* Moves whatever is batched into the outbox, addressed to the bridge. */
int chat_handoff_flush(struct chat_handoff *h, struct chat_outbox *out);

#endif
