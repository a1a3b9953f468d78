/*
 * Which positions (seqs, or counters of one sender) a client already holds:
 * a growable bitmap, so that a redelivered copy is recognised and counted
 * once, as a client deduplicates by (convo, seq).
 */
#ifndef LOAD_SEEN_H
#define LOAD_SEEN_H

#include <stdbool.h>
#include <stddef.h>

struct load_seen {
	unsigned char *bits;
	size_t cap_bits;
	long long count; /* distinct positions marked */
	long long max;   /* highest position marked */
};

/* Marks position (>= 0). Returns 1 when it is new, 0 when it was already
 * marked, -1 when out of memory. */
int load_seen_mark(struct load_seen *s, long long position);

bool load_seen_has(const struct load_seen *s, long long position);

void load_seen_free(struct load_seen *s);

#endif
