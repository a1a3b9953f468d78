/*
 * A change made by a request: one transaction that applies it, appends
 * the system messages recording it (for a group or channel) and, for an
 * admin request, stores the response. What the change announces (a
 * membership entry first when members, roles or the delivery mode
 * changed, then its system messages or its settings and keys entries) is
 * handed to the reply only once the transaction has committed.
 *
 * Internal to the request handlers.
 */
#ifndef BRIDGE_CHANGE_H
#define BRIDGE_CHANGE_H

#include "commit.h"
#include "json_writer.h"
#include "request_ops.h"

#include <stdbool.h>

struct bridge_change {
	struct bridge_reply *r;
	char convo[CHAT_ID_MAX + 1];    /* "" when the change is no group's */
	char cmid[BRIDGE_CMID_MAX + 1]; /* "op <request id>" */
	bool membership;                /* announce a membership entry */
	/* The system messages appended, and any other entry to announce. */
	struct bridge_entries entries;
	bool open;
};

/* Opens the transaction (BEGIN IMMEDIATE) for a change of convo, which
 * may be "". */
const struct bridge_failure *bridge_change_begin(struct bridge_change *c,
                                                 struct bridge_reply *r,
                                                 const char *convo);

/*
 * The system message this request made in the conversation the first
 * time, if it did: *found, and the message in *earlier (cleared by the
 * caller). Made by another kind of operation, it is a bad_request.
 */
const struct bridge_failure *
bridge_change_earlier(struct bridge_change *c, const char *type,
                      struct bridge_message *earlier, bool *found);

/*
 * Appends a system message of type whose event is the JSON object in
 * event, and sets *seq. also (may be NULL) is a JSON array of users it
 * must also reach. A second message of the same request takes a suffix
 * for its cmid.
 */
const struct bridge_failure *
bridge_change_record(struct bridge_change *c, const char *type,
                     struct json_writer *event, const char *also,
                     const char *suffix, long long *seq);

/* Announces, once the change has committed, an entry of outcome
 * (settings or keys) about user; event is the object of a keys entry
 * (copied), NULL for settings. */
const struct bridge_failure *
bridge_change_announce(struct bridge_change *c, enum bridge_outcome outcome,
                       const char *user, const struct json_writer *event);

/* Logs a database failure and returns storage_error: nothing of the
 * change is kept. */
const struct bridge_failure *bridge_change_failed(struct bridge_change *c,
                                                  int rc);

/*
 * With the response complete in r->out: stores it for an admin request,
 * commits, and hands the announcements to the reply. A failure leaves
 * nothing done.
 */
const struct bridge_failure *bridge_change_commit(struct bridge_change *c);

/* Rolls back whatever was not committed and frees the change. */
void bridge_change_end(struct bridge_change *c);

#endif
