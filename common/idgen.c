#include "idgen.h"

#define COUNTER_BITS 12
#define NODE_BITS 10
#define COUNTER_MAX ((1u << COUNTER_BITS) - 1)

void chat_idgen_init(struct chat_idgen *g, int node_id)
{
	g->node_id = node_id & ((1 << NODE_BITS) - 1);
	g->last_ms = 0;
	g->counter = 0;
}

void chat_idgen_after(struct chat_idgen *g, uint64_t id)
{
	long long ms = chat_idgen_time_ms(id) - CHAT_ID_EPOCH_MS;

	if (ms > g->last_ms || (ms == g->last_ms && g->counter < COUNTER_MAX)) {
		g->last_ms = ms;
		/* The counter is per node; continuing past any stored value of
		 * that millisecond is enough. */
		g->counter = COUNTER_MAX;
	}
}

uint64_t chat_idgen_next(struct chat_idgen *g, long long now_ms)
{
	long long ms = now_ms - CHAT_ID_EPOCH_MS;

	if (ms < 0)
		ms = 0;
	if (ms > g->last_ms) {
		g->last_ms = ms;
		g->counter = 0;
	} else if (g->counter < COUNTER_MAX) {
		g->counter++;
	} else {
		/* 4096 ids in one millisecond: borrow the next one. */
		g->last_ms++;
		g->counter = 0;
	}
	return ((uint64_t)g->last_ms << (COUNTER_BITS + NODE_BITS)) |
	       ((uint64_t)g->node_id << COUNTER_BITS) | g->counter;
}

long long chat_idgen_time_ms(uint64_t id)
{
	return (long long)(id >> (COUNTER_BITS + NODE_BITS)) + CHAT_ID_EPOCH_MS;
}
