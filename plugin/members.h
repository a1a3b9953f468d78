/*
 * What the plugin knows about conversations: kind, delivery mode and the
 * members with the range of seqs each may see. Loaded from the store on
 * first use, kept for the conversations used most recently, and dropped
 * when the bridge announces a change (a `membership` entry).
 *
 * A member sees seq s when joined_seq < s and, once it has left (been
 * removed or left), s <= left_seq: the system message recording its
 * departure is the last one it sees.
 */
#ifndef CHAT_MEMBERS_H
#define CHAT_MEMBERS_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>

struct chat_convo;

struct chat_members {
	struct chat_convo *by_id;  /* uthash head */
	struct chat_convo *recent; /* least recently used first */
	size_t count;
	size_t capacity;
	struct chat_store *store;
};

void chat_members_init(struct chat_members *m, struct chat_store *store,
		       size_t capacity);
void chat_members_clear(struct chat_members *m);

enum chat_members_result {
	CHAT_MEMBERS_OK,
	CHAT_MEMBERS_NO_SUCH_CONVO,
	CHAT_MEMBERS_UNAVAILABLE, /* the store could not be read */
};

/* The conversation, loaded if needed. */
enum chat_members_result chat_members_get(struct chat_members *m,
					  const char *convo,
					  struct chat_convo **out);

/* The conversation only if already loaded (never reads the store). */
struct chat_convo *chat_members_peek(struct chat_members *m,
				     const char *convo);

/* Drops a conversation; the next use loads it again. */
void chat_members_forget(struct chat_members *m, const char *convo);

bool chat_convo_is_broadcast(const struct chat_convo *c);
bool chat_convo_is_channel(const struct chat_convo *c);

/* Members who have not left. */
size_t chat_convo_member_count(const struct chat_convo *c);

/* True when user is a member now (has not left). */
bool chat_convo_has_member(const struct chat_convo *c, const char *user);

/* True when user may see seq. */
bool chat_convo_sees(const struct chat_convo *c, const char *user,
		     long long seq);

/* Calls fn for every user who may see seq. */
void chat_convo_each_reader(const struct chat_convo *c, long long seq,
			    void (*fn)(const char *user, void *arg), void *arg);

/* The per-conversation delivery budget (a token bucket kept with the
 * conversation): takes cost tokens at now_ms, false when short. */
bool chat_convo_take_deliveries(struct chat_convo *c, double cost,
				double per_second, long long now_ms);

#endif
