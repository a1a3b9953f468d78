/*
 * Error codes clients receive, and the JSON that carries them.
 * docs/PROTOCOL.md lists the same codes; keep both in step.
 */
#ifndef CHAT_ERRORS_H
#define CHAT_ERRORS_H

enum chat_error {
	CHAT_OK = 0,
	CHAT_ERR_BAD_JSON,
	CHAT_ERR_BAD_ENVELOPE,
	CHAT_ERR_BAD_REQUEST,
	CHAT_ERR_BAD_RECEIPT,
	CHAT_ERR_TOO_LARGE,
	CHAT_ERR_NOT_MEMBER,
	CHAT_ERR_UNAVAILABLE,
	CHAT_ERR_BUSY,
	CHAT_ERR_RATE_LIMITED,
	CHAT_ERR_INTERNAL,
};

const char *chat_error_code(enum chat_error e);

/* The default human-readable explanation of an error code. */
const char *chat_error_message(enum chat_error e);

/*
 * {"type":"error","code":…,"message":…,"convo":…,"cmid":…}; convo and cmid
 * are left out when NULL. Returns a malloc'd string or NULL.
 */
char *chat_error_event_json(const char *code, const char *message,
			    const char *convo, const char *cmid);

/* {"id":…,"op":…,"ok":false,"error":{"code":…,"message":…}}. A NULL
 * request_id is written as null, a NULL op left out, a NULL message
 * replaced by the code's default. Returns a malloc'd string or NULL. */
char *chat_error_response_json(const char *request_id, const char *op,
			       enum chat_error e, const char *message);

#endif
