/*
 * Answers to requests, written exactly as the client receives them, and
 * the reply header the plugin reads to route them: reads (ping, sync,
 * history, conversations, members), changes to groups and channels, each
 * committed in its own transaction with the system messages that record
 * it, and the account, key directory and file operations.
 */
#ifndef BRIDGE_REQUEST_H
#define BRIDGE_REQUEST_H

#include "commit.h"
#include "handoff.h"
#include "json_writer.h"
#include "media.h"
#include "options.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* What requests work with. */
struct bridge_request_context {
	struct bridge_store *store;
	const struct chat_options *opts;
	const struct bridge_media *media; /* NULL: file requests fail */
};

/*
 * Writes the reply to a client's request into out, replacing what it
 * held, as the plugin takes it: the header line {"user","client"} and the
 * response (see bridge_request_respond). A file chunk (blob_get) has the
 * header {"user","client","kind":"blob"} instead, and for response a
 * one-line JSON header {"id","blob","index","chunks"}, a newline and the
 * chunk's bytes. What a committed change announces is appended to
 * announce. Returns 0, or -1 when the request has no valid id to answer
 * to or memory ran out.
 */
int bridge_request_answer(const struct bridge_request_context *ctx,
                          const struct bridge_request *request,
                          struct json_writer *out,
                          struct bridge_entries *announce);

/*
 * Writes the response to req, made by user, into out:
 * {"id","op","ok":true,...} or {"id","op","ok":false,"error":{...}}.
 * Page sizes follow opts (sync_page_default, sync_page_max,
 * page_max_bytes), group limits too (group_fanout_max, group_members_max,
 * channel_members_max). What a committed change announces is appended to
 * announce, in commit order. Returns 0, or -1 when req has no valid id to
 * answer to or memory ran out; out then holds nothing new. The request
 * comes from no known device and cannot use files.
 */
int bridge_request_respond(struct bridge_store *s,
                           const struct chat_options *opts, const char *user,
                           const cJSON *req, struct json_writer *out,
                           struct bridge_entries *announce);

/* An admin request: a row of admin_requests, run as actor with admin
 * rights in every conversation. */
struct bridge_admin_context {
	struct bridge_store *store;
	const struct chat_options *opts;
	long long row;
	const char *actor; /* "$admin", or a user id */
};

/*
 * Answers an admin request like bridge_request_respond; req is NULL when
 * the stored text is not a JSON object (bad_json), and an actor that is
 * neither "$admin" nor a user gets no_such_user. Its id is the request's
 * own, or "admin <row>" when it has none. A change stores the response in
 * the row within its own transaction and sets *answered; any other
 * response is for the caller to store.
 */
int bridge_request_respond_admin(const struct bridge_admin_context *admin,
                                 const cJSON *req, struct json_writer *out,
                                 struct bridge_entries *announce,
                                 bool *answered);

/* The first line of a reply: {"user":...,"client":...} and a newline,
 * with "kind" when not NULL (the inbox topic it goes to, "resp" when
 * absent). */
void bridge_request_frame(struct json_writer *w, const char *user,
                          const char *client, const char *kind);

#endif
