/*
 * Conversations, their members and the users, as the group operations
 * read and change them. Changes are made inside the caller's transaction
 * (bridge_store_begin ... bridge_store_commit), together with the system
 * message that records them.
 *
 * Functions return SQLITE_OK or an SQLite error code.
 */
#ifndef BRIDGE_STORE_MEMBERS_H
#define BRIDGE_STORE_MEMBERS_H

#include "ids.h"
#include "store.h"

#include <stdbool.h>

#define BRIDGE_KIND_MAX 8 /* "direct", "group", "channel" */

struct bridge_conversation {
	bool found;
	char kind[BRIDGE_KIND_MAX];
	bool broadcast;
};

int bridge_store_conversation(struct bridge_store *s, const char *convo,
                              struct bridge_conversation *out);

/* Whether user is a chat user (service accounts are not). */
int bridge_store_user_exists(struct bridge_store *s, const char *user,
                             bool *exists);

/* The direct conversation with this key ("a/b", the ids sorted). */
int bridge_store_find_direct(struct bridge_store *s, const char *key,
                             char convo[CHAT_ID_MAX + 1], bool *found);

/* title and direct_key may be NULL. */
int bridge_store_create_conversation(struct bridge_store *s, const char *convo,
                                     const char *kind, const char *title,
                                     const char *direct_key, bool broadcast,
                                     long long now_ms);

int bridge_store_set_title(struct bridge_store *s, const char *convo,
                           const char *title);

/* From now on the conversation's messages go out on its own topic. */
int bridge_store_set_broadcast(struct bridge_store *s, const char *convo);

/* Makes user a member seeing the seqs above joined_seq: a new row, or a
 * former member's row started afresh. Its cursors start at joined_seq,
 * since nothing before it is there to read. */
int bridge_store_join(struct bridge_store *s, const char *convo,
                      const char *user, bool admin, long long joined_seq);

/* Ends a membership with the system message at left_seq. */
int bridge_store_depart(struct bridge_store *s, const char *convo,
                        const char *user, long long left_seq);

int bridge_store_set_role(struct bridge_store *s, const char *convo,
                          const char *user, bool admin);

/* Current members, and the admins among them. */
int bridge_store_count_members(struct bridge_store *s, const char *convo,
                               long long *members, long long *admins);

/* The current member who joined first (ties: the smallest user id). */
int bridge_store_oldest_member(struct bridge_store *s, const char *convo,
                               char user[CHAT_ID_MAX + 1], bool *found);

/* The system message of this type that sender made with cmid, in any
 * conversation: how a retried create_group finds its group. */
int bridge_store_find_operation(struct bridge_store *s, const char *sender,
                                const char *cmid, const char *type,
                                char convo[CHAT_ID_MAX + 1], long long *seq,
                                bool *found);

/* One row of a conversation's members; user is borrowed for the call. */
struct bridge_member_row {
	const char *user;
	struct bridge_membership membership;
};

typedef bool (*bridge_member_row_fn)(void *ctx,
                                     const struct bridge_member_row *row);

/* Every member row of convo, current and former, by user id. Returning
 * false from fn stops early. */
int bridge_store_each_member(struct bridge_store *s, const char *convo,
                             bridge_member_row_fn fn, void *ctx);

#endif
