/*
 * The bridge's work loop, single-threaded: wait for hand-offs, drain
 * everything that keeps arriving (up to batch_max messages), commit the
 * messages in one transaction (with the presence changes reported), announce
 * them (or keep the announcements until the broker is back), apply the
 * receipts in a second one, store the file chunks, then answer the
 * requests, so that a sync sent right after a message sees it. Every
 * ~100 ms it also runs the admin CLI's waiting requests, and every minute
 * the retention sweep of files.
 */
#ifndef BRIDGE_SERVICE_H
#define BRIDGE_SERVICE_H

#include "announcements.h"
#include "connection.h"
#include "handoff.h"
#include "media.h"
#include "options.h"
#include "store.h"
#include "topics.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct bridge_service {
	const struct chat_options *opts;
	const struct chat_topics *topics;
	struct bridge_store *store;
	const struct bridge_media *media; /* NULL: no file storage */
	struct bridge_connection *connection;
	/* Raised by SIGINT/SIGTERM: once to stop after the current batch,
	 * twice to stop waiting for a locked database. */
	volatile sig_atomic_t *stop_requests;
	/* Drained and not yet processed. */
	struct bridge_batch batch;
	struct bridge_request_queue requests;
	struct bridge_receipt_queue receipts;
	struct bridge_presence_queue presence;
	struct bridge_chunk_queue chunks;
	size_t deliveries;
	/* Committed, waiting for the session or for the broker's answer. */
	struct bridge_announcements announcements;
	long long last_write_ms; /* of the last transaction */
	long long last_admin_poll_ms;
	long long next_sweep_ms;
	bool watermarks_failing;
};

/* Sets up what the service keeps between batches; opts, topics, store,
 * media and stop_requests are set already. */
void bridge_service_init(struct bridge_service *svc);

/* The connection's delivery callback; ctx is the service. */
void bridge_service_deliver(void *ctx, const char *topic, const void *payload,
                            size_t len);

/* The connection's acknowledgement callback; ctx is the service. */
void bridge_service_acknowledged(void *ctx, int mid, bool accepted);

/* Queues again the announcements the last run may not have made, runs
 * until a stop is requested, then finishes the batch at hand, waits a
 * little for the broker to acknowledge what was published and writes the
 * watermarks. */
void bridge_service_run(struct bridge_service *svc);

/* Frees what is still queued. */
void bridge_service_free(struct bridge_service *svc);

#endif
