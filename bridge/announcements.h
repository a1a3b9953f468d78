/*
 * Announcements on their way to the broker, in commit order.
 *
 * A chunk is kept here until the session can take it: while the broker is
 * away nothing is offered, and once the session is back (after the hello)
 * the chunks go out in the order they were queued. A chunk taken by the
 * session is followed by its mid until the broker acknowledges it. Only
 * then do the conversations it covers advance their watermark, and only in
 * publish order, so a watermark never passes an announcement that is still
 * unacknowledged, refused, or lost with the process.
 *
 * At start-up, the stored messages above their conversation's watermark
 * are queued again: committed, but not known to have reached the broker.
 */
#ifndef BRIDGE_ANNOUNCEMENTS_H
#define BRIDGE_ANNOUNCEMENTS_H

#include "commit.h"
#include "connection.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>

/* Offers one chunk to the session; sets *mid when it is taken. */
typedef enum bridge_publish_status (*bridge_publish_fn)(void *ctx,
                                                        const char *json,
                                                        size_t len, int *mid);

struct bridge_announcement;

struct bridge_announcements {
	struct bridge_store *store; /* receives the watermarks */
	size_t max_bytes;           /* of one chunk */
	bridge_publish_fn publish;
	void *ctx;
	/* Every chunk not yet settled, oldest first. */
	struct bridge_announcement *oldest;
	struct bridge_announcement *newest;
	struct bridge_announcement *unsent; /* first one not taken yet */
	size_t waiting;                     /* not taken yet */
	size_t in_flight;                   /* taken, not acknowledged */
};

void bridge_announcements_init(struct bridge_announcements *a,
                               struct bridge_store *store, size_t max_bytes,
                               bridge_publish_fn publish, void *ctx);

/* Forgets everything queued or in flight; the watermarks stay where they
 * are, so the next start announces those messages again. */
void bridge_announcements_free(struct bridge_announcements *a);

/*
 * Queues the entries of a committed batch, in chunks of at most max_bytes,
 * without publishing anything. Returns 0, or -1 when out of memory; the
 * conversations of the stored messages are then held back, so the next
 * start announces them again.
 */
int bridge_announcements_add(struct bridge_announcements *a,
                             const struct bridge_entries *entries);

/* Offers the queued chunks in order until the session cannot take one.
 * Returns how many were taken. */
size_t bridge_announcements_send(struct bridge_announcements *a);

/* The broker acknowledged the publish mid (accepted or refused). Mids of
 * other publishes are ignored. */
void bridge_announcements_acknowledged(struct bridge_announcements *a, int mid,
                                       bool accepted);

/*
 * Queues as {"msg":...} entries, per conversation in seq order, the stored
 * messages above their conversation's watermark: at most the newest of
 * each conversation (the older ones are left to sync). Logs how many.
 * Returns an SQLite error code, SQLITE_NOMEM when out of memory.
 */
int bridge_announcements_recover(struct bridge_announcements *a,
                                 long long newest);

#endif
