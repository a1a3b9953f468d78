/*
 * Answers to requests, written exactly as the client receives them, and
 * the reply header the plugin reads to route them: reads (ping, sync,
 * history, conversations, members) and changes to groups and channels,
 * each change committed in its own transaction with the system messages
 * that record it.
 */
#ifndef BRIDGE_REQUEST_H
#define BRIDGE_REQUEST_H

#include "commit.h"
#include "json_writer.h"
#include "options.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/*
 * Writes the response to req, made by user, into out:
 * {"id","op","ok":true,...} or {"id","op","ok":false,"error":{...}}.
 * Page sizes follow opts (sync_page_default, sync_page_max,
 * page_max_bytes), group limits too (group_fanout_max, group_members_max,
 * channel_members_max). What a committed change announces is appended to
 * announce, in commit order. Returns 0, or -1 when req has no valid id to
 * answer to or memory ran out; out then holds nothing new.
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

/* The first line of a reply: {"user":...,"client":...} and a newline. */
void bridge_request_frame(struct json_writer *w, const char *user,
                          const char *client);

#endif
