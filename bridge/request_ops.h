/*
 * Internal to the request handlers: the request being answered, the
 * failures they answer with, and the parameter checks they share.
 */
#ifndef BRIDGE_REQUEST_OPS_H
#define BRIDGE_REQUEST_OPS_H

#include "json_writer.h"
#include "options.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* An error answer: a client error code and its human-readable message. */
struct bridge_failure {
	const char *code;
	const char *message;
};

extern const struct bridge_failure bridge_failure_internal;

struct bridge_reply {
	struct bridge_store *store;
	const struct chat_options *opts;
	const char *user;
	const cJSON *req;
	const char *id;
	const char *op; /* NULL when the request has none */
	struct json_writer *out;
};

/*
 * An operation writes its successful response to r->out and returns NULL,
 * or returns the failure to answer with; whatever it wrote is then
 * discarded.
 */
const struct bridge_failure *bridge_op_ping(struct bridge_reply *r);
const struct bridge_failure *bridge_op_sync(struct bridge_reply *r);
const struct bridge_failure *bridge_op_history(struct bridge_reply *r);
const struct bridge_failure *bridge_op_conversations(struct bridge_reply *r);

/* Writes {"id":...,"op":...,"ok":true; the caller adds fields and closes. */
void bridge_reply_open(struct bridge_reply *r);

/* The bytes left for a page's messages once a response of skeleton_len
 * bytes (written with no message) is counted against page_max_bytes. */
size_t bridge_reply_page_budget(const struct bridge_reply *r,
                                size_t skeleton_len);

/* Logs a database failure and returns the internal failure. */
const struct bridge_failure *bridge_reply_store_failed(struct bridge_reply *r,
                                                       int rc);

/* "convo": a valid conversation id the user is a member of. */
const struct bridge_failure *bridge_param_member_convo(struct bridge_reply *r,
                                                       const char **convo,
                                                       long long *joined_seq);

/* An optional non-negative integer field; bad is the failure when it has
 * another type or value. */
const struct bridge_failure *
bridge_param_count(struct bridge_reply *r, const char *key, long long fallback,
                   const struct bridge_failure *bad, long long *out);

/* "limit": optional, at least 1, capped at the configured page maximum. */
const struct bridge_failure *bridge_param_limit(struct bridge_reply *r,
                                                long long *limit);

#endif
