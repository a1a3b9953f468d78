#include "topics.h"

#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chat_topics_init(struct chat_topics *t, const char *prefix)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->prefix, sizeof(t->prefix), "%s", prefix);
	snprintf(t->send_prefix, sizeof(t->send_prefix), "%s/send/", prefix);
	snprintf(t->ack_prefix, sizeof(t->ack_prefix), "%s/ack/", prefix);
	snprintf(t->channel_prefix, sizeof(t->channel_prefix), "%s/c/", prefix);
	snprintf(t->presence_prefix, sizeof(t->presence_prefix),
		 "%s/presence/", prefix);
	snprintf(t->status, sizeof(t->status), "%s/status", prefix);
	snprintf(t->typing_prefix, sizeof(t->typing_prefix), "%s/typing/",
		 prefix);
	snprintf(t->upload_prefix, sizeof(t->upload_prefix), "%s/upload/",
		 prefix);
	snprintf(t->keys_prefix, sizeof(t->keys_prefix), "%s/keys/", prefix);
	snprintf(t->request, sizeof(t->request), "%s/req", prefix);
	snprintf(t->inbox_prefix, sizeof(t->inbox_prefix), "%s/u/", prefix);
	snprintf(t->internal_prefix, sizeof(t->internal_prefix),
		 "$%s/bridge/", prefix);
	snprintf(t->bridge_messages, sizeof(t->bridge_messages),
		 "%sin/messages", t->internal_prefix);
	snprintf(t->bridge_requests, sizeof(t->bridge_requests),
		 "%sin/requests", t->internal_prefix);
	snprintf(t->bridge_receipts, sizeof(t->bridge_receipts),
		 "%sin/receipts", t->internal_prefix);
	snprintf(t->bridge_presence, sizeof(t->bridge_presence),
		 "%sin/presence", t->internal_prefix);
	snprintf(t->bridge_upload, sizeof(t->bridge_upload), "%sin/upload",
		 t->internal_prefix);
	snprintf(t->bridge_hello, sizeof(t->bridge_hello), "%shello",
		 t->internal_prefix);
	snprintf(t->bridge_committed, sizeof(t->bridge_committed),
		 "%sout/committed", t->internal_prefix);
	snprintf(t->bridge_reply, sizeof(t->bridge_reply), "%sout/reply",
		 t->internal_prefix);
}

/* Once per delivery on the broker's thread: plain copies, no printf. */
bool chat_topic_inbox(const struct chat_topics *t, const char *user,
		      const char *kind, char *out, size_t outlen)
{
	size_t plen = strlen(t->inbox_prefix), ulen = strlen(user),
	       klen = strlen(kind);

	if (plen + ulen + 1 + klen + 1 > outlen)
		return false;
	memcpy(out, t->inbox_prefix, plen);
	memcpy(out + plen, user, ulen);
	out[plen + ulen] = '/';
	memcpy(out + plen + ulen + 1, kind, klen + 1);
	return true;
}

static const char *convo_after(const char *prefix, const char *topic)
{
	size_t plen = strlen(prefix);
	const char *convo;

	if (strncmp(topic, prefix, plen) != 0)
		return NULL;
	convo = topic + plen;
	return chat_valid_convo_id(convo) ? convo : NULL;
}

const char *chat_topic_send_convo(const struct chat_topics *t,
				  const char *topic)
{
	return convo_after(t->send_prefix, topic);
}

const char *chat_topic_ack_convo(const struct chat_topics *t,
				 const char *topic)
{
	return convo_after(t->ack_prefix, topic);
}

const char *chat_topic_channel_convo(const struct chat_topics *t,
				     const char *topic)
{
	return convo_after(t->channel_prefix, topic);
}

const char *chat_topic_presence_user(const struct chat_topics *t,
				     const char *topic)
{
	size_t plen = strlen(t->presence_prefix);

	if (strncmp(topic, t->presence_prefix, plen) != 0)
		return NULL;
	return chat_valid_user_id(topic + plen) ? topic + plen : NULL;
}

const char *chat_topic_typing_convo(const struct chat_topics *t,
				    const char *topic)
{
	return convo_after(t->typing_prefix, topic);
}

const char *chat_topic_keys_user(const struct chat_topics *t,
				 const char *topic)
{
	size_t plen = strlen(t->keys_prefix);

	if (strncmp(topic, t->keys_prefix, plen) != 0)
		return NULL;
	return chat_valid_user_id(topic + plen) ? topic + plen : NULL;
}

bool chat_topic_upload(const struct chat_topics *t, const char *topic,
		       char *id, size_t idlen, long *index, long max_index)
{
	size_t plen = strlen(t->upload_prefix);
	const char *rest, *slash;
	char *end;
	size_t len;

	if (strncmp(topic, t->upload_prefix, plen) != 0)
		return false;
	rest = topic + plen;
	slash = strchr(rest, '/');
	if (slash == NULL || (len = (size_t)(slash - rest)) == 0 ||
	    len >= idlen)
		return false;
	memcpy(id, rest, len);
	id[len] = '\0';
	if (!chat_valid_convo_id(id) || slash[1] < '0' || slash[1] > '9' ||
	    strlen(slash + 1) > 9)
		return false;
	*index = strtol(slash + 1, &end, 10);
	return *end == '\0' && *index <= max_index;
}

bool chat_topic_keys(const struct chat_topics *t, const char *user,
		     char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", t->keys_prefix, user);

	return n > 0 && (size_t)n < outlen;
}

bool chat_topic_presence(const struct chat_topics *t, const char *user,
			 char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", t->presence_prefix, user);

	return n > 0 && (size_t)n < outlen;
}

bool chat_topic_channel(const struct chat_topics *t, const char *convo,
			char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", t->channel_prefix, convo);

	return n > 0 && (size_t)n < outlen;
}

bool chat_topic_is_internal(const struct chat_topics *t, const char *topic)
{
	return strncmp(topic, t->internal_prefix,
		       strlen(t->internal_prefix)) == 0;
}
