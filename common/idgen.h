/*
 * Server message ids: 64-bit, time-ordered, unique across brokers.
 *
 *   bits 63..22  milliseconds since 2024-01-01T00:00:00Z (41 bits, ~69 years)
 *   bits 21..12  node id: plugin_opt_node_id (0-1022), distinct per
 *                broker; 1023 is the bridge's, for the system messages it
 *                writes itself
 *   bits 11..0   counter within the millisecond
 *
 * Bit 63 stays zero, so ids also fit SQLite's signed INTEGER.
 */
#ifndef CHAT_IDGEN_H
#define CHAT_IDGEN_H

#include <stdint.h>

#define CHAT_ID_EPOCH_MS 1704067200000LL
#define CHAT_BRIDGE_NODE_ID 1023

struct chat_idgen {
	int node_id;
	long long last_ms; /* since CHAT_ID_EPOCH_MS */
	unsigned counter;
};

void chat_idgen_init(struct chat_idgen *g, int node_id);

/* Never hands out an id at or below `id`: used at start-up with the largest
 * id already stored, in case the clock went backwards across a restart. */
void chat_idgen_after(struct chat_idgen *g, uint64_t id);

/* The next id for wall-clock time now_ms (Unix epoch). Strictly increasing
 * even when the clock stalls or steps back. */
uint64_t chat_idgen_next(struct chat_idgen *g, long long now_ms);

/* The wall-clock time (ms since the Unix epoch) in an id's time part. */
long long chat_idgen_time_ms(uint64_t id);

#endif
