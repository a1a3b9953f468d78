/*
 * Internal to the request handlers: the request being answered, the
 * failures they answer with, and the parameter checks they share.
 */
#ifndef BRIDGE_REQUEST_OPS_H
#define BRIDGE_REQUEST_OPS_H

#include "commit.h"
#include "json_writer.h"
#include "media.h"
#include "options.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The actor of admin requests that no user makes: it has admin rights in
 * every conversation and is a member of none. */
#define BRIDGE_ADMIN_ACTOR "$admin"

/* An error answer: a client error code and its human-readable message. */
struct bridge_failure {
	const char *code;
	const char *message;
};

extern const struct bridge_failure bridge_failure_internal;
extern const struct bridge_failure bridge_failure_not_member;
extern const struct bridge_failure bridge_failure_not_admin;
extern const struct bridge_failure bridge_failure_storage;

struct bridge_reply {
	struct bridge_store *store;
	const struct chat_options *opts;
	const struct bridge_media *media; /* NULL: no files */
	const char *user;                 /* who asks: the actor of a change */
	long long device; /* the asking connection's device; 0: none known */
	const cJSON *req;
	const char *id;
	const char *op; /* NULL when the request has none */
	struct json_writer *out;
	struct json_writer_mark start; /* where the response begins in out */
	/* Receives, once a change committed, what it announces. */
	struct bridge_entries *announce;
	/* An admin request (its admin_requests row; 0 for a client's): the
	 * actor has admin rights in every conversation. */
	long long admin_request;
	/* The response was stored in that row by the change's transaction. */
	bool answered;
	/* The response is a file chunk, for the user's blob topic. */
	bool blob;
	/* A failure whose message names something (see bridge_reply_fail). */
	struct bridge_failure named;
	char named_message[512];
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
const struct bridge_failure *bridge_op_create_group(struct bridge_reply *r);
const struct bridge_failure *bridge_op_direct(struct bridge_reply *r);
const struct bridge_failure *bridge_op_add_members(struct bridge_reply *r);
const struct bridge_failure *bridge_op_remove_members(struct bridge_reply *r);
const struct bridge_failure *bridge_op_leave(struct bridge_reply *r);
const struct bridge_failure *bridge_op_set_role(struct bridge_reply *r);
const struct bridge_failure *bridge_op_rename(struct bridge_reply *r);
const struct bridge_failure *bridge_op_members(struct bridge_reply *r);
/* Presence and the account (account.c). */
const struct bridge_failure *bridge_op_presence(struct bridge_reply *r);
const struct bridge_failure *bridge_op_settings(struct bridge_reply *r);
const struct bridge_failure *bridge_op_devices(struct bridge_reply *r);
const struct bridge_failure *bridge_op_revoke_device(struct bridge_reply *r);
const struct bridge_failure *bridge_op_whoami(struct bridge_reply *r);
/* The key directory (keys.c, prekeys.c). */
const struct bridge_failure *bridge_op_publish_bundle(struct bridge_reply *r);
const struct bridge_failure *bridge_op_publish_devices(struct bridge_reply *r);
const struct bridge_failure *bridge_op_get_keys(struct bridge_reply *r);
const struct bridge_failure *bridge_op_upload_prekeys(struct bridge_reply *r);
const struct bridge_failure *bridge_op_claim_prekey(struct bridge_reply *r);
const struct bridge_failure *bridge_op_prekey_count(struct bridge_reply *r);
/* Files (blobs.c). */
const struct bridge_failure *bridge_op_blob_begin(struct bridge_reply *r);
const struct bridge_failure *bridge_op_blob_status(struct bridge_reply *r);
const struct bridge_failure *bridge_op_blob_end(struct bridge_reply *r);
const struct bridge_failure *bridge_op_blob_get(struct bridge_reply *r);

/* Writes {"id":...,"op":...,"ok":true; the caller adds fields and closes. */
void bridge_reply_open(struct bridge_reply *r);

/* Whether the actor has admin rights everywhere (an admin request). */
bool bridge_reply_is_admin(const struct bridge_reply *r);

/* A failure with code and a formatted message, kept in r. */
const struct bridge_failure *bridge_reply_fail(struct bridge_reply *r,
                                               const char *code,
                                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The bytes left for a page's messages once a response of skeleton_len
 * bytes (written with no message) is counted against page_max_bytes. */
size_t bridge_reply_page_budget(const struct bridge_reply *r,
                                size_t skeleton_len);

/* Logs a database failure and returns the internal failure. */
const struct bridge_failure *bridge_reply_store_failed(struct bridge_reply *r,
                                                       int rc);

/* What a user may see of a conversation: the seqs above joined, up to
 * head. */
struct bridge_view {
	long long joined;
	long long head;
	struct bridge_membership membership; /* found is false for an admin
	                                        who is no member */
};

/* "convo": a valid conversation id whose messages the user may see: a
 * member's, a former member's (up to the system message that ended it),
 * or any with admin rights. */
const struct bridge_failure *bridge_param_visible_convo(struct bridge_reply *r,
                                                        const char **convo,
                                                        struct bridge_view *v);

/* "convo": a valid conversation id, or bad_request. */
const struct bridge_failure *bridge_param_convo(struct bridge_reply *r,
                                                const char **convo);

/* An optional non-negative integer field; bad is the failure when it has
 * another type or value. */
const struct bridge_failure *
bridge_param_count(struct bridge_reply *r, const char *key, long long fallback,
                   const struct bridge_failure *bad, long long *out);

/* "limit": optional, at least 1, capped at the configured page maximum. */
const struct bridge_failure *bridge_param_limit(struct bridge_reply *r,
                                                long long *limit);

/* key: a device id, as a decimal string (or a whole number). */
const struct bridge_failure *
bridge_param_device(struct bridge_reply *r, const char *key, long long *device);

/* The asking connection's device, for what only a device can do; a
 * bad_request when it is not known. */
const struct bridge_failure *bridge_require_device(struct bridge_reply *r);

#endif
