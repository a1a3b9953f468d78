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
	BRIDGE_STORED,    /* new in the log: goes to every member */
	BRIDGE_DUPLICATE, /* already stored: the stored copy goes to its sender
	                   */
	BRIDGE_REJECTED,  /* refused: the sender's client gets an error */
};

struct bridge_entry {
	enum bridge_outcome outcome;
	/* Stored and duplicate: the message as stored, seq included.
	 * Rejected: the refused message as handed off (seq 0). */
	struct bridge_message msg;
	const char *code; /* rejected only: a client error code */
	const char *text; /* rejected only: its human-readable message */
};

/* One entry per message of the batch, in the batch's order. */
struct bridge_entries {
	struct bridge_entry *items;
	size_t count;
};

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
 * transaction writes the announcement watermarks noted since the last one.
 */
enum bridge_commit_status bridge_commit(struct bridge_store *s,
                                        const struct bridge_batch *batch,
                                        struct bridge_entries *out,
                                        bridge_lock_wait_fn wait, void *ctx);

#endif
