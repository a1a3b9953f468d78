/*
 * The send envelope: validation of what a client publishes on
 * {prefix}/send/{convo}, and the stamped form handed to the bridge.
 */
#ifndef CHAT_ENVELOPE_H
#define CHAT_ENVELOPE_H

#include "errors.h"

#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define CHAT_ATTACHMENTS_MAX 10
#define CHAT_BLOB_ID_LEN 64 /* hex */

struct chat_envelope {
	struct cJSON *root;
	const char *cmid; /* points into root */
};

/*
 * Parses and validates a send payload: at most max_bytes, UTF-8 without
 * NUL, a JSON object with a valid "cmid", a string "body" and optionally
 * "attachments", up to 10 file ids. Other fields are ignored. On error
 * env->cmid is still set when it was readable. The caller frees env with
 * chat_envelope_free in every case.
 */
enum chat_error chat_envelope_parse(const char *payload, size_t len,
				    size_t max_bytes,
				    struct chat_envelope *env);

void chat_envelope_free(struct chat_envelope *env);

struct chat_stamp {
	const char *convo;
	const char *from;
	const char *client_id;
	uint64_t id;
	long long ts_ms;
};

/*
 * The stamped message for the bridge, as a malloc'd JSON object text:
 * id (decimal string), convo, from, ts, cmid, body, attachments (when
 * given), client. Returns NULL when out of memory.
 */
char *chat_envelope_stamp(struct chat_envelope *env,
			  const struct chat_stamp *stamp);

#endif
