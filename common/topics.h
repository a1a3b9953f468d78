/*
 * The topic layout, built once from the configured prefix (default "chat").
 *
 *   {p}/send/{convo}        client -> server: new message
 *   {p}/ack/{convo}         client -> server: receipt
 *   {p}/req                 client -> server: request
 *   {p}/c/{convo}           server -> members: broadcast conversation
 *   {p}/presence/{user}     server -> contacts: presence, retained
 *   {p}/status              client -> server: away / available
 *   {p}/typing/{convo}      client -> server: typing, QoS 0
 *   {p}/upload/{id}/{index} client -> server: a chunk of a file
 *   {p}/keys/{user}         server -> all: key changes, retained
 *   {p}/u/{user}/{kind}     server -> client: inbox (msg, resp, event)
 *   ${p}/bridge/...         plugin <-> bridge only
 */
#ifndef CHAT_TOPICS_H
#define CHAT_TOPICS_H

#include "options.h"

#include <stdbool.h>
#include <stddef.h>

#define CHAT_TOPIC_MAX 256

struct chat_topics {
	char prefix[CHAT_PREFIX_MAX + 1];
	char send_prefix[CHAT_PREFIX_MAX + 8];	 /* "{p}/send/" */
	char ack_prefix[CHAT_PREFIX_MAX + 8];	 /* "{p}/ack/" */
	char channel_prefix[CHAT_PREFIX_MAX + 8]; /* "{p}/c/" */
	char presence_prefix[CHAT_PREFIX_MAX + 16]; /* "{p}/presence/" */
	char status[CHAT_PREFIX_MAX + 8];	    /* "{p}/status" */
	char typing_prefix[CHAT_PREFIX_MAX + 16];   /* "{p}/typing/" */
	char upload_prefix[CHAT_PREFIX_MAX + 16];   /* "{p}/upload/" */
	char keys_prefix[CHAT_PREFIX_MAX + 16];	    /* "{p}/keys/" */
	char request[CHAT_PREFIX_MAX + 8];	 /* "{p}/req" */
	char inbox_prefix[CHAT_PREFIX_MAX + 8];	 /* "{p}/u/" */
	char internal_prefix[CHAT_PREFIX_MAX + 16]; /* "${p}/bridge/" */
	char bridge_messages[CHAT_PREFIX_MAX + 32]; /* plugin -> bridge */
	char bridge_requests[CHAT_PREFIX_MAX + 32]; /* plugin -> bridge */
	char bridge_receipts[CHAT_PREFIX_MAX + 32]; /* plugin -> bridge */
	char bridge_presence[CHAT_PREFIX_MAX + 32]; /* plugin -> bridge */
	char bridge_upload[CHAT_PREFIX_MAX + 32];   /* plugin -> bridge */
	char bridge_hello[CHAT_PREFIX_MAX + 32];    /* bridge -> plugin */
	char bridge_committed[CHAT_PREFIX_MAX + 32]; /* bridge -> plugin */
	char bridge_reply[CHAT_PREFIX_MAX + 32];     /* bridge -> plugin */
};

void chat_topics_init(struct chat_topics *t, const char *prefix);

/* Writes "{p}/u/{user}/{kind}". Returns false when it does not fit. */
bool chat_topic_inbox(const struct chat_topics *t, const char *user,
		      const char *kind, char *out, size_t outlen);

/* For "{p}/send/{convo}" with a valid convo id returns the convo part,
 * otherwise NULL. */
const char *chat_topic_send_convo(const struct chat_topics *t,
				  const char *topic);

/* The same for "{p}/ack/{convo}" and "{p}/c/{convo}". */
const char *chat_topic_ack_convo(const struct chat_topics *t,
				 const char *topic);
const char *chat_topic_channel_convo(const struct chat_topics *t,
				     const char *topic);

/* For "{p}/presence/{user}" with a valid user id returns the user part,
 * otherwise NULL; "{p}/typing/{convo}" likewise. */
const char *chat_topic_presence_user(const struct chat_topics *t,
				     const char *topic);
const char *chat_topic_typing_convo(const struct chat_topics *t,
				    const char *topic);

/* For "{p}/keys/{user}" with a valid user id returns the user part. */
const char *chat_topic_keys_user(const struct chat_topics *t,
				 const char *topic);

/* For "{p}/upload/{id}/{index}" with a valid id and a decimal index up to
 * max_index, writes both and returns true. */
bool chat_topic_upload(const struct chat_topics *t, const char *topic,
		       char *id, size_t idlen, long *index, long max_index);

/* Writes "{p}/keys/{user}". Returns false when it does not fit. */
bool chat_topic_keys(const struct chat_topics *t, const char *user,
		     char *out, size_t outlen);

/* Writes "{p}/presence/{user}". Returns false when it does not fit. */
bool chat_topic_presence(const struct chat_topics *t, const char *user,
			 char *out, size_t outlen);

/* Writes "{p}/c/{convo}". Returns false when it does not fit. */
bool chat_topic_channel(const struct chat_topics *t, const char *convo,
			char *out, size_t outlen);

bool chat_topic_is_internal(const struct chat_topics *t, const char *topic);

#endif
