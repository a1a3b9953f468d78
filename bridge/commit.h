/*
 * Storing a drained batch of messages in one transaction, and what the
 * plugin is told about each of them (the announcement entries).
 */
#ifndef BRIDGE_COMMIT_H
#define BRIDGE_COMMIT_H

#include "handoff.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

enum bridge_outcome {
	BRIDGE_STORED,     /* new in the log: goes to every member */
	BRIDGE_DUPLICATE,  /* already stored: the stored copy goes to its
	                      sender */
	BRIDGE_REJECTED,   /* refused: the sender's client gets an error */
	BRIDGE_MEMBERSHIP, /* members, roles or delivery mode changed */
	BRIDGE_EVENT,      /* an event for one user (receipts, cursors) */
	BRIDGE_SETTINGS,   /* a user's presence settings changed */
	BRIDGE_KEYS,       /* a user's identity key or device list changed */
	BRIDGE_OUTCOMES
};

struct bridge_entry {
	enum bridge_outcome outcome;
	/* Stored and duplicate: the message as stored, seq included.
	 * Rejected: the refused message as handed off (seq 0).
	 * Membership: only msg.convo is set. */
	struct bridge_message msg;
	const char *code; /* rejected only: a client error code */
	const char *text; /* rejected only: its human-readable message */
	/* Stored system messages: a JSON array of the users it must reach
	 * although they are members no longer (or not yet subscribed to a
	 * broadcast conversation); NULL when none. Owned. */
	char *also;
	/* Event: the JSON object to publish, owned, and its recipient.
	 * Keys: the object published on the user's keys topic, and the
	 * user. Settings: only the user, in to. */
	char *event;
	char to[CHAT_ID_MAX + 1];
};

/* The entries of a batch, or of a change, in commit order. */
struct bridge_entries {
	struct bridge_entry *items;
	size_t count;
	size_t cap;
};

/* A new zeroed entry at the end; NULL when out of memory. */
struct bridge_entry *bridge_entries_push(struct bridge_entries *e,
                                         enum bridge_outcome outcome);

/* Moves every entry of from to the end of to; from is left empty. Returns
 * 0, or -1 when out of memory (then nothing moved). */
int bridge_entries_append(struct bridge_entries *to,
                          struct bridge_entries *from);

void bridge_entries_clear(struct bridge_entries *e);

enum bridge_commit_status {
	BRIDGE_COMMIT_DONE,      /* committed; entries say what happened */
	BRIDGE_COMMIT_FAILED,    /* storage error: everything rejected */
	BRIDGE_COMMIT_ABANDONED, /* gave up waiting for the lock: rejected */
	BRIDGE_COMMIT_NO_MEMORY, /* no entries could be produced */
};

/*
 * Called while another connection holds the write lock, after SQLite's busy
 * timeout has run out. It may service the network; returning false gives
 * up (the batch is then rejected as a storage error).
 */
typedef bool (*bridge_lock_wait_fn)(void *ctx);

/*
 * Stores batch in one BEGIN IMMEDIATE ... COMMIT: checks that each sender
 * is a member, answers a (convo, sender, cmid) seen before with the stored
 * message, and gives every new message the conversation's next seq. While
 * the database is locked by someone else the whole batch is retried,
 * calling wait (may be NULL) between attempts; any other failure rejects
 * every message with storage_error. out receives the entries. The same
 * transaction writes the announcement watermarks and presence noted since
 * the last one.
 */
enum bridge_commit_status bridge_commit(struct bridge_store *s,
                                        const struct bridge_batch *batch,
                                        struct bridge_entries *out,
                                        bridge_lock_wait_fn wait, void *ctx);

#endif
