/*
 * Requests forwarded to the bridge and not yet answered, server-wide,
 * oldest first. The bridge answers in order, so an answer retires the
 * oldest; a request unanswered for too long is presumed lost (its answer
 * could not be delivered) and retired too, so lost answers cannot wear the
 * server-wide cap down to nothing.
 */
#ifndef CHAT_INFLIGHT_H
#define CHAT_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

struct chat_inflight {
	long long *started_ms; /* a ring of cap entries */
	size_t cap;
	size_t head; /* the oldest */
	size_t count;
};

int chat_inflight_init(struct chat_inflight *f, size_t cap);
void chat_inflight_free(struct chat_inflight *f);

/* false when cap requests are in flight already. */
bool chat_inflight_start(struct chat_inflight *f, long long now_ms);

/* An answer arrived. */
void chat_inflight_answered(struct chat_inflight *f);

/* Retires requests started more than timeout_ms ago; returns how many. */
size_t chat_inflight_expire(struct chat_inflight *f, long long now_ms,
			    long long timeout_ms);

/* Everything in flight died with the bridge. */
void chat_inflight_clear(struct chat_inflight *f);

#endif
