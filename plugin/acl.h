/*
 * Access decisions. Pure and O(length of the topic): the READ check runs
 * once per subscriber per delivered message on the broker's only thread.
 *
 * A user may subscribe to filters under its own inbox only, receive only
 * from its own inbox, and publish only to send topics and the request
 * topic (membership is checked when the message is handled, so the sender
 * gets a clear error), never with the retain flag: a will is checked here
 * but never reaches the plugin's message handler, so this is the only place
 * where a retained will can be stopped. The service account may only use
 * the internal topics. Everything else, including `$share/...`, `$SYS` and
 * other users' inboxes, is refused.
 */
#ifndef CHAT_ACL_H
#define CHAT_ACL_H

#include "topics.h"

#include <stdbool.h>
#include <stddef.h>

enum chat_access {
	CHAT_ACCESS_READ,
	CHAT_ACCESS_WRITE,
	CHAT_ACCESS_SUBSCRIBE,
	CHAT_ACCESS_UNSUBSCRIBE,
};

struct chat_acl_request {
	const char *username;
	const char *client_id;
	enum chat_access access;
	const char *topic; /* a topic, or a filter for SUBSCRIBE */
	bool retain;	   /* WRITE only */
	const void *payload; /* READ and WRITE: the message */
	size_t payload_len;
	long long now_ms;
};

bool chat_acl_allows(const struct chat_topics *t, const char *service_user,
		     const struct chat_acl_request *req);

#endif
