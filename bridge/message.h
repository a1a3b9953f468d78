/*
 * A chat message as the bridge handles it: stamped by the plugin (id, from,
 * ts), given a seq here when it is stored, and written out in exactly the
 * shape clients receive. System messages (group changes) are made here
 * instead: they carry a type, and their body is the event as JSON text.
 */
#ifndef BRIDGE_MESSAGE_H
#define BRIDGE_MESSAGE_H

#include "ids.h"
#include "json_writer.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* A system message's cmid is "op " and a request id, with a suffix when
 * one request makes two messages ("op r7 broadcast"). */
#define BRIDGE_CMID_MAX (CHAT_CMID_MAX + 32)

/* A file id: the BLAKE2b-256 of the file, in lowercase hex. */
#define BRIDGE_BLOB_ID_LEN 64
/* File ids one message may refer to. */
#define BRIDGE_ATTACHMENTS_MAX 10

struct bridge_message {
	char convo[CHAT_ID_MAX + 1];
	char from[CHAT_ID_MAX + 1];
	char cmid[BRIDGE_CMID_MAX + 1];
	uint64_t id;
	long long seq; /* 0 until stored */
	long long ts;  /* milliseconds since the Unix epoch */
	char *type;    /* owned; NULL but for system messages */
	char *body;    /* owned; a system message's event object as JSON */
	char *client;  /* owned; the sender's MQTT client id, may be NULL */
	/* owned; the file ids the message refers to, as a JSON array of
	 * strings written by the bridge; NULL when the sender gave none */
	char *attachments;
};

/*
 * Reads one stamped message of a hand-off:
 * {"id":"<decimal>","convo","from","ts","cmid","body","client"}, and
 * "attachments" when the sender gave any (at most 10 file ids).
 * Returns 0, or -1 with the reason in *why (nothing to free then).
 */
int bridge_message_parse(const cJSON *item, struct bridge_message *out,
                         const char **why);

/* Deep copy; returns 0 or -1 when out of memory (dst then holds nothing). */
int bridge_message_copy(struct bridge_message *dst,
                        const struct bridge_message *src);

/* Frees the owned strings and zeroes the message. */
void bridge_message_clear(struct bridge_message *m);

/* {"convo","seq","id","from","ts","cmid","body"}: what clients receive,
 * with "attachments" after the body when the message has them; a system
 * message has "type" and "event" in place of "body". The first two keys
 * stay convo and seq: the plugin reads the seq from there. */
void bridge_message_write(struct json_writer *w,
                          const struct bridge_message *m);

/* Helpers for reading untrusted JSON, shared with request parsing. */
const char *bridge_json_string(const cJSON *object, const char *key);
/* A whole number in [0, 2^53]; false for anything else. */
bool bridge_json_count(const cJSON *item, long long *out);

/* BRIDGE_BLOB_ID_LEN lowercase hex digits. */
bool bridge_valid_blob_id(const char *id);

#endif
