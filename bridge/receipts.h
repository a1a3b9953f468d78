/*
 * Receipts: members telling how far they got in a conversation.
 *
 * A drained batch is applied in one transaction. Receipts of the same
 * member in the same conversation are merged (the largest numbers win);
 * each member's cursors then move forward only, never past the newest seq
 * the member may see, read never past delivered (and read raises
 * delivered). After the moves, unless the conversation is broadcast, every
 * sender whose messages a move covered gets one receipt event per
 * conversation, for its newest covered message, counting the members who
 * have it delivered and read; and every member whose cursors moved gets a
 * cursor event for its devices. A move over a thousand messages costs one
 * event per sender, and lookups bounded by the members, not the messages.
 */
#ifndef BRIDGE_RECEIPTS_H
#define BRIDGE_RECEIPTS_H

#include "commit.h"
#include "handoff.h"
#include "store.h"

/*
 * Applies the receipts of q (reordered and merged in place) and appends
 * the events to out. Receipts of users who were never members are
 * dropped. Returns SQLITE_OK, or the error that made the transaction fail
 * (logged; no cursor moved, no event).
 */
int bridge_receipts_apply(struct bridge_store *s,
                          struct bridge_receipt_queue *q,
                          struct bridge_entries *out);

#endif
