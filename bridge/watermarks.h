/*
 * Announcement watermarks waiting to be written: per conversation, the seq
 * up to which the broker has acknowledged the announcement of every
 * message. Only conversations with something to write, or held back, are
 * kept, so memory follows the traffic of the last second, not the number
 * of conversations.
 *
 * Like the heads, a value written by a transaction counts as stored only
 * once that transaction commits; on rollback it is written again later.
 */
#ifndef BRIDGE_WATERMARKS_H
#define BRIDGE_WATERMARKS_H

#include "ids.h"

#include <stdbool.h>
#include <uthash.h>

struct bridge_watermark {
	char convo[CHAT_ID_MAX + 1];
	long long acknowledged; /* every announcement up to here */
	long long stored;       /* committed to the database by us */
	long long writing;      /* written by the open transaction, or 0 */
	bool held;              /* an announcement was refused: stays put */
	UT_hash_handle hh;
};

struct bridge_watermarks {
	struct bridge_watermark *by_convo;
};

void bridge_watermarks_init(struct bridge_watermarks *w);
void bridge_watermarks_free(struct bridge_watermarks *w);

/* Raises the watermark of convo to seq, unless it is held. Returns 0, or
 * -1 when out of memory. */
int bridge_watermarks_raise(struct bridge_watermarks *w, const char *convo,
                            long long seq);

/* Stops the watermark of convo where it is for the life of the process.
 * Returns 0, or -1 when out of memory. */
int bridge_watermarks_hold(struct bridge_watermarks *w, const char *convo);

/* Whether some watermark is above what was stored. */
bool bridge_watermarks_pending(const struct bridge_watermarks *w);

/* Receives one watermark to write; returns 0 or an error code. */
typedef int (*bridge_watermark_write_fn)(void *ctx, const char *convo,
                                         long long seq);

/* Hands every watermark above what was stored to write, and remembers it
 * as written by the open transaction. Returns 0 or write's first error. */
int bridge_watermarks_write(struct bridge_watermarks *w,
                            bridge_watermark_write_fn write, void *ctx);

/* The transaction committed: what it wrote is stored, and conversations
 * with nothing left to write are forgotten. */
void bridge_watermarks_commit(struct bridge_watermarks *w);

/* The transaction rolled back: what it wrote is to be written again. */
void bridge_watermarks_discard(struct bridge_watermarks *w);

#endif
