/*
 * The bridge's view of the SQLite store: prepared statements kept for the
 * life of the process, the write transaction of a batch, the in-memory
 * conversation heads, and the reads requests need.
 *
 * Functions return SQLITE_OK or an SQLite error code; bridge_store_error()
 * describes the last failure for the log.
 */
#ifndef BRIDGE_STORE_H
#define BRIDGE_STORE_H

#include "message.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bridge_store;

/* Prepares every statement on db, which the caller keeps open (and closes
 * after bridge_store_close). */
int bridge_store_open(sqlite3 *db, struct bridge_store **out);
void bridge_store_close(struct bridge_store *s);

const char *bridge_store_error(const struct bridge_store *s);

/* BEGIN IMMEDIATE: takes the write lock, waiting up to the busy timeout. */
int bridge_store_begin(struct bridge_store *s);
/* COMMIT; on success the seqs assigned since begin become the heads. */
int bridge_store_commit(struct bridge_store *s);
/* Rolls back if a transaction is open and forgets its seqs. */
void bridge_store_rollback(struct bridge_store *s);
/* Drops every cached head, e.g. after one proved wrong. */
void bridge_store_forget_heads(struct bridge_store *s);

/* Committed newest seq of convo, 0 when it has no message. */
int bridge_store_head(struct bridge_store *s, const char *convo,
                      long long *head);

/* Inside a transaction: the seq the next bridge_store_append to convo
 * will assign. */
int bridge_store_next_seq(struct bridge_store *s, const char *convo,
                          long long *seq);

/* A fresh id for a system message (common/idgen.h, node 1023). */
uint64_t bridge_store_system_id(struct bridge_store *s, long long now_ms);

/*
 * A user's row in a conversation's members. A member sees the seqs above
 * joined_seq and, once removed or gone (left_seq set), none above left_seq:
 * the system message that recorded it.
 */
struct bridge_membership {
	bool found;   /* a member now, or once */
	bool current; /* not removed, has not left */
	bool admin;
	long long joined_seq;
	long long left_seq; /* 0 while current */
	long long delivered_seq;
	long long read_seq;
};

/* The membership of user in convo; found is false when the user never was
 * a member (a missing conversation has no members). */
int bridge_store_membership(struct bridge_store *s, const char *convo,
                            const char *user, struct bridge_membership *out);

/* The newest seq the member may see, for a conversation at head. */
long long bridge_membership_head(const struct bridge_membership *m,
                                 long long head);

/* The stored message with this (convo, sender, cmid), if any, including
 * one inserted earlier in the open transaction. stored->client is NULL;
 * the caller clears stored when found. */
int bridge_store_find_by_cmid(struct bridge_store *s, const char *convo,
                              const char *sender, const char *cmid,
                              struct bridge_message *stored, bool *found);

/* Inside a transaction: sets m->seq to the conversation's next seq and
 * inserts m. A constraint failure (SQLITE_CONSTRAINT_*) affects only this
 * message; the transaction stays usable. */
int bridge_store_append(struct bridge_store *s, struct bridge_message *m);

/*
 * Row callbacks get a message whose body and attachments are borrowed
 * from SQLite (valid during the call only) and whose client is NULL.
 * Returning false stops the read early; that is not an error.
 */
typedef bool (*bridge_row_fn)(void *ctx, const struct bridge_message *m);

/* Messages of convo with after < seq <= through, oldest first, at most
 * limit. */
int bridge_store_read_after(struct bridge_store *s, const char *convo,
                            long long after, long long through, long long limit,
                            bridge_row_fn fn, void *ctx);

/* Messages of convo with above < seq < before, newest first, at most
 * limit. */
int bridge_store_read_before(struct bridge_store *s, const char *convo,
                             long long above, long long before, long long limit,
                             bridge_row_fn fn, void *ctx);

/*
 * Announcement watermarks (conversations.announced_seq): the broker has
 * acknowledged the announcement of every message of a conversation up to
 * that seq. Noted values are kept in memory and written by the next
 * transaction that calls bridge_store_write_deferred (a batch's), or by
 * bridge_store_flush_deferred.
 */

/* Notes that every announcement of convo up to seq was acknowledged. */
int bridge_store_note_announced(struct bridge_store *s, const char *convo,
                                long long seq);

/* An announcement of convo was refused: its watermark stays where it is
 * for the life of the process, so the next start announces the messages
 * above it again. */
int bridge_store_hold_announced(struct bridge_store *s, const char *convo);

/* Whether some noted watermark is not written yet. */
bool bridge_store_announced_pending(const struct bridge_store *s);

/*
 * Presence (users.online, users.last_seen) as the plugin reports it is
 * noted in memory, per user the newest, and written like the watermarks.
 */

/* Notes that user went online, or offline at last_seen (ignored when
 * online). */
int bridge_store_note_presence(struct bridge_store *s, const char *user,
                               bool online, long long last_seen);

/* Whether some noted presence is not written yet. */
bool bridge_store_presence_pending(const struct bridge_store *s);

/* Inside a transaction: writes the noted watermarks and presence; they
 * count as written once the transaction commits. */
int bridge_store_write_deferred(struct bridge_store *s);

/* Writes the noted watermarks and presence in a transaction of their own,
 * which does not wait for the disk (losing it to a power cut costs only
 * duplicate announcements, and a presence the plugin reports again).
 * Does nothing when there is nothing to write. */
int bridge_store_flush_deferred(struct bridge_store *s);

struct bridge_unannounced {
	size_t conversations; /* with messages above their watermark */
	long long older;      /* left out: beyond the newest per conversation */
};

/*
 * The messages above their conversation's watermark: per conversation (by
 * id) at most the newest ones, oldest first. Returning false from fn stops
 * the whole read. found counts what was looked at.
 */
int bridge_store_read_unannounced(struct bridge_store *s, long long newest,
                                  bridge_row_fn fn, void *ctx,
                                  struct bridge_unannounced *found);

/* One conversation of a user's listing; strings are borrowed for the
 * call, title is NULL when the conversation has none. */
struct bridge_listed_conversation {
	const char *convo;
	const char *kind;
	const char *title;
	bool broadcast;
	long long member_count; /* current members */
	struct bridge_membership membership;
};

typedef bool (*bridge_conversation_fn)(
    void *ctx, const struct bridge_listed_conversation *c);
typedef bool (*bridge_member_fn)(void *ctx, const char *user);

/* Up to limit conversations user is or was a member of, by id, from the
 * first id above after ("" for the start). */
int bridge_store_conversations_of(struct bridge_store *s, const char *user,
                                  const char *after, long long limit,
                                  bridge_conversation_fn fn, void *ctx);

/* The current members of convo, sorted by user id. */
int bridge_store_members_of(struct bridge_store *s, const char *convo,
                            bridge_member_fn fn, void *ctx);

#endif
