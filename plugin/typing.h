/*
 * Typing indicators: ephemeral, never stored, QoS 0, and at most one per
 * user and conversation per interval (the rest are dropped quietly: the
 * next one says the same).
 */
#ifndef CHAT_TYPING_H
#define CHAT_TYPING_H

#include <stdbool.h>
#include <stddef.h>

struct typing_entry;

struct chat_typing {
	struct typing_entry *by_key; /* uthash head */
	struct typing_entry *oldest; /* insertion order */
	size_t count;
	long long interval_ms;
};

void chat_typing_init(struct chat_typing *t, long long interval_ms);
void chat_typing_clear(struct chat_typing *t);

/* True when user may signal typing in convo at now_ms (and records it). */
bool chat_typing_allow(struct chat_typing *t, const char *user,
		       const char *convo, long long now_ms);

/* Drops entries older than the interval. */
void chat_typing_expire(struct chat_typing *t, long long now_ms);

#endif
