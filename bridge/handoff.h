/*
 * Hand-offs from the plugin: stamped messages to store, client requests
 * to answer, receipts to apply and presence changes to keep, each
 * arriving as a JSON array, and file chunks, one per hand-off. They are
 * collected here while the bridge drains its connection, then processed
 * together.
 */
#ifndef BRIDGE_HANDOFF_H
#define BRIDGE_HANDOFF_H

#include "message.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct bridge_batch {
	struct bridge_message *messages;
	size_t count;
	size_t cap;
};

struct bridge_request {
	char user[CHAT_ID_MAX + 1];
	char *client;     /* owned */
	long long device; /* of the asking connection; 0 when not known */
	cJSON *req;       /* owned: the client's request object as parsed */
};

struct bridge_request_queue {
	struct bridge_request *requests;
	size_t count;
	size_t cap;
};

/* A member's receipt: how far it got in a conversation. */
struct bridge_receipt {
	char convo[CHAT_ID_MAX + 1];
	char user[CHAT_ID_MAX + 1];
	long long delivered; /* -1 when absent */
	long long read;      /* -1 when absent */
};

struct bridge_receipt_queue {
	struct bridge_receipt *receipts;
	size_t count;
	size_t cap;
};

/* A user's presence as the plugin published it. */
struct bridge_presence {
	char user[CHAT_ID_MAX + 1];
	bool online;
	long long last_seen; /* offline only; -1 when online */
};

struct bridge_presence_queue {
	struct bridge_presence *changes;
	size_t count;
	size_t cap;
};

/* A chunk of a file a user uploads. */
struct bridge_chunk {
	char user[CHAT_ID_MAX + 1];
	char *client; /* owned */
	char upload[CHAT_ID_MAX + 1];
	long long index;
	unsigned char *bytes; /* owned */
	size_t len;
};

struct bridge_chunk_queue {
	struct bridge_chunk *chunks;
	size_t count;
	size_t cap;
};

void bridge_batch_clear(struct bridge_batch *b);
void bridge_request_queue_clear(struct bridge_request_queue *q);
void bridge_receipt_queue_clear(struct bridge_receipt_queue *q);
void bridge_presence_queue_clear(struct bridge_presence_queue *q);
void bridge_chunk_queue_clear(struct bridge_chunk_queue *q);

/*
 * Appends the valid items of a bridge_messages payload to the batch and
 * returns how many were taken. Malformed items are skipped, a payload that
 * is not a JSON array of acceptable text is dropped whole; either costs
 * one log line per payload, counted as a client problem.
 */
size_t bridge_handoff_messages(const char *payload, size_t len,
                               struct bridge_batch *batch);

/* The same for a bridge_requests payload:
 * [{"user","client","device","req"}]; device, the decimal id of the
 * asking connection's device, may be absent. */
size_t bridge_handoff_requests(const char *payload, size_t len,
                               struct bridge_request_queue *queue);

/* The same for a bridge_receipts payload:
 * [{"convo","user","client","delivered"?,"read"?}], at least one of the
 * two numbers present. */
size_t bridge_handoff_receipts(const char *payload, size_t len,
                               struct bridge_receipt_queue *queue);

/* The same for a bridge_presence payload: [{"user","online":true,...} or
 * {"user","online":false,"last_seen"}]. */
size_t bridge_handoff_presence(const char *payload, size_t len,
                               struct bridge_presence_queue *queue);

/*
 * Takes a bridge_upload payload: a header line
 * {"user","client","device","upload","index"}, a newline, then the
 * chunk's bytes (at least one). The device is not needed: an upload is
 * its user's, whichever device sends the chunks. Returns 1, or 0 when it was
 * dropped (logged as a client problem, or out of memory).
 */
size_t bridge_handoff_chunk(const char *payload, size_t len,
                            struct bridge_chunk_queue *queue);

#endif
