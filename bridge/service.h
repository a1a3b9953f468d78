/*
 * The bridge's work loop, single-threaded: wait for hand-offs, drain
 * everything that keeps arriving (up to batch_max messages), commit the
 * messages in one transaction, announce them, then answer the requests,
 * so that a sync sent right after a message sees it.
 */
#ifndef BRIDGE_SERVICE_H
#define BRIDGE_SERVICE_H

#include "connection.h"
#include "handoff.h"
#include "options.h"
#include "store.h"
#include "topics.h"

#include <signal.h>
#include <stddef.h>

struct bridge_service {
	const struct chat_options *opts;
	const struct chat_topics *topics;
	struct bridge_store *store;
	struct bridge_connection *connection;
	/* Raised by SIGINT/SIGTERM: once to stop after the current batch,
	 * twice to stop waiting for a locked database. */
	volatile sig_atomic_t *stop_requests;
	/* Drained and not yet processed. */
	struct bridge_batch batch;
	struct bridge_request_queue requests;
	size_t deliveries;
};

/* The connection's delivery callback; ctx is the service. */
void bridge_service_deliver(void *ctx, const char *topic, const void *payload,
                            size_t len);

/* Runs until a stop is requested, then finishes the batch at hand and
 * waits a little for the broker to acknowledge what was published. */
void bridge_service_run(struct bridge_service *svc);

/* Frees what is still queued. */
void bridge_service_free(struct bridge_service *svc);

#endif
