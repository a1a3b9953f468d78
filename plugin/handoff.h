/*
 * Batching of hand-offs to the bridge.
 *
 * Stamped messages, requests and receipts accumulate during one pass of
 * the broker's loop and leave as one publish per kind (a JSON array) at
 * the loop's TICK, or earlier when a batch grows past flush_bytes; under
 * load, messages wait a little longer for the bridge to finish its commit
 * (core.c). One publish per loop pass or per commit instead of one per
 * message is what keeps the broker's cost per chat message close to that
 * of a plain relay.
 */
#ifndef CHAT_HANDOFF_H
#define CHAT_HANDOFF_H

#include "outbox.h"

#include <stddef.h>

enum chat_handoff_kind {
	CHAT_HANDOFF_MESSAGES,
	CHAT_HANDOFF_REQUESTS,
	CHAT_HANDOFF_RECEIPTS,
	CHAT_HANDOFF_PRESENCE,
	CHAT_HANDOFF_KINDS,
};

struct chat_batch {
	char *buf;
	size_t len;
	size_t cap;
	size_t items;
	const char *topic;
};

struct chat_handoff {
	struct chat_batch batches[CHAT_HANDOFF_KINDS];
	size_t flush_bytes;
	const char *bridge_client_id;
};

/* topics: one per kind, in the order of enum chat_handoff_kind. */
void chat_handoff_init(struct chat_handoff *h, size_t flush_bytes,
		       const char *bridge_client_id,
		       const char *const topics[CHAT_HANDOFF_KINDS]);
void chat_handoff_free(struct chat_handoff *h);

/* Adds one JSON object text. Returns 0, or -1 when out of memory. */
int chat_handoff_add(struct chat_handoff *h, enum chat_handoff_kind kind,
		     const char *item, struct chat_outbox *out);

/* Items waiting in one batch, and in all of them. */
size_t chat_handoff_items(const struct chat_handoff *h,
			  enum chat_handoff_kind kind);
size_t chat_handoff_total(const struct chat_handoff *h);

/* Moves whatever is batched into the outbox, addressed to the bridge. */
int chat_handoff_flush(struct chat_handoff *h, struct chat_outbox *out);

#endif
