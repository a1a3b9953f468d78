/*
 * Answers to client requests (ping, sync, history, conversations), written
 * exactly as the client receives them, and the reply header the plugin
 * reads to route them.
 */
#ifndef BRIDGE_REQUEST_H
#define BRIDGE_REQUEST_H

#include "json_writer.h"
#include "options.h"
#include "store.h"

#include <cjson/cJSON.h>

/*
 * Writes the response to req, made by user, into out:
 * {"id","op","ok":true,...} or {"id","op","ok":false,"error":{...}}.
 * Page sizes follow opts (sync_page_default, sync_page_max,
 * page_max_bytes). Returns 0, or -1 when req has no valid id to answer to
 * or memory ran out; out then holds nothing new.
 */
int bridge_request_respond(struct bridge_store *s,
                           const struct chat_options *opts, const char *user,
                           const cJSON *req, struct json_writer *out);

/* The first line of a reply: {"user":...,"client":...} and a newline. */
void bridge_request_frame(struct json_writer *w, const char *user,
                          const char *client);

#endif
