/*
 * What receipts read and write: the members' cursors, and which senders'
 * messages lie in a range of seqs. Only messages members wrote count;
 * system messages are nobody's to be read.
 */
#ifndef BRIDGE_STORE_RECEIPTS_H
#define BRIDGE_STORE_RECEIPTS_H

#include "store.h"

#include <stdbool.h>

int bridge_store_set_cursors(struct bridge_store *s, const char *convo,
                             const char *user, long long delivered,
                             long long read);

/* Receives a sender and its newest message in the range; sender is
 * borrowed for the call. */
typedef void (*bridge_sender_fn)(void *ctx, const char *sender, long long seq);

/* Every sender with a message in after < seq <= through, with its newest
 * there. Reads the range: for ranges shorter than the member list. */
int bridge_store_senders_between(struct bridge_store *s, const char *convo,
                                 long long after, long long through,
                                 bridge_sender_fn fn, void *ctx);

/* One sender's newest message in after < seq <= through, 0 when it has
 * none: one lookup in messages_by_sender, whatever the range. */
int bridge_store_sender_newest(struct bridge_store *s, const char *convo,
                               const char *sender, long long after,
                               long long through, long long *seq);

#endif
