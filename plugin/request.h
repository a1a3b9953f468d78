/*
 * Requests published on {prefix}/req: validated here, then handed to the
 * bridge wrapped with the authenticated user and the client id, so the
 * bridge never has to trust what the client says about itself.
 */
#ifndef CHAT_REQUEST_H
#define CHAT_REQUEST_H

#include "errors.h"

#include <stddef.h>

struct cJSON;

#define CHAT_OP_MAX 32

struct chat_request {
	struct cJSON *root;
	const char *id; /* points into root; set when readable */
	const char *op; /* points into root */
	const char *text; /* the payload as received */
	size_t len;
};

/* At most max_bytes of UTF-8 JSON, an object with a valid "id" and a
 * string "op" of 1-32 characters. The caller frees req with
 * chat_request_free in every case. */
enum chat_error chat_request_parse(const char *payload, size_t len,
				   size_t max_bytes, struct chat_request *req);

void chat_request_free(struct chat_request *req);

/* Who sent a request, as the bridge learns it. */
struct chat_requester {
	const char *user;
	const char *client_id;
	long long device_id; /* the token's device */
};

/* {"user":…,"client":…,"device":"…","req":<the payload as received>} as
 * malloc'd text. The request is embedded verbatim, never re-serialised:
 * numbers keep every digit and no cycle is spent printing it again. */
char *chat_request_wrap(const struct chat_request *req,
			const struct chat_requester *from);

#endif
