/*
 * Answers meant for one connection, routed by subscription.
 *
 * mosquitto 2.0.11 leaks a publish addressed to one client id
 * (mosquitto_broker_publish with a client id) when that client's queue is
 * full and the broker drops it: the message stays in the broker's store
 * for good. A client that asks and never reads could grow the broker
 * without bound that way. So answers (responses, file chunks, refusals)
 * are published to the user's inbox topic like everything else, which the
 * broker frees when it drops them, and the read check lets only the
 * connection that asked receive them; the user's other devices are
 * refused that delivery.
 *
 * The broker routes the plugin's publishes at the start of its next loop
 * pass; each TICK ends a pass. An entry therefore lives for two ticks and
 * is recognised in the read check by its topic and payload.
 */
#ifndef CHAT_DIRECTED_H
#define CHAT_DIRECTED_H

#include <stdbool.h>
#include <stddef.h>

struct chat_directed_entry;

struct chat_directed {
	struct chat_directed_entry *head;
	struct chat_directed_entry *tail;
	size_t count;
	unsigned long generation; /* ticks seen */
};

enum chat_directed_verdict {
	CHAT_DIRECTED_NONE,  /* not an answer meant for one connection */
	CHAT_DIRECTED_ALLOW, /* the answer of this connection */
	CHAT_DIRECTED_DENY,  /* the answer of another connection */
};

/* Notes that the next publish of payload on topic is for client_id only.
 * Returns 0, or -1 when out of memory (then address it to the client). */
int chat_directed_add(struct chat_directed *d, const char *client_id,
		      const char *topic, const void *payload, size_t len);

/* The read check of one delivery: ALLOW when it is an answer for this
 * connection that has not reached it yet, DENY when it is an answer for
 * another connection (or reached this one already), else NONE. */
enum chat_directed_verdict chat_directed_check(struct chat_directed *d,
					       const char *client_id,
					       const char *topic,
					       const void *payload, size_t len);

/* At every TICK: forgets the answers the broker has routed. */
void chat_directed_tick(struct chat_directed *d);

void chat_directed_clear(struct chat_directed *d);

#endif
