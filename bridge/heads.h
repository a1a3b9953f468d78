/*
 * The newest seq of each conversation, kept in memory so that assigning
 * the next seq costs no query. The bridge is the only writer of the log, so
 * once loaded a head stays right for the life of the process.
 *
 * A transaction works on tentative heads; they become the committed heads
 * only when the transaction commits, and are thrown away on rollback, so a
 * failed batch leaves no gap.
 */
#ifndef BRIDGE_HEADS_H
#define BRIDGE_HEADS_H

#include "ids.h"

#include <stdbool.h>
#include <stddef.h>
#include <uthash.h>

struct bridge_head {
	char convo[CHAT_ID_MAX + 1];
	long long committed;
	long long tentative;
	bool touched; /* by the transaction in progress */
	UT_hash_handle hh;
};

struct bridge_heads {
	struct bridge_head *by_convo;
	struct bridge_head **touched;
	size_t touched_count;
	size_t touched_cap;
};

void bridge_heads_init(struct bridge_heads *h);
void bridge_heads_free(struct bridge_heads *h);

/* The cached head of convo, or NULL when it has not been loaded yet. */
struct bridge_head *bridge_heads_find(struct bridge_heads *h,
                                      const char *convo);

/* Caches a head read from the database. NULL when out of memory. */
struct bridge_head *bridge_heads_add(struct bridge_heads *h, const char *convo,
                                     long long committed);

/* Marks head as used by the transaction in progress; its tentative value
 * starts from the committed one. Returns 0 or -1 when out of memory. */
int bridge_heads_touch(struct bridge_heads *h, struct bridge_head *head);

/* The transaction committed: tentative heads become the heads. */
void bridge_heads_commit(struct bridge_heads *h);

/* The transaction rolled back: tentative heads are forgotten. */
void bridge_heads_discard(struct bridge_heads *h);

/* Forgets every head, to be read again from the database when needed. */
void bridge_heads_forget_all(struct bridge_heads *h);

#endif
