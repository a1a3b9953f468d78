/*
 * Shared state of the traffic scenarios (pairs and group), between the
 * driver (traffic.c: clients, phases, pacing, result) and the accounting of
 * every copy that comes back (traffic_track.c).
 *
 * A message is finished when every copy it should produce has arrived:
 * each member's delivery (the sender's own copy is its tick) and, on plain
 * mosquitto, the PUBACK, which is all a plain publisher is told. A sender
 * keeps at most `inflight` unfinished messages.
 */
#ifndef LOAD_TRAFFIC_H
#define LOAD_TRAFFIC_H

#include "fleet.h"
#include "loop.h"
#include "options.h"
#include "roster.h"
#include "samples.h"
#include "seen.h"

#include <stdbool.h>

#define TRAFFIC_PACKET_IDS 65536

/* Plain mode: which message a PUBACK acknowledges. */
struct traffic_puback {
	long long counter;
	long long send_ns;
};

/* A send the chat server refused for now (busy, rate_limited), to be
 * sent again with the same cmid and stamp. */
struct traffic_retry {
	int sender;
	long long counter;
	long long due_ns;
};

struct traffic_sender {
	int client;
	char topic[LOAD_FILTER_MAX];
	long long sent; /* counters 1..sent are used */
	long long in_flight;
	unsigned short *remaining; /* copies still expected, by counter */
	long long *send_ns;        /* first send time, by counter */
	size_t remaining_cap;
	struct traffic_puback *by_packet; /* plain mode only */
};

struct traffic_counts {
	long long accepted;        /* ticks, or PUBACKs on plain mosquitto */
	long long delivered_other; /* first copies at other members */
	long long delivered_own;   /* first copies back at the sender */
};

struct traffic {
	const struct load_options *opt;
	struct load_loop loop;
	struct load_fleet fleet;
	bool product;
	bool group;
	const char *streams[LOAD_PAIRS_MAX]; /* product: stream -> convo */
	int stream_count;
	struct traffic_sender *senders;
	int sender_count;
	int *sender_of;         /* client -> sender index, or -1 */
	struct load_seen *seen; /* [client * keys + key] */
	int keys;   /* product: streams; plain: senders (a counter is the
	               position) */
	int copies; /* arrivals that finish one message */
	long long published;
	struct traffic_counts total, window;
	long long redelivered; /* a copy of a position already held */
	long long extra;       /* more copies of a message than expected */
	long long unknown;     /* a copy the generator cannot place */
	long long other_inbox; /* inbox publishes that are not messages */
	long long measure_from, measure_to; /* ns, the measurement window */
	bool sending;
	struct load_samples receive_ns; /* send to another member's receipt */
	long long next_sender;          /* round robin of paced sends */
	struct load_samples accept_ns;  /* send to tick (plain: PUBACK) */
	long long stalls; /* paced sends delayed by a full window */
	struct traffic_retry *retries;
	size_t retry_count, retry_cap;
	long long retried; /* sends repeated after busy or rate_limited */
};

/* Publishes the sender's next message. Returns 0 or -1. */
int traffic_send(struct traffic *t, int sender);

/* Sends again the refused messages whose pause is over. 0 or -1. */
int traffic_resend_due(struct traffic *t);

/* Fleet handlers: a delivered copy, a PUBACK, an error event. */
void traffic_on_message(void *scenario, struct load_client *c,
                        const struct mqtt_publish *m);
void traffic_on_puback(void *scenario, struct load_client *c,
                       unsigned packet_id);
bool traffic_on_event(void *scenario, struct load_client *c,
                      const struct mqtt_publish *m);

/* Unfinished messages over all senders. */
long long traffic_in_flight(const struct traffic *t);

#endif
