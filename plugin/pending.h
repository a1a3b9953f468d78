/*
 * Messages handed to the bridge and not yet announced as committed.
 *
 * The broker passes every QoS retransmit of a publish to the plugin again,
 * before its own duplicate detection. While the first copy is pending, a
 * second one with the same (conversation, sender, cmid) is dropped here
 * instead of costing the bridge a lookup. Entries older than the resend
 * window are forgotten, so a hand-off lost in a crash can be sent again;
 * the bridge remains the authority on duplicates.
 */
#ifndef CHAT_PENDING_H
#define CHAT_PENDING_H

#include <stdbool.h>
#include <stddef.h>

struct pending_entry;

struct chat_pending {
	struct pending_entry *table; /* uthash head */
	struct pending_entry *oldest; /* insertion order, for expiry */
	struct pending_entry *newest;
	size_t count;
};

void chat_pending_init(struct chat_pending *p);
void chat_pending_clear(struct chat_pending *p);

/* True when (convo, sender, cmid) was handed off at or after
 * now_ms - window_ms and has not been announced since. */
bool chat_pending_contains(struct chat_pending *p, const char *convo,
			   const char *sender, const char *cmid,
			   long long now_ms, long long window_ms);

/* Records a hand-off at now_ms (refreshing an expired entry). Returns 0,
 * or -1 when out of memory. */
int chat_pending_add(struct chat_pending *p, const char *convo,
		     const char *sender, const char *cmid, long long now_ms);

/* Forgets an entry once the bridge has committed or refused it. */
void chat_pending_remove(struct chat_pending *p, const char *convo,
			 const char *sender, const char *cmid);

/* Drops entries older than now_ms - window_ms. */
void chat_pending_expire(struct chat_pending *p, long long now_ms,
			 long long window_ms);

#endif
